"""Cycles: each window of a tool from its first snapshot to its reset, closed at the reset.

Pure: snapshots in, closed cycles out, one record at a time, so that analyze (the last
5-hour window's cost in weekly points, a gauge) and `cctrack cycles` (every closed window,
from the day files) fold the same way and agree; `analyze --rebuild` gives the same.
A reset is what evidence.compare calls one.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from cctrack.evidence import Point, compare
from cctrack.model import mutable
from cctrack.status import is_number
from cctrack.thresholds import Limits
from cctrack.timefmt import format_precise, parse_time

FIVE_HOUR, WEEKLY = "five_hour", "weekly"
# Below this many 5-hour points between a window's first and last snapshot, its cost in
# weekly points is mostly the rounding of the two percentages.
MIN_FIVE_HOUR_POINTS = 0.05
RESETS_ONLY = Limits()


# A closed window as `cctrack cycles` and the rollup give it.
COLUMNS = (
    "tool",
    "profile",
    "window",
    "start",
    "reset",
    "first_seen",
    "peak_used_ratio",
    "full_at",
    "full_seconds",
    "tokens",
    "weekly_points",
    "weekly_per_five_hour",
)


def _moment(value: datetime | None) -> str | None:
    return format_precise(value) if value else None


class Cycle(NamedTuple):
    """One closed window; a NamedTuple, which costs a tenth of a frozen dataclass to
    define on every run. Shares are 0..1; weekly_points only for a 5-hour window that
    stayed within one week, weekly_per_five_hour only when it moved at least
    MIN_FIVE_HOUR_POINTS (weekly points per 5-hour point: 0.2 means a full 5-hour window
    costs a fifth of the week)."""

    window: str
    start: datetime | None
    reset: datetime
    first_seen: datetime
    peak: float
    full_at: datetime | None
    full_seconds: float
    weekly_points: float | None = None
    weekly_per_five_hour: float | None = None

    def row(self, profile: str, tool: str, tokens: int | None) -> dict[str, Any]:
        """The window as a row of `cctrack cycles` (COLUMNS), with the tokens counted here
        within it."""
        values = (
            tool,
            profile,
            self.window,
            _moment(self.start),
            _moment(self.reset),
            _moment(self.first_seen),
            self.peak,
            _moment(self.full_at),
            self.full_seconds,
            tokens,
            self.weekly_points,
            self.weekly_per_five_hour,
        )
        return dict(zip(COLUMNS, values, strict=True))


@mutable
class OpenCycle:
    first: Point
    last: Point
    peak: float
    window_seconds: int | None
    full_at: datetime | None = None
    full_until: datetime | None = None
    # (weekly share used, weekly resets so far) at the first and the last snapshot.
    weekly_first: tuple[float, int] | None = None
    weekly_last: tuple[float, int] | None = None

    def see(self, point: Point, weekly: tuple[float, int] | None) -> None:
        self.last = point
        self.peak = max(self.peak, point.used_ratio)
        if point.used_ratio >= 1 and self.full_at is None:
            self.full_at = point.observed_at
        elif point.used_ratio < 1 and self.full_at is not None and self.full_until is None:
            self.full_until = point.observed_at
        if weekly is not None:
            self.weekly_first = self.weekly_first or weekly
            self.weekly_last = weekly

    def close(self, window: str, after: Point) -> Cycle:
        reset = self.last.resets_at or after.observed_at
        full = (self.full_until or reset) - self.full_at if self.full_at else timedelta(0)
        weekly_points = per_point = None
        if (
            window == FIVE_HOUR
            and self.weekly_first
            and self.weekly_last
            and self.weekly_first[1] == self.weekly_last[1]
        ):
            # Rounded: differences of two shares, without the float noise of subtracting.
            weekly_points = round(max(0.0, self.weekly_last[0] - self.weekly_first[0]), 6)
            moved = self.last.used_ratio - self.first.used_ratio
            if moved >= MIN_FIVE_HOUR_POINTS:
                per_point = round(weekly_points / moved, 6)
        return Cycle(
            window=window,
            start=reset - timedelta(seconds=self.window_seconds) if self.window_seconds else None,
            reset=reset,
            first_seen=self.first.observed_at,
            peak=self.peak,
            full_at=self.full_at,
            full_seconds=max(0.0, full.total_seconds()),
            weekly_points=weekly_points,
            weekly_per_five_hour=per_point,
        )

    def to_json(self) -> list[Any]:
        return [
            self.first.to_json(),
            self.last.to_json(),
            self.peak,
            self.window_seconds,
            _moment(self.full_at),
            _moment(self.full_until),
            list(self.weekly_first) if self.weekly_first else None,
            list(self.weekly_last) if self.weekly_last else None,
        ]

    @classmethod
    def from_json(cls, obj: Any) -> OpenCycle:
        first, last, peak, seconds, full_at, full_until, weekly_first, weekly_last = obj
        if not is_number(peak) or not (seconds is None or type(seconds) is int):
            raise ValueError("bad open cycle")

        def weekly(value: Any) -> tuple[float, int] | None:
            return (float(value[0]), int(value[1])) if value else None

        return cls(
            Point.from_json(first),
            Point.from_json(last),
            float(peak),
            seconds,
            parse_time(full_at) if full_at else None,
            parse_time(full_until) if full_until else None,
            weekly(weekly_first),
            weekly(weekly_last),
        )


@mutable
class CycleTracker:
    """The plan windows of one tool of one profile, a record at a time."""

    open: dict[str, OpenCycle] = field(default_factory=dict)
    weekly_resets: int = 0
    # The last closed 5-hour window's weekly points per 5-hour point (analyze's gauge).
    last_weekly_per_five_hour: float | None = None

    def add(self, points: dict[str, tuple[Point, int | None, bool | None]]) -> list[Cycle]:
        """One record's plan windows, {window: (point, window_seconds, reset)}, reset being
        what evidence.compare says of the point after the last (None: compare here); the
        cycles that closed. The weekly window goes first, so a 5-hour snapshot knows its
        week."""
        closed = []
        weekly: tuple[float, int] | None = None
        order = (WEEKLY, *(w for w in points if w != WEEKLY)) if WEEKLY in points else points
        for window in order:
            point, seconds, reset = points[window]
            current = self.open.get(window)
            if current is not None and point.observed_at <= current.last.observed_at:
                continue
            if reset is None and current is not None:
                reset = "reset" in compare(current.last, point, RESETS_ONLY)
            if current is not None and reset:
                cycle = current.close(window, point)
                closed.append(cycle)
                if window == WEEKLY:
                    self.weekly_resets += 1
                if cycle.weekly_per_five_hour is not None:
                    self.last_weekly_per_five_hour = cycle.weekly_per_five_hour
                current = None
            if window == WEEKLY:
                weekly = (point.used_ratio, self.weekly_resets)
            if current is None:
                current = self.open[window] = OpenCycle(point, point, point.used_ratio, seconds)
            current.see(point, weekly if window == FIVE_HOUR else None)
        return closed

    def to_json(self) -> dict[str, Any]:
        return {
            "open": {window: cycle.to_json() for window, cycle in sorted(self.open.items())},
            "weekly_resets": self.weekly_resets,
            "last_weekly_per_five_hour": self.last_weekly_per_five_hour,
        }

    @classmethod
    def from_json(cls, obj: Any) -> CycleTracker:
        ratio = obj["last_weekly_per_five_hour"]
        if not (ratio is None or is_number(ratio)):
            raise ValueError("bad cycle tracker")
        return cls(
            {str(w): OpenCycle.from_json(c) for w, c in obj["open"].items()},
            int(obj["weekly_resets"]),
            None if ratio is None else float(ratio),
        )
