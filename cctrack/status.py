"""The status object: what a status tool prints (docs/records.md, "The status object"), as
typed values: a tool's windows, buckets, spend limits and extras, and the names and
numbers they are checked by. The records of a day file that carry it are records.py's.

Everything here is pure: parsing, validation and serialisation, no I/O. Values quoted in
error messages pass through `redact.quote`, since they come from a tool's output.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeGuard

import orjson

from cctrack.model import frozen
from cctrack.redact import quote
from cctrack.timefmt import format_precise, format_time, parse_time

SOURCE_TOOLS = ("claude", "codex")
# Any other agent's name (settings `[agents.NAME]`): a metric label value and part of a
# status tool's label, so a short, plain alphabet.
_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
TOOL_NAME_RULE = "a lowercase letter, then up to 31 of a-z 0-9 _"


# Whose numbers a status carries: the vendor's own, or the status tool's estimate (from
# local logs and a guessed limit). The two are never mixed: confidence is a label.
OFFICIAL = "official"
CONFIDENCES = (OFFICIAL, "estimated")


def valid_tool(name: Any) -> TypeGuard[str]:
    """A name a status may carry in `source_tool`: claude, codex, or an agent's."""
    return isinstance(name, str) and bool(_TOOL_NAME.match(name))


# A tool that rounds may report a hair above 100 %; anything beyond this is a bug, not usage.
USED_RATIO_TOLERANCE = 0.05
# The one bound for every count kept (tokens, captures): far above anything real, and sums
# of it still fit the 64-bit integers of the state file and of JSON readers.
MAX_COUNT = 1 << 62


def bounded(count: int) -> int:
    """A count held within MAX_COUNT either way: every total that is kept, written or
    exported (the state, the rollup, the base, the textfile) saturates there instead of
    growing past what the files and their readers can carry."""
    return max(-MAX_COUNT, min(count, MAX_COUNT))


# The longest window length kept (19 years); Codex's own bound is 10^7 minutes.
MAX_WINDOW_SECONDS = 10**7 * 60
_WINDOW_NAME = re.compile(r"^[a-z0-9_]{1,40}\Z")
# Label values taken from a tool: a short, plain alphabet, so nothing else can become a label.
_ORIGIN = re.compile(r"^[A-Za-z0-9_.:+-]{1,40}\Z")
_PLAN = re.compile(r"^[a-z0-9_.-]{1,32}\Z")
_ACCOUNT = re.compile(r"^[a-z0-9-]{1,40}\Z")
_BUCKET = re.compile(r"^[a-z0-9_]{1,32}\Z")
_REASON = re.compile(r"^[a-z0-9_.-]{1,64}\Z")
_CURRENCY = re.compile(r"^[A-Za-z]{1,8}\Z")
DEFAULT_PROFILE = "default"


def qualified(profile: str, tool: str) -> str:
    """How a tool of a profile is named to a person: `codex`, or `work/codex` in a profile
    of its own."""
    return tool if profile == DEFAULT_PROFILE else f"{profile}/{tool}"


def plan_label(value: Any) -> str | None:
    """A tool's plan name as a label value, lowercased; None when it is not a plain name."""
    if not isinstance(value, str):
        return None
    plan = value.strip().lower()
    return plan if _PLAN.match(plan) else None


def strict_loads(text: str | bytes) -> Any:
    """Strict JSON: NaN and Infinity refused (Python's json accepts them), bytes only as
    UTF-8; an integer past 64 bits comes back a float, which no count or seq_no takes.
    orjson parses about four times as fast as the standard library, which is most of what
    replaying a year of records costs. Raises ValueError."""
    return orjson.loads(text)


# The types of a JSON number as orjson gives it (never a bool): `type(x) in NUMBER_TYPES`
# is what a reader of many thousands of rows can afford.
NUMBER_TYPES = (int, float)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A JSON number: an int or a float, and never a bool (which Python counts as an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite_number(value: Any, what: str) -> float:
    if not is_number(value):
        raise ValueError(f"{what} is not a number: {quote(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is not finite")
    return number


def checked_ratio(value: Any, what: str) -> float:
    """A used share in 0..1; slight rounding above 1 is clamped, anything else refused."""
    ratio = finite_number(value, what)
    if ratio < 0 or ratio > 1 + USED_RATIO_TOLERANCE:
        raise ValueError(f"{what} {ratio:g} is outside 0..1")
    return min(ratio, 1.0)


@frozen
class Window:
    """A limit window as its tool reported it: the share used, its length and its reset."""

    name: str
    used_ratio: float
    window_seconds: int | None
    resets_at: datetime | None

    def as_of(self, now: datetime, observed_at: datetime) -> Window:
        """The window at `now` of numbers true at `observed_at`: rolled over (nothing used,
        next reset unknown) once a reset has passed *after* the numbers were observed.
        Numbers observed after their own reset time are the vendor's current numbers, as its
        own screen shows them: Codex keeps counting past `resets_at` and moves it later."""
        if self.resets_at is not None and observed_at < self.resets_at <= now:
            return replace(self, used_ratio=0.0, resets_at=None)
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "used_ratio": self.used_ratio,
            "window_seconds": self.window_seconds,
            "resets_at": format_precise(self.resets_at) if self.resets_at else None,
        }

    @classmethod
    def from_json(cls, name: Any, obj: Any) -> Window:
        if not isinstance(name, str) or not _WINDOW_NAME.match(name):
            raise ValueError(f"bad window name {quote(name)}")
        if not isinstance(obj, dict):
            raise ValueError(f"window {name} is not an object")
        seconds = obj.get("window_seconds")
        if seconds is not None:
            seconds = finite_number(seconds, f"window {name} window_seconds")
            if seconds <= 0:
                raise ValueError(f"window {name} window_seconds must be positive")
            # No limit is longer than years: past that the length is unknown, not a number
            # that overflows every time computed from it.
            seconds = int(seconds) if seconds <= MAX_WINDOW_SECONDS else None
        resets = obj.get("resets_at")
        return cls(
            name=name,
            used_ratio=checked_ratio(obj.get("used_ratio"), f"window {name} used_ratio"),
            window_seconds=seconds,
            resets_at=_time_field(resets, f"window {name} resets_at")
            if resets is not None
            else None,
        )


@frozen
class Bucket:
    """A limit narrower than the plan's (one model's weekly limit, Codex Spark's window):
    it can bind first, but it is not "my plan", so it is kept apart from `windows`."""

    name: str
    window: Window
    # When its numbers were true, where that is not the status's own time (a bucket from
    # Claude Code's cache of the usage endpoint beside a status line render).
    observed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        obj = {"bucket": self.name, "window": self.window.name, **self.window.to_json()}
        if self.observed_at is not None:
            obj["observed_at"] = format_time(self.observed_at)
        return obj

    @classmethod
    def from_json(cls, obj: Any) -> Bucket:
        if not isinstance(obj, dict):
            raise ValueError("bucket is not an object")
        name = obj.get("bucket")
        if not isinstance(name, str) or not _BUCKET.match(name):
            raise ValueError(f"bad bucket name {quote(name)}")
        seen = obj.get("observed_at")
        return cls(
            name,
            Window.from_json(obj.get("window"), obj),
            _time_field(seen, f"bucket {name} observed_at") if seen is not None else None,
        )


# The kinds of a Codex spend control, as its `reachedLimitType` names them (app-server v2
# SpendControlLimitType); `group` is how records before the other kinds were read named
# `group_default`.
SPEND_KINDS = (
    "individual",
    "group_default",
    "group_shared",
    "workspace_default",
    "workspace_shared",
    "role_budget",
)
MAX_GROUP_NAME = 64


def group_name(value: Any) -> str | None:
    """A spend group's name (an administrator's word, such as "Platform team") as a label
    value: printable, at most MAX_GROUP_NAME characters; None when it is not one."""
    if not isinstance(value, str):
        return None
    name = " ".join(value.split())
    if not name or len(name) > MAX_GROUP_NAME or not name.isprintable():
        return None
    return name


# A spend limit may be overrun: Claude Code's gateway spend_limit goes past 100 %.
MAX_SPEND_RATIO = 100.0
_UNIT = re.compile(r"^[A-Za-z]{1,8}\Z")


@frozen
class SpendLimit:
    """A limit on spend rather than on a usage window: Codex's spend controls on usage-based
    Business/Enterprise plans (SPEND_KINDS), Claude Code's gateway `spend_limit` (`spend`).
    Used as a share (which may pass 1), when it resets, the amounts in `unit` (credits, or a
    currency code) when the vendor says them, the group a group limit is of, and whether it
    is the limit that binds (the vendor's `reachedLimitType`)."""

    name: str
    used_ratio: float
    resets_at: datetime | None
    used: float | None = None
    limit: float | None = None
    unit: str | None = None
    group: str | None = None
    binding: bool | None = None

    @property
    def title(self) -> str:
        """How the limit is named to a person: `spend group_shared (Platform team)`."""
        return f"spend {self.name}" + (f" ({self.group})" if self.group else "")

    def as_of(self, now: datetime, observed_at: datetime) -> SpendLimit:
        if self.resets_at is not None and observed_at < self.resets_at <= now:
            return replace(
                self, used_ratio=0.0, used=0.0 if self.used is not None else None, resets_at=None
            )
        return self

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "limit": self.name,
            "used_ratio": self.used_ratio,
            "resets_at": format_precise(self.resets_at) if self.resets_at else None,
        }
        fields = (
            ("used", self.used),
            ("amount", self.limit),
            ("unit", self.unit),
            ("group", self.group),
            ("binding", self.binding),
        )
        for key, value in fields:
            if value is not None:
                obj[key] = value
        return obj

    @classmethod
    def from_json(cls, obj: Any) -> SpendLimit:
        if not isinstance(obj, dict):
            raise ValueError("spend limit is not an object")
        name = obj.get("limit")
        if not isinstance(name, str) or not _BUCKET.match(name):
            raise ValueError(f"bad spend limit name {quote(name)}")
        ratio = finite_number(obj.get("used_ratio"), f"spend {name} used_ratio")
        if not 0 <= ratio <= MAX_SPEND_RATIO:
            raise ValueError(f"spend {name} used_ratio {ratio:g} is out of range")
        resets = obj.get("resets_at")
        unit = obj.get("unit")
        return cls(
            name,
            ratio,
            _time_field(resets, f"spend {name} resets_at") if resets is not None else None,
            _optional(obj, "used", float),
            _optional(obj, "amount", float),
            unit if isinstance(unit, str) and _UNIT.match(unit) else None,
            group_name(obj.get("group")),
            _optional(obj, "binding", bool),
        )


def _optional(obj: dict[str, Any], key: str, kind: type) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if kind is float:
        return finite_number(value, key)
    if kind is bool and not isinstance(value, bool):
        raise ValueError(f"{key} is not true or false")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{key} is not a count")
    return value


@frozen
class Extras:
    """What the vendors report besides limits: Claude's extra usage (paid overage), Codex's
    credits, why a limit was reached, banked full resets. None is "not reported"."""

    extra_usage_enabled: bool | None = None
    extra_usage_used_ratio: float | None = None
    # Amounts in the currency's own unit (dollars, not cents), named apart from the cents
    # that records written before this carried under extra_usage_limit / extra_usage_used.
    extra_usage_monthly_limit: float | None = None
    extra_usage_spent: float | None = None
    currency: str | None = None
    has_credits: bool | None = None
    credits_unlimited: bool | None = None
    credits_balance: float | None = None
    limit_reached: str | None = None
    reset_credits_available: int | None = None
    # When these were true, where that is not the status's own time (as Bucket's).
    observed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        obj = {key: value for key, value in self.__dict__.items() if value is not None}
        if self.observed_at is not None:
            obj["observed_at"] = format_time(self.observed_at)
        return obj

    @classmethod
    def from_json(cls, obj: Any) -> Extras:
        if not isinstance(obj, dict):
            raise ValueError("extras is not an object")
        ratio = _optional(obj, "extra_usage_used_ratio", float)
        if ratio is not None and ratio < 0:
            raise ValueError("extra_usage_used_ratio is negative")
        currency = obj.get("currency")
        reason = obj.get("limit_reached")
        return cls(
            extra_usage_enabled=_optional(obj, "extra_usage_enabled", bool),
            extra_usage_used_ratio=ratio,
            extra_usage_monthly_limit=_optional(obj, "extra_usage_monthly_limit", float),
            extra_usage_spent=_optional(obj, "extra_usage_spent", float),
            currency=currency if isinstance(currency, str) and _CURRENCY.match(currency) else None,
            has_credits=_optional(obj, "has_credits", bool),
            credits_unlimited=_optional(obj, "credits_unlimited", bool),
            credits_balance=_optional(obj, "credits_balance", float),
            limit_reached=reason if isinstance(reason, str) and _REASON.match(reason) else None,
            reset_credits_available=_optional(obj, "reset_credits_available", int),
            observed_at=_time_field(obj["observed_at"], "extras observed_at")
            if obj.get("observed_at") is not None
            else None,
        )


def limit_reason(value: Any) -> str | None:
    """A vendor's limit-reached reason as a label value; None when absent or not plain."""
    if not isinstance(value, str):
        return None
    reason = value.strip().lower()
    return reason if _REASON.match(reason) else None


@frozen
class Status:
    """A status tool's answer: the plan's windows, and whatever else its vendor reports."""

    source_tool: str
    observed_at: datetime
    origin: str
    windows: tuple[Window, ...]
    plan: str | None = None
    # A pseudonymous id of the vendor login (sources/account.py), when the tool knows it.
    account: str | None = None
    buckets: tuple[Bucket, ...] = ()
    extras: Extras | None = None
    spend: tuple[SpendLimit, ...] = ()
    # The tool's newest activity on this host (its logs' newest write), when known: usage
    # that rises without it is evidence (evidence.py).
    local_activity_at: datetime | None = None
    # "estimated" when the numbers are a status tool's own estimate, not the vendor's.
    confidence: str = OFFICIAL

    def as_of(self, now: datetime) -> Status:
        return replace(
            self,
            windows=tuple(w.as_of(now, self.observed_at) for w in self.windows),
            buckets=tuple(
                replace(b, window=b.window.as_of(now, b.observed_at or self.observed_at))
                for b in self.buckets
            ),
            spend=tuple(s.as_of(now, self.observed_at) for s in self.spend),
        )

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "source_tool": self.source_tool,
            "observed_at": format_time(self.observed_at),
            "origin": self.origin,
        }
        if self.plan is not None:
            obj["plan"] = self.plan
        if self.account is not None:
            obj["account"] = self.account
        obj["windows"] = {w.name: w.to_json() for w in self.windows}
        if self.buckets:
            obj["buckets"] = [b.to_json() for b in self.buckets]
        if self.extras is not None and self.extras.to_json():
            obj["extras"] = self.extras.to_json()
        if self.spend:
            obj["spend"] = [s.to_json() for s in self.spend]
        if self.local_activity_at is not None:
            obj["local_activity_at"] = format_time(self.local_activity_at)
        if self.confidence != OFFICIAL:
            obj["confidence"] = self.confidence
        return obj

    @classmethod
    def from_json(cls, obj: Any, expected_source: str | None = None) -> Status:
        if not isinstance(obj, dict):
            raise ValueError("status is not a JSON object")
        source = obj.get("source_tool")
        if not valid_tool(source):
            raise ValueError(f"source_tool {quote(source)} is not a tool's name ({TOOL_NAME_RULE})")
        if expected_source is not None and source != expected_source:
            raise ValueError(f"status is for {source}, expected {expected_source}")
        origin = obj.get("origin")
        if not isinstance(origin, str) or not _ORIGIN.match(origin):
            raise ValueError(f"bad origin {quote(origin)}")
        plan = obj.get("plan")
        if plan is not None and not isinstance(plan, str):
            raise ValueError("plan is not a string")
        # A plan that is not a plain name is dropped, not fatal: the numbers are still good.
        plan = plan_label(plan) if plan else None
        account = obj.get("account")
        windows = obj.get("windows")
        spend = obj.get("spend", [])
        if not isinstance(spend, list):
            raise ValueError("spend is not a list")
        # A spend-controlled account may have no usage window at all, only its spend limit.
        if not isinstance(windows, dict) or not (windows or spend):
            raise ValueError("status has no windows")
        buckets = obj.get("buckets", [])
        if not isinstance(buckets, list):
            raise ValueError("buckets is not a list")
        extras = obj.get("extras")
        activity = obj.get("local_activity_at")
        confidence = obj.get("confidence", OFFICIAL)
        if confidence not in CONFIDENCES:
            raise ValueError(
                f"confidence {quote(confidence)} is not one of {', '.join(CONFIDENCES)}"
            )
        return cls(
            source_tool=source,
            observed_at=_time_field(obj.get("observed_at"), "observed_at"),
            origin=origin,
            plan=plan,
            windows=tuple(Window.from_json(name, w) for name, w in sorted(windows.items())),
            account=account if isinstance(account, str) and _ACCOUNT.match(account) else None,
            buckets=tuple(Bucket.from_json(b) for b in buckets),
            extras=Extras.from_json(extras) if extras is not None else None,
            spend=tuple(SpendLimit.from_json(s) for s in spend),
            local_activity_at=_time_field(activity, "local_activity_at") if activity else None,
            confidence=confidence,
        )


def _time_field(value: Any, what: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ValueError(f"{what} {quote(value)}: {exc}") from None


def parse_status_output(text: str | bytes, expected_source: str) -> Status:
    """What a status tool printed, as a Status; ValueError says what is wrong with it."""
    try:
        obj = strict_loads(text.decode() if isinstance(text, bytes) else text)
    except UnicodeDecodeError:
        raise ValueError("output is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"output is not JSON ({exc.msg} at line {exc.lineno})") from None
    return Status.from_json(obj, expected_source)
