"""Claude windows as last seen from one origin, kept in the data directory between runs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack.files import private_dir, read_json, write_atomic
from cctrack.model import frozen
from cctrack.status import DEFAULT_PROFILE, Bucket, Extras, SpendLimit, Status, Window, is_number
from cctrack.timefmt import format_precise, format_time, from_unix, parse_time

FIVE_HOURS = 5 * 3600
WEEK = 7 * 86400


@frozen
class SavedWindows:
    """Claude's numbers as the status line last saved them."""

    observed_at: datetime
    windows: tuple[Window, ...]
    buckets: tuple[Bucket, ...] = ()
    extras: Extras | None = None
    spend: tuple[SpendLimit, ...] = ()
    # When each window's (and spend limit's) numbers were true, by name, where renders of
    # several terminals were merged; observed_at is the newest of them.
    times: tuple[tuple[str, datetime], ...] = ()
    # The account (sources/account.py) logged in when the numbers arrived, when known.
    account: str | None = None

    def time_of(self, name: str) -> datetime:
        return dict(self.times).get(name, self.observed_at)

    def status(self, origin: str, plan: str | None, now: datetime) -> Status:
        """The numbers at `now`, each window and spend limit rolled over by its own time:
        one true before its reset is not the current number because a later render of
        another window came after that reset."""
        windows = tuple(w.as_of(now, self.time_of(w.name)) for w in self.windows)
        spend = tuple(s.as_of(now, self.time_of(s.name)) for s in self.spend)
        status = Status("claude", self.observed_at, origin, windows, plan)
        return replace(status, buckets=self.buckets, extras=self.extras, spend=spend).as_of(now)

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "observed_at": format_time(self.observed_at),
            "windows": {w.name: w.to_json() for w in self.windows},
        }
        if self.buckets:
            obj["buckets"] = [b.to_json() for b in self.buckets]
        if self.extras is not None:
            obj["extras"] = self.extras.to_json()
        if self.spend:
            obj["spend"] = [s.to_json() for s in self.spend]
        if self.times:
            obj["times"] = {name: format_precise(at) for name, at in self.times}
        if self.account is not None:
            obj["account"] = self.account
        return obj

    @classmethod
    def from_json(cls, obj: Any) -> SavedWindows:
        return cls(
            parse_time(obj["observed_at"]),
            tuple(Window.from_json(n, w) for n, w in obj["windows"].items()),
            tuple(Bucket.from_json(b) for b in obj.get("buckets", [])),
            Extras.from_json(obj["extras"]) if obj.get("extras") is not None else None,
            tuple(SpendLimit.from_json(s) for s in obj.get("spend", [])),
            tuple((str(n), parse_time(t)) for n, t in sorted(obj.get("times", {}).items())),
            obj["account"] if isinstance(obj.get("account"), str) else None,
        )


def profile_file(data_dir: Path, base: str, profile: str) -> Path:
    """A snapshot file of one profile: `base.json` for the default profile, `base-NAME.json`."""
    return data_dir / (f"{base}.json" if profile == DEFAULT_PROFILE else f"{base}-{profile}.json")


def load_saved(path: Path) -> SavedWindows | None:
    try:
        obj = read_json(path)
        return SavedWindows.from_json(obj) if obj else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged cache is as good as none: the next good answer replaces it


def save_json(path: Path, obj: Any, durable: bool = True) -> None:
    private_dir(path.parent)
    write_atomic(path, json.dumps(obj).encode(), durable=durable)


def reset_time(value: Any) -> datetime | None:
    """A reset time as Claude Code gives it: Unix seconds, or an ISO 8601 string; None for
    anything else (0, negative, absurd, unparseable)."""
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            return None
    if not is_number(value) or not 0 < value < 1e11:
        return None
    return from_unix(value)
