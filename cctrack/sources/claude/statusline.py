"""Claude Code's status line: it pipes `rate_limits` to its statusLine command on every
refresh; `cctrack statusline` stores the latest windows and prints a one-line summary."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cctrack import process
from cctrack.errors import CctrackError
from cctrack.records import Window, strict_loads
from cctrack.redact import redact
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
from cctrack.timefmt import duration

STATUSLINE_FILE = "claude-statusline.json"
# Codex's own /status calls a snapshot older than this stale; the same judgement serves here.
STATUSLINE_FRESH = timedelta(minutes=15)
WRAP_TIMEOUT = 5.0
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


def summary_line(saved: SavedWindows | None, now: datetime) -> str:
    if saved is None:
        return "cctrack: no Claude usage yet"
    labels = {"five_hour": "5h", "weekly": "7d"}
    parts = []
    for window in (w.as_of(now) for w in saved.windows):
        resets = ""
        if window.resets_at:
            resets = (
                f" (resets in {duration((window.resets_at - now).total_seconds(), minutes=True)})"
            )
        parts.append(
            f"{labels.get(window.name, window.name)} {window.used_ratio * 100:.0f}%{resets}"
        )
    return " · ".join(parts)


def statusline(
    stdin: bytes, data_dir: Path, wrap: str | None, now: datetime, profile: str = "default"
) -> str:
    """What `cctrack statusline` prints: the wrapped command's output, then our summary.

    Never raises: a status line must not break the editor. Problems go to stderr.
    """
    lines = []
    if wrap:
        try:
            # The wrapped command is the user's own statusLine setting, a shell command line
            # that Claude Code would itself have run through a shell.
            done = process.run_shell(wrap, stdin, WRAP_TIMEOUT, "wrapped command")
            lines.append(done.stdout.decode("utf-8", "replace").rstrip("\n"))
        except process.ProcessFailure as exc:
            print(
                f"cctrack statusline: wrapped command failed: {redact(str(exc))}", file=sys.stderr
            )
    saved = None
    try:
        saved = store_statusline(data_dir, strict_loads(stdin), now, profile)
    except (ValueError, CctrackError, OSError) as exc:
        print(f"cctrack statusline: not stored: {redact(str(exc))}", file=sys.stderr)
    lines.append(summary_line(saved or load_statusline(data_dir, profile), now))
    return "\n".join(line for line in lines if line)
