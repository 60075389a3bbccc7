"""The read side's one loader and its contract: the latest analysis as it reads at `now`
(`latest_report`, which every reading command starts from), and `latest.json`, written by
analyze for other programs (docs/latest-json.md) and read by the hook."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import checkpoint
from cctrack.errors import CctrackError
from cctrack.report import (
    NO_PROJECTS,
    ProjectNaming,
    Report,
    RunOut,
    TokenReport,
    ToolReport,
    build_report,
)
from cctrack.timefmt import format_time

LATEST_FILE = "latest.json"
LATEST_VERSION = 1


def runs_out_json(runs_out: RunOut | None) -> dict[str, Any]:
    """runs_out_at (null when the window resets first) and what it was projected from."""
    return {
        "runs_out_at": _time(runs_out.at) if runs_out else None,
        "runs_out_basis": runs_out.basis if runs_out else None,
    }


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
