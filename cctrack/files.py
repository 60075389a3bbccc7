"""The files cctrack writes: directories made ready, atomic replacement, locks.

Every write goes through a temporary file created exclusively under an unpredictable name,
never through a link: in a directory another user can write to (a shared node_exporter
textfile directory), nothing planted there can redirect a write or a chmod.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pwd
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from cctrack.errors import EXIT_USAGE, CctrackError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# .NAME.tmp-<16 hex>: what write_atomic leaves behind only when killed mid-write.
_TEMP = re.compile(r"^\..+\.tmp-[0-9a-f]{16}\Z")
# A temp file this old belongs to a writer that died: no write takes this long.
STALE_TEMP_SECONDS = 600


def make_dirs(path: Path, mode: int, parents_mode: int = 0o755) -> None:
    """path, and the parents it lacks, created with these modes whatever the umask (under
    umask 000 mkdir makes 0777): a directory others can write would let them replace what
    cctrack later runs, reads or links (the status line runs ~/.local/bin/cctrack)."""
    missing = []
    folder = path
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        wanted = mode if made == path else parents_mode
        try:
            made.mkdir(mode=wanted)
        except FileExistsError:
            continue
        os.chmod(made, wanted)


def ready_dir(
    path: Path,
    *,
    mode: int,
    create: bool,
    what: str,
    missing_hint: str = "",
    access_hint: str = "",
) -> Path:
    """path as a directory this user can write, created with mode when asked to.

    A private directory (mode 0700) that already exists with wider permissions and is
    ours is tightened: records and snapshots name the machine, plans and accounts.
    """
    if create:
        try:
            make_dirs(path, mode)
        except OSError as exc:
            raise CctrackError(f"cannot create {what} {path}: {exc.strerror}") from None
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is None:
        raise CctrackError(f"{what} {path} does not exist{missing_hint}")
    if not stat.S_ISDIR(st.st_mode):
        raise CctrackError(f"{what} {path} is not a directory (something else is in its place)")
    if mode == 0o700 and st.st_mode & 0o077 and st.st_uid == os.geteuid():
        os.chmod(path, 0o700)
    if not os.access(path, os.W_OK | os.X_OK):
        raise CctrackError(f"{what} {path} is not writable by this user{access_hint}")
    return path


def user_name(uid: int) -> str:
    """A unix user's name, or its number when it has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def give_back(directory: Path) -> str:
    """The command that gives this user back the files another user's run left here."""
    return f"`sudo chown -R {user_name(os.geteuid())}: {directory}`"


def private_dir(path: Path) -> Path:
    return ready_dir(path, mode=0o700, create=True, what="data directory")


def own_data_dir(path: Path, textfile: Path | None = None) -> Path:
    """The data directory for the jobs that write it (capture, analyze, push). Root is
    refused another user's: the files it wrote there would be root's, which that user's
    next run cannot read, and its textfile would export the same records a second time
    under user="root" (an earlier release's run may have left one: named, to remove)."""
    private_dir(path)
    owner = os.stat(path).st_uid
    if os.geteuid() == 0 and owner != 0:
        name = user_name(owner)
        copy = ""
        if textfile is not None and textfile.exists():
            copy = (
                f"; if an earlier run as root wrote {textfile} from this directory, remove "
                f"it: it exports {name}'s records a second time"
            )
        raise CctrackError(
            f"{path} belongs to {name}, and this runs as root: run it as {name} "
            f"(`runuser -u {name} -- cctrack ...`, or `sudo -u {name}`) so that the files "
            f'stay {name}\'s and the metrics are labelled user="{name}" once{copy}',
            EXIT_USAGE,
        )
    return path


@contextlib.contextmanager
def locked(path: Path, reader: bool = False) -> Iterator[None]:
    """An exclusive flock on path, released when the process dies, so a crash never leaves
    it stuck; waits for the holder, which only ever holds it for a write or a read.

    A reader that writes nothing (reader=True) goes on without it where the lock file
    cannot be made (a read-only mount, another user's copy): nobody can write what it reads
    there either."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | CLOEXEC, 0o600)
    except OSError as exc:
        if not reader or exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def try_locked(path: Path) -> Iterator[bool]:
    """Like locked, but never waits: yields False when another process holds the lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _create_temp(path: Path, mode: int) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.tmp-{os.urandom(8).hex()}")
        try:
            return os.open(tmp, flags, mode & 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def replaceable(path: Path, links: bool = True) -> None:
    """Raise CctrackError unless what is at a path the user named (report -o, html_report)
    may be replaced by a file of ours: nothing, a regular file, or (with `links`) a link.
    A device, a FIFO, a socket or a directory is never replaced there: renamed over as
    root, /dev/null would become a file. (In cctrack's own directories write_atomic
    replaces whatever is in the way of its file.)"""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) or (links and stat.S_ISLNK(st.st_mode)):
        return
    kind = "a link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
    raise CctrackError(f"{path} is {kind}: cctrack replaces only its own files; name a file")


def write_atomic(path: Path, data: bytes, mode: int = 0o600, durable: bool = True) -> None:
    """Replace path with data in one rename: a new file, fsynced, then renamed over path.

    The temporary file is created exclusively (O_EXCL, O_NOFOLLOW) under a random name and
    only its own descriptor is chmod-ed; the rename replaces a link at path, never its target.
    A path the user named is checked with replaceable first.

    Not `durable`: no fsync, for a cache that is written again within seconds and whose
    reader takes a damaged copy for none (the status line's snapshot, saved as renders
    change it: its two fsyncs were 1 to 2 ms of the render's 7 on the benchmarks' disk).
    A crash may take it back to an older version or leave it empty; no reader sees it
    half written.
    """
    fd, tmp = _create_temp(path, mode)
    try:
        try:
            write_all(fd, data)
            os.fchmod(fd, mode)  # the umask must not decide who can read it
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if durable:
        fsync_dir(path.parent)


def remove_stale_temps(directory: Path, now: float) -> int:
    """Delete temporary files of write_atomic's pattern that a killed writer left behind:
    only this user's plain files, never a link, and only once no writer could still use them."""
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not _TEMP.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if (
                stat.S_ISREG(st.st_mode)
                and st.st_uid == os.geteuid()
                and now - st.st_mtime > STALE_TEMP_SECONDS
            ):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def read_blocks(fd: int, start: int, end: int, block: int = 4 << 20) -> Iterator[bytes]:
    """The bytes from start to end in blocks, stopping early if the file ends sooner."""
    while start < end:
        data = os.pread(fd, min(block, end - start), start)
        if not data:
            return
        start += len(data)
        yield data


# No line cctrack looks for comes near this; a longer "line" is junk however it ends.
MAX_LINE = 1 << 20


def lines_from_end(fd: int, size: int, block: int = 64 << 10) -> Iterator[bytes]:
    """The file's lines, last first, read back in blocks; a line longer than MAX_LINE is
    skipped whole instead of being gathered, so a long junk tail costs one read, not
    quadratic copies."""
    position, carry, junk = size, b"", False
    while position > 0:
        step = min(block, position)
        position -= step
        lines = (os.pread(fd, step, position) + carry).split(b"\n")
        carry = lines.pop(0)
        if junk and lines:
            lines.pop()  # the rest of the over-long line
            junk = False
        yield from reversed(lines)
        if len(carry) > MAX_LINE:
            carry, junk = b"", True
    if not junk:
        yield carry


# State files and the tools' own small JSON files are kilobytes; .claude.json is megabytes.
MAX_JSON = 64 << 20


def read_small(path: Path, limit: int) -> bytes | None:
    """A file of at most limit bytes, or None when it does not exist. Never through a link,
    never blocking on a FIFO or a device: ValueError for anything but a regular file, or
    one larger than limit; other OSErrors (no permission) are the caller's."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW | CLOEXEC)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        data = handle.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"{path} is larger than {limit >> 20} MiB")
        return data


def read_json(path: Path) -> Any | None:
    """A small JSON file (read_small), or None when it does not exist."""
    data = read_small(path, MAX_JSON)
    return None if data is None else orjson.loads(data)


def read_bounded(fd: int, limit: int, seconds: float) -> bytes:
    """What a peer writes to fd, up to EOF, `limit` bytes or `seconds`, whichever comes
    first: a writer that never closes, or sends without end, costs a bounded wait and
    bounded memory."""
    import select
    import time

    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, min(1 << 16, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
