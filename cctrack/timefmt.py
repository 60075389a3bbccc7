"""Times as every file cctrack writes spells them, and durations as a person reads them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


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
    return moment.astimezone(timezone.utc)


def from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def duration(seconds: float, *, minutes: bool = False) -> str:
    """A span for a person: 2d3h, 4h05m, 12m30s; to the minute (0h49m) where a status line
    has no room for seconds."""
    seconds = max(0, int(seconds))
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600}h"
    if seconds >= 3600 or minutes:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
