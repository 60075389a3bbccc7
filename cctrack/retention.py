"""Retention: by which clock, and what a run lets go (day files past `retention_days`, the
rollup's months before them). The rules alone: analyze applies them, and the base and the
rollup keep the same months by them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cctrack.store import FileMark, day_end


def data_clock(now: datetime, day_files: Iterable[str], previous: datetime | None) -> datetime:
    """The time retention and pruning go by: the wall clock, but never past the end of the
    newest day file's date, nor more than a day past the previous run's: a clock set wrong
    once (a year ahead) deletes no day file and prunes no token history."""
    limits = [now]
    ends = [end for name in day_files if (end := day_end(name))]
    if ends:
        limits.append(max(ends))
    if previous is not None:
        limits.append(previous + timedelta(days=1))
    return min(limits)


def cutoff(clock: datetime, retention_days: int) -> datetime | None:
    """What is older than this goes; None (a retention of 0 days) keeps everything."""
    return clock - timedelta(days=retention_days) if retention_days > 0 else None


def day_file_expired(name: str, before: datetime | None) -> bool:
    """Is this a day file whose whole day is before the cutoff?"""
    end = day_end(name)
    return end is not None and before is not None and end <= before


def month_kept(month: str, before: datetime | None) -> bool:
    """Is any day of this month (YYYYMM) on or after the cutoff? The rollup's files and the
    base's rows of a month go together, once the whole month is past."""
    return before is None or month >= before.astimezone(timezone.utc).strftime("%Y%m")


def retiring(data_dir: Path, marks: dict[str, FileMark], before: datetime | None) -> list[str]:
    """The day files past the cutoff that the saved checkpoint has read to the end (the
    same file, to its last byte): the base folds them in before they go. Call with the
    store lock held."""
    found = []
    for name, mark in sorted(marks.items()):
        if not day_file_expired(name, before):
            continue
        try:
            st = os.stat(data_dir / name, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if (st.st_ino, st.st_size) == (mark.inode, mark.offset):
            found.append(name)
    return found
