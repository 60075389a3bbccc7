"""Claude Code: the plan's usage from the status line snapshot, else the OAuth usage endpoint.

1. `statusline`: Claude Code pipes `rate_limits` to its statusLine command on every refresh;
   `cctrack statusline` stores the latest one in the data directory.
2. `oauth-api`: GET the usage endpoint with Claude Code's own token, polled at most every few
   minutes, the last good answer cached with its time. The token is read, never refreshed,
   and never written anywhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cctrack import store
from cctrack.errors import EXIT_TEMPFAIL, CctrackError
from cctrack.records import (
    Status,
    Window,
    format_time,
    from_unix,
    parse_time,
    strict_loads,
)
from cctrack.sources import percent_to_ratio, run_status_tool

STATUSLINE_FILE = "claude-statusline.json"
OAUTH_CACHE_FILE = "claude-oauth.json"
FIVE_HOURS = 5 * 3600
WEEK = 7 * 86400
# Codex's own /status calls a snapshot older than this stale; the same judgement serves here.
STATUSLINE_FRESH = timedelta(minutes=15)
# The endpoint answers 429 when polled often; capture runs every 5 minutes.
OAUTH_MIN_INTERVAL = timedelta(minutes=4)
OAUTH_BACKOFF = timedelta(minutes=5)
HTTP_TIMEOUT = 10.0
WRAP_TIMEOUT = 5.0
_SCOPE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Snapshot:
    """Windows as last seen from one origin, and when."""

    observed_at: datetime
    windows: tuple[Window, ...]

    def status(self, origin: str, plan: str | None, now: datetime) -> Status:
        return Status("claude", self.observed_at, origin, self.windows, plan).as_of(now)

    def to_json(self) -> dict[str, Any]:
        return {"observed_at": format_time(self.observed_at), "windows": {w.name: w.to_json() for w in self.windows}}

    @classmethod
    def from_json(cls, obj: Any) -> Snapshot:
        return cls(parse_time(obj["observed_at"]), tuple(Window.from_json(n, w) for n, w in obj["windows"].items()))


def _load_snapshot(path: Path) -> Snapshot | None:
    try:
        obj = store.read_json(path)
        return Snapshot.from_json(obj) if obj else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged cache is as good as none: the next good answer replaces it


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e11:
        return None
    return from_unix(value)


# ---- 1. the status line -------------------------------------------------------------------

STATUSLINE_WINDOWS = {"five_hour": ("five_hour", FIVE_HOURS), "seven_day": ("weekly", WEEK)}


def statusline_windows(payload: Any) -> tuple[Window, ...]:
    """The windows in Claude Code's statusLine JSON; a garbage percentage drops its window."""
    limits = payload.get("rate_limits") if isinstance(payload, dict) else None
    if not isinstance(limits, dict):
        return ()
    windows = []
    for key, (name, seconds) in STATUSLINE_WINDOWS.items():
        entry = limits.get(key)
        if not isinstance(entry, dict):
            continue
        used = percent_to_ratio(entry.get("used_percentage"))
        if used is not None:
            windows.append(Window(name, used, seconds, _epoch(entry.get("resets_at"))))
    return tuple(windows)


def store_statusline(data_dir: Path, payload: Any, now: datetime) -> Snapshot | None:
    windows = statusline_windows(payload)
    if not windows:
        return None
    snapshot = Snapshot(now, windows)
    store.ensure_private_dir(data_dir)
    store.write_atomic(data_dir / STATUSLINE_FILE, json.dumps(snapshot.to_json()).encode())
    return snapshot


def _until(moment: datetime, now: datetime) -> str:
    minutes = max(0, int((moment - now).total_seconds() // 60))
    if minutes >= 1440:
        return f"{minutes // 1440}d{minutes % 1440 // 60}h"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def summary_line(snapshot: Snapshot | None, now: datetime) -> str:
    if snapshot is None:
        return "cctrack: no Claude usage yet"
    labels = {"five_hour": "5h", "weekly": "7d"}
    parts = []
    for window in (w.as_of(now) for w in snapshot.windows):
        resets = f" (resets in {_until(window.resets_at, now)})" if window.resets_at else ""
        parts.append(f"{labels.get(window.name, window.name)} {window.used_ratio * 100:.0f}%{resets}")
    return " · ".join(parts)


def statusline(stdin: bytes, data_dir: Path, wrap: str | None, now: datetime) -> str:
    """What `cctrack statusline` prints: the wrapped command's output, then our summary.

    Never raises: a status line must not break the editor. Problems go to stderr.
    """
    lines = []
    if wrap:
        try:
            # The wrapped command is the user's own statusLine setting, a shell command line
            # that Claude Code would itself have run through a shell.
            done = subprocess.run(wrap, shell=True, input=stdin, capture_output=True, timeout=WRAP_TIMEOUT)
            lines.append(done.stdout.decode("utf-8", "replace").rstrip("\n"))
        except (subprocess.TimeoutExpired, OSError) as exc:
            print(f"cctrack statusline: wrapped command failed: {exc}", file=sys.stderr)
    snapshot = None
    try:
        snapshot = store_statusline(data_dir, strict_loads(stdin), now)
    except (ValueError, CctrackError, OSError) as exc:
        print(f"cctrack statusline: not stored: {exc}", file=sys.stderr)
    lines.append(summary_line(snapshot or _load_snapshot(data_dir / STATUSLINE_FILE), now))
    return "\n".join(line for line in lines if line)


# ---- 2. the OAuth usage endpoint -------------------------------------------------------------

@dataclass(frozen=True)
class Credentials:
    token: str
    plan: str | None

    def __repr__(self) -> str:  # keep the token out of any traceback or log
        return f"Credentials(token=<hidden>, plan={self.plan!r})"


def read_credentials(claude_home: Path, env: Mapping[str, str], now: datetime) -> Credentials:
    if env.get("CLAUDE_CODE_OAUTH_TOKEN"):
        return Credentials(env["CLAUDE_CODE_OAUTH_TOKEN"], None)
    path = claude_home / ".credentials.json"
    try:
        oauth = json.loads(path.read_bytes())["claudeAiOauth"]
        token = oauth["accessToken"]
    except FileNotFoundError:
        raise CctrackError(f"no Claude Code login in {path}; log in with Claude Code, or set CLAUDE_CODE_OAUTH_TOKEN") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise CctrackError(f"{path} holds no claudeAiOauth.accessToken; log in to Claude Code again") from None
    if not isinstance(token, str) or not token:
        raise CctrackError(f"{path} holds no claudeAiOauth.accessToken; log in to Claude Code again")
    expires = oauth.get("expiresAt")
    if isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires / 1000 <= now.timestamp():
        raise CctrackError(
            f"Claude Code's login token expired at {format_time(from_unix(expires / 1000))}; "
            "use Claude Code once to renew it (cctrack never refreshes it, which would log Claude Code out)"
        )
    plan = oauth.get("subscriptionType")
    return Credentials(token, plan.lower() if isinstance(plan, str) and plan else None)


def _usage_window(name: str, seconds: int, percent: Any, resets: Any) -> Window | None:
    used = percent_to_ratio(percent)
    if used is None:
        return None
    try:
        resets_at = parse_time(resets) if resets is not None else None
    except ValueError:
        resets_at = None
    return Window(name, used, seconds, resets_at)


def _flat_name(key: str) -> tuple[str, int] | None:
    if key == "five_hour":
        return "five_hour", FIVE_HOURS
    if key == "seven_day":
        return "weekly", WEEK
    if key.startswith("seven_day_") and key[10:]:
        return "weekly_" + _SCOPE.sub("_", key[10:].lower()).strip("_"), WEEK
    return None


def _scoped_name(scope: Any) -> str:
    text = str(scope or "").lower()
    for model in ("opus", "sonnet", "haiku"):
        if model in text:
            return f"weekly_{model}"
    return "weekly_" + (_SCOPE.sub("_", text).strip("_")[:30] or "scoped")


def parse_usage(answer: Any) -> tuple[Window, ...]:
    """The usage endpoint's windows: the flat keys first, else the newer `limits` array."""
    if not isinstance(answer, dict):
        return ()
    windows: dict[str, Window] = {}
    for key, entry in answer.items():
        named = _flat_name(key)
        if named and isinstance(entry, dict):
            window = _usage_window(*named, entry.get("utilization"), entry.get("resets_at"))
            if window:
                windows.setdefault(window.name, window)
    if windows:
        return tuple(windows.values())
    kinds = {"session": lambda _: ("five_hour", FIVE_HOURS), "weekly_all": lambda _: ("weekly", WEEK)}
    for entry in answer.get("limits") or ():
        if not isinstance(entry, dict):
            continue
        kind = entry.get("kind")
        named = kinds[kind](entry) if kind in kinds else (_scoped_name(entry.get("scope")), WEEK) if kind == "weekly_scoped" else None
        window = _usage_window(*named, entry.get("percent"), entry.get("resets_at")) if named else None
        if window:
            windows.setdefault(window.name, window)
    return tuple(windows.values())


@dataclass(frozen=True)
class OAuthCache:
    """The last good answer (never the token), its plan, and when asking again is polite."""

    snapshot: Snapshot | None
    plan: str | None
    retry_not_before: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot.to_json() if self.snapshot else None,
            "plan": self.plan,
            "retry_not_before": format_time(self.retry_not_before) if self.retry_not_before else None,
        }


def load_oauth_cache(data_dir: Path) -> OAuthCache:
    try:
        obj = store.read_json(data_dir / OAUTH_CACHE_FILE) or {}
        snapshot = Snapshot.from_json(obj["snapshot"]) if obj.get("snapshot") else None
        retry = parse_time(obj["retry_not_before"]) if obj.get("retry_not_before") else None
        plan = obj.get("plan") if isinstance(obj.get("plan"), str) else None
        return OAuthCache(snapshot, plan, retry)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return OAuthCache(None, None, None)  # a damaged cache is as good as none


def save_oauth_cache(data_dir: Path, cache: OAuthCache) -> None:
    store.ensure_private_dir(data_dir)
    store.write_atomic(data_dir / OAUTH_CACHE_FILE, json.dumps(cache.to_json()).encode())


def _retry_after(value: str | None, now: datetime) -> datetime:
    try:
        seconds = float(value) if value is not None else 0.0
    except ValueError:
        seconds = 0.0
    # "Retry-After: 0" has been seen on 429s; it does not mean "hammer away".
    return now + max(OAUTH_BACKOFF, timedelta(seconds=min(seconds, 86400)))


def fetch_usage(url: str, token: str) -> Any:
    """GET the usage endpoint; CctrackError says what went wrong without the token in it."""
    request = urllib.request.Request(
        url,
        headers={
            "Authorization": f"Bearer {token}",
            "anthropic-beta": "oauth-2025-04-20",
            "Accept": "application/json",
            "User-Agent": "cctrack",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return strict_loads(response.read(1 << 20))
    except urllib.error.HTTPError as exc:
        raise UsageHTTPError(exc.code, exc.headers.get("Retry-After")) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CctrackError(f"usage endpoint unreachable ({reason}); will retry", EXIT_TEMPFAIL) from None
    except ValueError:
        raise CctrackError("usage endpoint answered something that is not JSON", EXIT_TEMPFAIL) from None


class UsageHTTPError(Exception):
    def __init__(self, code: int, retry_after: str | None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


def _http_reason(code: int) -> CctrackError:
    if code == 401:
        return CctrackError("usage endpoint refused the token (401): log in to Claude Code again")
    if code == 403:
        return CctrackError(
            "usage endpoint forbids this token (403): it lacks the user:profile scope, as tokens "
            "from `claude setup-token` do; use Claude Code's own login or the statusline source"
        )
    if code == 429:
        return CctrackError("usage endpoint is rate limiting (429) and no earlier answer is cached; wait a few minutes")
    return CctrackError(f"usage endpoint answered HTTP {code}; will retry", EXIT_TEMPFAIL if code >= 500 else 1)


def oauth_snapshot(data_dir: Path, claude_home: Path, url: str, env: Mapping[str, str], now: datetime) -> tuple[Snapshot, str | None]:
    """The usage endpoint's answer and the plan, asking it at most every few minutes.

    When the endpoint says 429 or cannot be reached, the last good answer is returned with
    its own time as observed_at, so its age is visible downstream.
    """
    cache = load_oauth_cache(data_dir)
    cached = cache.snapshot
    if cached and now - cached.observed_at < OAUTH_MIN_INTERVAL:
        return cached, cache.plan
    if cache.retry_not_before and now < cache.retry_not_before:
        if cached:
            return cached, cache.plan
        raise _http_reason(429)
    credentials = read_credentials(claude_home, env, now)
    try:
        windows = parse_usage(fetch_usage(url, credentials.token))
    except UsageHTTPError as exc:
        if exc.code == 429:
            save_oauth_cache(data_dir, OAuthCache(cached, cache.plan, _retry_after(exc.retry_after, now)))
            if cached:
                return cached, cache.plan
        raise _http_reason(exc.code) from None
    except CctrackError:
        if cached and cached.observed_at > now - STATUSLINE_FRESH:
            return cached, cache.plan
        raise
    if not windows:
        raise CctrackError("usage endpoint answered without any usage window; is this a Pro or Max login?")
    snapshot = Snapshot(now, windows)
    save_oauth_cache(data_dir, OAuthCache(snapshot, credentials.plan, None))
    return snapshot, credentials.plan


# ---- the tool ------------------------------------------------------------------------------

def claude_status(
    data_dir: Path, claude_home: Path, oauth: bool, url: str, env: Mapping[str, str], now: datetime
) -> Status:
    """A fresh status line snapshot, else the usage endpoint, else a stale status line snapshot."""
    line = _load_snapshot(data_dir / STATUSLINE_FILE)
    if line and now - line.observed_at <= STATUSLINE_FRESH:
        return line.status("statusline", None, now)
    problem = "the OAuth source is off (CCTRACK_CLAUDE_OAUTH=off)"
    if oauth:
        try:
            snapshot, plan = oauth_snapshot(data_dir, claude_home, url, env, now)
            return snapshot.status("oauth-api", plan, now)
        except CctrackError as exc:
            if not line:
                raise CctrackError(
                    f"no Claude usage: {exc}; or add `cctrack statusline` as Claude Code's statusLine command (see README)",
                    exc.exit_code,
                ) from None
    if line:
        return line.status("statusline", None, now)
    raise CctrackError(
        f"no Claude usage: no status line snapshot in {data_dir} and {problem}; add `cctrack statusline` "
        "as Claude Code's statusLine command (see README), or turn the OAuth source on"
    )


def main() -> None:
    from cctrack.settings import resolve_settings

    def produce(now: datetime) -> Status:
        settings = resolve_settings()
        return claude_status(
            settings.data_dir, settings.claude_home, settings.claude_oauth, settings.claude_usage_url, os.environ, now
        )

    run_status_tool("cctrack-claude-status", produce)


if __name__ == "__main__":
    main()
