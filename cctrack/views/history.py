"""`cctrack events` and `cctrack history`: the day files read again from the start, as the
evidence a person attaches to a support ticket and the time series for a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

from cctrack import store
from cctrack.cycles import COLUMNS
from cctrack.evidence import LimitEvent, Point, points_of
from cctrack.fold import replay
from cctrack.records import TOKEN_TYPES, TokenRecord, has_record_envelope, record_profile
from cctrack.rollup import CycleRow, skipped_note
from cctrack.state import FoldRules, State, TokenState
from cctrack.status import qualified, strict_loads
from cctrack.timefmt import format_precise, format_time, parse_time
from cctrack.tokens.prices import Price, cost_usd, price_of
from cctrack.tokens.projects import ProjectNaming
from cctrack.tokens.rules import window_measure
from cctrack.views import wording

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


def replay_events(data_dir: Path, rules: FoldRules) -> list[LimitEvent]:
    """Every event in the day files, found exactly as analyze finds them."""
    state = State(rules=rules, event_log=[])
    store.read_forward(data_dir, state.add_lines)
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
    who = qualified(profile, tool)
    series = f"{window} ({bucket})" if bucket else window
    before, after = event.before, event.after
    used = f"{before.used_ratio * 100:.0f}% -> {after.used_ratio * 100:.0f}%"
    gap = wording.span((after.observed_at - before.observed_at).total_seconds())
    detail = f"{used} over {gap}"
    if event.kind == "reset_move" and event.move_seconds is not None:
        sign = "+" if event.move_seconds >= 0 else "-"
        detail = (
            f"{sign}{wording.span(abs(event.move_seconds))}: {_time(before.resets_at)} -> "
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


T = TypeVar("T")


def in_capture_order(
    data_dir: Path, read: Callable[[bytes], T | None], seq: Callable[[T], int], first_day: str = ""
) -> Iterator[T]:
    """What `read` makes of each line of the day files from first_day's (YYYYMMDD) on
    (None: passed over): a day file at a time, oldest first, each in seq order (capture's
    order; across files too, unless the clock went back). Memory for one day, not the
    history."""
    for lines in store.each_day_file(data_dir, [], first_day):
        yield from sorted((item for item in map(read, lines) if item is not None), key=seq)


def successful_records(
    data_dir: Path, tool: str | None = None, first_day: str = ""
) -> Iterator[dict[str, Any]]:
    """Every successful status record (of one tool), in capture order (in_capture_order)."""

    def read(line: bytes) -> dict[str, Any] | None:
        try:
            obj = strict_loads(line)
        except ValueError:
            return None
        if (
            has_record_envelope(obj)
            and "kind" not in obj
            and obj["ok"] is True
            and (tool is None or obj["source_tool"] == tool)
        ):
            return cast(dict[str, Any], obj)  # has_record_envelope: a dict
        return None

    return in_capture_order(data_dir, read, lambda obj: int(obj["seq_no"]), first_day)


def history_rows(
    data_dir: Path, since: datetime | None, tool: str | None
) -> Iterator[dict[str, Any]]:
    """One row per window and bucket of every successful record, in capture order."""
    for obj in successful_records(data_dir, tool):
        for window, bucket, point in points_of(obj):
            if since is not None and point.observed_at < since:
                continue
            yield {
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


def write_history(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    """The rows as CSV, written as they come: a year of history never sits in memory."""
    write_csv(HISTORY_COLUMNS, rows, out)


def write_csv(columns: tuple[str, ...], rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _csv(columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    write_csv(columns, rows, out)
    return out.getvalue().rstrip("\n")


def cycle_rows(
    data_dir: Path, rules: FoldRules, since: datetime | None, tool: str | None, window: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Every closed window analyze has folded or would fold next (cycles.py), with the
    tokens this host's logs showed within it, oldest reset first; what was left out."""
    _, held = replay(data_dir, rules, kinds="c")
    return select_cycles(held.cycles, since, tool, window), skipped_note(held.skipped)


def select_cycles(
    cycles: Iterable[CycleRow], since: datetime | None, tool: str | None, window: str | None
) -> list[dict[str, Any]]:
    """The closed windows' rows that pass the filters, oldest reset first."""
    first = since.timestamp() if since else None
    return [
        c.row
        for c in sorted(cycles, key=lambda c: (c.reset, c.row["profile"], c.row["tool"]))
        if (tool is None or c.row["tool"] == tool)
        and (window is None or c.row["window"] == window)
        and (first is None or c.reset >= first)
    ]


def cycle_line(row: dict[str, Any], cost: str = "") -> str:
    """One closed window; `cost` is what a full 5-hour window costs of the week, said where
    it changed since the tool's row before."""
    reset = format_time(parse_time(row["reset"]))
    who = qualified(row["profile"], row["tool"])
    full = (
        f"at 100 % for {wording.span(row['full_seconds'])}" if row["full_at"] else "never at 100 %"
    )
    tokens = f"  tokens {row['tokens']:,}" if row["tokens"] is not None else ""
    weekly = f"  week +{row['weekly_points'] * 100:.1f} points" if row["weekly_points"] else ""
    return (
        f"{reset}  {who:<8} {row['window']:<10} peak {row['peak_used_ratio'] * 100:3.0f} %  "
        f"{full}{tokens}{weekly}{cost}"
    )


def render_cycles(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return "\n".join(json.dumps(row) for row in rows)
    if fmt == "csv":
        return _csv(COLUMNS, rows)
    lines: list[str] = []
    said: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["profile"], row["tool"])
        share = row["weekly_per_five_hour"]
        cost = ""
        if share is not None and round(share * 100) != said.get(key):
            said[key] = round(share * 100)
            cost = f" (a full 5h window: {share * 100:.0f} % of the week)"
        lines.append(cycle_line(row, cost))
    return "\n".join(lines) or "no closed windows yet"


TOKEN_COLUMNS = ("date", "tool", "profile", "model", "type", "tokens")


@dataclass(frozen=True, order=True)
class TokenDay:
    """A model's tokens of one day (local time), by the tool's types (tokens.TOKEN_TYPES)."""

    date: str
    tool: str
    profile: str
    model: str
    counts: tuple[int, ...]

    def by_type(self) -> dict[str, int]:
        return dict(zip(TOKEN_TYPES[self.tool], self.counts, strict=True))


def token_records(data_dir: Path) -> Iterator[TokenRecord]:
    """Every token record, in capture order (in_capture_order)."""

    def read(line: bytes) -> TokenRecord | None:
        if b'"kind":"tokens"' not in line:
            return None
        try:
            return TokenRecord.from_json(strict_loads(line))
        except (ValueError, TypeError, KeyError):
            return None

    return in_capture_order(data_dir, read, lambda record: record.seq_no)


def token_days(
    data_dir: Path,
    since: datetime | None,
    tool: str | None,
    naming: ProjectNaming | None = None,
) -> list[TokenDay]:
    """Tokens per local day and model, folded from the token records by the same rules as
    the counters (state.TokenState): what `ccusage daily` reports, from the records. With
    `naming`, per day and project instead (in the `model` column), from the records'
    project rows: days counted before projects were have none."""
    gates: dict[tuple[str, str], TokenState] = {}
    days: dict[tuple[str, str], dict[tuple[str, str], list[int]]] = {}
    first_day = since.astimezone().date().isoformat() if since else ""
    for record in token_records(data_dir):
        if tool is not None and record.source_tool != tool:
            continue
        key = (record.profile, record.source_tool)
        accepted = gates.setdefault(key, TokenState(record.source_tool)).accept(record)
        if accepted is False:
            continue
        if accepted is None:
            days[key] = {}
        table = days.setdefault(key, {})
        found = (
            [
                (minute, naming.name(project), *counts)
                for minute, project, _, *counts in record.projects
            ]
            if naming is not None
            else record.rows
        )
        for minute, group, *counts in found:
            day = datetime.fromtimestamp(minute * 60).date().isoformat()
            row = table.setdefault((day, group), [0] * len(counts))
            for i, count in enumerate(counts):
                row[i] += count
    return sorted(
        TokenDay(day, tool_name, profile, model, tuple(counts))
        for (profile, tool_name), table in days.items()
        for (day, model), counts in table.items()
        if day >= first_day and any(counts)
    )


def render_token_days(
    rows: list[TokenDay],
    fmt: str,
    group: str = "model",
    prices: Mapping[str, Price] | None = None,
) -> str:
    """The days' rows; `group` names what the rows are per (model, or project). In text,
    each row's total and, with `prices`, what it would cost on the API, then each tool's
    totals (a cost only where every row of it has a price)."""
    if fmt == "json":
        return "\n".join(
            json.dumps(
                {
                    "date": r.date,
                    "tool": r.tool,
                    "profile": r.profile,
                    group: r.model,
                    "tokens": r.by_type(),
                    "total": window_measure(r.tool, r.counts),
                }
            )
            for r in rows
        )
    if fmt == "csv":
        return _csv(
            tuple(group if c == "model" else c for c in TOKEN_COLUMNS),
            (
                {"date": r.date, "tool": r.tool, "profile": r.profile, group: r.model}
                | {"type": kind, "tokens": count}
                for r in rows
                for kind, count in r.by_type().items()
            ),
        )
    lines = []
    totals: dict[str, tuple[int, float | None]] = {}
    for r in rows:
        who = qualified(r.profile, r.tool)
        counts = "  ".join(f"{kind} {count:,}" for kind, count in r.by_type().items())
        total = window_measure(r.tool, r.counts)
        price = price_of(r.model, prices) if prices is not None and group == "model" else None
        cost = cost_usd(r.tool, price, r.by_type()) if price is not None else None
        spent = f"  ${cost:,.2f}" if cost is not None else ""
        lines.append(f"{r.date}  {who:<8} {r.model:<28} total {total:,}  {counts}{spent}")
        tokens, dollars = totals.get(who, (0, 0.0))
        totals[who] = (tokens + total, None if dollars is None or cost is None else dollars + cost)
    for who, (tokens, dollars) in totals.items():
        priced = f"  ${dollars:,.2f} at API prices" if dollars is not None else ""
        lines.append(f"{'total':<10}  {who:<8} {'':<28} total {tokens:,}{priced}")
    return "\n".join(lines) or "no tokens counted yet (token counters run with each capture)"
