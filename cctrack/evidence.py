"""Evidence when limits move: what consecutive snapshots of one window say happened.

Pure: points in, events out. A point is one window (or bucket) as one snapshot saw it; the
snapshots of one series are compared in the order their numbers were true (`observed_at`),
and a snapshot seen again (not newer than the last) is not a new one. Deterministic:
`analyze --rebuild` finds the same events.
"""

from __future__ import annotations

import functools
from dataclasses import field
from datetime import datetime, timedelta
from typing import Any

from cctrack.model import frozen, mutable
from cctrack.thresholds import Limits
from cctrack.timefmt import format_precise, parse_time

KINDS = ("reset", "reset_move", "drop", "jump", "idle_rise")
# A reset this close to the announced one is that reset, not an early one.
RESET_SLACK = timedelta(minutes=1)


@frozen
class Point:
    observed_at: datetime
    used_ratio: float
    resets_at: datetime | None
    origin: str
    # When capture saw it: a window whose reset passed by then was recorded as rolled over.
    captured_at: datetime
    # The newest local activity of the tool on this host when the snapshot was taken.
    local_activity_at: datetime | None = None

    @property
    def rolled_over(self) -> bool:
        return self.resets_at is None and self.used_ratio == 0

    def to_json(self) -> list[Any]:
        return [
            format_precise(self.observed_at),
            self.used_ratio,
            format_precise(self.resets_at) if self.resets_at else None,
            self.origin,
            format_precise(self.captured_at),
            format_precise(self.local_activity_at) if self.local_activity_at else None,
        ]

    @classmethod
    def from_json(cls, obj: Any) -> Point:
        observed, used, resets, origin, captured, activity = obj
        if (
            isinstance(used, bool)
            or not isinstance(used, (int, float))
            or not isinstance(origin, str)
        ):
            raise ValueError("bad evidence point")
        return cls(
            parse_time(observed),
            float(used),
            parse_time(resets) if resets else None,
            origin,
            parse_time(captured),
            parse_time(activity) if activity else None,
        )


# (profile, tool, window, bucket); bucket "" is the plan's own window.
SeriesKey = tuple[str, str, str, str]


@frozen
class LimitEvent:
    kind: str
    key: SeriesKey
    before: Point
    after: Point

    @property
    def move_seconds(self) -> float | None:
        if self.kind != "reset_move" or not self.before.resets_at or not self.after.resets_at:
            return None
        return (self.after.resets_at - self.before.resets_at).total_seconds()


def compare(before: Point, after: Point, limits: Limits) -> list[str]:
    """The kinds of event between two snapshots of one series, the later one second."""
    if after.observed_at <= before.observed_at:
        return []
    if before.resets_at is not None and (
        (after.rolled_over and after.captured_at >= before.resets_at)
        or (
            after.observed_at >= before.resets_at - RESET_SLACK
            # Past the announced time with usage still counting up is the vendor's meter
            # going on (Codex moves the reset later), not a reset.
            and after.used_ratio < before.used_ratio
        )
    ):
        return ["reset"]
    kinds = []
    if (
        before.resets_at is not None
        and after.resets_at is not None
        and abs(after.resets_at - before.resets_at) > limits.reset_move
    ):
        kinds.append("reset_move")
    change = after.used_ratio - before.used_ratio
    if change <= -limits.drop:
        kinds.append("drop")
    if change >= limits.jump and after.observed_at - before.observed_at < limits.jump_within:
        kinds.append("jump")
    if (
        change >= limits.rise
        and after.local_activity_at is not None
        and after.local_activity_at <= before.observed_at
    ):
        kinds.append("idle_rise")
    return kinds


@mutable
class Counts:
    """The counters of one series."""

    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    last_move_seconds: float | None = None

    def to_json(self) -> list[Any]:
        return [[self.by_kind[kind] for kind in KINDS], self.last_move_seconds]

    @classmethod
    def from_json(cls, obj: Any) -> Counts:
        numbers, move = obj
        if len(numbers) != len(KINDS) or not all(type(n) is int and n >= 0 for n in numbers):
            raise ValueError("bad evidence counts")
        if move is not None and (isinstance(move, bool) or not isinstance(move, (int, float))):
            raise ValueError("bad evidence counts")
        return cls(dict(zip(KINDS, numbers, strict=True)), move)


@mutable
class Evidence:
    """The last point of every series and its counters, advanced point by point."""

    last: dict[SeriesKey, Point] = field(default_factory=dict)
    counts: dict[SeriesKey, Counts] = field(default_factory=dict)

    def add(
        self, key: SeriesKey, point: Point, limits: Limits, log: list[LimitEvent] | None = None
    ) -> list[str] | None:
        """Advance the series by one point; the events it makes are counted, and appended
        to log when one is given. The kinds of event; None for a point that is not new."""
        before = self.last.get(key)
        if before is not None and point.observed_at <= before.observed_at:
            return None  # seen again, or older than what is known: not a new snapshot
        self.last[key] = point
        counts = self.counts.get(key)
        if counts is None:
            counts = self.counts[key] = Counts()
        if before is None:
            return []
        kinds = compare(before, point, limits)
        for kind in kinds:
            event = LimitEvent(kind, key, before, point)
            counts.by_kind[kind] += 1
            if kind == "reset_move":
                counts.last_move_seconds = event.move_seconds
            if log is not None:
                log.append(event)
        return kinds


def key_to_text(key: SeriesKey) -> str:
    return "/".join(key)


def key_from_text(text: str) -> SeriesKey:
    parts = text.split("/")
    if len(parts) != 4:
        raise ValueError("bad evidence key")
    return parts[0], parts[1], parts[2], parts[3]


# Reset times repeat across thousands of records: parsing each distinct string once is most
# of what keeps a replay of a year fast.
_parse = functools.lru_cache(maxsize=8192)(parse_time)


def points_of(obj: dict[str, Any]) -> list[tuple[str, str, Point]]:
    """(window, bucket, point) for every window and bucket of a raw ok record; malformed
    parts are skipped (the record itself is validated elsewhere)."""
    try:
        observed = _parse(obj["observed_at"])
        captured = _parse(obj["timestamp"])
        origin = str(obj.get("origin", ""))
        activity = _parse(obj["local_activity_at"]) if obj.get("local_activity_at") else None
    except (KeyError, ValueError):
        return []
    found = []
    windows = obj.get("windows")
    buckets = obj.get("buckets")
    entries = [(name, "", w) for name, w in windows.items()] if isinstance(windows, dict) else []
    for bucket in buckets if isinstance(buckets, list) else ():
        if isinstance(bucket, dict) and isinstance(bucket.get("bucket"), str):
            entries.append((str(bucket.get("window")), bucket["bucket"], bucket))
    for window, bucket, entry in entries:
        if not isinstance(entry, dict):
            continue
        used = entry.get("used_ratio")
        if isinstance(used, bool) or not isinstance(used, (int, float)) or not 0 <= used <= 1.05:
            continue
        try:
            resets = _parse(entry["resets_at"]) if entry.get("resets_at") else None
        except ValueError:
            resets = None
        # A bucket with its own time (read from an older source) was true then, not now.
        try:
            seen = _parse(entry["observed_at"]) if bucket and entry.get("observed_at") else observed
        except ValueError:
            seen = observed
        point = Point(seen, float(used), resets, origin, captured, activity)
        found.append((window, bucket, point))
    return found
