"""Times as every file cctrack writes spells them, and as a person reads them off a clock
(spans are said by wording.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

# Codex's own /status calls numbers older than this stale; cctrack judges every snapshot so.
STALE_AFTER = timedelta(minutes=15)
# How far the clocks of this machine and of the vendors may disagree. A time further ahead
# of now than this comes from a clock that is (or was) wrong: such numbers are never fresh.
CLOCK_SKEW = timedelta(minutes=5)


def within(observed: datetime, now: datetime, limit: timedelta) -> bool:
    """Were numbers observed at `observed` true at most `limit` before `now`? Never for a time
    from the future: one capture under a clock a day ahead must not freeze its numbers as
    current for a day."""
    return -CLOCK_SKEW <= now - observed <= limit


def from_the_future(observed: datetime, now: datetime) -> bool:
    return observed - now > CLOCK_SKEW


def format_time(moment: datetime, *, milliseconds: bool = False) -> str:
    """RFC 3339 in UTC with a Z; whole seconds unless asked for milliseconds."""
    moment = moment.astimezone(timezone.utc)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_precise(moment: datetime) -> str:
    """RFC 3339 keeping a source's fractional seconds, whole seconds when it has none."""
    moment = moment.astimezone(timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return format_time(moment)


def parse_time(text: Any) -> datetime:
    """An RFC 3339 / ISO 8601 time with Z or an offset; naive times are refused."""
    if not isinstance(text, str):
        raise ValueError(f"expected a time string, got {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError("time without a UTC offset")
    try:
        # Year 1 with a positive offset, or 9999 with a negative one, has no UTC time.
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("time out of range") from None


def from_unix(seconds: float) -> datetime:
    """Unix seconds as a UTC time; ValueError (never OverflowError) for what is no time."""
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{seconds!r} is not a time") from None


# A moment further away than this reads as a weekday and a time, nearer as a time of day.
NEAR = timedelta(hours=24)


def clock(moment: datetime, now: datetime) -> str:
    """A moment as a person reads it off a clock, in local time: 14:20, or Tue 14:20."""
    local = moment.astimezone()
    return f"{local:%a %H:%M}" if abs(moment - now) >= NEAR else f"{local:%H:%M}"
