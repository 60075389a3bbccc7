"""Claude Code's status line: it pipes `rate_limits` to its statusLine command on every
refresh; `cctrack statusline` (desk.py) stores the latest windows here for claude-status."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cctrack.records import Window
from cctrack.sources import percent_to_ratio
from cctrack.sources.claude.saved import (
    FIVE_HOURS,
    WEEK,
    SavedWindows,
    load_saved,
    profile_file,
    reset_time,
    save_json,
)

STATUSLINE_FILE = "claude-statusline.json"
# Codex's own /status calls a snapshot older than this stale; the same judgement serves here.
STATUSLINE_FRESH = timedelta(minutes=15)
STATUSLINE_WINDOWS = {"five_hour": ("five_hour", FIVE_HOURS), "seven_day": ("weekly", WEEK)}


def statusline_windows(payload: Any) -> tuple[Window, ...]:
    """The windows in Claude Code's statusLine JSON; a garbage percentage drops its window."""
    limits = payload.get("rate_limits") if isinstance(payload, dict) else None
    if not isinstance(limits, dict):
        return ()
    windows = []
    for key, (name, seconds) in STATUSLINE_WINDOWS.items():
        entry = limits.get(key)
        if not isinstance(entry, dict):
            continue
        used = percent_to_ratio(entry.get("used_percentage"))
        if used is not None:
            windows.append(Window(name, used, seconds, reset_time(entry.get("resets_at"))))
    return tuple(windows)


def statusline_file(data_dir: Path, profile: str = "default") -> Path:
    return profile_file(data_dir, STATUSLINE_FILE.removesuffix(".json"), profile)


def load_statusline(data_dir: Path, profile: str = "default") -> SavedWindows | None:
    return load_saved(statusline_file(data_dir, profile))


def store_statusline(
    data_dir: Path, payload: Any, now: datetime, profile: str = "default"
) -> SavedWindows | None:
    windows = statusline_windows(payload)
    if not windows:
        return None
    saved = SavedWindows(now, windows)
    save_json(statusline_file(data_dir, profile), saved.to_json())
    return saved
