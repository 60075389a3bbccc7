"""Claude Code's own copy of the usage endpoint's last answer: `.claude.json` keeps it as
`cachedUsageUtilization` (`fetchedAtMs`, `utilization` with the endpoint's keys, the `limits`
array, `accountUuid`). Reading it needs no network and no setup; its time of truth is when
Claude Code fetched it, which can be hours ago."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cctrack.files import read_json
from cctrack.sources import claude_json_paths
from cctrack.sources.claude.oauth import parse_usage
from cctrack.sources.claude.saved import SavedWindows
from cctrack.status import is_number
from cctrack.timefmt import from_unix

CACHE_KEY = "cachedUsageUtilization"


def claude_json_usage(claude_home: Path) -> SavedWindows | None:
    """The cached answer of the account logged in now, else None (absent, unreadable, or
    fetched for another account)."""
    for path in claude_json_paths(claude_home):
        try:
            obj: Any = read_json(path)
        except (OSError, ValueError):
            continue
        cached = obj.get(CACHE_KEY) if isinstance(obj, dict) else None
        if not isinstance(cached, dict):
            continue
        fetched = cached.get("fetchedAtMs")
        if not is_number(fetched):
            return None
        if not 0 < fetched < 1e14:
            return None
        login = obj.get("oauthAccount")
        now_id = login.get("accountUuid") if isinstance(login, dict) else None
        then_id = cached.get("accountUuid")
        if isinstance(now_id, str) and isinstance(then_id, str) and now_id != then_id:
            return None  # another account's numbers, left from before a login switch
        answer = dict(cached.get("utilization") or {})
        if isinstance(cached.get("limits"), list):
            answer["limits"] = cached["limits"]
        usage = parse_usage(answer)
        if not (usage.windows or usage.buckets or usage.extras):
            return None
        return SavedWindows(from_unix(fetched / 1000), usage.windows, usage.buckets, usage.extras)
    return None
