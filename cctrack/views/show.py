"""`cctrack show`: the latest analysis, for a person (text) or a script (JSON)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import checkpoint
from cctrack.errors import CctrackError
from cctrack.records import DEFAULT_PROFILE, qualified
from cctrack.report import (
    NO_PROJECTS,
    ProjectNaming,
    Report,
    RunOut,
    TokenReport,
    ToolReport,
    build_report,
)
from cctrack.timefmt import STALE_AFTER, format_time
from cctrack.views import wording

LATEST_FILE = "latest.json"
LATEST_VERSION = 1


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


def runs_out_json(runs_out: RunOut | None) -> dict[str, Any]:
    """runs_out_at (null when the window resets first) and what it was projected from."""
    return {
        "runs_out_at": _time(runs_out.at) if runs_out else None,
        "runs_out_basis": runs_out.basis if runs_out else None,
    }


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
    if extras is not None and extras.observed_at is not None:
        lines.append(
            "  extra usage and credits"
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


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def report_json(report: Report, analyzed_at: datetime | None) -> dict[str, Any]:
    now = report.generated_at

    def age(moment: datetime | None) -> float | None:
        return round((now - moment).total_seconds(), 3) if moment else None

    def tool_json(tool: ToolReport) -> dict[str, Any]:
        return {
            "up": tool.up,
            "last_capture": _time(tool.last_capture),
            "last_success": _time(tool.last_success),
            "last_error": tool.last_error,
            "observed_at": _time(tool.observed_at),
            "data_age_seconds": age(tool.observed_at),
            "origin": tool.origin,
            "plan": tool.plan,
            "account": tool.account,
            "captures": {"ok": tool.ok_count, "error": tool.error_count},
            "windows": {
                w.name: {
                    "used_ratio": w.used_ratio,
                    "pace_ratio": w.pace_ratio,
                    "window_seconds": w.window_seconds,
                    "resets_at": _time(w.resets_at),
                    "resets_in_seconds": round((w.resets_at - now).total_seconds(), 3)
                    if w.resets_at
                    else None,
                    **runs_out_json(w.runs_out),
                }
                for w in tool.windows
            },
            "spend": {
                s.name: {
                    "used_ratio": s.used_ratio,
                    "resets_at": _time(s.resets_at),
                    "used": s.used,
                    "limit": s.limit,
                    "unit": s.unit,
                    "group": s.group,
                    "binding": s.binding,
                }
                for s in tool.spend
            },
            "buckets": [
                {
                    "bucket": b.name,
                    "window": b.window.name,
                    "used_ratio": b.window.used_ratio,
                    "resets_at": _time(b.window.resets_at),
                    "observed_at": _time(b.observed_at or tool.observed_at),
                    "current": current,
                }
                for bs, current in ((tool.buckets, True), (tool.old_buckets, False))
                for b in bs
            ],
            "tokens": token_json(tool.tokens) if tool.tokens else None,
        }

    profiles: dict[str, dict[str, Any]] = {}
    for tool in report.tools:
        profiles.setdefault(tool.profile, {})[tool.tool] = tool_json(tool)
    return {
        "now": _time(now),
        "analyzed_at": _time(analyzed_at),
        "analysis_age_seconds": age(analyzed_at),
        # The first profile's tools, as before profiles existed; every profile's below.
        "tools": next(iter(profiles.values()), {}),
        "profiles": profiles,
    }


def token_json(tokens: TokenReport) -> dict[str, Any]:
    return {
        "today": tokens.today,
        "windows": {
            w.window: {
                "tokens": w.tokens,
                "per_percent": w.per_percent,
                **(
                    {
                        "projects": [
                            {"project": name, "tokens": count, "share": count / w.tokens}
                            for name, count in w.projects
                        ]
                    }
                    if w.projects
                    else {}
                ),
            }
            for w in tokens.windows
        },
    }


def latest_report(
    data_dir: Path,
    sources: tuple[str, ...],
    profiles: tuple[str, ...],
    now: datetime,
    naming: ProjectNaming = NO_PROJECTS,
) -> tuple[Report, str | None]:
    """The latest analysis as it reads at `now` (windows whose reset has passed have rolled
    over), and why there is none yet, if there is none: a checkpoint another user left is
    that reason too, since the desk commands never fail the editor."""
    try:
        stored, missing = checkpoint.load(data_dir)
    except CctrackError as exc:
        stored, missing = checkpoint.Checkpoint(), str(exc)
    return build_report(stored.state, now, sources, profiles=profiles, naming=naming), missing


def latest_json(report: Report) -> dict[str, Any]:
    """`latest.json`, for other programs (docs/latest-json.md): versioned."""
    return {"version": LATEST_VERSION, **report_json(report, report.analyzed_at)}


def show(
    data_dir: Path,
    sources: tuple[str, ...],
    as_json: bool,
    now: datetime,
    profiles: tuple[str, ...] = (DEFAULT_PROFILE,),
    naming: ProjectNaming = NO_PROJECTS,
) -> str:
    """The latest analysis as of `now`: windows whose reset has passed since read as rolled over."""
    report, missing = latest_report(data_dir, sources, profiles, now, naming)
    if missing and not as_json:
        return f"nothing analysed yet in {data_dir} ({missing}); run `cctrack run`"
    if as_json:
        return json.dumps(report_json(report, report.analyzed_at), indent=2)
    return format_report(report, report.analyzed_at)
