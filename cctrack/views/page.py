"""`cctrack report --html`: the rollup (rollup.py), the last days' snapshots and the latest
analysis as one self-contained HTML page, for people without Grafana: no script, no font
and no request beyond the page itself, so it opens from file://, offline, and can be
mailed.

Charts are drawn by matplotlib into inline SVG (text kept as text, for screen readers and
search), imported only here: the steady jobs never pay for it. Each chart has a text
alternative; a dark colour scheme inverts the charts' colours. A year draws about as fast
as a week: the rollup is read in a forked child while matplotlib is imported, and the
charts are drawn on every core.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cctrack.errors import CctrackError, needs_extra
from cctrack.evidence import points_of
from cctrack.files import private_dir
from cctrack.fold import replay
from cctrack.model import frozen
from cctrack.process import forked, map_forked
from cctrack.records import record_profile
from cctrack.report import Report, ToolReport
from cctrack.rollup import QUARTERS, Rollup, Snapshot, skipped_note
from cctrack.state import FoldRules, State
from cctrack.status import qualified
from cctrack.timefmt import format_time, parse_time
from cctrack.tokens.projects import ProjectNaming
from cctrack.views import wording
from cctrack.views.history import select_cycles, successful_records
from cctrack.views.latest import latest_report

# Stretches of time a line is thinned to (the highest and the last snapshot of each
# kept): a year of 5-minute captures stays a readable line and a page of a few hundred KB.
MAX_POINTS = 800
# Snapshots this recent are drawn as captured (read from the day files); older ones are
# the rollup's highest and last of each hour that changed. A weekly window and a day more.
DETAIL = timedelta(days=8)
# The plan windows' lengths, for a window whose latest analysis does not say its own.
PLAN_WINDOWS = {"five_hour": 5 * 3600, "weekly": 7 * 86400}
MAX_EVENTS = 300
# Days of tokens past which a chart draws steps instead of bars.
MAX_BARS = 62
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
figure { margin: 1rem 0; } figure > div { overflow-x: auto; direction: rtl; }
/* On a phone a chart keeps a readable size and scrolls sideways within itself, starting
   from its right end: today first (the scroll box is right-to-left, the chart is not). */
figure svg { width: 100%; min-width: 560px; height: auto; display: block; direction: ltr; }
figcaption, .muted { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; display: block;
  overflow-x: auto; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
.down { color: var(--bad); font-weight: 600; }
/* The answer first: on a phone the Now table wraps its words instead of hiding columns. */
table.now { display: table; }
@media (max-width: 640px) {
  table.now th, table.now td { white-space: normal; padding: .25rem .3rem; }
  table.now { font-size: .8rem; }
}
"""


@frozen
class Series:
    """One plan window of one tool of one profile over time, and its limit events."""

    profile: str
    tool: str
    window: str
    times: list[datetime]
    used: list[float]
    resets: list[datetime | None]
    # Per kind: where its events were (the first of each hour, at most MAX_EVENTS spread
    # over the span), and how many there were in all.
    marks: dict[str, list[tuple[datetime, float]]]
    counts: dict[str, int]


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def recent_snapshots(data_dir: Path, cutover: float) -> dict[tuple[str, str, str], list[Snapshot]]:
    """Each plan window's snapshots since the cutover, as captured (from the day files)."""
    found: dict[tuple[str, str, str], list[Snapshot]] = {}
    # A day file is named for when its records were captured: the day before as well.
    first = datetime.fromtimestamp(cutover, timezone.utc) - timedelta(days=1)
    for obj in successful_records(data_dir, first_day=first.strftime("%Y%m%d")):
        key = (record_profile(obj), obj["source_tool"])
        for window, bucket, point in points_of(obj):
            at = point.observed_at.timestamp()
            if not bucket and at >= cutover:
                resets = point.resets_at.timestamp() if point.resets_at else None
                found.setdefault((*key, window), []).append((at, point.used_ratio, resets))
    return found


def thinned(snapshots: list[Snapshot]) -> list[Snapshot]:
    """At most twice MAX_POINTS of the snapshots (in time order): per stretch of time, the
    one that used most and the last, which the line holds until the next."""
    if len(snapshots) <= 2 * MAX_POINTS:
        return snapshots
    start = snapshots[0][0]
    step = (snapshots[-1][0] - start) / MAX_POINTS or 1.0
    high: dict[int, Snapshot] = {}
    last: dict[int, Snapshot] = {}
    for snapshot in snapshots:
        index = int((snapshot[0] - start) / step)
        if index not in high or snapshot[1] > high[index][1]:
            high[index] = snapshot
        last[index] = snapshot
    return sorted({*high.values(), *last.values()})


def usage_series(
    held: Rollup,
    recent: dict[tuple[str, str, str], list[Snapshot]],
    cutover: float,
    since: datetime | None,
    tool: str | None,
) -> list[Series]:
    """Each plan window's use, thinned: before the cutover the rollup's highest and last
    snapshot of each hour that changed, after it the snapshots as captured; and its limit
    events."""
    first = since.timestamp() if since else float("-inf")
    snapshots: dict[tuple[str, str, str], list[Snapshot]] = {}
    marks: dict[tuple[str, str, str], dict[str, list[tuple[float, float]]]] = {}
    counts: dict[tuple[str, str, str], dict[str, int]] = {}
    for row in held.hours.values():
        key = (row.key[0], row.key[1], row.key[2])
        if (tool is not None and key[1] != tool) or row.last[0] < first:
            continue
        if row.last[0] < cutover:
            snapshots.setdefault(key, []).extend({row.high, row.last})
        for kind, count in row.counts.items():
            table = counts.setdefault(key, {})
            table[kind] = table.get(kind, 0) + count
        for kind, place in row.first.items():
            if place[0] >= first:
                marks.setdefault(key, {}).setdefault(kind, []).append(place)
    for key, found in recent.items():
        if tool is None or key[1] == tool:
            snapshots.setdefault(key, []).extend(s for s in found if s[0] >= first)
    series = []
    for key in sorted(snapshots):
        shown = thinned(sorted(snapshots[key]))
        if not shown:
            continue
        series.append(
            Series(
                *key,
                [moment(s[0]) for s in shown],
                [s[1] for s in shown],
                [moment(s[2]) if s[2] is not None else None for s in shown],
                {
                    # At most MAX_EVENTS of a kind, spread over the span: thousands of
                    # marks are no picture (the caption counts them all).
                    kind: [
                        (moment(at), used)
                        for at, used in sorted(places)[:: -(-len(places) // MAX_EVENTS)]
                    ]
                    for kind, places in marks.get(key, {}).items()
                },
                counts.get(key, {}),
            )
        )
    return series


def rollup_token_days(
    held: Rollup,
    state: State,
    since: datetime | None,
    tool: str | None,
    naming: ProjectNaming | None = None,
) -> dict[str, dict[tuple[str, str], int]]:
    """Per tool, the tokens that count against a window per local day and model (with
    naming: per project), as the counters count them: from the scan store counting now.
    From the rollup's quarter hours, fast for a year; `cctrack tokens` reads the same from
    the token records (history.token_days), and test_rollup holds the two equal."""
    counting = {key: tokens.store for key, tokens in state.tokens.items()}
    first_day = since.astimezone().date().isoformat() if since else ""
    days: dict[str, dict[tuple[str, str], int]] = {}
    for hour in held.tokens.values():
        profile, name, scan_store, number = hour.key
        if (tool is not None and name != tool) or counting.get((profile, name)) != scan_store:
            continue
        days_of = [local_day(number * 3600 + i * 3600 // QUARTERS) for i in range(QUARTERS)]
        table = days.setdefault(name, {})
        rows = hour.projects if naming is not None else hour.models
        for label, counts in rows.items():
            for day, count in zip(days_of, counts, strict=True):
                if count and day >= first_day:
                    table[(day, label)] = table.get((day, label), 0) + count
    if naming is None:
        return days
    # Each tool's working directories by name: the `cap` largest, the rest as `other`.
    for name, table in days.items():
        totals: dict[str, int] = {}
        for (_, cwd), count in table.items():
            totals[cwd] = totals.get(cwd, 0) + count
        named = naming.grouped(totals)
        merged: dict[tuple[str, str], int] = {}
        for (day, cwd), count in table.items():
            merged[(day, named[cwd])] = merged.get((day, named[cwd]), 0) + count
        days[name] = merged
    return days


def local_day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).date().isoformat()


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
    import matplotlib

    out = io.StringIO()
    # No metadata block: it names addresses (RDF, Dublin Core) that no page needs.
    nothing = {"Creator": None, "Date": None, "Format": None, "Type": None}
    # Text as text (for screen readers, search and copying; and faster than paths), and
    # the same ids for the same chart.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cctrack"}):
        figure.savefig(out, format="svg", metadata=nothing)
    text = out.getvalue()
    text = text[text.index("<svg") :]
    head, rest = text.split(">", 1)
    for attribute in ("width", "height"):
        start = head.find(f' {attribute}="')
        if start >= 0:
            end = head.index('"', start + len(attribute) + 3)
            head = head[:start] + head[end + 1 :]
    return head + ">" + rest


def _time_axis(axes: Any) -> None:
    """Dates along x, labelled as briefly as the span allows."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _counts_axis(axes: Any) -> None:
    """Counts along y as 350k and 2M: no offset text above the axis, where the legend is."""
    from matplotlib.ticker import EngFormatter

    axes.yaxis.set_major_formatter(EngFormatter(sep=""))


def _legend(axes: Any) -> None:
    """The legend above the chart, where it hides no line."""
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.01), fontsize=8, ncols=7, frameon=False)


def _figure(height: float = 3.2, below: float = 0.55) -> tuple[Any, Any]:
    """A chart 10 inches wide with fixed margins (inches below the axes for the time
    labels): laying a figure out to fit its text draws it twice."""
    from matplotlib.figure import Figure

    width = 10.0
    figure = Figure(figsize=(width, height))
    left, right, above = 0.85, 0.4, 0.5
    axes = figure.add_axes(
        (left / width, below / height, 1 - (left + right) / width, 1 - (below + above) / height)
    )
    return figure, axes


def usage_chart(series: Series, seconds: int | None, tool: ToolReport | None) -> tuple[str, str]:
    """The window's use over time, the even-burn line, the limit events, the run-out time;
    and its text alternative."""
    figure, axes = _figure()
    # Few snapshots are dots as well: one snapshot is no line.
    marker = "o" if len(series.times) < 50 else None
    # Steps: a snapshot's number holds until the next one (the rollup keeps no idle hour).
    axes.plot(
        series.times,
        [u * 100 for u in series.used],
        drawstyle="steps-post",
        color="#0a84ff",
        lw=2,
        marker=marker,
        ms=3,
        label="used",
    )
    # The even-burn line of each window apart: a gap where one window gives way to the next.
    burn_times: list[datetime] = []
    burn: list[float] = []
    for i, (at, share) in enumerate(zip(series.times, even_burn(series, seconds), strict=True)):
        if i and series.resets[i] != series.resets[i - 1]:
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
        found = series.marks.get(kind)
        if found:
            axes.scatter(
                [at for at, _ in found],
                [used * 100 for _, used in found],
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
    last = max([series.times[-1], *([runs_out.at] if runs_out else [])])
    pad = max(timedelta(minutes=10), (last - series.times[0]) / 20)
    axes.set_xlim(series.times[0] - pad, last + pad)
    axes.set_ylim(0, 105)
    axes.set_ylabel("% used")
    _time_axis(axes)
    axes.grid(True, alpha=0.3)
    _legend(axes)
    who = qualified(series.profile, series.tool)
    latest = series.used[-1] * 100 if series.used else 0
    resets = series.counts.get("reset", 0)
    text = (
        f"{who} {series.window}: from "
        f"{format_time(series.times[0])} to {format_time(series.times[-1])}; "
        f"peak {max(series.used) * 100:.0f}%, latest {latest:.0f}%; "
        f"{resets} resets and {sum(series.counts.values()) - resets} other limit events"
        + (f"; runs out at {format_time(runs_out.at)} at the current rate" if runs_out else "")
    )
    return _svg(figure), text


def tokens_chart(tool: str, days: dict[tuple[str, str], int], by: str) -> tuple[str, str]:
    """Tokens per day, stacked by model (or project): bars for a few weeks, steps beyond,
    where a bar would be a pixel wide."""
    first, last = (date.fromisoformat(d) for d in (min(days)[0], max(days)[0]))
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    names = sorted({name for _, name in days})
    stacks = [[float(days.get((d.isoformat(), name), 0)) for d in dates] for name in names]
    figure, axes = _figure()
    if len(dates) <= MAX_BARS:
        bottom = [0.0] * len(dates)
        for name, values in zip(names, stacks, strict=True):
            axes.bar(dates, values, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        # Whole days along x, however few: a day's bar is no 24 hours of ticks.
        from matplotlib.dates import DateFormatter, DayLocator

        axes.set_xlim(first - timedelta(days=1), last + timedelta(days=1))
        axes.xaxis.set_major_locator(DayLocator(interval=max(1, len(dates) // 8)))  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_formatter(DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
    else:
        # Each day's step drawn from its midnight to the next.
        edges = [*dates, last + timedelta(days=1)]
        axes.stackplot(edges, *[[*v, v[-1]] for v in stacks], labels=names, step="post")
        _time_axis(axes)
    axes.set_ylabel("tokens")
    _counts_axis(axes)
    _legend(axes)
    axes.grid(True, axis="y", alpha=0.3)
    total = sum(sum(v) for v in stacks)
    days_said = "1 day" if len(dates) == 1 else f"{len(dates)} days"
    text = f"{tool}: {total:,.0f} tokens over {days_said}, by {by}: " + ", ".join(names)
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
    figure, axes = _figure()
    for (who, window), found in sorted(points.items()):
        step = max(1, len(found) // MAX_POINTS)
        shown = found[::step]
        marker = "o" if len(shown) < 50 else None
        axes.plot(
            [p[0] for p in shown], [p[1] for p in shown], marker=marker, label=f"{who} {window}"
        )
    axes.set_ylabel("tokens per 1 %")
    _counts_axis(axes)
    _time_axis(axes)
    _legend(axes)
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


def _unbroken(words: str) -> str:
    """A number kept with its unit where a narrow table wraps its words: 29 %, 58 m, 2 h."""
    return re.sub(r"(\d) (?=%|[mhds]\b)", "\\1\u00a0", words)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], kind: str = "") -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    css = f' class="{kind}"' if kind else ""
    return f"<table{css}><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


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
        # Each limit: its name, share used, reset, run-out time (windows only), and when its
        # numbers were true (a bucket's own time may be older than its tool's).
        limits = [
            (
                w.name,
                w.used_ratio,
                w.resets_at,
                w.runs_out.at if w.runs_out else None,
                tool.observed_at,
                wording.pace(w.used_ratio, w.elapsed_ratio),
            )
            for w in tool.windows
        ]
        limits += [
            (
                x.title + (" (binds)" if x.binding else ""),
                x.used_ratio,
                x.resets_at,
                None,
                tool.observed_at,
                None,
            )
            for x in tool.spend
        ]
        limits += [
            (
                f"{x.name} ({x.window.name})" + ("" if current else " (not current)"),
                x.window.used_ratio,
                x.window.resets_at,
                None,
                x.observed_at or tool.observed_at,
                None,
            )
            for bucket_list, current in ((tool.buckets, True), (tool.old_buckets, False))
            for x in bucket_list
        ]
        for name, used, resets, gone, seen, pace in limits:
            rows.append(
                (
                    qualified(tool.profile, tool.tool),
                    name,
                    *map(
                        _unbroken,
                        (
                            wording.left(used),
                            wording.reset(resets, now),
                            pace or "",
                            wording.runs_out(gone, now) if gone else "",
                            wording.ago(seen, now),
                        ),
                    ),
                )
            )
    table = _table(("tool", "limit", "left", "resets", "pace", "runs out", "as of"), rows, "now")
    extras = [
        (qualified(tool.profile, tool.tool), what)
        for tool in report.tools
        if tool.extras is not None
        for what in wording.extras(tool.extras)
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


@frozen
class PageData:
    """What the charts and the table of closed windows show."""

    series: list[Series]
    cycles: list[dict[str, Any]]
    by_model: dict[str, dict[tuple[str, str], int]]
    by_project: dict[str, dict[tuple[str, str], int]]
    left_out: str | None = None


def page_data(
    data_dir: Path,
    now: datetime,
    rules: FoldRules,
    since: datetime | None,
    tool: str | None,
) -> PageData:
    state, held = replay(data_dir, rules)
    naming = rules.projects
    # The last DETAIL as captured; before it, the rollup's hours.
    cutover = (now - DETAIL).timestamp()
    return PageData(
        usage_series(held, recent_snapshots(data_dir, cutover), cutover, since, tool),
        select_cycles(held.cycles, since, tool, None),
        rollup_token_days(held, state, since, tool),
        rollup_token_days(held, state, since, tool, naming) if naming.cap else {},
        skipped_note(held.skipped),
    )


Chart = tuple[Callable[..., tuple[str, str] | None], tuple[Any, ...]]


def draw(chart: Chart) -> str:
    """One chart (a function and its arguments) as a figure of the page, or nothing."""
    drawn = chart[0](*chart[1])
    return _figure_html(*drawn) if drawn else ""


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    """What is created meanwhile private, whatever the umask."""
    umask = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(umask)


def render(
    data_dir: Path,
    now: datetime,
    sources: tuple[str, ...],
    profiles: tuple[str, ...],
    rules: FoldRules,
    since: datetime | None = None,
    tool: str | None = None,
) -> str:
    """The page, from the rollup and the last days' day files (history, events, tokens,
    cycles) and the latest analysis (what the sources said last, run-out times, projects)."""
    if importlib.util.find_spec("matplotlib") is None:
        raise needs_extra("the HTML report", "report")
    # matplotlib keeps its font cache under HOME, which the shipped units make read-only
    # (it would build one in a new temporary directory on every run, and say so): in the
    # data directory instead, unless the user chose a place or may only read it (then
    # matplotlib's own choice).
    if "MPLCONFIGDIR" not in os.environ:
        with contextlib.suppress(CctrackError):
            os.environ["MPLCONFIGDIR"] = str(private_dir(data_dir / ".matplotlib"))
    # The rollup is read in a child while matplotlib is imported here: each takes about
    # half a second for a year. The import builds the font cache: private whatever the umask.
    with _private_files(), forked(page_data, data_dir, now, rules, since, tool) as waiting:
        import matplotlib.dates
        import matplotlib.figure

        # Every text on a chart comes from the data (project directories, model names): a
        # `$` there is a dollar, never the start of mathematics, and nothing is TeX.
        matplotlib.rcParams.update({"text.parse_math": False, "text.usetex": False})

        found = waiting()
    report, _ = latest_report(data_dir, sources, profiles, now)
    by_tool = {(t.profile, t.tool): t for t in report.tools}
    lengths = {
        (t.profile, t.tool, w.name): w.window_seconds for t in report.tools for w in t.windows
    }
    usage: list[Chart] = [
        (
            usage_chart,
            (
                s,
                lengths.get((s.profile, s.tool, s.window)) or PLAN_WINDOWS.get(s.window),
                by_tool.get((s.profile, s.tool)),
            ),
        )
        for s in found.series
    ]
    tokens: list[Chart] = [
        *((tokens_chart, (name, days, "model")) for name, days in sorted(found.by_model.items())),
        *(
            (tokens_chart, (name, days, "project"))
            for name, days in sorted(found.by_project.items())
        ),
        (per_percent_chart, (found.cycles,)),
    ]
    # Each chart is drawn apart from the others: on every core.
    figures = list(map_forked(draw, [*usage, *tokens], os.cpu_count() or 1))
    cycles = found.cycles
    sections = [
        f"<h1>cctrack: Claude Code and Codex limits</h1><p class=muted>"
        f"made {html.escape(format_time(now))}"
        + (f", since {html.escape(format_time(since))}" if since else "")
        + "</p>",
        *([f"<p class=muted>{html.escape(found.left_out)}</p>"] if found.left_out else []),
        "<h2>Now</h2>",
        _status(report, now),
        "<h2>Use over time</h2>",
        *figures[: len(usage)],
    ]
    if not usage:
        sections.append("<p class=muted>no captures in the day files yet</p>")
    sections += ["<h2>Tokens</h2>", *figures[len(usage) :]]
    if not found.by_model:
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
                        wording.span(r["full_seconds"]) if r["full_at"] else "",
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
