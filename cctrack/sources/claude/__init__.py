"""Claude Code: the plan's usage from the status line snapshot, else the OAuth usage endpoint,
else an older status line snapshot with its age."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cctrack.errors import CctrackError
from cctrack.records import Status
from cctrack.sources import SourceParams
from cctrack.sources.claude.oauth import OAUTH_CACHE_FILE, oauth_snapshot, parse_usage
from cctrack.sources.claude.statusline import (
    STATUSLINE_FILE,
    STATUSLINE_FRESH,
    load_statusline,
    statusline_windows,
)

__all__ = [
    "OAUTH_CACHE_FILE",
    "STATUSLINE_FILE",
    "claude_status",
    "parse_usage",
    "statusline_windows",
]


def claude_status(params: SourceParams, env: Mapping[str, str], now: datetime) -> Status:
    """A fresh status line snapshot, else the usage endpoint, else a stale status line snapshot."""
    data_dir = params.data_dir
    line = load_statusline(data_dir, params.profile)
    if line and now - line.observed_at <= STATUSLINE_FRESH:
        return line.status("statusline", None, now)
    problem = "the OAuth source is off (CCTRACK_CLAUDE_OAUTH=off)"
    if params.claude_oauth:
        try:
            snapshot, plan = oauth_snapshot(
                data_dir, params.claude_home, params.claude_usage_url, env, now, params.profile
            )
            return snapshot.status("oauth-api", plan, now)
        except CctrackError as exc:
            if not line:
                raise CctrackError(
                    f"no Claude usage: {exc}; or add `cctrack statusline` as Claude Code's "
                    "statusLine command (see README)",
                    exc.exit_code,
                ) from None
    if line:
        return line.status("statusline", None, now)
    raise CctrackError(
        f"no Claude usage: no status line snapshot in {data_dir} and {problem}; add "
        f"`cctrack statusline` "
        "as Claude Code's statusLine command (see README), or turn the OAuth source on"
    )
