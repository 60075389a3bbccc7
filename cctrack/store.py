"""The data directory's day files, both ways, and the seq_no counter.

Writers append whole lines with one write and fsync under an exclusive lock (STORE_LOCK);
readers take the same lock, so a reader never sees half a record, and a fragment left by a
crash is the only kind of line without its newline. Readers read from marks (analyze: only
what was written since, and noticing a file rewritten below its mark) or forward from the
start (`events`, `history`, `tokens`: everything, without marks or hashing).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from cctrack.errors import CctrackError
from cctrack.files import (
    CLOEXEC,
    MAX_LINE,
    NOFOLLOW,
    fsync_dir,
    lines_from_end,
    locked,
    private_dir,
    read_blocks,
    write_all,
    write_atomic,
)
from cctrack.model import frozen
from cctrack.records import MAX_SEQ, Record, TokenRecord, has_record_envelope
from cctrack.status import strict_loads

DAY_FILE = re.compile(r"^usage-([0-9]{8})\.jsonl\Z")
SEQ_FILE = "seq"
STORE_LOCK = ".store.lock"
AnyRecord = TypeVar("AnyRecord", Record, TokenRecord)
_HEX = re.compile(r"^[0-9a-f]{32}\Z")


@frozen
class DayFiles:
    """The day files of a data directory, oldest first, and the entries named like one that
    cannot be read as one (a directory, a file this user may not read, a day that is not one):
    skipped, not fatal."""

    names: tuple[str, ...]
    unreadable: tuple[str, ...]


def day_file_name(record: Record | TokenRecord) -> str:
    return f"usage-{record.timestamp:%Y%m%d}.jsonl"


def day_end(name: str) -> datetime | None:
    """When the day a day file is named for ends (the next midnight, UTC); None when the name
    is not a day file's or not of a real day (usage-20261399.jsonl): such a file is no day
    file, whoever put it there."""
    match = DAY_FILE.match(name)
    if not match:
        return None
    day = match.group(1)
    try:
        start = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), tzinfo=timezone.utc)
    except ValueError:
        return None
    if start.date() == date.max:
        return datetime.max.replace(tzinfo=timezone.utc)
    return start + timedelta(days=1)


def list_day_files(data_dir: Path) -> DayFiles:
    try:
        entries = sorted(
            (entry for entry in os.scandir(data_dir) if DAY_FILE.match(entry.name)),
            key=lambda entry: entry.name,
        )
    except FileNotFoundError:
        return DayFiles((), ())
    names, unreadable = [], []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            unreadable.append(entry.name)
            continue
        if (
            stat.S_ISREG(st.st_mode)
            and os.access(entry.path, os.R_OK)
            and day_end(entry.name) is not None
        ):
            names.append(entry.name)
        else:
            unreadable.append(entry.name)
    return DayFiles(tuple(names), tuple(unreadable))


def first_seq_in_file(path: Path) -> int:
    """The seq_no of the first record in the file (0 when it holds none it can read): where
    a data directory's history now begins, after retention."""
    return _seq_in_file(path, first=True)


def last_seq_in_file(path: Path) -> int:
    """The seq_no of the last record in the file, reading back from its end as far as it
    takes: junk, a NUL tail or a long broken line before it cannot hide it."""
    return _seq_in_file(path, first=False)


def _seq_in_file(path: Path, first: bool) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | CLOEXEC)
    except OSError:
        return 0
    try:
        size = os.fstat(fd).st_size
        for line in _lines_forward(fd, size) if first else lines_from_end(fd, size):
            if b'"seq_no"' not in line:
                continue
            try:
                obj = strict_loads(line)
            except ValueError:
                continue
            if has_record_envelope(obj):
                return int(obj["seq_no"])
    except OSError:
        return 0
    finally:
        os.close(fd)
    return 0


def _lines_forward(fd: int, size: int) -> Iterator[bytes]:
    """The file's lines from its start, a line longer than MAX_LINE passed over."""
    pending = b""
    for block in read_blocks(fd, 0, size, block=64 << 10):
        *lines, pending = (pending + block).split(b"\n")
        yield from lines
        if len(pending) > MAX_LINE:
            pending = b""


def _counter(data_dir: Path) -> int | None:
    try:
        value = int((data_dir / SEQ_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return value if 0 <= value <= MAX_SEQ else None


def last_seq(data_dir: Path) -> int:
    """The highest seq_no handed out: the counter file, cross-checked with the newest records
    so that a stale counter can never make a number be used twice. Without a usable counter
    every day file's last record is looked at: after clock skew the newest-named file need
    not hold the highest number."""
    names = list_day_files(data_dir).names
    counted = _counter(data_dir)
    checked = names[-2:] if counted is not None else names
    return max([counted or 0, *(last_seq_in_file(data_dir / name) for name in checked)])


def append_records(data_dir: Path, records: Sequence[AnyRecord]) -> list[AnyRecord]:
    """Give the records the next seq_nos and append each to its day file.

    The counter is advanced before the lines are written, so a crash between the two
    leaves a gap in the numbers, never a number used twice.
    """
    private_dir(data_dir)
    path = data_dir / STORE_LOCK
    try:
        with locked(path):
            first = last_seq(data_dir) + 1
            if first + len(records) - 1 > MAX_SEQ:
                raise CctrackError(
                    f"seq_no would pass {MAX_SEQ} in {data_dir}; move the day files away"
                )
            numbered = [replace(record, seq_no=first + i) for i, record in enumerate(records)]
            path = data_dir / SEQ_FILE
            write_atomic(path, f"{first + len(records) - 1}\n".encode())
            by_file: dict[str, list[AnyRecord]] = {}
            for record in numbered:
                by_file.setdefault(day_file_name(record), []).append(record)
            for name, batch in by_file.items():
                path = data_dir / name
                _append_lines(path, b"".join(record.to_line() for record in batch))
    except OSError as exc:
        raise CctrackError(
            f"cannot record captures in {exc.filename or path}: {exc.strerror}; records "
            f"already there are intact"
        ) from None
    return numbered


def _append_lines(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | NOFOLLOW | CLOEXEC, 0o600)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(21, "not a regular file", str(path))
        if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
            # A crash tore the last line: end it, so our first record starts a line of its own.
            data = b"\n" + data
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if st.st_size == 0:
        fsync_dir(path.parent)


@frozen
class FileMark:
    offset: int
    inode: int
    mtime_ns: int
    fingerprint: str

    def to_json(self) -> list[Any]:
        return [self.offset, self.inode, self.mtime_ns, self.fingerprint]

    @classmethod
    def from_json(cls, obj: Any) -> FileMark:
        offset, inode, mtime_ns, fingerprint = obj
        numbers = (offset, inode, mtime_ns)
        if not all(type(n) is int and 0 <= n <= MAX_SEQ for n in numbers):
            raise ValueError("bad file mark")
        if not isinstance(fingerprint, str) or not _HEX.match(fingerprint):
            raise ValueError("bad file mark")
        return cls(offset, inode, mtime_ns, fingerprint)


class RewrittenBelowCheckpoint(Exception):
    """A day file shrank or changed in the part already read: only a full re-read is right."""


def _hash_prefix(fd: int, length: int) -> Any:
    digest = hashlib.blake2b(digest_size=16)
    for block in read_blocks(fd, 0, length):
        digest.update(block)
    return digest


@frozen
class ReadResult:
    marks: dict[str, FileMark]
    unreadable: tuple[str, ...]


def read_from_marks(
    data_dir: Path,
    marks: dict[str, FileMark],
    on_lines: Callable[[list[bytes]], None],
    only: Collection[str] | None = None,
) -> ReadResult:
    """Feed the lines written after the marks to on_lines, in blocks, file by file; return
    the new marks (offset, inode, mtime and a hash of every byte read, so a file truncated,
    rewritten in place or swapped is noticed), and the entries named like day files that
    could not be read (skipped).

    Call with the store lock held: a last line without its newline can then only be a
    crash's fragment, and it is passed on for the line parser to count. A file whose inode,
    size and mtime are as marked is not opened; one that changed has the part already read
    hashed again, and RewrittenBelowCheckpoint is raised when that part is not what it was.
    With only, just those files are read (the base folds the files retention takes).
    """
    listing = list_day_files(data_dir)
    unreadable = list(listing.unreadable)
    new_marks: dict[str, FileMark] = {}
    for name in listing.names:
        if only is not None and name not in only:
            continue
        fd = _open_day_file(data_dir, name, unreadable)
        if fd is None:
            continue
        try:
            st = os.fstat(fd)
            mark = marks.get(name)
            if mark and (mark.inode, mark.offset, mark.mtime_ns) == (
                st.st_ino,
                st.st_size,
                st.st_mtime_ns,
            ):
                new_marks[name] = mark
                continue
            offset = mark.offset if mark else 0
            if mark and (mark.inode != st.st_ino or st.st_size < offset):
                raise RewrittenBelowCheckpoint(name)
            digest = _hash_prefix(fd, offset)
            if mark and digest.hexdigest() != mark.fingerprint:
                raise RewrittenBelowCheckpoint(name)
            offset = _feed_lines(fd, offset, st.st_size, on_lines, digest)
        except OSError:
            unreadable.append(name)
            continue
        finally:
            os.close(fd)
        new_marks[name] = FileMark(offset, st.st_ino, st.st_mtime_ns, digest.hexdigest())
    # A file read before that cannot be read now keeps its mark: once it can be read again,
    # it goes on from there instead of being counted a second time.
    for name in unreadable:
        if name in marks and (only is None or name in only):
            new_marks[name] = marks[name]
    return ReadResult(new_marks, tuple(sorted(unreadable)))


def _open_day_file(data_dir: Path, name: str, unreadable: list[str]) -> int | None:
    """A day file opened to read, never through a link; None for one gone since it was
    listed, and for one that cannot be opened, which is then named in unreadable."""
    try:
        return os.open(data_dir / name, os.O_RDONLY | NOFOLLOW | CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:
        unreadable.append(name)
        return None


def _feed_lines(
    fd: int, offset: int, size: int, on_lines: Callable[[list[bytes]], None], digest: Any
) -> int:
    pending, skipping = b"", False
    for block in read_blocks(fd, offset, size):
        digest.update(block)
        offset += len(block)
        start = 0
        if skipping:
            start = block.find(b"\n") + 1
            if start == 0:
                continue
            skipping = False
        lines = (pending + block[start:]).split(b"\n")
        pending = lines.pop()
        if len(pending) > MAX_LINE:
            # No record is this long: a piece of it is passed on to be counted once, and the
            # rest is dropped as it comes instead of being gathered.
            lines.append(pending[:64])
            pending, skipping = b"", True
        on_lines([line for line in lines if line])
    if pending:
        on_lines([pending])
    return offset


class _NoDigest:
    def update(self, block: bytes) -> None:
        pass


def each_day_file(
    data_dir: Path, unreadable: list[str], first_day: str = ""
) -> Iterator[list[bytes]]:
    """The lines of every day file (from first_day's, YYYYMMDD, on), a file at a time,
    oldest first, without marks or hashing; what could not be read is added to
    unreadable (the lines before a read error are still given)."""
    listing = list_day_files(data_dir)
    unreadable.extend(listing.unreadable)
    for name in listing.names:
        if name < f"usage-{first_day}":
            continue
        fd = _open_day_file(data_dir, name, unreadable)
        if fd is None:
            continue
        lines: list[bytes] = []
        try:
            _feed_lines(fd, 0, os.fstat(fd).st_size, lines.extend, _NoDigest())
        except OSError:
            unreadable.append(name)
        finally:
            os.close(fd)
        yield lines


def read_forward(
    data_dir: Path, on_lines: Callable[[list[bytes]], None], first_day: str = ""
) -> tuple[str, ...]:
    """Feed every line of every day file (from first_day's, YYYYMMDD, on) to on_lines, a
    file at a time, oldest first (what `events` and `tokens` read); return what could not
    be read."""
    unreadable: list[str] = []
    for lines in each_day_file(data_dir, unreadable, first_day):
        on_lines(lines)
    return tuple(sorted(unreadable))
