"""Claude's OAuth usage endpoint: GET it with Claude Code's own token, at most every few
minutes, the last good answer cached with its time. The token is read, never refreshed,
never written anywhere, and sent only to the configured origin: redirects are refused and
plain http is refused except to loopback.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cctrack.errors import EXIT_TEMPFAIL, EXIT_USAGE, CctrackError
from cctrack.files import read_json
from cctrack.model import frozen
from cctrack.net import DeadlineExceeded, is_loopback, within_deadline
from cctrack.sources import bucket_name, percent_to_ratio
from cctrack.sources.claude.keychain import keychain_login
from cctrack.sources.claude.saved import FIVE_HOURS, WEEK, SavedWindows, profile_file, save_json
from cctrack.status import (
    DEFAULT_PROFILE,
    Bucket,
    Extras,
    Window,
    is_number,
    plan_label,
    strict_loads,
)
from cctrack.timefmt import format_time, from_unix, parse_time, within

OAUTH_CACHE_FILE = "claude-oauth.json"
# The endpoint answers 429 when polled often; capture runs every 5 minutes.
OAUTH_MIN_INTERVAL = timedelta(minutes=4)
OAUTH_BACKOFF = timedelta(minutes=5)
# An answer this recent still serves when the endpoint cannot be reached.
CACHE_FRESH = timedelta(minutes=15)
HTTP_TIMEOUT = 10.0
# The whole request: a server that trickles bytes never trips the per-read timeout.
HTTP_DEADLINE = 20.0
# The longest Retry-After honoured.
MAX_RETRY_AFTER = timedelta(days=1)


@frozen
class Credentials:
    token: str
    plan: str | None

    def __repr__(self) -> str:  # keep the token out of any traceback or log
        return f"Credentials(token=<hidden>, plan={self.plan!r})"


def read_credentials(claude_home: Path, env: Mapping[str, str], now: datetime) -> Credentials:
    """Claude Code's token: CLAUDE_CODE_OAUTH_TOKEN, else `.credentials.json`, else (macOS)
    the login keychain."""
    if env.get("CLAUDE_CODE_OAUTH_TOKEN"):
        return Credentials(env["CLAUDE_CODE_OAUTH_TOKEN"], None)
    path = claude_home / ".credentials.json"
    where = str(path)
    try:
        stored = read_json(path)
    except PermissionError:
        raise CctrackError(
            f"cannot read {path}: permission denied; it must be readable by the user cctrack "
            "runs as (under systemd: the unit's User=, and a home the sandbox can see)"
        ) from None
    except (OSError, ValueError):
        stored = {}
    if stored is None:
        found = keychain_login(claude_home, env)
        if found is None:
            raise CctrackError(
                f"no Claude Code login in {path}; log in with Claude Code, or set "
                f"CLAUDE_CODE_OAUTH_TOKEN"
            )
        stored, where = found
    try:
        oauth = stored["claudeAiOauth"]
        token = oauth["accessToken"]
    except (KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not token:
        raise CctrackError(
            f"{where} holds no claudeAiOauth.accessToken; log in to Claude Code again"
        )
    expires = oauth.get("expiresAt")
    if is_number(expires) and expires / 1000 <= now.timestamp():
        raise CctrackError(
            f"Claude Code's login token expired at {format_time(from_unix(expires / 1000))}; "
            "use Claude Code once to renew it (cctrack never refreshes it, which would log "
            "Claude Code out)"
        )
    return Credentials(token, plan_label(oauth.get("subscriptionType")))


def subscription_plan(claude_home: Path, env: Mapping[str, str]) -> str | None:
    """The plan Claude Code's login names (`subscriptionType`), without the token's checks:
    what the plan label needs when no request is made."""
    if env.get("CLAUDE_CODE_OAUTH_TOKEN"):
        return None
    try:
        stored = read_json(claude_home / ".credentials.json")
        oauth = stored.get("claudeAiOauth") if isinstance(stored, dict) else None
    except (OSError, ValueError):
        return None
    return plan_label(oauth.get("subscriptionType")) if isinstance(oauth, dict) else None


def _usage_window(name: str, seconds: int, percent: Any, resets: Any) -> Window | None:
    used = percent_to_ratio(percent)
    if used is None:
        return None
    # The endpoint's reset times carry microseconds; they are kept.
    return Window(name, used, seconds, reset_time_iso(resets))


def reset_time_iso(value: Any) -> datetime | None:
    try:
        return parse_time(value) if value is not None else None
    except ValueError:
        return None


def _placeholder(percent: Any, resets: Any) -> bool:
    """0 % with no reset time: the endpoint's way of saying "no such limit", not 0 %."""
    return percent in (0, 0.0) and resets is None


def _extras(entry: Any) -> Extras | None:
    """`extra_usage`: paid usage beyond the plan, when the account has it."""
    if not isinstance(entry, dict):
        return None
    enabled = entry.get("is_enabled")

    def number(key: str) -> float | None:
        value = entry.get(key)
        if not is_number(value):
            return None
        return float(value) if math.isfinite(value) else None

    utilization = number("utilization")
    currency = entry.get("currency")
    # The amounts are minor units, cents: 1540 of 2000 is "$15.40 / $20.00" in Claude Code's
    # /usage (CodexBar's normalizeClaudeExtraUsageAmounts divides by 100 too). Newer answers
    # say how many decimal places the currency has.
    places = entry.get("decimal_places")
    scale = 10 ** (places if isinstance(places, int) and 0 <= places <= 6 else 2)

    def amount(key: str) -> float | None:
        value = number(key)
        return round(value / scale, 6) if value is not None else None

    return Extras(
        extra_usage_enabled=enabled if isinstance(enabled, bool) else None,
        extra_usage_used_ratio=utilization / 100
        if utilization is not None and utilization >= 0
        else None,
        extra_usage_monthly_limit=amount("monthly_limit"),
        extra_usage_spent=amount("used_credits"),
        currency=currency.upper()
        if isinstance(currency, str) and currency.isalpha() and len(currency) <= 8
        else None,
    )


@frozen
class Usage:
    """The usage endpoint's answer: the plan's windows, narrower buckets, extra usage."""

    windows: tuple[Window, ...]
    buckets: tuple[Bucket, ...] = ()
    extras: Extras | None = None


def parse_usage(answer: Any) -> Usage:
    """Windows from the flat keys, else from the newer `limits` array; buckets from the
    `seven_day_*` keys and `weekly_scoped` limits; `extra_usage`. Placeholders (0 % with no
    reset, nulls) are not numbers and are left out."""
    if not isinstance(answer, dict):
        return Usage(())
    windows: dict[str, Window] = {}
    buckets: dict[str, Bucket] = {}
    for key, name, seconds in (
        ("five_hour", "five_hour", FIVE_HOURS),
        ("seven_day", "weekly", WEEK),
    ):
        entry = answer.get(key)
        if isinstance(entry, dict):
            window = _usage_window(name, seconds, entry.get("utilization"), entry.get("resets_at"))
            if window:
                windows.setdefault(name, window)
    for key, entry in answer.items():
        if not key.startswith("seven_day_") or not isinstance(entry, dict):
            continue
        percent, resets = entry.get("utilization"), entry.get("resets_at")
        bucket = bucket_name(key.removeprefix("seven_day_"))
        window = _usage_window("weekly", WEEK, percent, resets)
        if bucket and window and not _placeholder(percent, resets):
            buckets.setdefault(bucket, Bucket(bucket, window))
    limits = answer.get("limits")
    for entry in limits if isinstance(limits, list) else ():
        if not isinstance(entry, dict):
            continue
        kind, percent, resets = entry.get("kind"), entry.get("percent"), entry.get("resets_at")
        if _placeholder(percent, resets):
            continue
        if kind in ("session", "weekly_all"):
            name, seconds = ("five_hour", FIVE_HOURS) if kind == "session" else ("weekly", WEEK)
            window = _usage_window(name, seconds, percent, resets)
            if window:
                windows.setdefault(name, window)
        elif kind == "weekly_scoped":
            bucket = bucket_name(_scope_text(entry.get("scope")))
            window = _usage_window("weekly", WEEK, percent, resets)
            if bucket and window:
                buckets.setdefault(bucket, Bucket(bucket, window))
    return Usage(
        tuple(windows.values()), tuple(buckets.values()), _extras(answer.get("extra_usage"))
    )


def _scope_text(scope: Any) -> str:
    """`scope.model.display_name` ("Opus"), else whatever the scope says."""
    if isinstance(scope, dict):
        model = scope.get("model")
        if isinstance(model, dict) and isinstance(model.get("display_name"), str):
            return str(model["display_name"])
        return " ".join(str(v) for v in scope.values() if isinstance(v, str))
    return str(scope or "")


@frozen
class OAuthCache:
    """The last good answer (never the token), its plan, and when asking again is polite."""

    snapshot: SavedWindows | None
    plan: str | None
    retry_not_before: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot.to_json() if self.snapshot else None,
            "plan": self.plan,
            "retry_not_before": format_time(self.retry_not_before)
            if self.retry_not_before
            else None,
        }


def oauth_cache_file(data_dir: Path, profile: str) -> Path:
    return profile_file(data_dir, OAUTH_CACHE_FILE.removesuffix(".json"), profile)


def load_oauth_cache(data_dir: Path, profile: str = DEFAULT_PROFILE) -> OAuthCache:
    try:
        obj = read_json(oauth_cache_file(data_dir, profile)) or {}
        snapshot = SavedWindows.from_json(obj["snapshot"]) if obj.get("snapshot") else None
        retry = parse_time(obj["retry_not_before"]) if obj.get("retry_not_before") else None
        return OAuthCache(snapshot, plan_label(obj.get("plan")), retry)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return OAuthCache(None, None, None)  # a damaged cache is as good as none


def save_oauth_cache(data_dir: Path, cache: OAuthCache, profile: str = DEFAULT_PROFILE) -> None:
    save_json(oauth_cache_file(data_dir, profile), cache.to_json())


def _retry_after(value: str | None, now: datetime) -> datetime:
    try:
        seconds = float(value) if value is not None else 0.0
    except ValueError:
        seconds = 0.0
    # "Retry-After: 0" has been seen on 429s; it does not mean "hammer away".
    return now + max(OAUTH_BACKOFF, min(timedelta(seconds=max(seconds, 0)), MAX_RETRY_AFTER))


def check_usage_url(url: str) -> None:
    """The token goes only over https, or plain http to this machine (a test endpoint)."""
    import urllib.parse  # with ipaddress, 5 ms that a status-line snapshot never needs

    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise CctrackError(
        "claude_usage_url must be https:// (plain http only to 127.0.0.1 or localhost); "
        "the OAuth token is not sent anywhere else",
        EXIT_USAGE,
    )


def _opener() -> Any:
    # urllib.request costs a status line start-up that never goes online: imported here.
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """A redirect would carry the Authorization header to wherever it points: refuse it."""

        def redirect_request(self, *args: Any) -> None:
            raise UsageHTTPError(args[2], None)

    return urllib.request.build_opener(NoRedirect())


def fetch_usage(url: str, token: str) -> Any:
    """GET the usage endpoint; CctrackError says what went wrong without the token in it."""
    import urllib.error
    import urllib.request

    check_usage_url(url)
    request = urllib.request.Request(
        url,
        headers={
            "Authorization": f"Bearer {token}",
            "anthropic-beta": "oauth-2025-04-20",
            "Accept": "application/json",
            "User-Agent": "cctrack",
        },
    )

    def ask() -> bytes:
        with _opener().open(request, timeout=HTTP_TIMEOUT) as response:
            return bytes(response.read(1 << 20))

    try:
        return strict_loads(within_deadline(ask, HTTP_DEADLINE, "the usage endpoint"))
    except DeadlineExceeded as exc:
        raise CctrackError(f"{exc}; will retry", EXIT_TEMPFAIL) from None
    except urllib.error.HTTPError as exc:
        raise UsageHTTPError(exc.code, exc.headers.get("Retry-After")) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CctrackError(
            f"usage endpoint unreachable ({reason}); will retry", EXIT_TEMPFAIL
        ) from None
    except ValueError:
        raise CctrackError(
            "usage endpoint answered something that is not JSON", EXIT_TEMPFAIL
        ) from None


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
        return CctrackError(
            "usage endpoint is rate limiting (429) and no earlier answer is cached; wait a "
            "few minutes"
        )
    if 300 <= code < 400:
        return CctrackError(
            f"usage endpoint answered a redirect ({code}); the token is never sent elsewhere, "
            "so set claude_usage_url to the endpoint itself"
        )
    return CctrackError(
        f"usage endpoint answered HTTP {code}; will retry", EXIT_TEMPFAIL if code >= 500 else 1
    )


def oauth_snapshot(
    data_dir: Path,
    claude_home: Path,
    url: str,
    env: Mapping[str, str],
    now: datetime,
    profile: str = DEFAULT_PROFILE,
) -> tuple[SavedWindows, str | None]:
    """The usage endpoint's answer and the plan, asking it at most every few minutes.

    When the endpoint says 429 or cannot be reached, the last good answer is returned with
    its own time as observed_at, so its age is visible downstream.
    """
    cache = load_oauth_cache(data_dir, profile)
    cached = cache.snapshot
    if cached and within(cached.observed_at, now, OAUTH_MIN_INTERVAL):
        return cached, cache.plan
    # A back-off further ahead than any the endpoint can ask for was set by a wrong clock.
    if cache.retry_not_before and now < cache.retry_not_before <= now + MAX_RETRY_AFTER:
        if cached:
            return cached, cache.plan
        raise _http_reason(429)
    credentials = read_credentials(claude_home, env, now)
    try:
        usage = parse_usage(fetch_usage(url, credentials.token))
    except UsageHTTPError as exc:
        if exc.code == 429:
            retry = _retry_after(exc.retry_after, now)
            save_oauth_cache(data_dir, OAuthCache(cached, cache.plan, retry), profile)
            if cached:
                return cached, cache.plan
        raise _http_reason(exc.code) from None
    except CctrackError:
        if cached and within(cached.observed_at, now, CACHE_FRESH):
            return cached, cache.plan
        raise
    if not usage.windows:
        raise CctrackError(
            "usage endpoint answered without any usage window; is this a Pro or Max login?"
        )
    snapshot = SavedWindows(now, usage.windows, usage.buckets, usage.extras)
    save_oauth_cache(data_dir, OAuthCache(snapshot, credentials.plan, None), profile)
    return snapshot, credentials.plan
