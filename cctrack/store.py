"""The data directory: day files of records and the seq_no counter.

Writers append whole lines with one write and fsync under an exclusive lock; readers take
the same lock, so a reader never sees half a record, and a fragment left by a crash is
the only kind of line without its newline.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from cctrack.errors import CctrackError
from cctrack.files import (
    CLOEXEC,
    NOFOLLOW,
    fsync_dir,
    lines_from_end,
    locked,
    private_dir,
    write_all,
    write_atomic,
)
from cctrack.records import MAX_SEQ, Record, TokenRecord, has_record_envelope, strict_loads

DAY_FILE = re.compile(r"^usage-(\d{8})\.jsonl$")
SEQ_FILE = "seq"
STORE_LOCK = ".store.lock"
AnyRecord = TypeVar("AnyRecord", Record, TokenRecord)


@dataclass(frozen=True)
class DayFiles:
    """The day files of a data directory, oldest first, and the entries named like one that
    cannot be read as one (a directory, a file this user may not read): skipped, not fatal."""

    names: tuple[str, ...]
    unreadable: tuple[str, ...]


def day_file_name(record: Record | TokenRecord) -> str:
    return f"usage-{record.timestamp:%Y%m%d}.jsonl"


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
        if stat.S_ISREG(st.st_mode) and os.access(entry.path, os.R_OK):
            names.append(entry.name)
        else:
            unreadable.append(entry.name)
    return DayFiles(tuple(names), tuple(unreadable))


def last_seq_in_file(path: Path) -> int:
    """The seq_no of the last record in the file, reading back from its end as far as it
    takes: junk, a NUL tail or a long broken line before it cannot hide it."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | CLOEXEC)
    except OSError:
        return 0
    try:
        for line in lines_from_end(fd, os.fstat(fd).st_size):
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
