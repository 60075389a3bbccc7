"""`cctrack events` and `cctrack history`: the day files read again from the start, as the
evidence a person attaches to a support ticket and the time series for a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import checkpoint
from cctrack.evidence import LimitEvent, Limits, Point, points_of
from cctrack.records import DEFAULT_PROFILE, has_record_envelope, record_profile, strict_loads
from cctrack.state import State
from cctrack.timefmt import duration, format_precise, format_time

FORMATS = ("text", "json", "csv")
WORDS = {
    "reset": "reset: quota is back",
    "reset_move": "reset time moved",
    "drop": "usage fell without a reset",
    "jump": "usage jumped",
    "idle_rise": "usage rose with no activity on this host",
}
EVENT_COLUMNS = (
    "event",
    "tool",
    "profile",
    "window",
    "bucket",
    "move_seconds",
    "before_observed_at",
    "before_used_ratio",
    "before_resets_at",
    "before_origin",
    "after_observed_at",
    "after_used_ratio",
    "after_resets_at",
    "after_origin",
)
HISTORY_COLUMNS = (
    "observed_at",
    "captured_at",
    "tool",
    "profile",
    "window",
    "bucket",
    "used_ratio",
    "resets_at",
    "origin",
    "hostname",
)


def replay_events(data_dir: Path, limits: Limits) -> list[LimitEvent]:
    """Every event in the day files, found exactly as analyze finds them."""
    state = State(limits=limits, event_log=[])
    checkpoint.read_new_lines(data_dir, {}, state.add_lines)
    return state.event_log or []


def _time(moment: datetime | None) -> str:
    return format_precise(moment) if moment else ""


def _point(prefix: str, point: Point) -> dict[str, Any]:
    return {
        f"{prefix}_observed_at": _time(point.observed_at),
        f"{prefix}_used_ratio": point.used_ratio,
        f"{prefix}_resets_at": _time(point.resets_at),
        f"{prefix}_origin": point.origin,
    }


def event_row(event: LimitEvent) -> dict[str, Any]:
    profile, tool, window, bucket = event.key
    return {
        "event": event.kind,
        "tool": tool,
        "profile": profile,
        "window": window,
        "bucket": bucket,
        "move_seconds": event.move_seconds,
        **_point("before", event.before),
        **_point("after", event.after),
    }


def event_line(event: LimitEvent) -> str:
    profile, tool, window, bucket = event.key
    who = tool if profile == DEFAULT_PROFILE else f"{profile}/{tool}"
    series = f"{window} ({bucket})" if bucket else window
    before, after = event.before, event.after
    used = f"{before.used_ratio * 100:.0f}% -> {after.used_ratio * 100:.0f}%"
    gap = duration((after.observed_at - before.observed_at).total_seconds())
    detail = f"{used} over {gap}"
    if event.kind == "reset_move" and event.move_seconds is not None:
        sign = "+" if event.move_seconds >= 0 else "-"
        detail = (
            f"{sign}{duration(abs(event.move_seconds))}: {_time(before.resets_at)} -> "
            f"{_time(after.resets_at)}; {used}"
        )
    return (
        f"{format_time(after.observed_at)} {who} {series}: {WORDS[event.kind]}, {detail} "
        f"(seen {format_time(before.observed_at)} via {before.origin}, then via {after.origin})"
    )


def select(
    events: Iterable[LimitEvent], since: datetime | None, tool: str | None
) -> list[LimitEvent]:
    return [
        e
        for e in events
        if (since is None or e.after.observed_at >= since) and (tool is None or e.key[1] == tool)
    ]


def render_events(events: list[LimitEvent], fmt: str) -> str:
    if fmt == "json":
        return "\n".join(json.dumps(event_row(e)) for e in events)
    if fmt == "csv":
        return _csv(EVENT_COLUMNS, (event_row(e) for e in events))
    return "\n".join(event_line(e) for e in events) or "no limit events"


def history_rows(data_dir: Path, since: datetime | None, tool: str | None) -> list[dict[str, Any]]:
    """One row per window and bucket of every successful record, in seq order."""
    records: list[dict[str, Any]] = []

    def collect(lines: list[bytes]) -> None:
        for line in lines:
            try:
                obj = strict_loads(line)
            except ValueError:
                continue
            if (
                has_record_envelope(obj)
                and obj["ok"]
                and (tool is None or obj["source_tool"] == tool)
            ):
                records.append(obj)

    checkpoint.read_new_lines(data_dir, {}, collect)
    rows = []
    for obj in sorted(records, key=lambda o: int(o["seq_no"])):
        for window, bucket, point in points_of(obj):
            if since is not None and point.observed_at < since:
                continue
            rows.append(
                {
                    "observed_at": _time(point.observed_at),
                    "captured_at": _time(point.captured_at),
                    "tool": obj["source_tool"],
                    "profile": record_profile(obj),
                    "window": window,
                    "bucket": bucket,
                    "used_ratio": point.used_ratio,
                    "resets_at": _time(point.resets_at),
                    "origin": point.origin,
                    "hostname": obj["hostname"],
                }
            )
    return rows


def render_history(rows: list[dict[str, Any]]) -> str:
    return _csv(HISTORY_COLUMNS, rows)


def _csv(columns: tuple[str, ...], rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue().rstrip("\n")
