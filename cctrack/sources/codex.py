"""Codex CLI: the newest account-wide rate-limit snapshot in the rollout files (SOURCES.md).

Codex writes a snapshot into a session's rollout file whenever it talks to its backend.
The current state is the snapshot with the greatest line timestamp across all sessions;
files are visited newest-modified first and read from their end, so a year of history
costs a directory walk, not a read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from cctrack.errors import CctrackError
from cctrack.records import Status, Window, from_unix, parse_time
from cctrack.sources import percent_to_ratio, run_status_tool, window_name

BLOCK = 256 << 10
# Modification times and line timestamps come from different clocks and flushes.
MTIME_SLACK = timedelta(minutes=5)
# The longest window Codex reports is 30 days: an older snapshot says nothing about now.
HORIZON = timedelta(days=31)


@dataclass(frozen=True)
class Snapshot:
    observed_at: datetime
    windows: tuple[Window, ...]
    plan: str | None


def _nested_window(slot: Any, line_time: datetime) -> tuple[float | None, Any, datetime | None]:
    if not isinstance(slot, dict):
        return None, None, None
    resets = None
    if isinstance(slot.get("resets_at"), (int, float)) and not isinstance(slot.get("resets_at"), bool):
        resets = from_unix(slot["resets_at"])
    elif isinstance(slot.get("resets_in_seconds"), (int, float)) and not isinstance(slot.get("resets_in_seconds"), bool):
        # Codex ~0.41 to Oct 2025 said how long until the reset, counted from the line.
        resets = line_time + timedelta(seconds=slot["resets_in_seconds"])
    return percent_to_ratio(slot.get("used_percent")), slot.get("window_minutes"), resets


def parse_rate_limits(limits: Any, line_time: datetime) -> tuple[Window, ...]:
    """The plan-limit windows of one `rate_limits` object, in any schema era; () when the
    object is for another limit (a per-model bucket) or has no usable window."""
    if not isinstance(limits, dict) or limits.get("limit_id") not in (None, "codex"):
        return ()
    windows: dict[str, Window] = {}
    # Flat eras: "primary" and "weekly" (before ~0.40), then "primary" and "secondary".
    for slot, flat in (("primary", "primary"), ("secondary", "secondary"), (None, "weekly")):
        if slot is not None and slot in limits:
            used, minutes, resets = _nested_window(limits[slot], line_time)
        else:
            used = percent_to_ratio(limits.get(f"{flat}_used_percent"))
            minutes = limits.get(f"{flat}_window_minutes", 10080 if flat == "weekly" else None)
            resets = None  # flat shapes carry no reset time
        if used is None or isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
            continue
        name = window_name(int(round(minutes)))
        windows.setdefault(name, Window(name, used, int(round(minutes)) * 60, resets))
    return tuple(windows.values())


def snapshot_from_line(line: bytes) -> Snapshot | None:
    """The snapshot in one rollout line, if it is a token_count event with plan limits."""
    if b"token_count" not in line or b"rate_limits" not in line:
        return None
    try:
        event = json.loads(line)
        payload = event["payload"]
        if event.get("type") != "event_msg" or payload.get("type") != "token_count":
            return None
        line_time = parse_time(event["timestamp"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    limits = payload.get("rate_limits")
    windows = parse_rate_limits(limits, line_time)
    if not windows:
        return None
    plan = limits.get("plan_type")
    return Snapshot(line_time, windows, plan.lower() if isinstance(plan, str) and plan else None)


def lines_from_end(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        carry = b""
        while position > 0:
            step = min(BLOCK, position)
            position -= step
            handle.seek(position)
            lines = (handle.read(step) + carry).split(b"\n")
            carry = lines.pop(0)
            yield from reversed(lines)
        if carry:
            yield carry


def rollout_files(home: Path, since: datetime) -> list[tuple[float, Path]]:
    """Plain rollout files (compressed ones hold only idle, older sessions) started on or
    after the local date of `since` minus a day, newest-modified first.

    Folder and file names carry the local start date, so older days are skipped by name,
    unread and unstatted: the cost stays that of the last month, however long the history.
    """
    cutoff = f"{since.astimezone() - timedelta(days=1):%Y-%m-%d}"
    found: list[tuple[float, Path]] = []
    stack = [(home / "sessions", ""), (home / "archived_sessions", "")]
    while stack:
        folder, date = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                # sessions/YYYY/MM/DD: a folder's date so far is a prefix of its files' dates.
                sub = f"{date}-{name}" if date else name
                if sub >= cutoff[: len(sub)]:
                    stack.append((Path(entry.path), sub))
            elif name.startswith("rollout-") and name.endswith(".jsonl") and name[8:18] >= cutoff:
                found.append((entry.stat().st_mtime, Path(entry.path)))
    found.sort(reverse=True)
    return found


def latest_snapshot(home: Path, now: datetime) -> Snapshot | None:
    best: Snapshot | None = None
    oldest = (now - HORIZON).timestamp()
    for mtime, path in rollout_files(home, now - HORIZON):
        if mtime < oldest or (best and mtime < (best.observed_at - MTIME_SLACK).timestamp()):
            break  # every remaining file was last written before what we already have
        try:
            snapshot = next(filter(None, map(snapshot_from_line, lines_from_end(path))), None)
        except OSError:
            continue  # a session file removed or unreadable mid-walk; the others still count
        if snapshot and (best is None or snapshot.observed_at > best.observed_at):
            best = snapshot
    return best


def codex_status(home: Path, now: datetime) -> Status:
    if not home.is_dir():
        raise CctrackError(f"Codex home {home} not found; install Codex CLI or set CODEX_HOME")
    snapshot = latest_snapshot(home, now)
    if snapshot is None:
        raise CctrackError(
            f"no rate-limit snapshot in Codex sessions under {home} from the last {HORIZON.days} days; "
            "Codex writes one when it talks to its backend, so use Codex once while logged in with ChatGPT"
        )
    return Status("codex", snapshot.observed_at, "rollout", snapshot.windows, snapshot.plan).as_of(now)


def codex_home(env: dict[str, str] | os._Environ[str]) -> Path:
    return Path(env.get("CODEX_HOME") or Path.home() / ".codex")


def main() -> None:
    run_status_tool(lambda now: codex_status(codex_home(os.environ), now))


if __name__ == "__main__":
    main()
