"""`cctrack report --html`: the day files and the latest analysis as one self-contained HTML
page, for people without Grafana: no script, no font and no request beyond the page
itself, so it opens from file://, offline, and can be mailed.

Charts are drawn by matplotlib into inline SVG (text kept as text, for screen readers and
search), imported only here: the steady jobs never pay for it. Each chart has a text
alternative; a dark colour scheme inverts the charts' colours.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cctrack import store
from cctrack.errors import CctrackError
from cctrack.evidence import LimitEvent, Limits, Point, SeriesKey
from cctrack.history import cycle_rows_of, token_days
from cctrack.records import Extras, qualified
from cctrack.report import NO_PROJECTS, ProjectNaming, Report, ToolReport
from cctrack.show import latest_report
from cctrack.state import State
from cctrack.timefmt import duration, format_time, parse_time

# Points per line past which a series is thinned (the highest use of each stretch kept):
# a year of 5-minute captures stays a readable line and a page of a few hundred KB.
MAX_POINTS = 1500
# The plan windows' lengths, for a window whose latest analysis does not say its own.
PLAN_WINDOWS = {"five_hour": 5 * 3600, "weekly": 7 * 86400}
MAX_EVENTS = 300
# Closed windows in the page's table: the latest; `cctrack cycles` lists them all.
MAX_CYCLES = 100
MARKERS = {"reset": "v", "reset_move": ">", "drop": "x", "jump": "^", "idle_rise": "o"}
STYLE = """
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #ffffff; --muted: #6e6e73;
  --bad: #c0392b; --line: #d2d2d7; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #f5f5f7; --bg: #1c1c1e; --muted: #a1a1a6; --bad: #ff6b5b; --line: #3a3a3c; }
  figure svg { filter: invert(1) hue-rotate(180deg); }
}
body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
  margin: 0 auto; padding: 1rem; max-width: 1100px; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
figure { margin: 1rem 0; } figure > div { overflow-x: auto; }
/* On a phone a chart keeps a readable size and scrolls sideways within itself. */
figure svg { width: 100%; min-width: 560px; height: auto; display: block; }
figcaption, .muted { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; display: block;
  overflow-x: auto; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
.down { color: var(--bad); font-weight: 600; }
"""


@dataclass(frozen=True)
class Series:
    """One plan window of one tool of one profile over time."""

    profile: str
    tool: str
    window: str
    times: list[datetime]
    used: list[float]
    resets: list[datetime | None]


def _series(
    points: Iterable[tuple[SeriesKey, Point]], since: datetime | None, tool: str | None
) -> list[Series]:
    """Each plan window's snapshots, in the order their numbers were true."""
    found: dict[tuple[str, str, str], list[Point]] = {}
    for (profile, name, window, _), point in points:
        if (tool is None or name == tool) and (since is None or point.observed_at >= since):
            found.setdefault((profile, name, window), []).append(point)
    series = []
    for key in sorted(found):
        ordered = sorted(found[key], key=lambda p: p.observed_at)
        series.append(
            Series(
                *key,
                [p.observed_at for p in ordered],
                [p.used_ratio for p in ordered],
                [p.resets_at for p in ordered],
            )
        )
    return series


def thinned(series: Series) -> Series:
    """At most MAX_POINTS points: per stretch of time, the snapshot that used most."""
    if len(series.times) <= MAX_POINTS:
        return series
    step = len(series.times) / MAX_POINTS
    keep = []
    for index in range(MAX_POINTS):
        part = range(int(index * step), min(len(series.times), int((index + 1) * step)))
        if part:
            keep.append(max(part, key=series.used.__getitem__))
    return Series(
        series.profile,
        series.tool,
        series.window,
        [series.times[i] for i in keep],
        [series.used[i] for i in keep],
        [series.resets[i] for i in keep],
    )


def even_burn(series: Series, seconds: int | None) -> list[float | None]:
    """Where use would be at each snapshot if the window were used evenly to its reset."""
    if not seconds:
        return [None] * len(series.times)
    out: list[float | None] = []
    for at, reset in zip(series.times, series.resets, strict=True):
        if reset is None:
            out.append(None)
            continue
        share = 1 - (reset - at).total_seconds() / seconds
        out.append(min(1.0, max(0.0, share)))
    return out


def _svg(figure: Any) -> str:
    """The figure as inline SVG, scalable by CSS: no XML prolog, no fixed size."""
    out = io.StringIO()
    # No metadata block: it names addresses (RDF, Dublin Core) that no page needs.
    nothing = {"Creator": None, "Date": None, "Format": None, "Type": None}
    figure.savefig(out, format="svg", bbox_inches="tight", metadata=nothing)
    text = out.getvalue()
    text = text[text.index("<svg") :]
    head, rest = text.split(">", 1)
    for attribute in ("width", "height"):
        start = head.find(f' {attribute}="')
        if start >= 0:
            end = head.index('"', start + len(attribute) + 3)
            head = head[:start] + head[end + 1 :]
    return head + ">" + rest


def _figure(width: float = 10, height: float = 3.2) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure


def usage_chart(
    series: Series, seconds: int | None, events: Sequence[LimitEvent], tool: ToolReport | None
) -> tuple[str, str]:
    """The window's use over time, the even-burn line, the limit events, the run-out time;
    and its text alternative."""
    import matplotlib.dates as mdates

    shown = thinned(series)
    figure = _figure()
    axes = figure.subplots()
    # Few snapshots are dots as well: one snapshot is no line.
    marker = "o" if len(shown.times) < 50 else None
    axes.plot(
        shown.times,
        [u * 100 for u in shown.used],
        color="#0a84ff",
        lw=2,
        marker=marker,
        ms=3,
        label="used",
    )
    # The even-burn line of each window apart: a gap where one window gives way to the next.
    burn_times: list[datetime] = []
    burn: list[float] = []
    for i, (at, share) in enumerate(zip(shown.times, even_burn(shown, seconds), strict=True)):
        if i and shown.resets[i] != shown.resets[i - 1]:
            burn_times.append(at)
            burn.append(float("nan"))
        burn_times.append(at)
        burn.append(share * 100 if share is not None else float("nan"))
    axes.plot(
        burn_times,
        burn,
        color="#8e8e93",
        lw=1,
        ls=":",
        label="even burn",
    )
    for kind, marker in MARKERS.items():
        # The latest MAX_EVENTS of a kind: thousands of marks are no picture.
        found = [e for e in events if e.kind == kind][-MAX_EVENTS:]
        if found:
            axes.scatter(
                [e.after.observed_at for e in found],
                [e.after.used_ratio * 100 for e in found],
                marker=marker,
                s=28,
                color="#ff9f0a" if kind != "reset" else "#30d158",
                label=kind.replace("_", " "),
                zorder=3,
            )
    runs_out = None
    if tool is not None:
        runs_out = next(
            (w.runs_out for w in tool.windows if w.name == series.window and w.runs_out), None
        )
    if runs_out is not None:
        axes.axvline(runs_out.at, color="#ff453a", lw=1, ls="--", label="runs out")
    last = max([shown.times[-1], *([runs_out.at] if runs_out else [])])
    pad = max(timedelta(minutes=10), (last - shown.times[0]) / 20)
    axes.set_xlim(shown.times[0] - pad, last + pad)
    axes.set_ylim(0, 105)
    axes.set_ylabel("% used")
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize=8, ncols=4, frameon=False)
    who = qualified(series.profile, series.tool)
    latest = series.used[-1] * 100 if series.used else 0
    text = (
        f"{who} {series.window}: {len(series.times)} snapshots from "
        f"{format_time(series.times[0])} to {format_time(series.times[-1])}; "
        f"peak {max(series.used) * 100:.0f}%, latest {latest:.0f}%; "
        f"{sum(e.kind == 'reset' for e in events)} resets and "
        f"{sum(e.kind != 'reset' for e in events)} other limit events"
        + (f"; runs out at {format_time(runs_out.at)} at the current rate" if runs_out else "")
    )
    return _svg(figure), text


def tokens_chart(days: Sequence[Any], tool: str) -> tuple[str, str] | None:
    """Tokens per day, stacked by model."""
    from cctrack.tokens.rules import window_measure

    rows = [d for d in days if d.tool == tool]
    if not rows:
        return None
    dates = sorted({d.date for d in rows})
    models = sorted({d.model for d in rows})
    figure = _figure(10, 3)
    axes = figure.subplots()
    bottom = [0.0] * len(dates)
    for model in models:
        values = [0.0] * len(dates)
        for d in rows:
            if d.model == model:
                values[dates.index(d.date)] += window_measure(tool, d.counts)
        axes.bar(dates, values, bottom=bottom, label=model)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("tokens")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=7, frameon=False, ncols=3)
    axes.grid(True, axis="y", alpha=0.3)
    total = sum(bottom)
    text = f"{tool}: {total:,.0f} tokens over {len(dates)} days, by model: " + ", ".join(models)
    return _svg(figure), text


def per_percent_chart(cycles: Sequence[dict[str, Any]]) -> tuple[str, str] | None:
    """Tokens per 1 % of each closed window, over time: a falling line with all use
    captured is a limit that got smaller."""
    points: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
    for row in cycles:
        if row["tokens"] and row["peak_used_ratio"] >= 0.05:
            key = (qualified(row["profile"], row["tool"]), row["window"])
            points.setdefault(key, []).append(
                (parse_time(row["reset"]), row["tokens"] / (row["peak_used_ratio"] * 100))
            )
    if not points:
        return None
    figure = _figure(10, 3)
    axes = figure.subplots()
    for (who, window), found in sorted(points.items()):
        step = max(1, len(found) // MAX_POINTS)
        shown = found[::step]
        marker = "o" if len(shown) < 50 else None
        axes.plot(
            [p[0] for p in shown], [p[1] for p in shown], marker=marker, label=f"{who} {window}"
        )
    axes.set_ylabel("tokens per 1 %")
    axes.legend(fontsize=8, frameon=False)
    axes.grid(True, alpha=0.3)
    text = "Tokens per 1 % of each closed window: " + "; ".join(
        f"{who} {window}: {len(found)} windows, latest {found[-1][1]:,.0f}"
        for (who, window), found in sorted(points.items())
    )
    return _svg(figure), text


def _figure_html(svg: str, text: str) -> str:
    label = html.escape(text)
    return (
        f'<figure><div role="img" aria-label="{label}">{svg}</div>'
        f"<figcaption>{label}</figcaption></figure>"
    )


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _status(report: Report, now: datetime) -> str:
    """The sources, the down ones first with their reason; what each last said."""
    parts = []
    for tool in sorted(report.tools, key=lambda t: t.up):
        who = html.escape(qualified(tool.profile, tool.tool))
        if not tool.up:
            reason = html.escape(tool.last_error or "no successful capture yet")
            parts.append(f'<p class="down">{who} is down: {reason}</p>')
    rows = []
    for tool in report.tools:
        age = (
            f"{duration((now - tool.observed_at).total_seconds())} ago"
            if tool.observed_at
            else "never"
        )
        # Each limit: its name, share used, reset, and run-out time (windows only).
        limits = [
            (w.name, w.used_ratio, w.resets_at, w.runs_out.at if w.runs_out else None)
            for w in tool.windows
        ]
        limits += [(f"spend {x.name}", x.used_ratio, x.resets_at, None) for x in tool.spend]
        limits += [
            (f"{x.name} ({x.window.name})", x.window.used_ratio, x.window.resets_at, None)
            for x in tool.buckets
        ]
        for name, used, resets, gone in limits:
            rows.append(
                (
                    qualified(tool.profile, tool.tool),
                    name,
                    f"{used * 100:.0f}%",
                    format_time(resets) if resets else "",
                    format_time(gone) if gone else "",
                    tool.origin or "",
                    age,
                )
            )
    table = _table(("tool", "limit", "used", "resets", "runs out", "source", "numbers from"), rows)
    extras = [
        (qualified(tool.profile, tool.tool), what)
        for tool in report.tools
        if tool.extras is not None
        for what in extras_said(tool.extras)
    ]
    shares = [
        (
            qualified(tool.profile, tool.tool),
            w.window,
            ", ".join(f"{name} {count / w.tokens * 100:.0f}%" for name, count in w.projects),
        )
        for tool in report.tools
        if tool.tokens is not None
        for w in tool.tokens.windows
        if w.projects
    ]
    return (
        "".join(parts)
        + table
        + (_table(("tool", "also reported"), extras) if extras else "")
        + (_table(("tool", "window", "tokens by project"), shares) if shares else "")
    )


def extras_said(extras: Extras) -> list[str]:
    """What a vendor reports besides its limits, as short phrases."""
    said = []
    if extras.extra_usage_enabled is not None:
        used = (
            f", {extras.extra_usage_used_ratio * 100:.0f}% used"
            if extras.extra_usage_used_ratio is not None
            else ""
        )
        amounts = (
            f" ({extras.extra_usage_spent:,.2f} of {extras.extra_usage_monthly_limit:,.2f} "
            f"{extras.currency or ''} this month)"
            if extras.extra_usage_spent is not None and extras.extra_usage_monthly_limit
            else ""
        )
        state = "on" if extras.extra_usage_enabled else "off"
        said.append(f"extra usage {state}{used}{amounts}")
    if extras.has_credits:
        balance = (
            "unlimited"
            if extras.credits_unlimited
            else f"{extras.credits_balance:,.2f}"
            if extras.credits_balance is not None
            else "unknown"
        )
        said.append(f"credits: {balance}")
    if extras.limit_reached:
        said.append(f"limit reached: {extras.limit_reached}")
    if extras.reset_credits_available:
        said.append(f"{extras.reset_credits_available} full reset(s) in hand")
    return said


def render(
    data_dir: Path,
    now: datetime,
    sources: tuple[str, ...],
    profiles: tuple[str, ...],
    limits: Limits,
    since: datetime | None = None,
    tool: str | None = None,
    naming: ProjectNaming = NO_PROJECTS,
) -> str:
    """The page, from the day files (history, events, tokens, cycles) and the latest
    analysis (what the sources said last, run-out times, projects)."""
    # Every chart below imports from matplotlib: whether it is there is asked once, here.
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CctrackError(
            "the HTML report needs the report extra: pip install 'cctrack[report]'"
        ) from None
    report, _ = latest_report(data_dir, sources, profiles, now, naming)
    # One pass over the day files for the snapshots, the limit events and the closed
    # windows, folded as analyze folds them; the token records apart (they are few).
    state = State(limits=limits, event_log=[], cycle_log=[], point_log=[])
    store.read_forward(data_dir, state.add_lines)
    series = _series(state.point_log or [], since, tool)
    events = [
        e
        for e in state.event_log or []
        if (since is None or e.after.observed_at >= since) and (tool is None or e.key[1] == tool)
    ]
    cycles = cycle_rows_of(state, since, tool, None)
    days = token_days(data_dir, since, tool)
    by_tool = {(t.profile, t.tool): t for t in report.tools}
    lengths = {
        (t.profile, t.tool, w.name): w.window_seconds for t in report.tools for w in t.windows
    }
    sections = [
        f"<h1>cctrack: Claude Code and Codex limits</h1><p class=muted>"
        f"made {html.escape(format_time(now))}"
        + (f", since {html.escape(format_time(since))}" if since else "")
        + "</p>",
        "<h2>Now</h2>",
        _status(report, now),
        "<h2>Use over time</h2>",
    ]
    if not series:
        sections.append("<p class=muted>no captures in the day files yet</p>")
    for s in series:
        mine = [e for e in events if e.key == (s.profile, s.tool, s.window, "")]
        seconds = lengths.get((s.profile, s.tool, s.window)) or PLAN_WINDOWS.get(s.window)
        svg, text = usage_chart(s, seconds, mine, by_tool.get((s.profile, s.tool)))
        sections.append(_figure_html(svg, text))
    sections.append("<h2>Tokens</h2>")
    drawn = False
    for name in sorted({d.tool for d in days}):
        chart = tokens_chart(days, name)
        if chart:
            sections.append(_figure_html(*chart))
            drawn = True
    chart = per_percent_chart(cycles)
    if chart:
        sections.append(_figure_html(*chart))
    if not drawn:
        sections.append("<p class=muted>no token records yet (token counters run with capture)</p>")
    sections.append("<h2>Closed windows</h2>")
    if len(cycles) > MAX_CYCLES:
        sections.append(
            f"<p class=muted>the latest {MAX_CYCLES} of {len(cycles)}; "
            "<code>cctrack cycles</code> lists them all</p>"
        )
    if cycles:
        sections.append(
            _table(
                ("tool", "window", "reset", "peak", "at 100 %", "tokens", "weekly points"),
                (
                    (
                        qualified(r["profile"], r["tool"]),
                        r["window"],
                        format_time(parse_time(r["reset"])),
                        f"{r['peak_used_ratio'] * 100:.0f}%",
                        duration(r["full_seconds"], minutes=True) if r["full_at"] else "",
                        f"{r['tokens']:,}" if r["tokens"] is not None else "",
                        f"{r['weekly_points'] * 100:.1f}" if r["weekly_points"] is not None else "",
                    )
                    for r in reversed(cycles[-MAX_CYCLES:])
                ),
            )
        )
    else:
        sections.append("<p class=muted>no window has closed in the day files yet</p>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        # Nothing may be fetched: the page is whole, and stays private where it is opened.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>cctrack report</title>"
        f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )
