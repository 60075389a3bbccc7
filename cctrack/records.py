"""The records: the lines of a day file (docs/records.md), a capture of one tool (Record,
with the status.py status it got) and what a scan of a tool's logs counted (TokenRecord),
each starting with the envelope every record has.

Everything here is pure: parsing, validation and serialisation, no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import field
from datetime import datetime
from typing import Any

import orjson

from cctrack.model import frozen
from cctrack.status import DEFAULT_PROFILE, MAX_COUNT, Status, valid_tool
from cctrack.timefmt import format_time, parse_time

RECORD_VERSION = 1
# Sequence numbers stay within a signed 64-bit integer, which every JSON reader keeps exact;
# a larger one (a damaged counter) is not a record's and must not outrank every later one.
MAX_SEQ = (1 << 63) - 1
_PROFILE = re.compile(r"^[a-z0-9_-]{1,32}\Z")


def _envelope(record: Record | TokenRecord, ok: bool) -> dict[str, Any]:
    """The fields every record starts with (has_record_envelope)."""
    obj: dict[str, Any] = {
        "v": record.v,
        "seq_no": record.seq_no,
        "timestamp": format_time(record.timestamp, milliseconds=True),
        "hostname": record.hostname,
        "source_tool": record.source_tool,
        "ok": ok,
    }
    if record.profile != DEFAULT_PROFILE:
        obj["profile"] = record.profile
    return obj


@frozen
class Record:
    """One capture of one tool, as a line of a day file: its status, or why there is none."""

    seq_no: int
    timestamp: datetime
    hostname: str
    source_tool: str
    ok: bool
    status: Status | None = None
    error: str | None = None
    profile: str = DEFAULT_PROFILE
    v: int = field(default=RECORD_VERSION)

    def to_json(self) -> dict[str, Any]:
        obj = _envelope(self, self.ok)
        if self.status is not None:
            obj.update(self.status.to_json())
        if self.error is not None:
            obj["error"] = self.error
        return obj

    def to_line(self) -> bytes:
        return (json.dumps(self.to_json(), separators=(",", ":"), allow_nan=False) + "\n").encode()

    @classmethod
    def from_json(cls, obj: Any) -> Record:
        if not has_record_envelope(obj):
            raise ValueError("not a cctrack record of this version")
        ok = obj["ok"]
        error = obj.get("error")
        if error is not None and not isinstance(error, str):
            raise ValueError("error is not a string")
        return cls(
            seq_no=obj["seq_no"],
            timestamp=parse_time(obj["timestamp"]),
            hostname=obj["hostname"],
            source_tool=obj["source_tool"],
            ok=ok,
            status=Status.from_json(obj, obj["source_tool"]) if ok else None,
            error=error,
            profile=record_profile(obj),
        )


_MODEL = re.compile(r"^[A-Za-z0-9_.:@/+-]{1,100}\Z")
_EPOCH_ID = re.compile(r"^[0-9a-f]{16}\Z")
TOKEN_KIND = "tokens"
# (minute since the epoch, model, change of each of the tool's four token types)
TokenRow = tuple[int, str, int, int, int, int]
# (minute, project, model, counts…): a project is the session's working directory.
ProjectRow = tuple[Any, ...]


def model_label(value: str) -> str | None:
    """A model name from a tool's log as a label value; None when it is not a plain name."""
    return value if _MODEL.match(value) else None


# What each count of a token row is, by tool (docs/tokens.md). Codex's `input` is its input
# without the cached part and without the cache writes (Codex >= 0.145 writes
# `cache_write_input_tokens`, a part of `input_tokens`), as ccusage 20.0.24 reports it;
# `cache_write` came last, so rows written before it have four counts and none of it.
CLAUDE_TYPES = ("input", "output", "cache_creation", "cache_read")
CODEX_TYPES = ("input", "cached_input", "output", "reasoning_output", "cache_write")
TOKEN_TYPES = {"claude": CLAUDE_TYPES, "codex": CODEX_TYPES}


@frozen
class TokenRecord:
    """Tokens one scan of a tool's logs found (scan.py): per minute and model, the change to
    each type's count, negative where a larger copy of a message replaced the one counted.

    `store` names the scan store that counted them and (`scan`, `part`) orders its records:
    a record appended twice after a crash is folded once, and a new store (its file was
    removed) starts the counts again instead of adding the logs a second time.
    """

    seq_no: int
    timestamp: datetime
    hostname: str
    source_tool: str
    store: str
    scan: int
    part: int
    rows: tuple[TokenRow, ...]
    profile: str = DEFAULT_PROFILE
    v: int = field(default=RECORD_VERSION)
    # The same counts per project as well, when projects are counted (token_projects).
    projects: tuple[ProjectRow, ...] = ()

    def to_json(self) -> dict[str, Any]:
        obj = _envelope(self, True)
        obj["kind"] = TOKEN_KIND
        obj["scan"] = [self.store, self.scan, self.part]
        obj["tokens"] = [list(row) for row in self.rows]
        if self.projects:
            obj["projects"] = [list(row) for row in self.projects]
        return obj

    def to_line(self) -> bytes:
        return orjson.dumps(self.to_json()) + b"\n"

    @classmethod
    def from_json(cls, obj: Any, numbered: bool = True) -> TokenRecord:
        """Raises ValueError on anything but a token record of this version; one not
        `numbered` is still to be appended (seq_no 0)."""
        if not numbered and isinstance(obj, dict) and obj.get("seq_no") == 0:
            obj = {**obj, "seq_no": MAX_SEQ}
        if not has_record_envelope(obj) or obj.get("kind") != TOKEN_KIND:
            raise ValueError("not a token record")
        store, scan, part = obj["scan"]
        if not isinstance(store, str) or not _EPOCH_ID.match(store):
            raise ValueError("bad scan store id")
        if not all(type(n) is int and 0 <= n <= MAX_SEQ for n in (scan, part)):
            raise ValueError("bad scan number")
        types = TOKEN_TYPES.get(obj["source_tool"])
        if types is None:
            raise ValueError("not a tool with token counts")
        rows = []
        for row in obj["tokens"]:
            minute, model, *counts = row
            checked = _token_counts(minute, model, counts, types)
            if checked is not None:
                rows.append((minute, model, *checked))
        projects = []
        for row in obj.get("projects", ()):
            minute, project, model, *counts = row
            if not isinstance(project, str) or len(project) > MAX_PROJECT:
                raise ValueError("bad project")
            checked = _token_counts(minute, model, counts, types)
            if checked is not None:
                projects.append((minute, project, model, *checked))
        return cls(
            seq_no=obj["seq_no"] if numbered else 0,
            timestamp=parse_time(obj["timestamp"]),
            hostname=obj["hostname"],
            source_tool=obj["source_tool"],
            store=store,
            scan=scan,
            part=part,
            rows=tuple(rows),
            profile=record_profile(obj),
            projects=tuple(projects),
        )


# A working directory longer than this is no project name anyone reads.
MAX_PROJECT = 4096


def _token_counts(
    minute: Any, model: Any, counts: list[Any], types: tuple[str, ...]
) -> list[int] | None:
    """A row's counts, checked (ValueError for a row that is not one); None for one past
    the bound, which is refused alone: the record's other rows still count."""
    if len(counts) == 4 < len(types):
        counts = [*counts, 0]  # written before the later types were counted apart
    if type(minute) is not int or not 0 <= minute < 1 << 40 or len(counts) != len(types):
        raise ValueError("bad token row")
    if not isinstance(model, str) or model_label(model) is None:
        raise ValueError("bad model name")
    if not all(type(n) is int and abs(n) <= MAX_COUNT for n in counts):
        return None
    return counts


def record_profile(obj: dict[str, Any]) -> str:
    """The profile a record belongs to; records without one are the default profile's."""
    profile = obj.get("profile", DEFAULT_PROFILE)
    return profile if isinstance(profile, str) else DEFAULT_PROFILE


def has_record_envelope(obj: Any) -> bool:
    """The fields every record has, checked without parsing times or windows: enough to
    count a record, which is all analyze does with most of them."""
    return (
        type(obj) is dict
        and type(obj.get("v")) is int
        and obj["v"] == RECORD_VERSION
        and type(obj.get("seq_no")) is int
        and 1 <= obj["seq_no"] <= MAX_SEQ
        and valid_tool(obj.get("source_tool"))
        and type(obj.get("ok")) is bool
        and type(obj.get("timestamp")) is str
        and type(obj.get("hostname")) is str
        and (obj["ok"] or type(obj.get("error")) is str)
        and (
            "profile" not in obj
            or (type(obj["profile"]) is str and bool(_PROFILE.match(obj["profile"])))
        )
    )
