"""What the records so far say: per-tool counts and the latest records, folded line by line.

Pure: lines in, state out. The latest record is the one with the highest seq_no, since the
wall clock may have moved backwards between captures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any, TypeVar

from cctrack.cycles import CycleTracker
from cctrack.evidence import (
    Counts,
    Evidence,
    LimitEvent,
    Point,
    SeriesKey,
    key_from_text,
    key_to_text,
    points_of,
)
from cctrack.model import frozen, mutable
from cctrack.records import (
    MAX_SEQ,
    TOKEN_KIND,
    TOKEN_TYPES,
    Record,
    TokenRecord,
    has_record_envelope,
    record_profile,
)
from cctrack.rollup import CycleRow, Rollup
from cctrack.status import DEFAULT_PROFILE, MAX_COUNT, bounded, is_number, strict_loads, valid_tool
from cctrack.thresholds import Limits
from cctrack.timefmt import format_time, parse_time
from cctrack.tokens.projects import (
    NO_PROJECT,
    NO_PROJECTS,
    OTHER,
    OTHER_PROJECTS,
    ProjectNaming,
    chosen,
    month_of,
    month_start,
)
from cctrack.tokens.rules import window_measure

# Minutes of token use kept for window totals and today's: a weekly window and a day more.
TOKEN_MINUTES_KEPT = 8 * 24 * 60

# (profile, tool): the state of one source of one profile.
ToolKey = tuple[str, str]
# (minute, model or None, project or None, tokens that count against a window)
Measured = tuple[int, str | None, str | None, int]
# How far back the snapshots for a window's recent slope reach (report.runs_out).
RECENT_SPAN = timedelta(hours=1)


@frozen
class FoldRules:
    """What the settings decide in a fold: when a change is an event (`event_*`), and how
    many projects have token series of their own and their names (`token_projects`,
    `project_names`)."""

    limits: Limits = field(default_factory=Limits)
    projects: ProjectNaming = NO_PROJECTS


def key_to_json(key: ToolKey) -> str:
    """ "codex" for the default profile (as state files always said), "work/codex" otherwise."""
    profile, tool = key
    return tool if profile == DEFAULT_PROFILE else f"{profile}/{tool}"


def key_from_json(text: str) -> ToolKey | None:
    profile, _, tool = text.rpartition("/")
    return (profile or DEFAULT_PROFILE, tool) if valid_tool(tool) else None


def _seq_no(obj: dict[str, Any]) -> int:
    seq: int = obj["seq_no"]
    return seq


def _evidence(obj: Any) -> Evidence:
    evidence = Evidence()
    for text, entry in obj.items():
        key = key_from_text(text)
        evidence.last[key] = Point.from_json(entry["last"])
        evidence.counts[key] = Counts.from_json(entry["counts"])
    return evidence


T = TypeVar("T")


def _by_key(obj: Any, parse: Callable[[Any], T]) -> dict[ToolKey, T]:
    """A {"profile/tool": entry} object of the state file, parsed; unknown tools dropped."""
    parsed = {}
    for name, entry in obj.items():
        key = key_from_json(name)
        if key is not None:
            parsed[key] = parse(entry)
    return parsed


def window_seconds(obj: dict[str, Any], window: str) -> int | None:
    """A plan window's length in a raw ok record, when it says one."""
    windows = obj.get("windows")
    entry = windows.get(window) if isinstance(windows, dict) else None
    seconds = entry.get("window_seconds") if isinstance(entry, dict) else None
    return seconds if type(seconds) is int and seconds > 0 else None


def _count(value: Any) -> int:
    """A stored count: an integer from 0 up, anything else makes the state unreadable."""
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        raise ValueError("a count out of range")
    return value


@frozen
class WindowMemory:
    used_ratio: float
    pace_high: bool
    resets_at: datetime | None


@frozen
class ToolMemory:
    """What the last analysis said of one tool of one profile: notify.py's edges start here."""

    up: bool
    windows: dict[str, WindowMemory] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "up": self.up,
            "windows": {
                name: [w.used_ratio, w.pace_high, format_time(w.resets_at) if w.resets_at else None]
                for name, w in self.windows.items()
            },
        }

    @classmethod
    def from_json(cls, obj: Any) -> ToolMemory:
        windows = {}
        for name, (used, pace_high, resets) in obj["windows"].items():
            if not isinstance(used, (int, float)) or not isinstance(pace_high, bool):
                raise ValueError("bad notify memory")
            windows[name] = WindowMemory(
                float(used), pace_high, parse_time(resets) if resets else None
            )
        if not isinstance(obj["up"], bool):
            raise ValueError("bad notify memory")
        return cls(obj["up"], windows)


@mutable
class RecentUse:
    """One plan window's snapshots of the last RECENT_SPAN, as (Unix seconds observed, used
    share), oldest first: what the recent slope is measured on. Usage that falls (a reset,
    or the vendor taking usage back) starts it over."""

    points: list[tuple[float, float]] = field(default_factory=list)

    def add(self, point: Point) -> None:
        at = point.observed_at.timestamp()
        if self.points and at <= self.points[-1][0]:
            return
        if self.points and point.used_ratio < self.points[-1][1]:
            self.points.clear()
        self.points.append((at, point.used_ratio))
        oldest = at - RECENT_SPAN.total_seconds()
        while self.points[0][0] < oldest:
            self.points.pop(0)

    def to_json(self) -> list[list[float]]:
        return [[at, used] for at, used in self.points]

    @classmethod
    def from_json(cls, obj: Any) -> RecentUse:
        points = []
        for at, used in obj:
            if not (is_number(at) and is_number(used)):
                raise ValueError("bad recent use")
            points.append((float(at), float(used)))
        return cls(points)


@mutable
class ToolState:
    ok_count: int = 0
    error_count: int = 0
    last_seq: int = 0
    last_timestamp: datetime | None = None
    last_error: str | None = None
    last_success: Record | None = None

    @property
    def up(self) -> bool:
        return (
            self.last_error is None
            and self.last_success is not None
            and self.last_success.seq_no == self.last_seq
        )

    def fold(self, records: list[dict[str, Any]]) -> int:
        """Count records (raw objects with a valid envelope) and keep the latest, newest first.

        Only a record that would become the latest is parsed in full, which is what makes a
        replay of a year of records take about a second. Returns how many of those turned
        out invalid: they are not counted, and analyze says how many it skipped.
        """
        invalid = 0
        need_last = need_success = True
        for obj in sorted(records, key=_seq_no, reverse=True):
            seq, ok = obj["seq_no"], obj["ok"]
            wants_last = need_last and seq > self.last_seq
            wants_success = (
                need_success
                and ok
                and (self.last_success is None or seq > self.last_success.seq_no)
            )
            if wants_last or wants_success:
                try:
                    record = Record.from_json(obj)
                except ValueError:
                    invalid += 1
                    continue
                if wants_last:
                    self.last_seq, self.last_timestamp = seq, record.timestamp
                    self.last_error = record.error
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
            "last_timestamp": (
                format_time(self.last_timestamp, milliseconds=True) if self.last_timestamp else None
            ),
            "last_error": self.last_error,
            "last_success": self.last_success.to_json() if self.last_success else None,
        }

    @classmethod
    def from_json(cls, obj: Any) -> ToolState:
        success = obj["last_success"]
        error = obj["last_error"]
        if error is not None and not isinstance(error, str):
            raise ValueError("last_error is not a string")
        return cls(
            ok_count=_count(obj["ok"]),
            error_count=_count(obj["error"]),
            last_seq=_count(obj["last_seq"]),
            last_timestamp=parse_time(obj["last_timestamp"]) if obj["last_timestamp"] else None,
            last_error=error,
            last_success=Record.from_json(success) if success else None,
        )


@mutable
class TokenState:
    """The token records of one tool of one profile, folded: totals per model and type, and
    per minute (the recent ones) the tokens that count against a window (tokens.py)."""

    tool: str
    store: str = ""
    last: tuple[int, int] = (0, -1)
    totals: dict[tuple[str, str], int] = field(default_factory=dict)
    minutes: dict[int, int] = field(default_factory=dict)
    # With projects counted (token_projects): per (model, type, project) and per (minute,
    # project), a project being a working directory.
    project_totals: dict[tuple[str, str, str], int] = field(default_factory=dict)
    project_minutes: dict[tuple[int, str], int] = field(default_factory=dict)
    # The project label each token got when it was folded, per (model, type, label): a
    # directory in `kept`, OTHER_PROJECTS or NO_PROJECT. Labels never change afterwards, so
    # each labelled counter only rises and the set of series stays small: the directories
    # with series of their own are chosen once a month (projects.chosen), and
    # a free place goes to the next new directory (docs/tokens.md, "Projects").
    labels: dict[tuple[str, str, str], int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    # The month (month_of) the kept directories are for, and each directory's tokens in it.
    month: int = 0
    month_use: dict[str, int] = field(default_factory=dict)
    # Counted by a release without labels: labelled by `start_labels` before the next fold.
    unlabelled: bool = False
    # The first minute after `month`: when to choose the kept directories again.
    _until: int = field(default=0, repr=False, compare=False)

    def accept(self, record: TokenRecord) -> bool | None:
        """Whether to fold the record: False for one folded before (appended again after a
        crash); None when it comes from a new scan store, which counted the logs from the
        start, so that the counts so far must be dropped first."""
        fresh = record.store != self.store
        if fresh:
            self.store, self.last = record.store, (0, -1)
        if (record.scan, record.part) <= self.last:
            return False
        self.last = (record.scan, record.part)
        return None if fresh else True

    def fold(self, record: TokenRecord, slots: int = 0) -> list[Measured]:
        """Fold the record (unless it was folded before), with up to `slots` projects
        labelled apart; what it adds that counts against a window, per minute and model or
        project."""
        accepted = self.accept(record)
        if accepted is False:
            return []
        if accepted is None:
            self.totals, self.minutes = {}, {}
            self.project_totals, self.project_minutes = {}, {}
            self.labels, self.kept, self.month, self.month_use = {}, [], 0, {}
            self._until = 0
        types = TOKEN_TYPES[self.tool]
        added: list[Measured] = []
        for minute, model, *counts in record.rows:
            for kind, count in zip(types, counts, strict=True):
                if count:
                    self.totals[(model, kind)] = bounded(self.totals.get((model, kind), 0) + count)
            measured = window_measure(self.tool, counts)
            if measured:
                self.minutes[minute] = bounded(self.minutes.get(minute, 0) + measured)
                added.append((minute, model, None, measured))
        for minute, project, model, *counts in record.projects:
            label = self.label(minute, project, sum(counts), slots)
            for kind, count in zip(types, counts, strict=True):
                if count:
                    key = (model, kind, project)
                    self.project_totals[key] = bounded(self.project_totals.get(key, 0) + count)
                    where = (model, kind, label)
                    self.labels[where] = bounded(self.labels.get(where, 0) + count)
            measured = window_measure(self.tool, counts)
            if measured:
                at = (minute, project)
                self.project_minutes[at] = bounded(self.project_minutes.get(at, 0) + measured)
                added.append((minute, None, project, measured))
        return added

    def label(self, minute: int, project: str, count: int, slots: int) -> str:
        """The label of a project's tokens of a minute: the directory itself when it has a
        series of its own, else OTHER_PROJECTS (NO_PROJECT without a directory). A minute of a
        later month than the kept directories are for first chooses them anew by the month
        before (projects.chosen). A minute of an earlier month (a log found late) takes
        the labels as they are."""
        if not self._until:
            self._until = month_start(self.month + 1) if self.month else -1
        month = month_of(minute) if minute >= self._until else self.month
        if month > self.month:
            self._until = month_start(month + 1)
            # A month without a project's tokens (or labels from a release without places)
            # has nothing to choose by: the places stay.
            if self.month_use:
                self.kept = chosen(self.kept, self.month_use, slots)
            self.month, self.month_use = month, {}
        if project == NO_PROJECT:
            return NO_PROJECT
        self.month_use[project] = bounded(self.month_use.get(project, 0) + count)
        if project not in self.kept and len(self.kept) < slots:
            self.kept.append(project)
        return project if project in self.kept else OTHER_PROJECTS

    def start_labels(self, naming: ProjectNaming) -> None:
        """Labels for what a release without them counted, as that release exported it
        (ProjectNaming.grouped over the counts so far): the directories of the `cap`
        largest names under their own labels, the rest under OTHER_PROJECTS; the kept
        directories are theirs, largest first."""
        lifetime: dict[str, int] = {}
        for (_, _, cwd), count in self.project_totals.items():
            lifetime[cwd] = bounded(lifetime.get(cwd, 0) + count)
        grouped = naming.grouped(lifetime)
        kept = {cwd for cwd, name in grouped.items() if cwd != NO_PROJECT and name != OTHER}
        self.labels = {}
        for (model, kind, cwd), count in self.project_totals.items():
            label = cwd if cwd in kept or cwd == NO_PROJECT else OTHER_PROJECTS
            self.labels[(model, kind, label)] = bounded(
                self.labels.get((model, kind, label), 0) + count
            )
        self.kept = sorted(kept, key=lambda cwd: (-lifetime[cwd], cwd))
        self.unlabelled = False

    def prune(self, now: datetime) -> None:
        oldest = int(now.timestamp()) // 60 - TOKEN_MINUTES_KEPT
        self.minutes = {m: n for m, n in self.minutes.items() if m >= oldest}
        self.project_minutes = {k: n for k, n in self.project_minutes.items() if k[0] >= oldest}

    def projects_since(self, start: datetime) -> dict[str, int]:
        """Tokens per project (working directory) from the minute that holds start on."""
        first = int(start.timestamp()) // 60
        found: dict[str, int] = {}
        for (minute, project), count in self.project_minutes.items():
            if minute >= first:
                found[project] = bounded(found.get(project, 0) + count)
        return found

    def since(self, start: datetime) -> int:
        """Tokens from the minute that holds start on."""
        first = int(start.timestamp()) // 60
        return bounded(sum(n for m, n in self.minutes.items() if m >= first))

    def between(self, start: datetime, end: datetime) -> int:
        """Tokens from the minute that holds start to the one before the minute that holds
        end: looked up minute by minute when that is fewer than the minutes held (a replay
        holds a year of them, and closes a window every few hours)."""
        first, last = int(start.timestamp()) // 60, int(end.timestamp()) // 60
        if last - first < len(self.minutes):
            return bounded(sum(map(self.minutes.get, range(first, last), repeat(0))))
        return bounded(sum(n for m, n in self.minutes.items() if first <= m < last))

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "store": self.store,
            "last": list(self.last),
            "totals": [[m, k, n] for (m, k), n in sorted(self.totals.items())],
            "minutes": [[m, n] for m, n in sorted(self.minutes.items())],
            **(
                {
                    "project_totals": [[*k, n] for k, n in sorted(self.project_totals.items())],
                    "project_minutes": [[*k, n] for k, n in sorted(self.project_minutes.items())],
                    "project_labels": [[*k, n] for k, n in sorted(self.labels.items())],
                    "kept_projects": self.kept,
                    "project_month": [self.month, sorted(self.month_use.items())],
                }
                if self.project_totals or self.project_minutes
                else {}
            ),
        }

    @classmethod
    def from_json(cls, obj: Any) -> TokenState:
        scan, part = obj["last"]
        month, use = obj.get("project_month", (0, ()))
        if obj["tool"] not in TOKEN_TYPES or not isinstance(obj["store"], str):
            raise ValueError("bad token state")
        return cls(
            tool=obj["tool"],
            store=obj["store"],
            last=(int(scan), int(part)),
            totals={(str(m), str(k)): int(n) for m, k, n in obj["totals"]},
            minutes={int(m): int(n) for m, n in obj["minutes"]},
            project_totals={
                (str(m), str(k), str(p)): int(n) for m, k, p, n in obj.get("project_totals", [])
            },
            project_minutes={
                (int(m), str(p)): int(n) for m, p, n in obj.get("project_minutes", [])
            },
            labels={
                (str(m), str(k), str(p)): int(n) for m, k, p, n in obj.get("project_labels", [])
            },
            kept=[str(cwd) for cwd in obj.get("kept_projects", [])],
            month=int(month),
            month_use={str(cwd): int(n) for cwd, n in use},
            unlabelled="project_totals" in obj and "project_labels" not in obj,
        )


@mutable
class State:
    tools: dict[ToolKey, ToolState] = field(default_factory=dict)
    invalid_lines: int = 0
    torn_fragments: int = 0
    analyzed_at: datetime | None = None
    # The time retention and pruning went by on the latest run (analyze.data_clock).
    data_clock: datetime | None = None
    notify_memory: dict[ToolKey, ToolMemory] = field(default_factory=dict)
    evidence: Evidence = field(default_factory=Evidence)
    tokens: dict[ToolKey, TokenState] = field(default_factory=dict)
    unpriced_named: set[str] = field(default_factory=set)
    # Per (profile, tool, window, ""): the plan windows' recent snapshots.
    recent: dict[SeriesKey, RecentUse] = field(default_factory=dict)
    cycles: dict[ToolKey, CycleTracker] = field(default_factory=dict)
    # What the HTML report and `cctrack cycles` read, until analyze writes it out.
    rollup: Rollup = field(default_factory=Rollup)
    # What each counter carries so that none is exported below what it was last
    # (exposition.keep_rising), by its name and labels as written.
    carried: dict[str, float] = field(default_factory=dict)
    # Not stored: what the settings decide (use), and where `cctrack events` collects events.
    rules: FoldRules = field(default_factory=FoldRules)
    event_log: list[LimitEvent] | None = None

    def use(self, rules: FoldRules) -> State:
        """Fold what comes next by these rules; token counts of a release without project
        labels get theirs first."""
        self.rules = rules
        for tokens in self.tokens.values():
            if tokens.unlabelled:
                tokens.start_labels(rules.projects)
        return self

    def add_lines(self, lines: list[bytes]) -> None:
        """Fold lines of a day file: records, and lines counted as torn (not whole JSON, as a
        crash mid-write leaves) or invalid (JSON, but not a record this version understands)."""
        by_tool: dict[ToolKey, list[dict[str, Any]]] = {}
        for line in lines:
            try:
                obj = strict_loads(line)
            except ValueError:  # includes UnicodeDecodeError
                self.torn_fragments += 1
                continue
            if has_record_envelope(obj) and obj.get("kind") == TOKEN_KIND:
                self.add_tokens(obj)
            elif has_record_envelope(obj) and "kind" not in obj:
                by_tool.setdefault((record_profile(obj), obj["source_tool"]), []).append(obj)
            else:
                self.invalid_lines += 1
        for key, records in by_tool.items():
            self.invalid_lines += self.tools.setdefault(key, ToolState()).fold(records)
            self.add_evidence(key, records)

    def add_tokens(self, obj: dict[str, Any]) -> None:
        try:
            record = TokenRecord.from_json(obj)
        except (ValueError, TypeError, KeyError):
            self.invalid_lines += 1
            return
        key = (record.profile, record.source_tool)
        tokens = self.tokens.setdefault(key, TokenState(record.source_tool))
        added = tokens.fold(record, self.rules.projects.cap)
        where = (record.profile, record.source_tool, tokens.store)
        for minute, model, project, measured in added:
            self.rollup.add_tokens(where, minute, model, project, measured)

    def add_evidence(self, key: ToolKey, records: list[dict[str, Any]]) -> None:
        """Every successful record, in seq order, as points of its windows and buckets. A
        record whose observed_at is the previous one's repeats a snapshot: not parsed again."""
        profile, tool = key
        last_seen = None
        for obj in sorted(records, key=_seq_no):
            if not obj["ok"] or obj.get("observed_at") == last_seen:
                continue
            last_seen = obj.get("observed_at")
            plan = {}
            tracker = self.cycles.setdefault(key, CycleTracker())
            for window, bucket, point in points_of(obj):
                series = (profile, tool, window, bucket)
                kinds = self.evidence.add(series, point, self.rules.limits, self.event_log)
                if not bucket:
                    self.recent.setdefault(series, RecentUse()).add(point)
                    # The cycles take the evidence's word on a reset (not compared twice),
                    # and a window's length only where one begins.
                    reset = None if kinds is None else "reset" in kinds
                    begins = reset is not False or window not in tracker.open
                    plan[window] = (point, window_seconds(obj, window) if begins else None, reset)
                    if kinds is not None:
                        self.rollup.add_point((profile, tool, window), point, kinds)
            for cycle in tracker.add(plan):
                counted = self.tokens.get(key)
                # The tokens of the window as counted when it closed: those of its last
                # minutes that a later scan finds are not added.
                tokens = None
                if counted is not None and cycle.start is not None:
                    tokens = counted.between(cycle.start, cycle.reset)
                self.rollup.cycles.append(
                    CycleRow(cycle.row(profile, tool, tokens), cycle.reset.timestamp())
                )

    def to_json(self) -> dict[str, Any]:
        return {
            "analyzed_at": (
                format_time(self.analyzed_at, milliseconds=True) if self.analyzed_at else None
            ),
            "data_clock": format_time(self.data_clock, milliseconds=True)
            if self.data_clock
            else None,
            "invalid_lines": self.invalid_lines,
            "torn_fragments": self.torn_fragments,
            "tools": {key_to_json(key): tool.to_json() for key, tool in sorted(self.tools.items())},
            "evidence": {
                key_to_text(key): {
                    "last": point.to_json(),
                    "counts": self.evidence.counts.get(key, Counts()).to_json(),
                }
                for key, point in sorted(self.evidence.last.items())
            },
            "notify_memory": {
                key_to_json(key): memory.to_json()
                for key, memory in sorted(self.notify_memory.items())
            },
            "tokens": {
                key_to_json(key): tokens.to_json() for key, tokens in sorted(self.tokens.items())
            },
            "unpriced_named": sorted(self.unpriced_named),
            "recent": {
                key_to_text(key): recent.to_json() for key, recent in sorted(self.recent.items())
            },
            "cycles": {
                key_to_json(key): cycles.to_json() for key, cycles in sorted(self.cycles.items())
            },
            "rollup": self.rollup.to_json(),
            **({"carried": dict(sorted(self.carried.items()))} if self.carried else {}),
        }

    @classmethod
    def from_json(cls, obj: Any) -> State:
        """Raises ValueError (or KeyError/TypeError) on anything but a state this version wrote."""
        tools = {}
        for name, tool in obj["tools"].items():
            key = key_from_json(name)
            if key is not None:
                tools[key] = ToolState.from_json(tool)
        return cls(
            tools=tools,
            invalid_lines=_count(obj["invalid_lines"]),
            torn_fragments=_count(obj["torn_fragments"]),
            analyzed_at=parse_time(obj["analyzed_at"]) if obj["analyzed_at"] else None,
            data_clock=parse_time(obj["data_clock"]) if obj.get("data_clock") else None,
            notify_memory=_by_key(obj.get("notify_memory", {}), ToolMemory.from_json),
            evidence=_evidence(obj.get("evidence", {})),
            tokens=_by_key(obj.get("tokens", {}), TokenState.from_json),
            unpriced_named={str(name) for name in obj.get("unpriced_named", [])},
            recent={
                key_from_text(text): RecentUse.from_json(points)
                for text, points in obj.get("recent", {}).items()
            },
            cycles=_by_key(obj.get("cycles", {}), CycleTracker.from_json),
            rollup=Rollup.from_json(obj["rollup"]) if "rollup" in obj else Rollup(),
            carried={str(k): _carried(v) for k, v in obj.get("carried", {}).items()},
        )


def _carried(value: Any) -> float:
    if not is_number(value) or not 0 <= value <= float(MAX_COUNT):
        raise ValueError("a carried count out of range")
    return float(value)
