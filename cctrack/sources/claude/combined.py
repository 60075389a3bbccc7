"""Claude Code: its sources combined per field, each by freshness.

- The plan's windows (5-hour, weekly, and a gateway's spend limit): the status line snapshot
  while it is fresh; else the newest of the other two sources; else an old status line
  snapshot, with its age.
- Buckets (a model's own weekly limit), extra usage and the plan: the newest of
  `.claude.json`'s cache of the usage endpoint (no network) and the endpoint itself (asked
  at most every few minutes, and not while that cache is younger than that).

The origin says which: `statusline`, `oauth-api`, `claude-json`, or the windows' source and
the details' joined by `+` (`statusline+claude-json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from cctrack.errors import CctrackError
from cctrack.sources.claude.cached import claude_json_usage
from cctrack.sources.claude.oauth import (
    OAUTH_CACHE_FILE,
    OAUTH_MIN_INTERVAL,
    oauth_snapshot,
    parse_usage,
    subscription_plan,
)
from cctrack.sources.claude.saved import SavedWindows
from cctrack.sources.claude.statusline import (
    STATUSLINE_FILE,
    STATUSLINE_FRESH,
    load_statusline,
    same_account,
    statusline_windows,
)
from cctrack.sources.params import SourceParams
from cctrack.status import Status
from cctrack.timefmt import within

__all__ = [
    "OAUTH_CACHE_FILE",
    "STATUSLINE_FILE",
    "claude_status",
    "parse_usage",
    "statusline_windows",
]


def _details(
    params: SourceParams, env: Mapping[str, str], now: datetime
) -> tuple[SavedWindows | None, str, str | None, CctrackError | None]:
    """The newest answer of the usage endpoint, from `.claude.json` or asked: (snapshot,
    origin, plan, why the endpoint could not be asked)."""
    cached = claude_json_usage(params.claude_home)
    found: list[tuple[SavedWindows, str]] = [(cached, "claude-json")] if cached else []
    plan, problem = None, None
    recent = cached is not None and within(cached.observed_at, now, OAUTH_MIN_INTERVAL)
    if params.claude_oauth and not recent:
        try:
            asked, plan = oauth_snapshot(
                params.data_dir,
                params.claude_home,
                params.claude_usage_url,
                env,
                now,
                params.profile,
            )
            found.append((asked, "oauth-api"))
        except CctrackError as exc:
            problem = exc
    elif not params.claude_oauth:
        problem = CctrackError("the OAuth source is off (CCTRACK_CLAUDE_OAUTH=off)")
    if not found:
        return None, "", plan, problem
    snapshot, origin = max(found, key=lambda item: item[0].observed_at)
    return snapshot, origin, plan or subscription_plan(params.claude_home, env), problem


def claude_status(
    params: SourceParams, env: Mapping[str, str], now: datetime, account: str | None = None
) -> Status:
    """Claude's numbers, of `account` (the one logged in now, when known): a status line
    snapshot of another account is not used."""
    stored = load_statusline(params.data_dir, params.profile)
    line = stored if stored is not None and same_account(stored.account, account) else None
    details, origin, plan, problem = _details(params, env, now)
    fresh = line is not None and within(line.observed_at, now, STATUSLINE_FRESH)
    if line is not None and (fresh or details is None or not details.windows):
        status = line.status("statusline", plan, now)
        if details is None:
            return status
        # The status line carries only the plan's windows: the rest from the endpoint's
        # answer, each with the time it was true (often older than the render's).
        when = details.observed_at
        return replace(
            status,
            origin=f"statusline+{origin}",
            buckets=tuple(
                replace(bucket, observed_at=when)
                for bucket in details.status(origin, plan, now).buckets
            ),
            extras=replace(details.extras, observed_at=when) if details.extras else None,
        )
    if details is not None and details.windows:
        return details.status(origin, plan, now)
    why = problem or CctrackError("the usage endpoint's answer has no window")
    if stored is not None:
        raise CctrackError(
            "no Claude usage of the account logged in now: the status line's last numbers "
            f"are another account's (Claude Code's next render, after the /login, replaces "
            f"them), and {why}",
            why.exit_code,
        )
    raise CctrackError(
        f"no Claude usage: no status line snapshot in {params.data_dir}, and {why}; add "
        "`cctrack statusline` as Claude Code's statusLine command (docs/desk.md)",
        why.exit_code,
    )
