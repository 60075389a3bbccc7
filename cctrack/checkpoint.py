"""How far analyze has read: the marks of the day files (store.FileMark), kept with the
folded state in one file, written last."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cctrack.files import read_json, write_atomic
from cctrack.state import State
from cctrack.store import FileMark

STATE_FILE = "analyze-state.json"
STATE_VERSION = 1


@dataclass
class Checkpoint:
    """The folded state and the marks it was folded up to: one file, written last."""

    state: State = field(default_factory=State)
    marks: dict[str, FileMark] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            **self.state.to_json(),
            "marks": {name: mark.to_json() for name, mark in sorted(self.marks.items())},
        }

    @classmethod
    def from_json(cls, obj: Any) -> Checkpoint:
        if not isinstance(obj, dict) or obj.get("v") != STATE_VERSION:
            raise ValueError("not a state file of this version")
        return cls(
            State.from_json(obj),
            {name: FileMark.from_json(mark) for name, mark in obj["marks"].items()},
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


def save(data_dir: Path, checkpoint: Checkpoint) -> None:
    data = orjson.dumps(checkpoint.to_json())
    write_atomic(data_dir / STATE_FILE, data)
