"""What the folded state means at a moment: per tool and window, used, pace, reset, age.

Pure functions from state and `now` to plain dataclasses, which the textfile, `show` and
every later sink render; none of them needs to know how the state was read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from cctrack.model import frozen
from cctrack.status import (
    DEFAULT_PROFILE,
    OFFICIAL,
    SOURCE_TOOLS,
    Bucket,
    Extras,
    SpendLimit,
    Window,
    bounded,
)
from cctrack.tokens.projects import (
    NO_PROJECT,
    NO_PROJECTS,
    OTHER,
    OTHER_PROJECTS,
    UNATTRIBUTED,
    ProjectNaming,
)

if TYPE_CHECKING:
    # Only what builds a report reads the state: the reading commands, which load the
    # report analyze wrote (views/latest.py), start without it and all under it.
    from cctrack.evidence import Counts
    from cctrack.sends import SinkHealth
    from cctrack.state import RecentUse, State, TokenState, ToolState
    from cctrack.tokens.prices import Price

# Below this share used, tokens per percent is mostly rounding of the percentage.
MIN_USED_FOR_TOKENS_PER_PERCENT = 0.05
# Early in a window a few percent used would read as an absurd pace; below this share of
# the window elapsed, pace is measured as if this much had elapsed.
MIN_ELAPSED_SHARE = 0.02


def elapsed_share(window_seconds: int, resets_at: datetime, at: datetime) -> float:
    """How much of the window has passed at `at`, in 0..1 (clamped against clock skew)."""
    started = resets_at.timestamp() - window_seconds
    share = (at.timestamp() - started) / window_seconds
    return min(1.0, max(0.0, share))


def window_elapsed(window: Window, at: datetime) -> float | None:
    """The window's elapsed_share at `at`; None when its reset or length is unknown."""
    if window.resets_at is None or not window.window_seconds:
        return None
    return elapsed_share(window.window_seconds, window.resets_at, at)


def pace_ratio(window: Window, at: datetime) -> float | None:
    """Used share over elapsed share: above 1, the limit runs out before the reset.

    None when the window's reset or length is unknown; never NaN or infinite.
    """
    elapsed = window_elapsed(window, at)
    return None if elapsed is None else window.used_ratio / max(MIN_ELAPSED_SHARE, elapsed)


# The recent slope needs snapshots this far apart; before that, the window's average rate.
MIN_SLOPE_SPAN = timedelta(minutes=15)


class RunOut(NamedTuple):
    """When a window's limit is used up at the current rate, if that is before it resets.
    basis "recent": the slope of the last hour's snapshots (at least MIN_SLOPE_SPAN of
    them); "window": the average rate since the window began."""

    at: datetime
    basis: str


def runs_out(
    window: Window, observed_at: datetime, recent: Sequence[tuple[float, float]] = ()
) -> RunOut | None:
    """None when the window resets first, is used up already, has no known reset or length,
    or is not being used (a flat recent slope says so even when the average would not)."""
    if window.resets_at is None or not window.window_seconds or window.used_ratio >= 1:
        return None
    now = observed_at.timestamp()
    earlier = [(at, used) for at, used in recent if at <= now - MIN_SLOPE_SPAN.total_seconds()]
    if earlier and earlier[0][1] <= window.used_ratio:
        at, used = earlier[0]
        rate, basis = (window.used_ratio - used) / (now - at), "recent"
    else:
        share = max(
            MIN_ELAPSED_SHARE, elapsed_share(window.window_seconds, window.resets_at, observed_at)
        )
        rate, basis = window.used_ratio / (share * window.window_seconds), "window"
    if rate <= 0:
        return None
    gone = now + (1 - window.used_ratio) / rate
    if gone >= window.resets_at.timestamp():
        return None
    return RunOut(datetime.fromtimestamp(gone, observed_at.tzinfo), basis)


@frozen
class WindowReport:
    """A window as the views show it: used, pace, reset, and when it runs out."""

    name: str
    used_ratio: float
    pace_ratio: float | None
    window_seconds: int | None
    resets_at: datetime | None
    runs_out: RunOut | None = None
    # The share of the window gone when the numbers were true; None when its length or
    # reset is unknown.
    elapsed_ratio: float | None = None


@frozen
class WindowTokens:
    """Tokens this host's logs show since the window began, and per percent of it used
    (None below MIN_USED_FOR_TOKENS_PER_PERCENT); with projects counted, the window's top
    projects and their tokens, the rest as `other`."""

    window: str
    tokens: int
    per_percent: float | None
    projects: tuple[tuple[str, int], ...] = ()


@frozen
class TokenReport:
    """A tool's token counters and what they cost."""

    # (model, type, tokens), and the API cost of each priced model.
    totals: tuple[tuple[str, str, int], ...]
    costs: tuple[tuple[str, float], ...]
    unpriced: tuple[str, ...]
    today: int
    windows: tuple[WindowTokens, ...]
    # With projects counted: the totals by (model, type, project), the `cap` largest
    # projects of all named and the rest as `other`, what no project holds `unattributed`.
    by_project: tuple[tuple[str, str, str, int], ...] = ()


def totals_by_project(
    tokens: TokenState, naming: ProjectNaming
) -> tuple[tuple[str, str, str, int], ...]:
    """The counters' rows with a project label, by the labels the tokens got when folded
    (TokenState.label): the directories with series of their own now, by name; `other`;
    `unattributed` for what no project holds. A directory that had a series of its own
    before this month has its count in no row now: its series ended, no other one jumps."""
    kept = set(tokens.kept)
    rows: dict[tuple[str, str, str], int] = {}
    attributed: dict[tuple[str, str], int] = {}
    for (model, kind, label), count in tokens.labels.items():
        if label != NO_PROJECT:
            attributed[(model, kind)] = bounded(attributed.get((model, kind), 0) + count)
        if label == OTHER_PROJECTS:
            name = OTHER
        elif label in kept:
            name = naming.name(label)
        else:
            continue
        rows[(model, kind, name)] = bounded(rows.get((model, kind, name), 0) + count)
    for (model, kind), count in tokens.totals.items():
        # No directory is named unattributed (ProjectNaming.name): the row is this alone.
        rest = count - attributed.get((model, kind), 0)
        if rest:
            rows[(model, kind, UNATTRIBUTED)] = bounded(rest)
    return tuple((m, k, p, n) for (m, k, p), n in sorted(rows.items()) if n)


def token_report(
    tool: str,
    tokens: TokenState,
    windows: tuple[WindowReport, ...],
    prices: Mapping[str, Price],
    now: datetime,
    naming: ProjectNaming = NO_PROJECTS,
) -> TokenReport:
    # Only what builds a report prices it: the reading commands load the costs it wrote.
    from cctrack.tokens.prices import cost_usd, price_of

    by_model: dict[str, dict[str, int]] = {}
    for (model, kind), count in tokens.totals.items():
        by_model.setdefault(model, {})[kind] = count
    costs, unpriced = [], []
    for model, counts in sorted(by_model.items()):
        price = price_of(model, prices)
        if price is None:
            unpriced.append(model)
        else:
            costs.append((model, cost_usd(tool, price, counts)))
    midnight = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    measured = []
    for window in windows:
        if window.resets_at is None or not window.window_seconds:
            continue
        start = window.resets_at - timedelta(seconds=window.window_seconds)
        used = tokens.since(start)
        per_percent = None
        if window.used_ratio >= MIN_USED_FOR_TOKENS_PER_PERCENT:
            per_percent = used / (window.used_ratio * 100)
        projects: tuple[tuple[str, int], ...] = ()
        if naming.cap:
            by_cwd = tokens.projects_since(start)
            # What no project holds (counted before projects were) is named too.
            by_cwd[""] = by_cwd.get("", 0) + used - sum(by_cwd.values())
            projects = naming.top(by_cwd)
        measured.append(WindowTokens(window.name, used, per_percent, projects))
    return TokenReport(
        totals=tuple((m, k, n) for (m, k), n in sorted(tokens.totals.items())),
        costs=tuple(costs),
        unpriced=tuple(unpriced),
        today=tokens.since(midnight),
        windows=tuple(measured),
        by_project=totals_by_project(tokens, naming) if naming.cap else (),
    )


@frozen
class ToolReport:
    """What analyze knows of one tool of one profile: its captures, windows and tokens."""

    tool: str
    up: bool
    ok_count: int
    error_count: int
    last_capture: datetime | None
    last_error: str | None
    last_success: datetime | None
    observed_at: datetime | None
    origin: str | None
    plan: str | None
    windows: tuple[WindowReport, ...]
    profile: str = DEFAULT_PROFILE
    account: str | None = None
    # Narrower limits (a model's own weekly limit) and what else the vendor reports, where
    # current; those whose own time is past FIELD_TRUST apart, for show with their age.
    buckets: tuple[Bucket, ...] = ()
    extras: Extras | None = None
    old_buckets: tuple[Bucket, ...] = ()
    old_extras: Extras | None = None
    spend: tuple[SpendLimit, ...] = ()
    # Evidence counters per (window, bucket) series, bucket "" for the plan's windows.
    evidence: tuple[tuple[str, str, Counts], ...] = ()
    # None when no token records were folded for this tool (counters off or none yet).
    tokens: TokenReport | None = None
    # The last closed 5-hour window's weekly points per 5-hour point (cycles.py).
    weekly_per_five_hour: float | None = None
    confidence: str = OFFICIAL

    def as_of(self, now: datetime) -> ToolReport:
        """The report at `now`, by the rules every view reads a tool by: a window whose
        reset passed after its numbers were observed has rolled over (status.Window.as_of:
        nothing used, no pace, no run-out, next reset unknown), and so have the narrower
        and the spend limits; a bucket or extras with their own time are current for
        FIELD_TRUST, then listed apart as old."""
        seen = self.observed_at
        if seen is None:
            return self
        buckets = tuple(
            replace(b, window=b.window.as_of(now, b.observed_at or seen))
            for b in (*self.buckets, *self.old_buckets)
        )
        extras = self.extras or self.old_extras
        fresh = extras is not None and current(extras.observed_at, now)
        windows = tuple(_rolled(w, now, seen) for w in self.windows)
        tokens = self.tokens
        if tokens is not None:
            # A window rolled over has no tokens since it began yet: they were the last one's.
            kept = {w.name for w in windows if w.resets_at is not None}
            tokens = replace(tokens, windows=tuple(t for t in tokens.windows if t.window in kept))
        return replace(
            self,
            windows=windows,
            tokens=tokens,
            buckets=tuple(b for b in buckets if current(b.observed_at, now)),
            old_buckets=tuple(b for b in buckets if not current(b.observed_at, now)),
            spend=tuple(s.as_of(now, seen) for s in self.spend),
            extras=extras if fresh else None,
            old_extras=None if fresh else extras,
        )


def _rolled(window: WindowReport, now: datetime, observed_at: datetime) -> WindowReport:
    rolled = Window(window.name, window.used_ratio, window.window_seconds, window.resets_at)
    if rolled.as_of(now, observed_at) is rolled:
        return window
    return WindowReport(window.name, 0.0, None, window.window_seconds, None)


@frozen
class Report:
    """Everything analyze exports, and what latest.json keeps for the reading commands."""

    generated_at: datetime
    analyzed_at: datetime | None
    tools: tuple[ToolReport, ...]
    invalid_lines: int
    torn_fragments: int
    unreadable_files: tuple[str, ...] = ()
    user: str = ""
    # Each sink that is set (sinks.SINKS): how its sends went.
    sinks: tuple[SinkHealth, ...] = ()

    def profiles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(tool.profile for tool in self.tools))

    def as_of(self, now: datetime) -> Report:
        """The report read at `now` (ToolReport.as_of for each tool)."""
        return replace(self, generated_at=now, tools=tuple(t.as_of(now) for t in self.tools))


# Claude Code stops trusting its own cache of the usage endpoint an hour after fetching it
# (anthropics/claude-code#93107): a number with its own time, older than the rest of its
# status (a bucket or extras from that cache beside a status line render), is current for
# as long and no longer.
FIELD_TRUST = timedelta(hours=1)


def current(observed_at: datetime | None, now: datetime) -> bool:
    """Is a number with its own time (None: its status's) still current at `now`?"""
    return observed_at is None or now - observed_at <= FIELD_TRUST


def tool_report(
    name: str,
    tool: ToolState,
    now: datetime,
    profile: str = DEFAULT_PROFILE,
    evidence: tuple[tuple[str, str, Counts], ...] = (),
    tokens: TokenState | None = None,
    prices: Mapping[str, Price] | None = None,
    recent: Mapping[str, RecentUse] | None = None,
    weekly_per_five_hour: float | None = None,
    naming: ProjectNaming = NO_PROJECTS,
) -> ToolReport:
    success = tool.last_success
    status = success.status.as_of(now) if success and success.status else None
    buckets = status.buckets if status else ()
    extras = status.extras if status else None
    windows: tuple[WindowReport, ...] = ()
    if status:
        recent = recent or {}
        windows = tuple(
            # Pace is judged when the numbers were true, so stale data does not fake a slowdown.
            WindowReport(
                w.name,
                w.used_ratio,
                pace_ratio(w, status.observed_at),
                w.window_seconds,
                w.resets_at,
                runs_out(w, status.observed_at, recent[w.name].points if w.name in recent else ()),
                window_elapsed(w, status.observed_at),
            )
            for w in status.windows
        )
    return ToolReport(
        tool=name,
        up=tool.up,
        ok_count=tool.ok_count,
        error_count=tool.error_count,
        last_capture=tool.last_timestamp,
        last_error=tool.last_error,
        last_success=success.timestamp if success else None,
        observed_at=status.observed_at if status else None,
        origin=status.origin if status else None,
        plan=status.plan if status else None,
        windows=windows,
        profile=profile,
        account=status.account if status else None,
        buckets=buckets,
        spend=status.spend if status else (),
        extras=extras,
        evidence=evidence,
        tokens=token_report(name, tokens, windows, prices or {}, now, naming) if tokens else None,
        weekly_per_five_hour=weekly_per_five_hour,
        confidence=status.confidence if status else OFFICIAL,
    ).as_of(now)


def build_report(
    state: State,
    now: datetime,
    sources: tuple[str, ...] = SOURCE_TOOLS,
    unreadable_files: tuple[str, ...] = (),
    profiles: tuple[str, ...] = (DEFAULT_PROFILE,),
    user: str = "",
    sinks: tuple[SinkHealth, ...] = (),
    prices: Mapping[str, Price] | None = None,
    naming: ProjectNaming = NO_PROJECTS,
) -> Report:
    """What the state means at `now`: the configured sources of the configured profiles,
    each even before its first record, and nothing else: records of a tool that is no
    longer a source (captured before the user's only tool's home existed, when both were
    tried) never make it a tool that is down."""
    from cctrack.state import ToolState

    keys = sorted((profile, tool) for profile in profiles for tool in sources)
    return Report(
        generated_at=now,
        analyzed_at=state.analyzed_at,
        tools=tuple(
            tool_report(
                tool,
                state.tools.get((profile, tool), ToolState()),
                now,
                profile,
                tuple(
                    (window, bucket, counts)
                    for (p, t, window, bucket), counts in sorted(state.evidence.counts.items())
                    if (p, t) == (profile, tool)
                ),
                state.tokens.get((profile, tool)),
                prices,
                {
                    window: recent
                    for (p, t, window, _), recent in state.recent.items()
                    if (p, t) == (profile, tool)
                },
                state.cycles[(profile, tool)].last_weekly_per_five_hour
                if (profile, tool) in state.cycles
                else None,
                naming,
            )
            for profile, tool in keys
        ),
        invalid_lines=state.invalid_lines,
        torn_fragments=state.torn_fragments,
        unreadable_files=unreadable_files,
        user=user,
        sinks=sinks,
    )
