"""When a change of a window's use counts as a limit event: the thresholds of the settings
`event_*` (docs/settings.md) that evidence.py applies. A module of their own because every
command resolves the settings that hold them, and only the fold compares snapshots."""

from __future__ import annotations

from datetime import timedelta

from cctrack.model import frozen


@frozen
class Limits:
    """When a change counts as an event; settings `event_*` (docs/settings.md)."""

    reset_move: timedelta = timedelta(minutes=5)
    drop: float = 0.01
    jump: float = 0.10
    jump_within: timedelta = timedelta(minutes=15)
    rise: float = 0.01
