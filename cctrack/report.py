"""What the folded state means at a moment: per tool and window, used, pace, reset, age.

Pure functions from state and `now` to plain dataclasses, which the textfile, `show` and
every later sink render; none of them needs to know how the state was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cctrack.evidence import Counts
from cctrack.records import DEFAULT_PROFILE, SOURCE_TOOLS, Bucket, Extras, Window
from cctrack.state import State, ToolState

# Early in a window a few percent used would read as an absurd pace; below this share of
# the window elapsed, pace is measured as if this much had elapsed.
MIN_ELAPSED_SHARE = 0.02


def elapsed_share(window_seconds: int, resets_at: datetime, at: datetime) -> float:
    """How much of the window has passed at `at`, in 0..1 (clamped against clock skew)."""
    started = resets_at.timestamp() - window_seconds
    share = (at.timestamp() - started) / window_seconds
    return min(1.0, max(0.0, share))


def pace_ratio(window: Window, at: datetime) -> float | None:
    """Used share over elapsed share: above 1, the limit runs out before the reset.

    None when the window's reset or length is unknown; never NaN or infinite.
    """
    if window.resets_at is None or not window.window_seconds:
        return None
    elapsed = max(MIN_ELAPSED_SHARE, elapsed_share(window.window_seconds, window.resets_at, at))
    return window.used_ratio / elapsed


@dataclass(frozen=True)
class WindowReport:
    name: str
    used_ratio: float
    pace_ratio: float | None
    window_seconds: int | None
    resets_at: datetime | None


@dataclass(frozen=True)
class ToolReport:
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
    # Narrower limits (a model's own weekly limit) and what else the vendor reports.
    buckets: tuple[Bucket, ...] = ()
    extras: Extras | None = None
    # Evidence counters per (window, bucket) series, bucket "" for the plan's windows.
    evidence: tuple[tuple[str, str, Counts], ...] = ()


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    analyzed_at: datetime | None
    tools: tuple[ToolReport, ...]
    invalid_lines: int
    torn_fragments: int
    unreadable_files: tuple[str, ...] = ()
    user: str = ""
    # Only when a Pushgateway is configured: when the last push succeeded, failures so far.
    push: tuple[datetime | None, int] | None = None

    def profiles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(tool.profile for tool in self.tools))


def tool_report(
    name: str,
    tool: ToolState,
    now: datetime,
    profile: str = DEFAULT_PROFILE,
    evidence: tuple[tuple[str, str, Counts], ...] = (),
) -> ToolReport:
    success = tool.last_success
    status = success.status.as_of(now) if success and success.status else None
    windows: tuple[WindowReport, ...] = ()
    if status:
        windows = tuple(
            # Pace is judged when the numbers were true, so stale data does not fake a slowdown.
            WindowReport(
                w.name,
                w.used_ratio,
                pace_ratio(w, status.observed_at),
                w.window_seconds,
                w.resets_at,
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
        buckets=status.buckets if status else (),
        extras=status.extras if status else None,
        evidence=evidence,
    )


def build_report(
    state: State,
    now: datetime,
    sources: tuple[str, ...] = SOURCE_TOOLS,
    unreadable_files: tuple[str, ...] = (),
    profiles: tuple[str, ...] = (DEFAULT_PROFILE,),
    user: str = "",
    pushing: bool = False,
) -> Report:
    """What the state means at `now`: configured sources of configured profiles appear even
    before their first record."""
    keys = sorted(set(state.tools) | {(p, s) for p in profiles for s in sources})
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
            )
            for profile, tool in keys
        ),
        invalid_lines=state.invalid_lines,
        torn_fragments=state.torn_fragments,
        unreadable_files=unreadable_files,
        user=user,
        push=(state.push_last_success, state.push_failures) if pushing else None,
    )
