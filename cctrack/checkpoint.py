"""How far analyze has read: the marks of the day files (store.FileMark) and the sizes of
the rollup files, kept with the folded state in one file, written last. Where a fold
starts when it cannot go on from here: fold.py."""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path
from typing import Any

import orjson

from cctrack import rollup
from cctrack.errors import CctrackError
from cctrack.files import give_back, read_json, user_name, write_atomic
from cctrack.model import mutable
from cctrack.state import State
from cctrack.store import FileMark

STATE_FILE = "analyze-state.json"
STATE_VERSION = 1
ANALYZE_LOCK = ".analyze.lock"


@mutable
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


def foreign_file(path: Path) -> str:
    """What to do about a file of analyze's that this user may not read: another user's
    run (root's, a `sudo` without `-u`) left it. Folding from less would make totals fall."""
    try:
        owner = user_name(os.stat(path, follow_symlinks=False).st_uid)
    except OSError:
        owner = "another user"
    return (
        f"cannot read {path}: it belongs to {owner}, not to {user_name(os.geteuid())} (a run "
        f"as another user left it); {give_back(path.parent)} gives the data directory back, "
        "and nothing is folded again until then"
    )


def load(data_dir: Path) -> tuple[Checkpoint, str | None]:
    """The stored checkpoint, or an empty one and why every record must be replayed. One
    this user may not read is an error to fix, never a reason to replay."""
    path = data_dir / STATE_FILE
    try:
        obj = read_json(path)
    except PermissionError:
        raise CctrackError(foreign_file(path)) from None
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
