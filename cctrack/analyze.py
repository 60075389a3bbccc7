"""Analyze: fold the new records into per-tool state, then say what it means now.

The arithmetic (usage, pace, resets) is pure and takes `now` as a parameter; reading the
store and writing files happen only in `analyze()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import store
from cctrack.errors import CctrackError
from cctrack.records import (
    SOURCE_TOOLS,
    Record,
    Window,
    format_time,
    has_record_envelope,
    parse_time,
    strict_loads,
)
from cctrack.settings import Settings

STATE_FILE = "analyze-state.json"
ANALYZE_LOCK = ".analyze.lock"
STATE_VERSION = 1
# Early in a window a few percent used would read as an absurd pace; below this share of
# the window elapsed, pace is measured as if this much had elapsed.
MIN_ELAPSED_SHARE = 0.02


def elapsed_share(window_seconds: int, resets_at: datetime, at: datetime) -> float:
    """How much of the window has passed at `at`, in 0..1 (clamped against clock skew)."""
    started = resets_at.timestamp() - window_seconds
    share = (at.timestamp() - started) / window_seconds
    return min(1.0, max(0.0, share))


def pace_ratio(window: Window, at: datetime) -> float | None:
    """Used share over elapsed share: above 1, the limit runs out before the reset.

    None when the window's reset or length is unknown; never NaN or infinite.
    """
    if window.resets_at is None or not window.window_seconds:
        return None
    elapsed = max(MIN_ELAPSED_SHARE, elapsed_share(window.window_seconds, window.resets_at, at))
    return window.used_ratio / elapsed


def _seq_no(obj: dict[str, Any]) -> int:
    return obj["seq_no"]


@dataclass
class ToolState:
    """What the records so far say about one tool; latest means highest seq_no, since the
    wall clock may have moved backwards between captures."""

    ok_count: int = 0
    error_count: int = 0
    last_seq: int = 0
    last_timestamp: datetime | None = None
    last_error: str | None = None
    last_success: Record | None = None

    @property
    def up(self) -> bool:
        return self.last_error is None and self.last_success is not None and self.last_success.seq_no == self.last_seq

    def fold(self, records: list[dict[str, Any]]) -> int:
        """Count records (raw objects with a valid envelope) and keep the latest, newest first.

        Only a record that would become the latest is parsed in full, which is what makes a
        replay of a year of records take about a second. Returns how many of those turned
        out invalid (they are then not counted).
        """
        invalid = 0
        need_last = need_success = True
        for obj in sorted(records, key=_seq_no, reverse=True):
            seq, ok = obj["seq_no"], obj["ok"]
            wants_last = need_last and seq > self.last_seq
            wants_success = need_success and ok and (self.last_success is None or seq > self.last_success.seq_no)
            if wants_last or wants_success:
                try:
                    record = Record.from_json(obj)
                except ValueError:
                    invalid += 1
                    continue
                if wants_last:
                    self.last_seq, self.last_timestamp, self.last_error = seq, record.timestamp, record.error
                    need_last = False
                if wants_success:
                    self.last_success = record
                    need_success = False
            if ok:
                self.ok_count += 1
            else:
                self.error_count += 1
        return invalid

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok_count,
            "error": self.error_count,
            "last_seq": self.last_seq,
            "last_timestamp": format_time(self.last_timestamp, milliseconds=True) if self.last_timestamp else None,
            "last_error": self.last_error,
            "last_success": self.last_success.to_json() if self.last_success else None,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ToolState:
        success = obj["last_success"]
        return cls(
            ok_count=int(obj["ok"]),
            error_count=int(obj["error"]),
            last_seq=int(obj["last_seq"]),
            last_timestamp=parse_time(obj["last_timestamp"]) if obj["last_timestamp"] else None,
            last_error=obj["last_error"],
            last_success=Record.from_json(success) if success else None,
        )


@dataclass
class State:
    tools: dict[str, ToolState] = field(default_factory=dict)
    invalid_lines: int = 0
    torn_fragments: int = 0
    marks: dict[str, store.FileMark] = field(default_factory=dict)
    analyzed_at: datetime | None = None

    def add_lines(self, lines: list[bytes]) -> None:
        """Fold lines of a day file: records, and lines counted as torn (not whole JSON, as a
        crash mid-write leaves) or invalid (JSON, but not a record this version understands)."""
        by_tool: dict[str, list[dict[str, Any]]] = {}
        for line in lines:
            try:
                obj = strict_loads(line)
            except ValueError:  # includes UnicodeDecodeError
                self.torn_fragments += 1
                continue
            if has_record_envelope(obj):
                by_tool.setdefault(obj["source_tool"], []).append(obj)
            else:
                self.invalid_lines += 1
        for tool, records in by_tool.items():
            self.invalid_lines += self.tools.setdefault(tool, ToolState()).fold(records)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "analyzed_at": format_time(self.analyzed_at, milliseconds=True) if self.analyzed_at else None,
            "invalid_lines": self.invalid_lines,
            "torn_fragments": self.torn_fragments,
            "tools": {name: tool.to_json() for name, tool in sorted(self.tools.items())},
            "marks": {name: mark.to_json() for name, mark in sorted(self.marks.items())},
        }

    @classmethod
    def from_json(cls, obj: Any) -> State:
        """Raises ValueError (or KeyError/TypeError) on anything but a state this version wrote."""
        if not isinstance(obj, dict) or obj.get("v") != STATE_VERSION:
            raise ValueError("not a state file of this version")
        return cls(
            tools={name: ToolState.from_json(tool) for name, tool in obj["tools"].items() if name in SOURCE_TOOLS},
            invalid_lines=int(obj["invalid_lines"]),
            torn_fragments=int(obj["torn_fragments"]),
            marks={name: store.FileMark.from_json(mark) for name, mark in obj["marks"].items()},
            analyzed_at=parse_time(obj["analyzed_at"]) if obj["analyzed_at"] else None,
        )


@dataclass(frozen=True)
class WindowReport:
    name: str
    used_ratio: float
    pace_ratio: float | None
    window_seconds: int | None
    resets_at: datetime | None


@dataclass(frozen=True)
class ToolReport:
    tool: str
    up: bool
    ok_count: int
    error_count: int
    last_capture: datetime | None
    last_error: str | None
    last_success: datetime | None
    observed_at: datetime | None
    origin: str | None
    plan: str | None
    windows: tuple[WindowReport, ...]


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    tools: tuple[ToolReport, ...]
    invalid_lines: int
    torn_fragments: int


def tool_report(name: str, tool: ToolState, now: datetime) -> ToolReport:
    success = tool.last_success
    status = success.status.as_of(now) if success and success.status else None
    windows = tuple(
        # Pace is judged when the numbers were true, so stale data does not fake a slowdown.
        WindowReport(w.name, w.used_ratio, pace_ratio(w, status.observed_at), w.window_seconds, w.resets_at)
        for w in status.windows
    ) if status else ()
    return ToolReport(
        tool=name,
        up=tool.up,
        ok_count=tool.ok_count,
        error_count=tool.error_count,
        last_capture=tool.last_timestamp,
        last_error=tool.last_error,
        last_success=success.timestamp if success else None,
        observed_at=status.observed_at if status else None,
        origin=status.origin if status else None,
        plan=status.plan if status else None,
        windows=windows,
    )


def build_report(state: State, now: datetime, sources: tuple[str, ...] = SOURCE_TOOLS) -> Report:
    """What the state means at `now`: configured sources appear even before their first record."""
    names = sorted(set(state.tools) | set(sources))
    return Report(
        generated_at=now,
        tools=tuple(tool_report(name, state.tools.get(name, ToolState()), now) for name in names),
        invalid_lines=state.invalid_lines,
        torn_fragments=state.torn_fragments,
    )


@dataclass(frozen=True)
class Outcome:
    report: Report
    rebuilt: str | None
    textfile: Path


def load_state(data_dir: Path) -> tuple[State, str | None]:
    """The stored state, or an empty one and why analyze must replay every record."""
    try:
        obj = store.read_json(data_dir / STATE_FILE)
    except (OSError, ValueError) as exc:
        return State(), f"state file unreadable ({exc.__class__.__name__})"
    if obj is None:
        return State(), "no checkpoint yet"
    try:
        return State.from_json(obj), None
    except (ValueError, KeyError, TypeError, AttributeError):
        return State(), "checkpoint corrupt"


def read_into(state: State, data_dir: Path) -> State:
    state.marks = store.read_new_lines(data_dir, state.marks, state.add_lines)
    return state


def analyze(settings: Settings, now: datetime, rebuild: bool = False) -> Outcome:
    """Fold the records after the checkpoint, write the textfile, then advance the checkpoint.

    The state and checkpoint are one file written last, so a failure anywhere before leaves
    both the old textfile and the old checkpoint in place, and the next run redoes the work.
    """
    from cctrack import textfile  # prometheus_client is only needed here

    data_dir = store.ensure_private_dir(Path(settings.data_dir))
    target = textfile.prepare_dir(settings.textfile_dir, create=settings.textfile_dir_is_default)
    try:
        with store.locked(data_dir / ANALYZE_LOCK):
            state, reason = (State(), "--rebuild") if rebuild else load_state(data_dir)
            with store.locked(data_dir / store.STORE_LOCK):
                try:
                    state = read_into(state, data_dir)
                except store.RewrittenBelowCheckpoint as exc:
                    reason = f"{exc} changed below the checkpoint"
                    state = read_into(State(), data_dir)
            state.analyzed_at = now
            report = build_report(state, now, settings.sources)
            path = textfile.write(target, report)
            store.write_atomic(data_dir / STATE_FILE, json.dumps(state.to_json(), separators=(",", ":")).encode())
    except OSError as exc:
        raise CctrackError(f"cannot analyze {data_dir}: {exc.strerror} ({exc.filename or 'write'}); "
                           "the checkpoint is left where it was") from None
    return Outcome(report, reason, path)


def log_line(outcome: Outcome) -> str:
    tools = ", ".join(f"{t.tool} {'up' if t.up else 'down'}" for t in outcome.report.tools)
    rebuilt = f"; replayed all records: {outcome.rebuilt}" if outcome.rebuilt else ""
    return f"cctrack analyze: {tools} -> {outcome.textfile}{rebuilt}"
