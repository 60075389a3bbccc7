"""Claude Code's status line: it pipes `rate_limits` to its statusLine command on every
refresh; `cctrack statusline` (views/desk.py) stores them here for claude-status.

A render is not a sample. Every open terminal re-renders the `rate_limits` of its own last
API answer, so an idle terminal shows old numbers, and a render may leave a window out
(omitted is not 0 %). The stored snapshot is therefore merged per window: a window's numbers
replace the stored ones only when they are newer, judged by when they were true (the time
Claude Code last wrote the session's transcript, `transcript_path`: its last API answer) and
by the window's reset time; an omitted window keeps what was stored.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cctrack.files import locked, private_dir
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
from cctrack.status import DEFAULT_PROFILE, MAX_SPEND_RATIO, SpendLimit, Window, is_number
from cctrack.timefmt import STALE_AFTER, from_unix

STATUSLINE_FILE = "claude-statusline.json"
STATUSLINE_FRESH = STALE_AFTER
STATUSLINE_WINDOWS = {"five_hour": ("five_hour", FIVE_HOURS), "seven_day": ("weekly", WEEK)}
# Reset times of one window period differ by rounding; a later period is hours later.
SAME_PERIOD = timedelta(minutes=10)


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


def statusline_spend(payload: Any) -> tuple[SpendLimit, ...]:
    """A gateway user's `rate_limits.spend_limit`: the shape of `five_hour`, and it may pass
    100 % (Claude Code 2.1.251)."""
    limits = payload.get("rate_limits") if isinstance(payload, dict) else None
    entry = limits.get("spend_limit") if isinstance(limits, dict) else None
    if not isinstance(entry, dict):
        return ()
    percent = entry.get("used_percentage")
    if not is_number(percent):
        return ()
    if not 0 <= percent <= MAX_SPEND_RATIO * 100:
        return ()
    return (SpendLimit("spend", percent / 100, reset_time(entry.get("resets_at"))),)


def time_of_truth(payload: Any, now: datetime) -> datetime:
    """When a render's numbers were true: the session's last transcript write (Claude Code
    writes it as the API answers), never later than now; now when it cannot be told."""
    path = payload.get("transcript_path") if isinstance(payload, dict) else None
    if not isinstance(path, str) or not path:
        return now
    try:
        written = from_unix(os.stat(path).st_mtime)
    except (OSError, ValueError, OverflowError):
        return now
    return min(written, now)


Reading = TypeVar("Reading", Window, SpendLimit)


def _newer(old: Reading, old_at: datetime, new: Reading, at: datetime) -> bool:
    """Does the render's reading replace the stored one? A later window period does; an
    earlier one (an idle terminal's) never does; within one period the later truth does."""
    if old.resets_at is not None and new.resets_at is not None:
        if new.resets_at - old.resets_at > SAME_PERIOD:
            return True
        if old.resets_at - new.resets_at > SAME_PERIOD:
            return False
    return at > old_at


def merge_render(
    stored: SavedWindows | None,
    windows: tuple[Window, ...],
    spend: tuple[SpendLimit, ...],
    at: datetime,
    account: str | None = None,
) -> SavedWindows | None:
    """The stored snapshot with one render merged in, per window and spend limit (pure).
    A render carries no account: the one logged in when it arrives says whose it is, and
    renders of different accounts never merge: after a `/login` to another account the new
    account's numbers replace the old ones at once, whatever their resets."""
    if stored is not None and stored.account != account:
        stored = None
    times = dict(stored.times) if stored else {}
    kept_windows = _merged(stored.windows if stored else (), windows, stored, times, at)
    kept_spend = _merged(stored.spend if stored else (), spend, stored, times, at)
    if not kept_windows and not kept_spend:
        return None
    return SavedWindows(
        max(times.values()),
        kept_windows,
        spend=kept_spend,
        times=tuple(sorted(times.items())),
        account=account,
    )


def _merged(
    old: tuple[Reading, ...],
    new: tuple[Reading, ...],
    stored: SavedWindows | None,
    times: dict[str, datetime],
    at: datetime,
) -> tuple[Reading, ...]:
    """Each stored reading, replaced by the render's of the same name when that is newer;
    times records when each kept reading was true."""
    kept = {reading.name: reading for reading in old}
    for reading in old:
        times.setdefault(reading.name, stored.time_of(reading.name) if stored else at)
    for reading in new:
        if reading.name not in kept or _newer(kept[reading.name], times[reading.name], reading, at):
            kept[reading.name] = reading
            times[reading.name] = at
    return tuple(kept.values())


def statusline_file(data_dir: Path, profile: str = DEFAULT_PROFILE) -> Path:
    return profile_file(data_dir, STATUSLINE_FILE.removesuffix(".json"), profile)


def load_statusline(
    data_dir: Path, profile: str = DEFAULT_PROFILE, account: str | None = None
) -> SavedWindows | None:
    """The stored snapshot, unless it is known to be another account's than `account` (the
    one logged in now, when known)."""
    saved = load_saved(statusline_file(data_dir, profile))
    return None if saved is not None and not same_account(saved.account, account) else saved


def same_account(then: str | None, now: str | None) -> bool:
    """Numbers of `then`'s account may stand for `now`'s: the same, or either unknown."""
    return then is None or now is None or then == now


def store_statusline(
    data_dir: Path,
    payload: Any,
    now: datetime,
    profile: str = DEFAULT_PROFILE,
    account: str | None = None,
) -> SavedWindows | None:
    """Merge one render into the stored snapshot (under a lock: terminals render at once)
    and return the merged snapshot; None when neither holds any number. `account` is the
    one logged in now."""
    windows, spend = statusline_windows(payload), statusline_spend(payload)
    if not windows and not spend:
        return None
    path = statusline_file(data_dir, profile)
    private_dir(data_dir)
    with locked(data_dir / f".{path.stem}.lock"):
        stored = load_saved(path)
        merged = merge_render(stored, windows, spend, time_of_truth(payload, now), account)
        if merged is not None and merged != stored:
            # Not synced: a render brings the numbers again within seconds, and load_saved
            # takes a snapshot a crash left empty for none (files.write_atomic).
            save_json(path, merged.to_json(), durable=False)
    return merged
