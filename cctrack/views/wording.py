"""How cctrack says a window's numbers to a person, one way in every view (show, bar, the
status line, guard, the hook, notifications, the report): how much is left, when it
resets, whether it is on pace, and when it runs out if that comes first (pure)."""

from __future__ import annotations

from datetime import datetime

from cctrack.report import WindowReport
from cctrack.status import Extras
from cctrack.timefmt import NEAR, clock

# Used within this of the share of the window gone is "on pace": a point or two either way
# is the rounding of the vendors' percentages, not a reserve or a deficit.
ON_PACE = 0.02


def span(seconds: float) -> str:
    """A span for a person: 2 d 3 h, 2 h 09 m, 45 m; under a minute, 30 s."""
    whole = max(0, int(seconds))
    if whole >= 86400:
        return f"{whole // 86400} d {whole % 86400 // 3600} h"
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} m"
    if whole >= 60:
        return f"{whole // 60} m"
    return f"{whole} s"


def left(used: float) -> str:
    """62 % left: what is left of the limit, never below 0 (a vendor may pass 100 %)."""
    return f"{max(0, round((1 - used) * 100))} % left"


def at(moment: datetime, now: datetime) -> str:
    """When something happens: in 2 h 09 m when near, Tue 14:00 (local time) when further."""
    if moment - now >= NEAR:
        return clock(moment, now)
    return f"in {span((moment - now).total_seconds())}"


def reset(resets_at: datetime | None, now: datetime) -> str:
    """resets in 2 h 09 m, resets Tue 14:00, reset unknown; reset overdue for numbers
    observed after their own reset (Codex counts on past it and moves it later)."""
    if resets_at is None:
        return "reset unknown"
    return f"resets {at(resets_at, now)}" if resets_at > now else "reset overdue"


def pace(used: float, elapsed: float | None) -> str | None:
    """on pace, 8 % in reserve (used less than the share of the window gone), or 12 % in
    deficit (more); None when the share gone is not known."""
    if elapsed is None:
        return None
    ahead = used - elapsed
    if abs(ahead) < ON_PACE:
        return "on pace"
    return f"{abs(ahead) * 100:.0f} % {'in deficit' if ahead > 0 else 'in reserve'}"


def runs_out(moment: datetime, now: datetime) -> str:
    """runs out in ~1 h 40 m: when the limit is used up at the current rate; from numbers
    old enough that the moment has passed, that it may have already."""
    if moment <= now:
        return "may have run out already"
    return f"runs out {at(moment, now).replace('in ', 'in ~', 1)}"


def ago(moment: datetime | None, now: datetime) -> str:
    """3 m ago, 2 h 09 m ago, or never."""
    return f"{span((now - moment).total_seconds())} ago" if moment is not None else "never"


def answer(window: WindowReport, now: datetime, brief: bool = False) -> list[str]:
    """A window's answer, in the order a person asks: what is left, when it resets, whether
    it is on pace, and when it runs out if that comes before the reset. `brief` (a status
    line, a bar) leaves out a pace that needs no action: on pace, or in reserve."""
    words = [left(window.used_ratio), reset(window.resets_at, now)]
    on_pace = pace(window.used_ratio, window.elapsed_ratio)
    if on_pace is not None and not (brief and not on_pace.endswith("in deficit")):
        words.append(on_pace)
    if window.runs_out is not None:
        words.append(runs_out(window.runs_out.at, now))
    return words


def extras(extras: Extras) -> list[str]:
    """What a vendor reports besides its limits, as short phrases: credits, extra usage,
    banked resets, why a limit is reached."""
    words = []
    if extras.credits_unlimited:
        words.append("credits unlimited")
    elif extras.credits_balance is not None:
        words.append(f"{extras.credits_balance:,.2f} credits left")
    if extras.extra_usage_enabled is False:
        words.append("extra usage off")
    elif extras.extra_usage_spent is not None and extras.extra_usage_monthly_limit is not None:
        currency = f" {extras.currency}" if extras.currency else ""
        words.append(
            f"extra usage {extras.extra_usage_spent:,.2f} of "
            f"{extras.extra_usage_monthly_limit:,.2f}{currency} spent"
        )
    elif extras.extra_usage_used_ratio is not None:
        words.append(f"extra usage {extras.extra_usage_used_ratio * 100:.0f} % spent")
    elif extras.extra_usage_enabled:
        words.append("extra usage on")
    if extras.reset_credits_available:
        words.append(f"{extras.reset_credits_available} banked resets")
    if extras.limit_reached:
        words.append(f"limit reached ({extras.limit_reached})")
    return words
