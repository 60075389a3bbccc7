"""The built-in status tools: each prints one status object (SPEC section 3) or fails with a reason.

They run as their own processes (capture starts them like any user-supplied tool), so they
import only what they need: no typer, no prometheus_client.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone

from cctrack.errors import CctrackError
from cctrack.records import Status, checked_ratio

# Lengths the tools report, in minutes, and the names the SPEC gives them.
KNOWN_WINDOWS = {300: "five_hour", 1440: "daily", 10080: "weekly", 43200: "monthly"}


def window_name(minutes: int) -> str:
    """Name a window by its length, never by its slot; tools round, so match within ~1 %."""
    for known, name in KNOWN_WINDOWS.items():
        if abs(minutes - known) <= max(3, known // 100):
            return name
    if minutes % 1440 == 0:
        return f"{minutes // 1440}_day"
    if minutes % 60 == 0:
        return f"{minutes // 60}_hour"
    return f"{minutes}_minute"


def percent_to_ratio(value: object) -> float | None:
    """A 0..100 percentage as 0..1; None for what cannot be a percentage (NaN, negative, or
    far above 100, as when a tool has put an epoch in the field). Just above 100 is rounding,
    by the same tolerance capture applies to every status."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return checked_ratio(value / 100, "percentage")
    except ValueError:
        return None


def run_status_tool(name: str, produce: Callable[[datetime], Status]) -> None:
    """Print what produce() returns as JSON; on failure one stderr line and its exit code."""
    try:
        status = produce(datetime.now(timezone.utc))
    except CctrackError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print(json.dumps(status.to_json(), separators=(",", ":")))
