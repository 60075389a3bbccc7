"""`cctrack show`: the latest analysis, for a person (text) or a script (the JSON of
latest.py)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from cctrack.report import (
    Report,
    ToolReport,
)
from cctrack.status import DEFAULT_PROFILE, qualified
from cctrack.timefmt import STALE_AFTER
from cctrack.views import wording
from cctrack.views.latest import latest_report, report_json

_ago = wording.ago


def _own_time(
    observed_at: datetime | None, current: bool, now: datetime, status_at: datetime | None
) -> str:
    """A number's own age where it is older than its status's (by more than a stale
    snapshot's age), and whether it is still current."""
    if observed_at is None:
        return ""
    if current and status_at is not None and status_at - observed_at <= STALE_AFTER:
        return ""
    if current:
        return f"  (as of {_ago(observed_at, now)})"
    return f"  ({_ago(observed_at, now)}: over an hour old, not current; not exported)"


def _tool_lines(tool: ToolReport, now: datetime) -> list[str]:
    health = "up" if tool.up else "DOWN"
    name = qualified(tool.profile, tool.tool)
    head = f"{name:<7} {health:<5} last capture {_ago(tool.last_capture, now)}"
    if tool.observed_at:
        plan = f", plan {tool.plan}" if tool.plan else ""
        head += f"; data from {tool.origin}{plan}, {_ago(tool.observed_at, now)}"
    lines = [head]
    if tool.last_error:
        lines.append(f"        error: {tool.last_error}")
    for window in tool.windows:
        # The answer first: left, reset, pace in words, run-out when it comes first.
        lines.append(f"  {window.name:<14} {' · '.join(wording.answer(window, now))}")
    width = max([14, *(len(spend.title) for spend in tool.spend)])
    for spend in tool.spend:
        words = [wording.left(spend.used_ratio)]
        if spend.used is not None and spend.limit is not None:
            unit = f" {spend.unit}" if spend.unit else ""
            words.append(f"{spend.used:,.0f} of {spend.limit:,.0f}{unit} used")
        if spend.resets_at:
            words.append(wording.reset(spend.resets_at, now))
        if spend.binding:
            words.append("binds")
        lines.append(f"  {spend.title:<{width}} {' · '.join(words)}")
    for bucket, current in [(b, True) for b in tool.buckets] + [
        (b, False) for b in tool.old_buckets
    ]:
        narrow = bucket.window
        words = [wording.left(narrow.used_ratio)]
        if narrow.resets_at:
            words.append(wording.reset(narrow.resets_at, now))
        name = f"{bucket.name} ({narrow.name})"
        lines.append(
            f"  {name:<14} {' · '.join(words)}"
            + _own_time(bucket.observed_at, current, now, tool.observed_at)
        )
    extras = tool.extras or tool.old_extras
    said = wording.extras(extras) if extras is not None else []
    if extras is not None and said:
        lines.append(
            f"  {'extras':<14} {' · '.join(said)}"
            + _own_time(extras.observed_at, tool.extras is not None, now, tool.observed_at)
        )
    if not tool.windows and not tool.spend and not tool.last_error:
        lines.append("        no usage captured yet")
    if tool.tokens is not None:
        parts = [f"today {tool.tokens.today:,}"]
        for measured in tool.tokens.windows:
            per = (
                f" ({measured.per_percent:,.0f} per %)" if measured.per_percent is not None else ""
            )
            parts.append(f"{measured.window} {measured.tokens:,}{per}")
        lines.append(f"  {'tokens':<14} {'; '.join(parts)}")
        for measured in tool.tokens.windows:
            if measured.projects:
                shares = ", ".join(
                    f"{name} {count / measured.tokens * 100:.0f}%"
                    for name, count in measured.projects
                )
                lines.append(f"  {'projects':<14} {measured.window}: {shares}")
    return lines


def format_report(report: Report, analyzed_at: datetime | None) -> str:
    now = report.generated_at
    lines = [line for tool in report.tools for line in _tool_lines(tool, now)]
    lines.append(f"analysed {_ago(analyzed_at, now)}")
    return "\n".join(lines)


def show(
    data_dir: Path,
    sources: tuple[str, ...],
    as_json: bool,
    now: datetime,
    profiles: tuple[str, ...] = (DEFAULT_PROFILE,),
) -> str:
    """The latest analysis as of `now`: windows whose reset has passed since read as rolled over."""
    report, missing = latest_report(data_dir, sources, profiles, now)
    if as_json:
        return json.dumps(report_json(report, report.analyzed_at), indent=2)
    blocked = blocked_analysis(data_dir)
    if missing:
        return f"nothing analysed yet in {data_dir} ({blocked or missing}); run `cctrack run`"
    text = format_report(report, report.analyzed_at)
    return f"{text}\nanalyze is stopped: {blocked}" if blocked else text


def blocked_analysis(data_dir: Path) -> str | None:
    """Why analyze folds nothing new, when the checkpoint is another user's (a run as root
    left it): what the latest analysis says is then getting old, and this says the fix."""
    from cctrack.checkpoint import STATE_FILE, foreign_file

    path = data_dir / STATE_FILE
    if path.exists() and not os.access(path, os.R_OK):
        return foreign_file(path)
    return None
