"""`cctrack hook`: one line into the agent's context when a limit needs its attention,
nothing otherwise. Claude Code and Codex both run it on UserPromptSubmit: JSON on stdin,
and what a hook prints on exit 0 goes into the model's context.

Fast and offline: it reads latest.json (what the last analysis wrote) and a small memory
of the windows it saw used up, never the day files or the network. The notices are a pure
function of those and `now`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cctrack.files import read_json, write_atomic
from cctrack.records import Window, is_number, qualified
from cctrack.settings import HookRules
from cctrack.timefmt import STALE_AFTER, parse_time, within
from cctrack.views import wording
from cctrack.views.latest import LATEST_FILE

# Windows seen used up, "tool/window" -> the reset they were waiting for: the reset notice
# comes once, after the window really was exhausted.
MEMORY_FILE = "hook.json"
PREFIX = "cctrack (usage limits):"
ADVICE = (
    "Prefer finishing the current task in small, verifiable steps over starting large new work."
)


@dataclass(frozen=True)
class WindowSeen:
    """One window of latest.json as it reads at `now` (rolled over once its reset passed)."""

    tool: str
    name: str
    used: float
    resets_at: datetime | None
    runs_out_at: datetime | None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


# Numbers whose time latest.json does not say are taken as older than any reset.
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def windows_seen(tool: str, entry: Mapping[str, Any], now: datetime) -> list[WindowSeen]:
    """The windows of latest.json at `now`, rolled over by the one rule every view reads
    them by (records.Window.as_of): a reset that passed after the numbers were observed
    leaves nothing used; numbers observed after their own reset (Codex counts on past it)
    are current as they stand."""
    seen = []
    windows = entry.get("windows")
    observed = _time(entry.get("observed_at"))
    for name, window in (windows if isinstance(windows, dict) else {}).items():
        used = _number(window.get("used_ratio")) if isinstance(window, dict) else None
        if used is None:
            continue
        resets_at, runs_out_at = _time(window.get("resets_at")), _time(window.get("runs_out_at"))
        rolled = Window(str(name), used, None, resets_at).as_of(now, observed or EARLIEST)
        if rolled.resets_at != resets_at:
            runs_out_at = None
        seen.append(WindowSeen(tool, str(name), rolled.used_ratio, rolled.resets_at, runs_out_at))
    return seen


def notices(
    latest: Mapping[str, Any],
    tools: Sequence[str],
    profile: str,
    rules: HookRules,
    now: datetime,
    exhausted: Mapping[str, str],
) -> tuple[list[str], dict[str, str], bool]:
    """What to tell the agent, the memory of used-up windows after it, and whether any
    notice asks it to wind down."""
    said: list[str] = []
    memory = dict(exhausted)
    urgent = False
    profiles = latest.get("profiles")
    entries = profiles.get(profile, {}) if isinstance(profiles, dict) else {}
    for tool in tools:
        entry = entries.get(tool) if isinstance(entries, dict) else None
        if not isinstance(entry, dict):
            continue
        who = qualified(profile, tool)
        observed = _time(entry.get("observed_at"))
        if observed is not None and not within(observed, now, STALE_AFTER):
            age = wording.span((now - observed).total_seconds())
            said.append(f"{who}'s numbers are {age} old (cctrack is not capturing)")
        for w in windows_seen(tool, entry, now):
            key = f"{who}/{w.name}"
            name = f"{who} {w.name} limit"
            was = memory.get(key)
            if w.used >= 1 and w.resets_at is not None:
                memory[key] = w.resets_at.isoformat()
            elif was is not None and (w.resets_at is None or w.resets_at.isoformat() != was):
                del memory[key]
                said.append(f"{name} has reset after it was used up: {wording.left(w.used)} now")
            resets = wording.reset(w.resets_at, now)
            if w.used >= rules.threshold:
                urgent = True
                said.append(f"{name}: {wording.left(w.used)}, {resets}")
            elif w.runs_out_at is not None and w.resets_at is not None:
                urgent = True
                early = wording.span((w.resets_at - w.runs_out_at).total_seconds())
                said.append(
                    f"{name} {wording.runs_out(w.runs_out_at, now)} at the current rate, "
                    f"{early} before it {resets} ({wording.left(w.used)})"
                )
            elif (
                rules.use_it_minutes
                and w.resets_at is not None
                and (w.resets_at - now).total_seconds() <= rules.use_it_minutes * 60
                and 1 - w.used >= rules.use_it_left
            ):
                said.append(
                    f"{name} {wording.reset(w.resets_at, now)} with {wording.left(w.used)}: "
                    "room for larger work"
                )
    return said, memory, urgent


def hook_line(
    data_dir: Path, tools: Sequence[str], profile: str, rules: HookRules, now: datetime
) -> tuple[str, str | None]:
    """The line for the agent ("" for none), and what went wrong with the hook's memory of
    used-up windows, if anything: the memory only remembers "it has reset since", so a
    memory cut short, replaced by a directory or unwritable never silences a warning.
    OSError and ValueError (an unreadable latest.json) are the caller's to report."""
    latest = read_json(data_dir / LATEST_FILE)
    if not isinstance(latest, dict):
        return "", None
    problem = None
    path = data_dir / MEMORY_FILE
    try:
        before = read_json(path)
    except (OSError, ValueError) as exc:
        before, problem = None, f"its memory {path} could not be read ({exc}); started anew"
    exhausted = {str(k): str(v) for k, v in before.items()} if isinstance(before, dict) else {}
    said, memory, urgent = notices(latest, tools, profile, rules, now, exhausted)
    if memory != exhausted or problem:
        try:
            write_atomic(path, json.dumps(memory, sort_keys=True).encode())
        except OSError as exc:
            problem = f"its memory {path} could not be written ({exc.strerror})"
    if not said:
        return "", problem
    line = " ".join([PREFIX, "; ".join(said) + ".", *([ADVICE] if urgent else [])])
    return line, problem
