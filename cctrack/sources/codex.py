"""Codex CLI: the newest account-wide rate-limit snapshot in the rollout files (docs/sources.md).

Codex writes a snapshot into a session's rollout file whenever it talks to its backend.
The current state is the snapshot with the greatest line timestamp across all sessions;
files are visited newest-modified first and read from their end, so a year of history
costs a directory walk, not a read.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cctrack import process
from cctrack.errors import CctrackError
from cctrack.files import lines_from_end
from cctrack.model import frozen
from cctrack.redact import quote, redact
from cctrack.sources import bucket_name, window_name
from cctrack.sources.params import SourceParams
from cctrack.status import (
    MAX_SPEND_RATIO,
    SPEND_KINDS,
    Bucket,
    Extras,
    SpendLimit,
    Status,
    Window,
    group_name,
    is_number,
    limit_reason,
    plan_label,
)
from cctrack.timefmt import STALE_AFTER, format_time, from_unix, parse_time, within

BLOCK = 256 << 10
# Modification times and line timestamps come from different clocks and flushes.
MTIME_SLACK = timedelta(minutes=5)
# The longest window Codex reports is 30 days: an older snapshot says nothing about now.
HORIZON = timedelta(days=31)
APP_SERVER_TIMEOUT = 10.0


@frozen
class RateLimitSnapshot:
    """The plan-limit windows of the newest rate-limit line, and what in it was unusable;
    the narrower per-model buckets and the extras (credits, why a limit was reached)."""

    observed_at: datetime
    windows: tuple[Window, ...]
    plan: str | None
    problem: str | None = None
    buckets: tuple[Bucket, ...] = ()
    extras: Extras | None = None
    spend: tuple[SpendLimit, ...] = ()

    @property
    def usable(self) -> bool:
        """Numbers to report: a usage window, or a spend limit (a spend-controlled account
        may have no window at all)."""
        return bool(self.windows or self.spend)


# How Codex's own TUI names a window that came without its length ("usage", "secondary
# usage": codex-rs/tui/src/chatwidget/rate_limits.rs, fallback_limit_label).
SLOT_NAMES = {"primary": "usage", "secondary": "secondary_usage"}
# Codex reports used_percent above 100 once a limit is overrun and shows it as "0% left";
# a value beyond this is not a percentage at all (an epoch in the wrong field).
MAX_CODEX_PERCENT = 1e6


def codex_ratio(value: Any) -> float | None:
    """Codex's used_percent as 0..1: above 100 is an exhausted limit, clamped to 1 as Codex
    shows it; negative, NaN or epoch-sized values are not percentages."""
    if not is_number(value):
        return None
    if not math.isfinite(value) or not 0 <= value <= MAX_CODEX_PERCENT:
        return None
    return min(value / 100, 1.0)


def _nested_window(slot: dict[str, Any], line_time: datetime) -> tuple[Any, Any, datetime | None]:
    resets = None
    if is_number(slot.get("resets_at")) and 0 < slot["resets_at"] < 1e11:
        resets = from_unix(slot["resets_at"])
    elif is_number(slot.get("resets_in_seconds")) and abs(slot["resets_in_seconds"]) < 1e9:
        # Codex ~0.41 to Oct 2025 said how long until the reset, counted from the line.
        resets = line_time + timedelta(seconds=slot["resets_in_seconds"])
    return slot.get("used_percent"), slot.get("window_minutes"), resets


def _slots(
    limits: dict[str, Any], line_time: datetime
) -> list[tuple[str, Any, Any, datetime | None]]:
    """(slot, used_percent, window_minutes, resets_at) of each slot that carries anything."""
    found = []
    # Flat eras: "primary" and "weekly" (before ~0.40), then "primary" and "secondary".
    for slot, flat in (("primary", "primary"), ("secondary", "secondary"), ("weekly", "weekly")):
        if slot in limits and slot != "weekly":
            if isinstance(limits[slot], dict):
                used, minutes, resets = _nested_window(limits[slot], line_time)
                if used is not None:  # Codex always sends a percentage; without one, a placeholder
                    found.append((slot, used, minutes, resets))
        elif f"{flat}_used_percent" in limits:
            default = 10080 if flat == "weekly" else None
            # flat shapes carry no reset time
            found.append(
                (
                    flat,
                    limits[f"{flat}_used_percent"],
                    limits.get(f"{flat}_window_minutes", default),
                    None,
                )
            )
    return found


def is_plan_limit(limits: Any) -> bool:
    return isinstance(limits, dict) and limits.get("limit_id") in (None, "codex")


def read_rate_limits(limits: Any, line_time: datetime) -> tuple[tuple[Window, ...], str | None]:
    """The plan-limit windows of one `rate_limits` object, in any schema era, and what in it
    could not be used; ((), None) when the object is for another limit (a per-model bucket)
    or carries no window at all (placeholders: nulls, 0 % with neither length nor reset)."""
    if not is_plan_limit(limits):
        return (), None
    return read_windows(limits, line_time)


def read_windows(
    limits: dict[str, Any], line_time: datetime
) -> tuple[tuple[Window, ...], str | None]:
    """The windows of one rate-limit object, whichever limit it is for."""
    windows: dict[str, Window] = {}
    problems = []
    for slot, percent, minutes, resets in _slots(limits, line_time):
        used = codex_ratio(percent)
        if used is None:
            problems.append(f"{slot} used_percent {quote(percent)} is not a percentage")
            continue
        if minutes is None:
            if used == 0 and resets is None:
                continue  # a placeholder, not a reading
            # Codex keeps a window without a length and names it by its slot.
            name = SLOT_NAMES.get(slot, "usage")
            windows.setdefault(name, Window(name, used, None, resets))
            continue
        if not is_number(minutes) or not 1 <= minutes <= 10**7:
            # a length under a minute, beyond years, NaN or infinite is no window
            problems.append(f"{slot} window_minutes {quote(minutes)} is not a length")
            continue
        length = round(minutes)
        name = window_name(length)
        windows.setdefault(name, Window(name, used, length * 60, resets))
    return tuple(windows.values()), "; ".join(problems) or None


def read_buckets(limits: Any, line_time: datetime) -> tuple[Bucket, ...]:
    """A per-model limit's windows as buckets, named by its `limit_name` ("Spark" -> spark)
    or else its id without the `codex_` prefix; () for the plan's own limit."""
    if not isinstance(limits, dict) or is_plan_limit(limits):
        return ()
    label = limits.get("limit_name") or str(limits.get("limit_id", "")).removeprefix("codex_")
    name = bucket_name(str(label))
    if name is None:
        return ()
    windows, _ = read_windows(limits, line_time)
    return tuple(Bucket(name, window) for window in windows)


def read_extras(limits: Any) -> Extras | None:
    """Credits and why a limit was reached, from the plan's own rate-limit object."""
    if not isinstance(limits, dict):
        return None
    found = limits.get("credits")
    credits: dict[str, Any] = found if isinstance(found, dict) else {}
    balance = credits.get("balance")
    try:
        # Codex writes the balance as a string ("12.50") or a number.
        amount = float(balance) if isinstance(balance, (str, int, float)) else None
    except ValueError:
        amount = None
    if isinstance(balance, bool):
        amount = None
    has, unlimited = credits.get("has_credits"), credits.get("unlimited")
    extras = Extras(
        has_credits=has if isinstance(has, bool) else None,
        credits_unlimited=unlimited if isinstance(unlimited, bool) else None,
        credits_balance=amount if amount is not None and math.isfinite(amount) else None,
        limit_reached=spend_reached(limits) or limit_reason(limits.get("rate_limit_reached_type")),
    )
    return extras if extras.to_json() else None


# Spend controls of usage-based Business/Enterprise plans: each kind's key in a rollout's
# `rate_limits` (Codex >= 0.149 writes `individual_limit`: SpendControlLimitSnapshot
# {limit, used, remaining_percent, resets_at}, amounts as strings of credits) and in the
# app-server's `spendControl` (v2 SpendControlSnapshot, read into the rollout's shape by
# _snake). The two group kinds carry their numbers under `details`, beside `groupName`.
SPEND_KEYS = {
    "individual": ("individual_limit", "individualLimit"),
    "group_default": ("group_default_limit", "groupDefaultLimit"),
    "group_shared": ("group_shared_limit", "groupSharedLimit"),
    "workspace_default": ("workspace_default_limit", "workspaceDefaultLimit"),
    "workspace_shared": ("workspace_shared_limit", "workspaceSharedLimit"),
    "role_budget": ("role_budget_limit", "roleBudgetLimit"),
}
assert tuple(SPEND_KEYS) == SPEND_KINDS


def _amount(value: Any) -> float | None:
    try:
        number = float(value) if isinstance(value, (str, int, float)) else None
    except ValueError:
        return None
    if isinstance(value, bool) or number is None or not math.isfinite(number) or number < 0:
        return None
    return number


def read_spend(limits: Any, now: datetime | None = None) -> tuple[SpendLimit, ...]:
    """The spend limits of one rate-limit object, each kind the vendor reports: used share
    (from used_percent, else 100 - remaining_percent, else used / limit), reset (resets_at,
    else `now` + reset_after_seconds), amounts in credits, the group's name, and whether it
    is the kind that binds (`spend_reached_type`)."""
    if not isinstance(limits, dict):
        return ()
    binding = limits.get("spend_reached_type")
    found = []
    for name, (key, _) in SPEND_KEYS.items():
        entry = limits.get(key)
        if not isinstance(entry, dict):
            continue
        used, limit = _amount(entry.get("used")), _amount(entry.get("limit"))
        used_percent = _amount(entry.get("used_percent"))
        left_percent = _amount(entry.get("remaining_percent"))
        if used_percent is not None:
            ratio: float | None = used_percent / 100
        elif left_percent is not None and left_percent <= 100:
            ratio = (100 - left_percent) / 100
        else:
            ratio = used / limit if used is not None and limit else None
        if ratio is None:
            continue
        resets = _amount(entry.get("resets_at"))
        after = _amount(entry.get("reset_after_seconds"))
        if (resets is None or not 0 < resets < 1e11) and after is not None and now is not None:
            resets = now.timestamp() + after
        found.append(
            SpendLimit(
                name,
                min(ratio, MAX_SPEND_RATIO),
                from_unix(resets) if resets is not None and 0 < resets < 1e11 else None,
                used,
                limit,
                "credits",
                group_name(entry.get("group_name")),
                name == binding if isinstance(binding, str) else None,
            )
        )
    return tuple(found)


def spend_reached(limits: Any) -> str | None:
    """Why the plan is blocked by spend control, as a limit_reached reason."""
    if not isinstance(limits, dict) or limits.get("spend_control_reached") is not True:
        return None
    return limit_reason(limits.get("spend_reached_type")) or "spend_control_reached"


def rate_limits_of(line: bytes) -> tuple[datetime, Any] | None:
    """The time and `rate_limits` object of a token_count line, else None."""
    if b"token_count" not in line or b"rate_limits" not in line:
        return None
    try:
        event = json.loads(line)
        payload = event["payload"]
        if event.get("type") != "event_msg" or payload.get("type") != "token_count":
            return None
        return parse_time(event["timestamp"]), payload.get("rate_limits")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def snapshot_from_line(line: bytes) -> RateLimitSnapshot | None:
    """The snapshot in one rollout line, if it is a token_count event carrying plan limits;
    one without a usable window (but with something in it) comes back with its problem."""
    found = rate_limits_of(line)
    if found is None:
        return None
    line_time, limits = found
    windows, problem = read_rate_limits(limits, line_time)
    spend = read_spend(limits, line_time) if is_plan_limit(limits) else ()
    # A line saying the spend limit is reached is the newest word even without numbers: it
    # must not let an older windowed line pass for current.
    if not windows and not problem and not spend and not spend_reached(limits):
        return None
    plan = plan_label(limits.get("plan_type"))
    return RateLimitSnapshot(
        line_time, windows, plan, problem, extras=read_extras(limits), spend=spend
    )


def rollout_files(home: Path, since: datetime) -> list[tuple[float, Path]]:
    """Plain rollout files (compressed ones hold only idle, older sessions) started on or
    after the local date of `since` minus a day, newest-modified first.

    Folder and file names carry the local start date, so older days are skipped by name,
    unread and unstatted: the cost stays that of the last month, however long the history.
    """
    cutoff = f"{since.astimezone() - timedelta(days=1):%Y-%m-%d}"
    found: list[tuple[float, Path]] = []
    stack = [(home / "sessions", ""), (home / "archived_sessions", "")]
    while stack:
        folder, date = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                # sessions/YYYY/MM/DD: a folder's date so far is a prefix of its files' dates.
                sub = f"{date}-{name}" if date else name
                if sub >= cutoff[: len(sub)]:
                    stack.append((Path(entry.path), sub))
            elif name.startswith("rollout-") and name.endswith(".jsonl") and name[8:18] >= cutoff:
                found.append((entry.stat().st_mtime, Path(entry.path)))
    found.sort(reverse=True)
    return found


# Per-model lines interleave with the plan's; this many lines older than the plan's newest
# are also looked at for buckets that were not seen above it.
BUCKET_LOOKBACK = 200


def latest_snapshot(files: list[tuple[float, Path]], now: datetime) -> RateLimitSnapshot | None:
    """The newest plan-limit snapshot across sessions (files from rollout_files), with the
    newest reading of every per-model bucket seen next to it."""
    best: RateLimitSnapshot | None = None
    buckets: dict[str, tuple[datetime, tuple[Bucket, ...]]] = {}
    oldest = (now - HORIZON).timestamp()
    for mtime, path in files:
        if mtime < oldest or (best and mtime < (best.observed_at - MTIME_SLACK).timestamp()):
            break  # every remaining file was last written before what we already have
        try:
            snapshot = _scan(path, buckets)
        except OSError:
            continue  # a session file removed or unreadable mid-walk; the others still count
        if snapshot and (best is None or snapshot.observed_at > best.observed_at):
            best = snapshot
    if best is None:
        return None
    # Each bucket keeps the time of its own line: another session's, hours older, is not as
    # fresh as the plan's snapshot it is reported beside.
    found = tuple(
        replace(b, observed_at=when) if when != best.observed_at else b
        for when, group in sorted(buckets.values(), key=lambda item: item[0])
        for b in group
    )
    return replace(best, buckets=tuple(sorted(found, key=lambda b: (b.name, b.window.name))))


def _scan(
    path: Path, buckets: dict[str, tuple[datetime, tuple[Bucket, ...]]]
) -> RateLimitSnapshot | None:
    """One rollout from its end: its newest plan snapshot; newer bucket readings go into
    buckets (the newest per bucket across files wins)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        return _scan_lines(lines_from_end(handle.fileno(), size, BLOCK), buckets)


def _scan_lines(
    lines: Iterator[bytes], buckets: dict[str, tuple[datetime, tuple[Bucket, ...]]]
) -> RateLimitSnapshot | None:
    snapshot = None
    after = 0
    for line in lines:
        if snapshot is not None:
            after += 1
            if after > BUCKET_LOOKBACK:
                break
        found = rate_limits_of(line)
        if found is None:
            continue
        line_time, limits = found
        if is_plan_limit(limits):
            if snapshot is None:
                snapshot = snapshot_from_line(line)
            elif snapshot.extras is None and (older := read_extras(limits)) is not None:
                # Codex's TUI keeps a limit's credits when a newer snapshot of it has none
                # (chatwidget/rate_limits.rs): so does this, with the time they were true;
                # an older line's reason a limit was reached is not carried.
                credits = Extras(
                    has_credits=older.has_credits,
                    credits_unlimited=older.credits_unlimited,
                    credits_balance=older.credits_balance,
                )
                if credits.to_json():
                    snapshot = replace(snapshot, extras=replace(credits, observed_at=line_time))
            continue
        group = read_buckets(limits, line_time)
        if group and (group[0].name not in buckets or buckets[group[0].name][0] < line_time):
            buckets[group[0].name] = (line_time, group)
    return snapshot


def _snake(limits: Any) -> dict[str, Any] | None:
    """A camelCase rate-limit object of `codex app-server`, shaped as a rollout writes it."""
    if not isinstance(limits, dict):
        return None

    def window(slot: Any) -> Any:
        if not isinstance(slot, dict):
            return None
        return {
            "used_percent": slot.get("usedPercent"),
            "window_minutes": slot.get("windowDurationMins"),
            "resets_at": slot.get("resetsAt"),
        }

    credits = limits.get("credits")
    # Spend controls: older answers carry `individualLimit`, newer ones `spendControl
    # {reached, reachedLimitType, individualLimit, groupDefaultLimit, workspaceDefaultLimit,
    # roleBudgetLimit, groupSharedLimit, workspaceSharedLimit}`, a group's limit as
    # `{groupId, groupName, details}` (codex-rs/app-server-protocol/schema v2).
    control = limits.get("spendControl")
    control = control if isinstance(control, dict) else {}

    def spend(entry: Any) -> Any:
        if not isinstance(entry, dict):
            return None
        group = entry.get("groupName")
        if isinstance(entry.get("details"), dict):
            entry = entry["details"]
        return {
            "limit": entry.get("limit"),
            "used": entry.get("used"),
            "used_percent": entry.get("usedPercent"),
            "remaining_percent": entry.get("remainingPercent"),
            "resets_at": entry.get("resetAt", entry.get("resetsAt")),
            "reset_after_seconds": entry.get("resetAfterSeconds"),
            "group_name": group,
        }

    spends = {
        key: spend(control.get(camel) or (limits.get(camel) if kind == "individual" else None))
        for kind, (key, camel) in SPEND_KEYS.items()
    }
    return {
        **spends,
        "spend_control_reached": control.get("reached", limits.get("spendControlReached")),
        "spend_reached_type": control.get("reachedLimitType"),
        "limit_id": limits.get("limitId"),
        "limit_name": limits.get("limitName"),
        "primary": window(limits.get("primary")),
        "secondary": window(limits.get("secondary")),
        "plan_type": limits.get("planType"),
        "rate_limit_reached_type": limits.get("rateLimitReachedType"),
        "credits": {
            "has_credits": credits.get("hasCredits"),
            "unlimited": credits.get("unlimited"),
            "balance": credits.get("balance"),
        }
        if isinstance(credits, dict)
        else None,
    }


def parse_app_server_limits(result: Any, now: datetime) -> RateLimitSnapshot:
    """`account/rateLimits/read`'s camelCase answer, read like a rollout's rate_limits:
    `rateLimits` is the plan, `rateLimitsByLimitId` adds the per-model buckets, and
    `rateLimitResetCredits.availableCount` the banked full resets (never spent here)."""
    shaped = _snake(result.get("rateLimits") if isinstance(result, dict) else None)
    if shaped is None:
        return RateLimitSnapshot(now, (), None)
    windows, problem = read_rate_limits(shaped, now)
    by_id = result.get("rateLimitsByLimitId")
    buckets = tuple(
        bucket
        for limits in (by_id.values() if isinstance(by_id, dict) else ())
        for bucket in read_buckets(_snake(limits), now)
    )
    extras = read_extras(shaped) or Extras()
    banked = result.get("rateLimitResetCredits")
    count = banked.get("availableCount") if isinstance(banked, dict) else None
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        extras = replace(extras, reset_credits_available=count)
    plan = plan_label(shaped.get("plan_type"))
    spend = read_spend(shaped, now)
    controlled = isinstance((result.get("rateLimits") or {}).get("spendControl"), dict)
    if controlled and not windows and not spend and problem is None:
        # A usage-based plan, logged in: its answer names no limit with numbers.
        problem = "a spend-controlled (usage-based) plan answered without any limit's numbers"
    return RateLimitSnapshot(
        now,
        windows,
        plan,
        problem,
        buckets,
        extras if extras.to_json() else None,
        spend,
    )


def app_server_snapshot(
    codex: str, env: Mapping[str, str], now: datetime, timeout: float
) -> RateLimitSnapshot:
    """Ask `codex app-server` (JSON-RPC over stdio) for the account's rate limits. It asks
    ChatGPT's backend, so it is fresh even while no Codex session has run for hours."""
    from cctrack import __version__

    client = {"name": "cctrack", "title": "cctrack", "version": __version__}
    try:
        with process.JsonRpcSession([codex, "app-server"], env, timeout) as session:
            session.send({"method": "initialize", "id": 0, "params": {"clientInfo": client}})
            session.reply(0)
            session.send({"method": "initialized"}, {"method": "account/rateLimits/read", "id": 1})
            snapshot = parse_app_server_limits(session.reply(1), now)
    except process.ProcessFailure as exc:
        raise CctrackError(f"codex app-server {redact(str(exc))}") from None
    if not snapshot.usable:
        raise CctrackError(
            f"codex app-server: {snapshot.problem}"
            if snapshot.problem
            else "codex app-server answered without a plan rate limit; is Codex logged in "
            "with ChatGPT?"
        )
    return snapshot


def as_status(
    snapshot: RateLimitSnapshot, origin: str, now: datetime, activity: datetime | None
) -> Status:
    status = Status("codex", snapshot.observed_at, origin, snapshot.windows, snapshot.plan)
    status = replace(
        status,
        buckets=snapshot.buckets,
        extras=snapshot.extras,
        spend=snapshot.spend,
        local_activity_at=activity,
    )
    return status.as_of(now)


def codex_status(
    home: Path,
    now: datetime,
    app_server: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = APP_SERVER_TIMEOUT,
) -> Status:
    """The newest rollout snapshot; with `app_server` (the codex command) also asked of
    `codex app-server` when that snapshot is stale, and the fresher answer wins.

    The newest snapshot decides: when the newest rate-limit line has nothing usable in it,
    that is an error, never a silent step back to an older, lower reading.
    """
    files = rollout_files(home, now - HORIZON) if home.is_dir() else []
    snapshot = latest_snapshot(files, now)
    # Codex's newest rollout write, from the same listing: its local activity.
    activity = from_unix(files[0][0]) if files else None
    if app_server and (snapshot is None or not within(snapshot.observed_at, now, STALE_AFTER)):
        try:
            fresh = app_server_snapshot(
                app_server, os.environ if env is None else env, now, timeout
            )
            return as_status(fresh, "app-server", now, activity)
        except CctrackError as exc:
            if snapshot is None:
                raise CctrackError(
                    f"no Codex usage: no recent rollout snapshot under {home}, and {exc}"
                ) from None
    if not home.is_dir():
        raise CctrackError(f"Codex home {home} not found; install Codex CLI or set CODEX_HOME")
    if snapshot is None:
        raise CctrackError(
            f"no rate-limit snapshot in Codex sessions under {home} from the last "
            f"{HORIZON.days} days; "
            "Codex writes one when it talks to its backend, so use Codex once while logged "
            "in with ChatGPT"
        )
    if not snapshot.usable:
        why = snapshot.problem or (
            f"the spend limit is reached ({snapshot.extras.limit_reached})"
            if snapshot.extras and snapshot.extras.limit_reached
            else "nothing in it"
        )
        raise CctrackError(
            f"the newest Codex rate-limit snapshot ({format_time(snapshot.observed_at)}) has no "
            f"usable window: {why}; not falling back to an older one"
        )
    return as_status(snapshot, "rollout", now, activity)


def codex_status_for(params: SourceParams, env: Mapping[str, str], now: datetime) -> Status:
    """The built-in Codex tool with the settings it was given."""
    codex = shutil.which("codex", path=env.get("PATH")) if params.codex_app_server else None
    if params.codex_app_server and codex is None:
        print(
            "cctrack-codex-status: codex_app_server is on but no codex command is on PATH",
            file=sys.stderr,
        )
    # Half the capture timeout: the rollout snapshot must still be reported in time.
    timeout = min(APP_SERVER_TIMEOUT, params.timeout / 2)
    return codex_status(params.codex_home, now, codex, env, timeout)
