"""The rollup: what the HTML report draws, kept by analyze as it folds, so that a year of
history is drawn from a few megabytes instead of being folded again.

Per plan window, each hour in which its use or reset changed or a limit event came: the
snapshot that used most, the last, and the events (how many of each kind, and where the
first of each was). Per tool and hour: the tokens that count against a window, by model
and by project, per quarter hour. Every closed window, as `cctrack cycles` lists it. Rows
are appended to rollup-YYYYMM.jsonl (the UTC month they are about).

Exactly once: the checkpoint records each file's size. Analyze cuts a file back to that
size before it appends (what a run that died before its checkpoint wrote), and readers
read no further. A file shorter than recorded cannot be mended: analyze replays the day
files. An hour of tokens may come in more than one row (a log line found late); readers
add them up.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from cctrack.cycles import COLUMNS
from cctrack.errors import CctrackError
from cctrack.evidence import KINDS, Point
from cctrack.files import CLOEXEC, NOFOLLOW, fsync_dir, read_blocks, write_all
from cctrack.model import mutable
from cctrack.retention import month_kept
from cctrack.status import NUMBER_TYPES, bounded, is_number

ROLLUP_FILE = re.compile(r"^rollup-([0-9]{6})\.jsonl\Z")
# Tokens are kept per quarter hour: every UTC offset in use is a whole number of them, so
# each falls on the right local day.
QUARTERS = 4
# (profile, tool, window, hour since the epoch)
HourKey = tuple[str, str, str, int]
# (profile, tool, scan store, hour since the epoch)
TokenKey = tuple[str, str, str, int]


def _month(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y%m")


# A snapshot of a plan window: (time, share used, reset), times in seconds since the epoch.
Snapshot = tuple[float, float, float | None]


def _snapshot(value: Any) -> Snapshot:
    at, used, resets = value
    if type(at) not in NUMBER_TYPES or type(used) not in NUMBER_TYPES:
        raise ValueError("bad snapshot")
    if resets is not None and type(resets) not in NUMBER_TYPES:
        raise ValueError("bad snapshot")
    return at, used, resets


@mutable
class HourRow:
    """One plan window's hour in which its use or reset changed, or a limit event came: its
    highest snapshot and the last that changed something (the line holds it until the next
    row), and the events (how many of each kind, and where the first of each was)."""

    key: HourKey
    high: Snapshot
    last: Snapshot
    counts: dict[str, int] = field(default_factory=dict)
    # The first event of each kind: (time, share used after it).
    first: dict[str, tuple[float, float]] = field(default_factory=dict)

    def see(self, snapshot: Snapshot) -> None:
        if (snapshot[1], snapshot[0]) > (self.high[1], self.high[0]):
            self.high = snapshot
        if snapshot[0] >= self.last[0]:
            self.last = snapshot

    def event(self, kind: str, at: float, used: float) -> None:
        self.counts[kind] = bounded(self.counts.get(kind, 0) + 1)
        if kind not in self.first or at < self.first[kind][0]:
            self.first[kind] = (at, used)

    def merge(self, other: HourRow) -> None:
        self.see(other.high)
        self.see(other.last)
        for kind, count in other.counts.items():
            self.counts[kind] = bounded(self.counts.get(kind, 0) + count)
        for kind, (at, used) in other.first.items():
            if kind not in self.first or at < self.first[kind][0]:
                self.first[kind] = (at, used)

    @property
    def month(self) -> str:
        return _month(self.key[3] * 3600)

    def to_json(self) -> list[Any]:
        firsts = {kind: list(first) for kind, first in self.first.items()}
        return ["h", *self.key, list(self.high), list(self.last), self.counts, firsts]

    @classmethod
    def from_json(cls, obj: list[Any]) -> HourRow:
        _, profile, tool, window, hour, high, last, counts, first = obj
        good = type(profile) is str and type(tool) is str and type(window) is str
        good = good and type(hour) is int
        places = {}
        for kind, count in counts.items():
            good = good and kind in KINDS and type(count) is int
        for kind, (at, used) in first.items():
            good = good and kind in KINDS and type(at) in NUMBER_TYPES
            good = good and type(used) in NUMBER_TYPES
            places[kind] = (at, used)
        if not good:
            raise ValueError("bad hour row")
        return cls((profile, tool, window, hour), _snapshot(high), _snapshot(last), counts, places)


@mutable
class TokenHour:
    """One tool's hour: per quarter of it, the tokens that count against a window, by
    model and (with token_projects) by working directory, as counted by one scan store."""

    key: TokenKey
    models: dict[str, list[int]] = field(default_factory=dict)
    projects: dict[str, list[int]] = field(default_factory=dict)

    def merge(self, other: TokenHour) -> None:
        for mine, theirs in ((self.models, other.models), (self.projects, other.projects)):
            for name, counts in theirs.items():
                held = mine.setdefault(name, [0] * QUARTERS)
                for i, count in enumerate(counts):
                    held[i] = bounded(held[i] + count)

    @property
    def month(self) -> str:
        return _month(self.key[3] * 3600)

    def to_json(self) -> list[Any]:
        return ["t", *self.key, self.models, self.projects]

    @classmethod
    def from_json(cls, obj: list[Any]) -> TokenHour:
        _, profile, tool, store, hour, models, projects = obj
        good = type(profile) is str and type(tool) is str and type(store) is str
        good = good and type(hour) is int
        for table in (models, projects):
            for name, counts in table.items():
                good = good and type(name) is str and len(counts) == QUARTERS
                for count in counts:
                    good = good and type(count) is int
        if not good:
            raise ValueError("bad token row")
        return cls((profile, tool, store, hour), models, projects)


@mutable
class CycleRow:
    """A closed window, as a row of `cctrack cycles` (cycles.COLUMNS)."""

    row: dict[str, Any]
    reset: float

    @property
    def month(self) -> str:
        return _month(self.reset)

    def to_json(self) -> list[Any]:
        return ["c", self.reset, self.row]

    @classmethod
    def from_json(cls, obj: list[Any]) -> CycleRow:
        _, reset, row = obj
        if not is_number(reset) or not isinstance(row, dict) or tuple(row) != COLUMNS:
            raise ValueError("bad cycle row")
        return cls(row, reset)


Row = HourRow | TokenHour | CycleRow
ROW_TYPES: dict[str, Any] = {"h": HourRow, "t": TokenHour, "c": CycleRow}
# Every kind of row, as readers choose them (read, fold.replay).
ALL_ROWS = "".join(ROW_TYPES)


@mutable
class Rollup:
    """The rows not yet written, as the state folds (and a reader's rows, merged): kept in
    the checkpoint between runs."""

    hours: dict[HourKey, HourRow] = field(default_factory=dict)
    tokens: dict[TokenKey, TokenHour] = field(default_factory=dict)
    cycles: list[CycleRow] = field(default_factory=list)
    # Each plan window's last (share used, reset): a snapshot that changes neither and
    # makes no event is not kept, and an hour of only such gets no row (most hours of a
    # year are idle ones, and most snapshots of a replay are cheap this way).
    held: dict[tuple[str, str, str], tuple[float, datetime | None]] = field(default_factory=dict)
    # A reader's rows it could not read (a kind from a newer version, a damaged line), as
    # "file line N": left out, and said, never hiding the rest.
    skipped: list[str] = field(default_factory=list)

    def add_point(self, key: tuple[str, str, str], point: Point, kinds: list[str]) -> None:
        """A new snapshot of a plan window (newer than any before), and the events it made."""
        value = (point.used_ratio, point.resets_at)
        if not kinds and self.held.get(key) == value:
            return
        self.held[key] = value
        at = point.observed_at.timestamp()
        resets = point.resets_at.timestamp() if point.resets_at else None
        hour_key = (*key, int(at // 3600))
        snapshot = (at, point.used_ratio, resets)
        row = self.hours.get(hour_key)
        if row is None:
            row = self.hours[hour_key] = HourRow(hour_key, snapshot, snapshot)
        else:
            row.see(snapshot)
        for kind in kinds:
            row.event(kind, at, point.used_ratio)

    def add_tokens(
        self, key: tuple[str, str, str], minute: int, model: str | None, project: str | None, n: int
    ) -> None:
        """n tokens of a minute (since the epoch), under a model or a project."""
        hour, part = divmod(minute, 60)
        token_key = (*key, hour)
        row = self.tokens.get(token_key)
        if row is None:
            row = self.tokens[token_key] = TokenHour(token_key)
        table, name = (row.models, model) if model is not None else (row.projects, project)
        assert name is not None
        quarters = table.setdefault(name, [0] * QUARTERS)
        quarter = part * QUARTERS // 60
        quarters[quarter] = bounded(quarters[quarter] + n)

    def drain(self, keep_latest: bool) -> list[Row]:
        """The rows to write. With keep_latest, the newest hour of each window and of each
        tool's tokens stay here, still filling: a run every five minutes then writes a row
        an hour, not twelve."""
        kept: dict[Any, Any] = {}
        if keep_latest:
            for table in (self.hours, self.tokens):
                newest: dict[tuple[str, ...], Any] = {}
                for key in table:
                    if key[:3] not in newest or key[3] > newest[key[:3]][3]:
                        newest[key[:3]] = key
                kept.update({key: table[key] for key in newest.values()})
        rows: list[Row] = [r for r in self.hours.values() if r.key not in kept]
        rows += [r for r in self.tokens.values() if r.key not in kept]
        rows += self.cycles
        self.hours = {k: v for k, v in self.hours.items() if k in kept}
        self.tokens = {k: v for k, v in self.tokens.items() if k in kept}
        self.cycles = []
        return rows

    def to_json(self) -> dict[str, Any]:
        rows: list[Row] = [*self.hours.values(), *self.tokens.values(), *self.cycles]
        return {
            "rows": [row.to_json() for row in rows],
            "held": [
                [*key, used, resets.timestamp() if resets else None]
                for key, (used, resets) in sorted(self.held.items())
            ],
        }

    @classmethod
    def from_json(cls, obj: Any) -> Rollup:
        rollup = cls()
        for item in obj["rows"]:
            rollup.keep(row_from_json(item))
        for profile, tool, window, *value in obj["held"]:
            _, used, resets = _snapshot((0, *value))
            moment = datetime.fromtimestamp(resets, timezone.utc) if resets is not None else None
            rollup.held[(str(profile), str(tool), str(window))] = (used, moment)
        return rollup

    def keep(self, row: Row) -> None:
        """Merge a row into what is held (a reader's rows, or the checkpoint's)."""
        if isinstance(row, HourRow):
            held = self.hours.get(row.key)
            if held is None:
                self.hours[row.key] = row
            else:
                held.merge(row)
        elif isinstance(row, TokenHour):
            found = self.tokens.get(row.key)
            if found is None:
                self.tokens[row.key] = row
            else:
                found.merge(row)
        else:
            self.cycles.append(row)


def row_from_json(obj: Any) -> Row:
    if not isinstance(obj, list) or not obj or obj[0] not in ROW_TYPES:
        raise ValueError("not a rollup row")
    row: Row = ROW_TYPES[obj[0]].from_json(obj)
    return row


# The files. `committed` maps each file's name to the size the checkpoint recorded.


def damage(data_dir: Path, committed: dict[str, int]) -> str | None:
    """Why the files cannot go on from the checkpoint (one is gone or shorter), or None."""
    for name, size in sorted(committed.items()):
        try:
            st = os.stat(data_dir / name, follow_symlinks=False)
        except FileNotFoundError:
            return f"{name} is gone"
        if not stat.S_ISREG(st.st_mode) or st.st_size < size:
            return f"{name} is shorter than analyze left it"
    return None


def cut(data_dir: Path, committed: dict[str, int]) -> None:
    """Cut each file back to its recorded size; remove those the checkpoint does not know
    (what a run that died, or a replay, left behind)."""
    for entry in os.scandir(data_dir):
        if not ROLLUP_FILE.match(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        size = committed.get(entry.name, 0)
        if size == 0:
            os.unlink(entry.path)
        elif entry.stat(follow_symlinks=False).st_size > size:
            fd = os.open(entry.path, os.O_WRONLY | NOFOLLOW | CLOEXEC)
            try:
                os.ftruncate(fd, size)
            finally:
                os.close(fd)


# Rows a replay holds in memory before it writes them out (Spill): a few days of a busy
# history, where a year is some 50,000.
SPILL_ROWS = 2000
# Lines appended to the files in writes of about this many bytes.
APPEND_BYTES = 4 << 20


class Spill:
    """The rows a replay has finished with (a rebuild of years of day files, a checkpoint
    lost), written out of memory as the fold goes, until analyze appends them to the rollup
    files with the rest: an unnamed file in the data directory, gone with the process
    whatever stops it, so the rollup files change only where they always did."""

    def __init__(self, data_dir: Path) -> None:
        # Closed by __exit__: it lives as long as the analysis that spills into it. Linux
        # makes it unnamed at once (without tempfile's import, 3 ms of every analyze);
        # elsewhere, or on a file system without O_TMPFILE, tempfile names it and removes
        # the name.
        try:
            fd = os.open(data_dir, getattr(os, "O_TMPFILE", 0) | os.O_RDWR | CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            fd = -1
        if fd >= 0:
            self.file: BinaryIO = os.fdopen(fd, "w+b")
        else:
            import tempfile

            self.file = tempfile.TemporaryFile(dir=data_dir)  # noqa: SIM115

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *_: object) -> None:
        self.file.close()

    def write(self, rows: list[Row]) -> None:
        self.file.writelines(
            f"{row.month} ".encode() + orjson.dumps(row.to_json()) + b"\n" for row in rows
        )

    def reset(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    def lines(self) -> Iterator[tuple[str, bytes]]:
        self.file.flush()
        self.file.seek(0)
        for line in self.file:
            month, _, body = line.rstrip(b"\n").partition(b" ")
            yield month.decode(), body


def append(
    data_dir: Path,
    rows: list[Row],
    committed: dict[str, int],
    spilled: Iterable[tuple[str, bytes]] = (),
) -> dict[str, int]:
    """Append the rows (after those spilled, as (month, line)) to their months' files, a
    few megabytes at a time; the sizes to record."""
    lines = itertools.chain(spilled, ((row.month, orjson.dumps(row.to_json())) for row in rows))
    sizes = dict(committed)
    fds: dict[str, int] = {}
    waiting: dict[str, list[bytes]] = {}
    held = 0

    def write_out() -> None:
        for month, chunk in sorted(waiting.items()):
            name = f"rollup-{month}.jsonl"
            if name not in fds:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW | CLOEXEC
                fds[name] = os.open(data_dir / name, flags, 0o600)
            write_all(fds[name], b"\n".join(chunk) + b"\n")
        waiting.clear()

    try:
        for month, line in lines:
            waiting.setdefault(month, []).append(line)
            held += len(line) + 1
            if held >= APPEND_BYTES:
                write_out()
                held = 0
        write_out()
        for name, fd in fds.items():
            os.fsync(fd)
            sizes[name] = os.fstat(fd).st_size
    finally:
        for fd in fds.values():
            os.close(fd)
    if set(fds) - set(committed):
        fsync_dir(data_dir)
    return sizes


def expired(committed: dict[str, int], before: datetime | None) -> list[str]:
    """The files whose whole month is before the cutoff (retention.month_kept)."""
    return [
        name
        for name in committed
        if (m := ROLLUP_FILE.match(name)) and not month_kept(m.group(1), before)
    ]


def read(data_dir: Path, committed: dict[str, int], kinds: str = ALL_ROWS) -> Rollup:
    """Every row the checkpoint vouches for, merged; a row this version cannot read is left
    out and named in skipped. With `kinds` (ROW_TYPES' letters), only the rows of those:
    `cctrack cycles` holds its rows, not a year of hours, and reads a month at a time."""
    held = Rollup()
    others = tuple(f'["{kind}",'.encode() for kind in ROW_TYPES if kind not in kinds)
    for name, size in sorted(committed.items()):
        try:
            fd = os.open(data_dir / name, os.O_RDONLY | NOFOLLOW | CLOEXEC)
        except OSError as exc:
            raise CctrackError(f"cannot read {data_dir / name}: {exc.strerror}") from None
        try:
            data = b"".join(read_blocks(fd, 0, size))
        finally:
            os.close(fd)
        lines = data.splitlines()
        if others:
            lines = [line for line in lines if not line.startswith(others)]
        try:
            # One parse for the file: a year is some 50,000 rows.
            rows = orjson.loads(b"[" + b",".join(lines) + b"]")
        except ValueError:
            rows = None
        for number, line in enumerate(lines):
            try:
                held.keep(row_from_json(rows[number] if rows else orjson.loads(line)))
            except (ValueError, TypeError, KeyError, AttributeError):
                held.skipped.append(f"{name} line {number + 1}")
    return held


def skipped_note(skipped: list[str]) -> str | None:
    """What a reader says of the rows it left out."""
    if not skipped:
        return None
    where = ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else "")
    return (
        f"left out {len(skipped)} rollup row(s) this version cannot read ({where}): written "
        "by a newer cctrack, or damaged; the rest is shown"
    )
