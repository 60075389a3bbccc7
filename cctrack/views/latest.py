"""The read side's one loader and its contract: `latest.json`, the report analyze made,
written by analyze for every reading command and for other programs (docs/latest-json.md),
and `latest_report`, which every reading command starts from: that report as it reads at
`now` (report.ToolReport.as_of). Reading it needs neither the state nor anything that
folds records, so the commands people wait on start without them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from cctrack.files import read_json
from cctrack.report import (
    Report,
    RunOut,
    TokenReport,
    ToolReport,
    WindowReport,
    WindowTokens,
)
from cctrack.status import (
    CONFIDENCES,
    OFFICIAL,
    Bucket,
    Extras,
    SpendLimit,
    Window,
    is_number,
    valid_tool,
)
from cctrack.timefmt import format_precise, parse_time

LATEST_FILE = "latest.json"
LATEST_VERSION = 1


def runs_out_json(runs_out: RunOut | None) -> dict[str, Any]:
    """runs_out_at (null when the window resets first) and what it was projected from."""
    return {
        "runs_out_at": _time(runs_out.at) if runs_out else None,
        "runs_out_basis": runs_out.basis if runs_out else None,
    }


def _time(moment: datetime | None) -> str | None:
    """RFC 3339 with the moment's fractional seconds: read back, it is the same moment."""
    return format_precise(moment) if moment else None


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
            "confidence": tool.confidence,
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
                    "elapsed_ratio": w.elapsed_ratio,
                }
                for w in tool.windows
            },
            "spend": {
                key: {
                    "kind": s.name,
                    "used_ratio": s.used_ratio,
                    "resets_at": _time(s.resets_at),
                    "used": s.used,
                    "limit": s.limit,
                    "unit": s.unit,
                    "group": s.group,
                    "binding": s.binding,
                }
                for key, s in spend_keys(tool.spend)
            },
            "buckets": [
                {
                    "bucket": b.name,
                    "window": b.window.name,
                    "used_ratio": b.window.used_ratio,
                    "window_seconds": b.window.window_seconds,
                    "resets_at": _time(b.window.resets_at),
                    "observed_at": _time(b.observed_at or tool.observed_at),
                    "current": current,
                }
                for bs, current in ((tool.buckets, True), (tool.old_buckets, False))
                for b in bs
            ],
            "extras": extras_json(tool),
            "tokens": token_json(tool.tokens) if tool.tokens else None,
            "weekly_per_five_hour": tool.weekly_per_five_hour,
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


def spend_keys(spend: tuple[SpendLimit, ...]) -> list[tuple[str, SpendLimit]]:
    """Each spend limit under its kind, or, for a second limit of one kind (two groups'
    shared limits), its kind and group: `group_shared/Platform team`."""
    keyed: dict[str, SpendLimit] = {}
    for limit in spend:
        key = limit.name if limit.name not in keyed else f"{limit.name}/{limit.group or ''}"
        keyed.setdefault(key, limit)
    return list(keyed.items())


def extras_json(tool: ToolReport) -> dict[str, Any] | None:
    """What the vendor reports besides limits, with `current` as a bucket has it."""
    extras = tool.extras or tool.old_extras
    if extras is None:
        return None
    return {**extras.to_json(), "current": tool.extras is not None}


T = TypeVar("T")


def _field(obj: dict[str, Any], key: str, read: Callable[[Any], T]) -> T | None:
    """A field of latest.json read by `read`, None when absent or null."""
    value = obj.get(key)
    return None if value is None else read(value)


def _number(value: Any) -> float:
    if not is_number(value):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return value


def _window(name: str, obj: dict[str, Any]) -> WindowReport:
    gone = _field(obj, "runs_out_at", parse_time)
    seconds = _field(obj, "window_seconds", _number)
    return WindowReport(
        name,
        _number(obj["used_ratio"]),
        _field(obj, "pace_ratio", _number),
        int(seconds) if seconds is not None else None,
        _field(obj, "resets_at", parse_time),
        RunOut(gone, _text(obj.get("runs_out_basis") or "window")) if gone else None,
        _field(obj, "elapsed_ratio", _number),
    )


def _tokens(obj: dict[str, Any]) -> TokenReport:
    windows = tuple(
        WindowTokens(
            name,
            int(_number(w["tokens"])),
            _field(w, "per_percent", _number),
            tuple((_text(p["project"]), int(_number(p["tokens"]))) for p in w.get("projects", ())),
        )
        for name, w in obj["windows"].items()
    )
    return TokenReport((), (), (), int(_number(obj["today"])), windows)


def tool_from_json(profile: str, tool: str, obj: dict[str, Any]) -> ToolReport:
    """One tool of latest.json as the report analyze made (ValueError, KeyError or
    TypeError for what is not that: a damaged file)."""
    observed = _field(obj, "observed_at", parse_time)
    buckets = [
        (
            Bucket(
                _text(b["bucket"]),
                Window.from_json(b["window"], b),
                # Written as the tool's time when the bucket has none of its own.
                seen if (seen := _field(b, "observed_at", parse_time)) != observed else None,
            ),
            b.get("current") is not False,
        )
        for b in obj.get("buckets", ())
    ]
    extras = obj.get("extras") or {}
    made = Extras.from_json(extras) if extras else None
    fresh = extras.get("current") is not False
    confidence = obj.get("confidence") or OFFICIAL
    return ToolReport(
        tool=tool,
        up=obj["up"] is True,
        ok_count=int(_number(obj["captures"]["ok"])),
        error_count=int(_number(obj["captures"]["error"])),
        last_capture=_field(obj, "last_capture", parse_time),
        last_error=_field(obj, "last_error", _text),
        last_success=_field(obj, "last_success", parse_time),
        observed_at=observed,
        origin=_field(obj, "origin", _text),
        plan=_field(obj, "plan", _text),
        windows=tuple(_window(name, w) for name, w in obj["windows"].items()),
        profile=profile,
        account=_field(obj, "account", _text),
        buckets=tuple(b for b, current in buckets if current),
        old_buckets=tuple(b for b, current in buckets if not current),
        extras=made if fresh else None,
        old_extras=None if fresh else made,
        spend=tuple(
            SpendLimit.from_json(
                {**limit, "limit": limit.get("kind") or name, "amount": limit.get("limit")}
            )
            for name, limit in obj.get("spend", {}).items()
        ),
        tokens=_field(obj, "tokens", _tokens),
        weekly_per_five_hour=_field(obj, "weekly_per_five_hour", _number),
        confidence=confidence if confidence in CONFIDENCES else OFFICIAL,
    )


def report_from_json(obj: Any) -> Report:
    """latest.json as the report analyze made, at its `now`."""
    if not isinstance(obj, dict) or obj.get("version") != LATEST_VERSION:
        raise ValueError("not a latest.json of this version")
    return Report(
        generated_at=parse_time(obj["now"]),
        analyzed_at=_field(obj, "analyzed_at", parse_time),
        tools=tuple(
            tool_from_json(profile, name, entry)
            for profile, tools in obj["profiles"].items()
            for name, entry in tools.items()
            if valid_tool(name)
        ),
        invalid_lines=0,
        torn_fragments=0,
    )


def never_captured(profile: str, tool: str) -> ToolReport:
    """A source asked for that the analysis has not seen yet (as a tool before its first
    record reads)."""
    return ToolReport(tool, False, 0, 0, None, None, None, None, None, None, (), profile)


def latest_report(
    data_dir: Path, sources: tuple[str, ...], profiles: tuple[str, ...], now: datetime
) -> tuple[Report, str | None]:
    """The latest analysis as it reads at `now`, of the sources and profiles asked for
    (windows whose reset has passed have rolled over), and why there is none yet, if there
    is none. Never raises: a file another user left or a damaged one is that reason, since
    the desk commands never fail the editor."""
    path = data_dir / LATEST_FILE
    missing: str | None
    try:
        obj = read_json(path)
        report = None if obj is None else report_from_json(obj)
    except PermissionError:
        report, missing = None, f"{path} belongs to another user"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        report, missing = None, f"{path} unreadable ({exc.__class__.__name__})"
    else:
        missing = None if report is not None else "no analysis yet"
    found = {(t.profile, t.tool): t for t in report.tools} if report else {}
    tools = tuple(
        found.get((profile, tool)) or never_captured(profile, tool)
        for profile, tool in sorted((p, t) for p in profiles for t in sources)
    )
    analyzed = report.analyzed_at if report else None
    if analyzed is not None and analyzed.astimezone().date() != now.astimezone().date():
        # Today's tokens as the analysis counted them were another day's.
        tools = tuple(
            replace(t, tokens=replace(t.tokens, today=0)) if t.tokens else t for t in tools
        )
    return Report(now, analyzed, tools, 0, 0).as_of(now), missing


def latest_json(report: Report) -> dict[str, Any]:
    """`latest.json`, for other programs (docs/latest-json.md): versioned."""
    return {"version": LATEST_VERSION, **report_json(report, report.analyzed_at)}
