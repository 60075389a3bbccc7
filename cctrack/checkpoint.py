"""How far analyze has read: the marks of the day files (store.FileMark) and the sizes of
the rollup files, kept with the folded state in one file, written last."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cctrack import rollup, store
from cctrack.evidence import Limits
from cctrack.files import locked, read_json, write_atomic
from cctrack.rollup import Rollup
from cctrack.state import State
from cctrack.store import STORE_LOCK, FileMark

STATE_FILE = "analyze-state.json"
STATE_VERSION = 1
ANALYZE_LOCK = ".analyze.lock"


@dataclass
class Checkpoint:
    """The folded state and the marks it was folded up to: one file, written last."""

    state: State = field(default_factory=State)
    marks: dict[str, FileMark] = field(default_factory=dict)
    # The rollup files' sizes: None in a checkpoint written before there was a rollup.
    rollup_files: dict[str, int] | None = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            **self.state.to_json(),
            "marks": {name: mark.to_json() for name, mark in sorted(self.marks.items())},
            "rollup_files": dict(sorted((self.rollup_files or {}).items())),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Checkpoint:
        if not isinstance(obj, dict) or obj.get("v") != STATE_VERSION:
            raise ValueError("not a state file of this version")
        files = obj.get("rollup_files")
        if files is not None and not all(
            rollup.ROLLUP_FILE.match(name) and type(size) is int and size >= 0
            for name, size in files.items()
        ):
            raise ValueError("bad rollup sizes")
        return cls(
            State.from_json(obj),
            {name: FileMark.from_json(mark) for name, mark in obj["marks"].items()},
            files,
        )


def load(data_dir: Path) -> tuple[Checkpoint, str | None]:
    """The stored checkpoint, or an empty one and why every record must be replayed."""
    try:
        obj = read_json(data_dir / STATE_FILE)
    except (OSError, ValueError) as exc:
        return Checkpoint(), f"state file unreadable ({exc.__class__.__name__})"
    if obj is None:
        return Checkpoint(), "no checkpoint yet"
    try:
        return Checkpoint.from_json(obj), None
    except (ValueError, KeyError, TypeError, AttributeError):
        return Checkpoint(), "checkpoint corrupt"


def load_to_fold(data_dir: Path) -> tuple[Checkpoint, str | None]:
    """The checkpoint to fold new records on, or an empty one and why every record must be
    replayed: also when the rollup cannot go on from it (written before there was one, or
    a file gone or shorter). Those who only read the state (`show`, the desk) use load."""
    stored, reason = load(data_dir)
    if reason is not None:
        return stored, reason
    if stored.rollup_files is None:
        return Checkpoint(), "the checkpoint was written before the report's rollup"
    damage = rollup.damage(data_dir, stored.rollup_files)
    if damage:
        return Checkpoint(), damage
    return stored, None


def save(data_dir: Path, checkpoint: Checkpoint) -> None:
    data = orjson.dumps(checkpoint.to_json())
    write_atomic(data_dir / STATE_FILE, data)


def fold_new_lines(data_dir: Path, stored: Checkpoint, limits: Limits) -> store.ReadResult:
    """Fold the lines after the marks into the stored state, with these event thresholds;
    call with the analyze lock held. A day file changed below its mark starts it all over."""
    stored.state.limits = limits
    with locked(data_dir / STORE_LOCK):
        try:
            return store.read_from_marks(data_dir, stored.marks, stored.state.add_lines)
        except store.RewrittenBelowCheckpoint as exc:
            fresh = Checkpoint()
            stored.state, stored.marks, stored.rollup_files = fresh.state, {}, {}
            stored.state.limits = limits
            read = store.read_from_marks(data_dir, {}, stored.state.add_lines)
            return store.ReadResult(
                read.marks, read.unreadable, f"{exc} changed below the checkpoint"
            )


def replay(data_dir: Path, limits: Limits) -> tuple[State, Rollup]:
    """What analyze has folded and would fold next, without writing anything: the
    checkpoint's state with the records after it folded in, and every rollup row (those
    written, those held, those the new records make), merged."""
    if not data_dir.is_dir():
        return State(limits=limits), Rollup()
    with locked(data_dir / ANALYZE_LOCK):
        stored, _ = load_to_fold(data_dir)
        held = rollup.read(data_dir, stored.rollup_files or {})
        read = fold_new_lines(data_dir, stored, limits)
        if read.restarted:
            held = Rollup()
    for row in stored.state.rollup.drain(keep_latest=False):
        held.keep(row)
    return stored.state, held
