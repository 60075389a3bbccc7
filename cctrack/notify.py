"""Notifications for people without Alertmanager: what changed since the last analysis, as
events, each handed once to the user's `notify_command` as one JSON object on stdin.

Edge-triggered: an event is a crossing (below a threshold before, at or above it now), not a
state, so a window that stays at 90 % says so once. The memory of the last analysis lives
in the state file, so the edges hold across runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cctrack import process
from cctrack.model import frozen
from cctrack.redact import redact
from cctrack.report import Report, ToolReport, WindowReport
from cctrack.state import ToolMemory, WindowMemory
from cctrack.status import qualified
from cctrack.timefmt import format_time
from cctrack.views import wording

EVENT_VERSION = 1
DEFAULT_TIMEOUT = 10.0


@frozen
class Event:
    kind: str  # threshold, pace, reset, down, up
    tool: str
    profile: str
    message: str
    window: str | None = None
    used_ratio: float | None = None
    threshold: float | None = None
    pace_ratio: float | None = None
    resets_at: datetime | None = None

    def to_json(self, at: datetime, user: str, hostname: str) -> dict[str, Any]:
        return {
            "version": EVENT_VERSION,
            "event": self.kind,
            "at": format_time(at),
            "user": user,
            "hostname": hostname,
            "profile": self.profile,
            "tool": self.tool,
            "window": self.window,
            "used_ratio": self.used_ratio,
            "threshold": self.threshold,
            "pace_ratio": self.pace_ratio,
            "resets_at": format_time(self.resets_at) if self.resets_at else None,
            "message": self.message,
        }


def remember(tool: ToolReport) -> ToolMemory:
    return ToolMemory(
        tool.up,
        {
            w.name: WindowMemory(
                w.used_ratio, w.pace_ratio is not None and w.pace_ratio > 1, w.resets_at
            )
            for w in tool.windows
        },
    )


def _name(tool: ToolReport) -> str:
    return qualified(tool.profile, tool.tool)


def _event(
    kind: str, tool: ToolReport, window: WindowReport, message: str, threshold: float | None = None
) -> Event:
    return Event(
        kind,
        tool.tool,
        tool.profile,
        message,
        window.name,
        window.used_ratio,
        threshold,
        window.pace_ratio,
        window.resets_at,
    )


def tool_events(
    before: ToolMemory | None, tool: ToolReport, thresholds: Sequence[float], now: datetime
) -> list[Event]:
    """The edges between what the last analysis said (None: never seen, all quiet and up)
    and what this one says."""
    before = before or ToolMemory(True)
    name, events = _name(tool), []
    if before.up != tool.up:
        if tool.up:
            events.append(Event("up", tool.tool, tool.profile, f"{name} is readable again"))
        else:
            reason = f": {tool.last_error}" if tool.last_error else ""
            events.append(Event("down", tool.tool, tool.profile, f"{name} cannot be read{reason}"))
    for window in tool.windows:
        old = before.windows.get(window.name, WindowMemory(0.0, False, None))

        # Past the announced reset with less used: quota is back. With as much or more used
        # the vendor is still counting (Codex moves the reset later): no reset to tell.
        if (
            old.resets_at is not None
            and now >= old.resets_at
            and window.used_ratio < old.used_ratio
        ):
            events.append(
                _event("reset", tool, window, f"{name} {window.name} has reset: quota is back")
            )
            old = WindowMemory(0.0, False, None)
        resets = f", {wording.reset(window.resets_at, now)}" if window.resets_at else ""
        for threshold in sorted(thresholds):
            if old.used_ratio < threshold <= window.used_ratio:
                events.append(
                    _event(
                        "threshold",
                        tool,
                        window,
                        f"{name} {window.name}: {wording.left(window.used_ratio)}{resets}",
                        threshold,
                    )
                )
        if window.pace_ratio is not None and window.pace_ratio > 1 and not old.pace_high:
            events.append(
                _event(
                    "pace",
                    tool,
                    window,
                    f"{name} {window.name} will run out before it resets at this rate "
                    f"({wording.pace(window.used_ratio, window.elapsed_ratio) or 'ahead of pace'})"
                    f"{resets}",
                )
            )
    return events


def events(
    memory: Mapping[tuple[str, str], ToolMemory],
    report: Report,
    thresholds: Sequence[float],
    now: datetime,
) -> list[Event]:
    found = []
    for tool in report.tools:
        found += tool_events(memory.get((tool.profile, tool.tool)), tool, thresholds, now)
    return found


def deliver(
    command: Sequence[str],
    found: Sequence[Event],
    env: Mapping[str, str],
    timeout: float,
    at: datetime,
    user: str,
    hostname: str,
) -> list[str]:
    """Run the command once per event, all at once, without a shell, each bounded by the
    timeout; returns why any of them failed."""
    jobs = [
        process.Job(
            "notify_command",
            env,
            timeout,
            argv=tuple(command),
            retry_exit=None,
            stdin=(json.dumps(event.to_json(at, user, hostname)) + "\n").encode(),
        )
        for event in found
    ]
    problems = []
    for result in process.run_jobs(jobs):
        if isinstance(result, process.TimedOut):
            problems.append(f"notify_command timed out after {timeout:g} s")
        elif isinstance(result, process.ProcessFailure):
            problems.append(redact(str(result)))
        elif result.returncode != 0:
            problems.append(f"notify_command failed (exit {result.returncode})")
    return problems
