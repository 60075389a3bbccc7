"""Token usage in the tools' own logs, read the way ccusage 20 reads it, so that the two agree
to the token: Claude Code's transcripts (one line per assistant content block, usage in
`message.usage`) and Codex's rollouts (`token_count` events, model from `turn_context`).

Pure: a line in, an entry out; which entries count is `Deduplicator`'s, over slots the
scanner (scan.py) loads from and stores to disk. docs/tokens.md lists the rules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, NamedTuple, TypeGuard

import orjson

from cctrack.model import frozen, mutable
from cctrack.records import model_label

# Entries without a model (Claude's "<synthetic>" messages) are counted under this name.
UNKNOWN_MODEL = "unknown"
# Codex sessions that never name a model were gpt-5's, as ccusage assumes.
CODEX_FALLBACK_MODEL = "gpt-5"
MAX_TOKENS = 1 << 53
# A row's counts, in the order of records.TOKEN_TYPES for its tool.
Counts = tuple[int, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# ccusage's patterns, whose \d (JavaScript's) is ASCII only: Python's takes any script's.
_SEMVER_PREFIX = re.compile(r"^\d+\.\d+\.\d", re.ASCII)
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2})\Z", re.ASCII
)
_MILLISECOND = timedelta(milliseconds=1)
_SECOND = timedelta(seconds=1)
# ccusage reads a line only when it holds one of these as the tools write them, in compact
# JSON: Claude's `"usage": {`, or a rollout line written `"type": "event_msg"` with its
# payload's `"type": "token_count"`, is skipped there, and so here.
CLAUDE_LINE = b'"usage":{'
CODEX_EVENT_LINE = (b'"type":"event_msg"', b'"type":"token_count"')
CODEX_CONTEXT_LINE = b'"type":"turn_context"'
# ccusage skips a line in which one of these is null.
_NULLABLE_TOP = ("cwd", "version", "sessionId", "requestId", "isApiErrorMessage", "costUSD")
_NULLABLE_USAGE = ("speed", "cache_read_input_tokens", "cache_creation_input_tokens")
_ZEROS = (0,) * 8


def window_measure(tool: str, counts: Any) -> int:
    """The tokens of a row that count against a window, as ccusage's totalTokens: all four
    of Claude's types; Codex's input (uncached, cached and cache writes) and its output
    (reasoning is part of output)."""
    if tool == "claude":
        return int(sum(counts))
    return int(sum(counts) - counts[3])


def key64(text: str) -> int:
    """A stable 64-bit key (SQLite's signed integer) of a text."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@lru_cache(maxsize=8192)
def _second_of(prefix: str) -> int | None:
    try:
        moment = datetime.fromisoformat(prefix + "+00:00")
    except ValueError:
        return None
    return (moment - _EPOCH) // _SECOND


def epoch_ms(value: Any) -> int | None:
    """A time as ccusage takes it, in milliseconds: "YYYY-MM-DDTHH:MM:SS", optionally
    ".mmm", then "Z" or "+HH:MM"; None for anything else (ccusage skips those lines). The
    tools write UTC with milliseconds ("2026-11-20T10:00:00.000Z"), read without a
    datetime."""
    if not isinstance(value, str):
        return None
    if len(value) == 24 and value[-1] == "Z" and value[19] == ".":
        second = _second_of(value[:19])
        millis = value[20:23]
        if second is not None and millis.isascii() and millis.isdigit():
            return second * 1000 + int(millis)
    if not _RFC3339.match(value):
        return None
    try:
        # Python 3.10's fromisoformat does not take "Z".
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] == "Z" else value)
    except ValueError:
        return None
    return (moment - _EPOCH) // _MILLISECOND


@lru_cache(maxsize=1024)
def model_name(model: str) -> str:
    return model_label(model) or UNKNOWN_MODEL


def _is_count(value: Any) -> TypeGuard[int]:
    return type(value) is int and 0 <= value < MAX_TOKENS


class ClaudeEntry(NamedTuple):
    # Keys (key64) of the message id and the request id; an entry without a message id is
    # never a duplicate of anything.
    message: int | None
    request: int | None
    minute: int
    model: str
    counts: Counts
    sidechain: bool
    # The usage names a speed: of two equal copies, ccusage keeps the one that does.
    speed: bool
    # The session's working directory, when projects are counted (token_projects); "".
    project: str = ""

    def total(self) -> int:
        return sum(self.counts)


def _claude_counts(usage: dict[str, Any]) -> Counts | None:
    """(input, output, cache_creation, cache_read), or None when a count is not one."""
    input_tokens, output = usage.get("input_tokens"), usage.get("output_tokens")
    creation = usage.get("cache_creation_input_tokens", 0)
    read = usage.get("cache_read_input_tokens", 0)
    if not (_is_count(input_tokens) and _is_count(output) and _is_count(creation)):
        return None
    if not _is_count(read):
        return None
    breakdown = usage.get("cache_creation")
    if breakdown is not None:
        # The 5-minute and 1-hour cache writes, when given, are what was written.
        if type(breakdown) is not dict:
            return None
        five, hour = (
            breakdown.get("ephemeral_5m_input_tokens", 0),
            breakdown.get("ephemeral_1h_input_tokens", 0),
        )
        if not (_is_count(five) and _is_count(hour)):
            return None
        creation = five + hour
    return input_tokens, output, creation, read


def _nulls(obj: dict[str, Any], keys: tuple[str, ...]) -> bool:
    """One of keys is there, and null (absent keys read as 0 here)."""
    return None in map(obj.get, keys, _ZEROS)


def _plain_text(value: Any) -> bool:
    """Absent, or a non-empty string."""
    return value is None or (type(value) is str and value != "")


def claude_entry(line: bytes, projects: bool = False) -> ClaudeEntry | None:
    """The usage an assistant line reports, or None for any other line (and for lines
    ccusage skips: a null where it wants a value, an empty id, a version not x.y.z); with
    `projects`, the line's working directory as its project."""
    if CLAUDE_LINE not in line:
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict:
        return None
    cwd = obj.get("cwd") if projects else None
    message = obj.get("message")
    if type(message) is not dict or "usage" not in message:
        # A subagent's progress line carries the subagent's message one level down.
        data = obj.get("data")
        inner = data.get("message") if type(data) is dict else None
        if type(inner) is not dict or type(inner.get("message")) is not dict:
            return None
        obj, message = inner, inner["message"]
    usage = message.get("usage")
    if type(usage) is not dict or _nulls(obj, _NULLABLE_TOP) or _nulls(usage, _NULLABLE_USAGE):
        return None
    if _nulls(message, ("id", "model")):
        return None
    counts = _claude_counts(usage)
    when = epoch_ms(obj.get("timestamp"))
    speed = usage.get("speed")
    if counts is None or when is None or speed not in (None, "standard", "fast"):
        return None
    # Null ids and models were refused above: None here is absent.
    model, message_id = message.get("model"), message.get("id")
    request, version = obj.get("requestId"), obj.get("version")
    if not (_plain_text(model) and _plain_text(message_id)):
        return None
    if not (_plain_text(request) and _plain_text(obj.get("sessionId"))):
        return None
    if version is not None and (type(version) is not str or not _SEMVER_PREFIX.match(version)):
        return None
    sidechain = obj.get("isSidechain")
    if sidechain is not None and type(sidechain) is not bool:
        return None
    if not model or model == "<synthetic>":
        name = UNKNOWN_MODEL
    else:
        name = model_name(f"{model}-fast" if speed == "fast" else model)
    return ClaudeEntry(
        key64(message_id) if message_id else None,
        key64(request) if request else None,
        when // 60000,
        name,
        counts,
        sidechain is True,
        speed is not None,
        cwd if type(cwd) is str else "",
    )


def replaces(candidate: ClaudeEntry, existing: ClaudeEntry) -> bool:
    """Of two copies of one message, ccusage keeps the main chain's, then the larger, then
    the one that names its speed."""
    if candidate.sidechain != existing.sidechain:
        return existing.sidechain
    if candidate.total() != existing.total():
        return candidate.total() > existing.total()
    return candidate.speed and not existing.speed


def collapse(entries: list[ClaudeEntry]) -> list[ClaudeEntry]:
    """A file's copies of one message with one request id as the copy that would win,
    at the first copy's place: what feeding them one by one to a Deduplicator ends with,
    since `replaces` is a strict order, with fewer entries to feed. Done where a file is
    read, so that the reader (in parallel) does the work the deduplicator would."""
    kept: list[ClaudeEntry] = []
    where: dict[tuple[int, int | None], int] = {}
    for entry in entries:
        if entry.message is None:
            kept.append(entry)
            continue
        key = (entry.message, entry.request)
        index = where.get(key)
        if index is None:
            where[key] = len(kept)
            kept.append(entry)
        elif replaces(entry, kept[index]):
            kept[index] = entry
    return kept


@dataclass(slots=True)
class Slot:
    """A message counted once: the copy that counts. `row` is its place on disk (None when
    new) and `changed` says it must be stored."""

    entry: ClaudeEntry
    row: int | None = None
    changed: bool = True


@mutable
class Deduplicator:
    """ccusage's duplicate rule over the slots of the messages seen so far: a copy with the
    same message and request id, or a sidechain copy of the same message, is one message;
    which copy counts is `replaces`'. The caller loads the slots of the message ids it is
    about to feed (`load`), and stores the changed ones."""

    slots: dict[int, list[Slot]] = field(default_factory=dict)

    def load(self, message: int, slot: Slot) -> None:
        self.slots.setdefault(message, []).append(slot)

    def feed(self, entry: ClaudeEntry) -> tuple[ClaudeEntry | None, ClaudeEntry | None]:
        """(what stops counting, what starts counting) because of this entry."""
        if entry.message is None:
            return None, entry
        found = self.slots.get(entry.message, ())
        match = next((s for s in found if s.entry.request == entry.request), None)
        if match is None:
            match = next(
                (s for s in found if entry.sidechain or s.entry.sidechain),
                None,
            )
        if match is None:
            self.slots.setdefault(entry.message, []).append(Slot(entry))
            return None, entry
        if not replaces(entry, match.entry):
            return None, None
        old, match.entry, match.changed = match.entry, entry, True
        return old, entry

    def changed(self) -> Iterable[Slot]:
        return (slot for found in self.slots.values() for slot in found if slot.changed)


class CodexEntry(NamedTuple):
    key: int
    minute: int
    model: str
    counts: Counts
    # The turn's working directory (turn_context), when projects are counted; "".
    project: str = ""


@mutable
class CodexSession:
    """What one rollout has said so far that later lines depend on: the cumulative totals
    of its last token_count (for events that carry only those) and its current model.

    A sub-agent's rollout (its session_meta names `thread_spawn`) begins by replaying its
    parent's token history, every event stamped with the second the sub-agent was spawned.
    ccusage skips those events (keeping their totals as the baseline) when the first two
    token_count events share their second, and so does this. Until those two events are
    read, what such a session says is held, not counted: a scan may end between them."""

    previous: tuple[int, ...] | None = None
    model: str | None = None
    # A sub-agent session whose first two token_count events are not read yet.
    deciding: bool = False
    # The second of the first token_count event, while deciding.
    first_second: str | None = None
    # The lines held while deciding (parsed), in order.
    held: list[Any] = field(default_factory=list)
    # The replayed second, while the events stamped with it are skipped.
    replay: str | None = None
    # The working directory of the current turn (turn_context's cwd), the events' project
    # when projects are counted.
    cwd: str = ""

    def to_json(self) -> list[Any]:
        previous = list(self.previous) if self.previous else None
        if not (self.deciding or self.replay or self.cwd):
            return [previous, self.model]
        state = [previous, self.model, self.deciding, self.first_second, self.held, self.replay]
        return [*state, self.cwd] if self.cwd else state

    @classmethod
    def from_json(cls, obj: Any) -> CodexSession:
        previous, model, *replaying = obj
        cwd = replaying.pop() if len(replaying) == 5 else ""
        if not isinstance(cwd, str):
            raise ValueError("bad Codex session state")
        if previous is not None:
            if len(previous) == 5:
                previous = [*previous, 0]  # kept before cache writes were read
            if len(previous) != 6 or not all(type(n) is int and n >= 0 for n in previous):
                raise ValueError("bad Codex session state")
            previous = tuple(previous)
        if model is not None and not isinstance(model, str):
            raise ValueError("bad Codex session state")
        if not replaying:
            return cls(previous, model)
        deciding, first_second, held, replay = replaying
        if type(deciding) is not bool or type(held) is not list:
            raise ValueError("bad Codex session state")
        if not all(v is None or isinstance(v, str) for v in (first_second, replay)):
            raise ValueError("bad Codex session state")
        return cls(previous, model, deciding, first_second, held, replay, cwd)

    def feed(self, line: bytes) -> list[CodexEntry]:
        """The entries a line gives: none, one, or, when it ends a sub-agent session's
        wait, those of the lines held until then."""
        event = b'"token_count"' in line and any(mark in line for mark in CODEX_EVENT_LINE)
        if not event and CODEX_CONTEXT_LINE not in line:
            return []
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return []
        if type(obj) is not dict or type(obj.get("payload")) is not dict:
            return []
        if self.deciding:
            return self._decide(obj)
        entry = self._entry(obj)
        return [] if entry is None else [entry]

    def _decide(self, obj: dict[str, Any]) -> list[CodexEntry]:
        self.held.append(obj)
        if not _usage_event(obj):
            return []
        stamp = _session_stamp(obj.get("timestamp"))
        second = stamp[:19] if stamp is not None and len(stamp) >= 19 else None
        if self.first_second is None and second is not None:
            # The first such event: the second one decides.
            self.first_second = second
            return []
        replay = second if second is not None and second == self.first_second else None
        held, self.held, self.first_second, self.deciding = self.held, [], None, False
        self.replay = replay
        return [entry for o in held if (entry := self._entry(o)) is not None]

    def _entry(self, obj: dict[str, Any]) -> CodexEntry | None:
        payload = obj["payload"]
        if obj.get("type") == "turn_context":
            model = _model_of(payload)
            if model:
                self.model = model
            cwd = payload.get("cwd")
            if type(cwd) is str:
                self.cwd = cwd
            return None
        if not _token_count(obj):
            return None
        if self.replay is not None:
            stamp = _session_stamp(obj.get("timestamp"))
            if stamp is None:
                return None
            if stamp[:19] == self.replay:
                info = payload.get("info")
                total = _codex_usage(info.get("total_token_usage")) if type(info) is dict else None
                if total is not None:
                    self.previous = total
                return None
            self.replay = None
        when = _codex_time(obj.get("timestamp"))
        if when is None:
            return None
        info = payload.get("info")
        info = info if type(info) is dict else {}
        total = _codex_usage(info.get("total_token_usage"))
        raw = _codex_usage(info.get("last_token_usage"))
        if raw is None and total is not None:
            previous = self.previous or (0,) * len(total)
            raw = tuple(max(0, a - b) for a, b in zip(total, previous, strict=True))
        if total is not None:
            self.previous = total
        if raw is None or (not any(raw[:4]) and not raw[5]):
            return None
        model = _model_of(payload) or _model_of(info)
        if model:
            self.model = model
        elif not self.model:
            self.model = CODEX_FALLBACK_MODEL
        model = model_name(self.model)
        input_tokens, cached, output, reasoning, total_tokens, writes = raw
        cached = min(cached, input_tokens)
        writes = min(writes, input_tokens - cached)
        event = f"{when} {model} {input_tokens} {cached} {output} {reasoning} {total_tokens}"
        # Cache writes join the key only where there are some: events of older builds keep
        # the keys a store already knows them by.
        key = key64(f"{event} {writes}" if writes else event)
        # Input is counted without its cached part and its cache writes, as ccusage reports
        # it: then no two types overlap but reasoning, which is part of output.
        counts = (input_tokens - cached - writes, cached, output, reasoning, writes)
        return CodexEntry(key, when // 60000, model, counts, self.cwd)


def _codex_time(value: Any) -> int | None:
    """A Codex line's time in milliseconds: RFC 3339, or a number of seconds (milliseconds
    past 10^10), as ccusage reads it."""
    if type(value) is int and value >= 0:
        return _number_ms(value)
    return epoch_ms(value.strip() if isinstance(value, str) else value)


def _number_ms(value: int) -> int:
    """A Codex time given as a number, in milliseconds: seconds, or already milliseconds
    past 10^10, as ccusage reads it."""
    return value if value > 10_000_000_000 else value * 1000


def _token_count(obj: dict[str, Any]) -> bool:
    return obj.get("type") == "event_msg" and obj["payload"].get("type") == "token_count"


def _usage_event(obj: dict[str, Any]) -> bool:
    """A token_count event with usage and a time: what tells a sub-agent's replay."""
    info = obj["payload"].get("info")
    if not _token_count(obj) or type(info) is not dict:
        return False
    if not any(type(info.get(name)) is dict for name in ("last_token_usage", "total_token_usage")):
        return False
    return _session_stamp(obj.get("timestamp")) is not None


def _session_stamp(value: Any) -> str | None:
    """A Codex line's time as ccusage compares replayed events: the text, trimmed, or a
    number of seconds (milliseconds past 10^10) as UTC RFC 3339."""
    if type(value) is int and value >= 0:
        millis = _number_ms(value)
        try:
            moment = _EPOCH + timedelta(milliseconds=millis)
        except OverflowError:
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
    if isinstance(value, str):
        return value.strip() or None
    return None


def _model_of(obj: dict[str, Any]) -> str | None:
    for value in (obj.get("model"), obj.get("model_name")):
        if isinstance(value, str) and value:
            return value
    metadata = obj.get("metadata")
    if type(metadata) is dict and isinstance(metadata.get("model"), str):
        return metadata["model"] or None
    return None


def _first(obj: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = obj.get(key)
        if _is_count(value):
            return value
    return None


def _codex_usage(obj: Any) -> tuple[int, ...] | None:
    """(input, cached input, output, reasoning output, total, cache writes) under any of the
    names Codex builds have used; None when it is not an object."""
    if type(obj) is not dict:
        return None
    usual: tuple[Any, ...] = tuple(map(obj.get, _CODEX_USUAL))
    if all(map(_is_count, usual)) and (usual[4] or not any(usual[:4])):
        # The names every current build writes, all counts: what the search finds.
        writes = obj.get("cache_write_input_tokens", 0)
        return (*usual, writes if _is_count(writes) else 0)
    return _codex_usage_by_names(obj)


def _codex_usage_by_names(obj: dict[str, Any]) -> tuple[int, ...]:
    input_tokens, cached, output, reasoning = (_first(obj, *names) or 0 for names in _CODEX_NAMES)
    total = _first(obj, "total_tokens")
    if total is None or (total == 0 and input_tokens + output + reasoning):
        total = input_tokens + output + reasoning
    writes = _first(obj, "cache_write_input_tokens") or 0
    return input_tokens, cached, output, reasoning, total, writes


_CODEX_NAMES = (
    ("input_tokens", "prompt_tokens", "input"),
    ("cached_input_tokens", "cache_read_input_tokens", "cached_tokens"),
    ("output_tokens", "completion_tokens", "output"),
    ("reasoning_output_tokens", "reasoning_tokens"),
)
_CODEX_USUAL = (*(names[0] for names in _CODEX_NAMES), "total_tokens")


@frozen
class ScanResult:
    """What a scan of one tool's logs did, for capture's log line."""

    tool: str
    profile: str
    files_read: int
    bytes_read: int
    records: int

    def to_json(self) -> list[Any]:
        return [self.tool, self.profile, self.files_read, self.bytes_read, self.records]

    @classmethod
    def from_json(cls, obj: Any) -> ScanResult:
        tool, profile, files_read, bytes_read, records = obj
        return cls(str(tool), str(profile), int(files_read), int(bytes_read), int(records))
