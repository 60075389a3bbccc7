"""The data directory: day files of records, the seq_no counter, locks and small state files.

Writers append whole lines with one write and fsync under an exclusive lock; readers take
the same lock, so a reader never sees half a record, and a fragment left by a crash is
the only kind of line without its newline.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cctrack.errors import CctrackError
from cctrack.records import Record

DAY_FILE = re.compile(r"^usage-(\d{8})\.jsonl$")
SEQ_FILE = "seq"
STORE_LOCK = ".store.lock"
READ_BLOCK = 4 << 20
TAIL_BLOCK = 64 << 10


def ensure_private_dir(path: Path) -> Path:
    """Create the data directory owner-only; records may name the machine and plans."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CctrackError(f"cannot create data directory {path}: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CctrackError(f"data directory {path} is not writable by this user")
    return path


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive flock on path, released when the process dies, so a crash never leaves
    it stuck; waits for the holder, which only ever holds it for a write or a read."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write a temporary file beside path, fsync it, then rename it over path."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)  # the umask must not decide who can read it
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def read_json(path: Path) -> Any | None:
    """A small JSON state file, or None when it does not exist."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def day_file_name(record: Record) -> str:
    return f"usage-{record.timestamp:%Y%m%d}.jsonl"


def day_files(data_dir: Path) -> list[str]:
    try:
        names = os.listdir(data_dir)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if DAY_FILE.match(name))


def _last_seq_in_file(path: Path) -> int:
    """The seq_no of the last readable record, reading only the file's end."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BLOCK))
            tail = handle.read()
    except FileNotFoundError:
        return 0
    for line in reversed(tail.split(b"\n")):
        try:
            seq = json.loads(line).get("seq_no")
        except (ValueError, AttributeError):
            continue
        if isinstance(seq, int) and not isinstance(seq, bool):
            return seq
    return 0


def last_seq(data_dir: Path) -> int:
    """The highest seq_no handed out: the counter file, cross-checked with the newest records
    so that a lost or stale counter can never make a number be used twice."""
    try:
        counted = int((data_dir / SEQ_FILE).read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        counted = 0
    newest = day_files(data_dir)[-2:]
    return max([counted, *(_last_seq_in_file(data_dir / name) for name in newest)])


def append_records(data_dir: Path, records: Sequence[Record]) -> list[Record]:
    """Give the records the next seq_nos and append each to its day file.

    The counter is advanced before the lines are written, so a crash between the two
    leaves a gap in the numbers, never a number used twice.
    """
    ensure_private_dir(data_dir)
    try:
        with locked(data_dir / STORE_LOCK):
            first = last_seq(data_dir) + 1
            numbered = [replace(record, seq_no=first + i) for i, record in enumerate(records)]
            write_atomic(data_dir / SEQ_FILE, f"{first + len(records) - 1}\n".encode())
            by_file: dict[str, list[Record]] = {}
            for record in numbered:
                by_file.setdefault(day_file_name(record), []).append(record)
            for name, batch in by_file.items():
                _append_lines(data_dir / name, b"".join(record.to_line() for record in batch))
    except OSError as exc:
        raise CctrackError(f"cannot record captures in {data_dir}: {exc.strerror} ({exc.filename or 'write'}); "
                           "records already there are intact") from None
    return numbered


def _append_lines(path: Path, data: bytes) -> None:
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # A crash tore the last line: end it, so our first record starts a line of its own.
            data = b"\n" + data
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


@dataclass(frozen=True)
class FileMark:
    """How far analyze has read one day file, and a hash of all it read, to notice a change."""

    offset: int
    inode: int
    mtime_ns: int
    fingerprint: str

    def to_json(self) -> list[Any]:
        return [self.offset, self.inode, self.mtime_ns, self.fingerprint]

    @classmethod
    def from_json(cls, obj: Any) -> FileMark:
        offset, inode, mtime_ns, fingerprint = obj
        if not all(isinstance(n, int) for n in (offset, inode, mtime_ns)) or not isinstance(fingerprint, str):
            raise ValueError("bad file mark")
        return cls(offset, inode, mtime_ns, fingerprint)


class RewrittenBelowCheckpoint(Exception):
    """A day file shrank or changed in the part already read: only a full re-read is right."""


def _blocks(fd: int, start: int, end: int) -> Iterator[bytes]:
    while start < end:
        block = os.pread(fd, min(READ_BLOCK, end - start), start)
        if not block:
            return
        start += len(block)
        yield block


def _hash_prefix(fd: int, length: int) -> Any:
    digest = hashlib.blake2b(digest_size=16)
    for block in _blocks(fd, 0, length):
        digest.update(block)
    return digest


def read_new_lines(data_dir: Path, marks: dict[str, FileMark], on_lines: Callable[[list[bytes]], None]) -> dict[str, FileMark]:
    """Feed the lines written after the marks to on_lines, in blocks, file by file; return
    the new marks.

    Call with the store lock held: a last line without its newline can then only be a
    crash's fragment, and it is passed on for the line parser to count. A file whose inode,
    size and mtime are as marked is not opened; one that changed has the part already read
    hashed again, and RewrittenBelowCheckpoint is raised when that part is not what it was.
    """
    new_marks: dict[str, FileMark] = {}
    for name in day_files(data_dir):
        path = data_dir / name
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        mark = marks.get(name)
        if mark and (mark.inode, mark.offset, mark.mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns):
            new_marks[name] = mark
            continue
        offset = mark.offset if mark else 0
        if mark and (mark.inode != st.st_ino or st.st_size < offset):
            raise RewrittenBelowCheckpoint(name)
        fd = os.open(path, os.O_RDONLY)
        try:
            digest = _hash_prefix(fd, offset)
            if mark and digest.hexdigest() != mark.fingerprint:
                raise RewrittenBelowCheckpoint(name)
            offset = _feed_lines(fd, offset, st.st_size, on_lines, digest)
        finally:
            os.close(fd)
        new_marks[name] = FileMark(offset, st.st_ino, st.st_mtime_ns, digest.hexdigest())
    return new_marks


def _feed_lines(fd: int, offset: int, size: int, on_lines: Callable[[list[bytes]], None], digest: Any) -> int:
    pending = b""
    for block in _blocks(fd, offset, size):
        digest.update(block)
        offset += len(block)
        lines = (pending + block).split(b"\n")
        pending = lines.pop()
        on_lines([line for line in lines if line])
    if pending:
        on_lines([pending])
    return offset
