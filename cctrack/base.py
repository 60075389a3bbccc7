"""The base: the history retention has taken from the data directory, folded, so that no
replay starts from less than the totals were counted from (docs/records.md, "What each
file holds").

`analyze-base.json` holds a checkpoint (a state and the marks it was folded up to, as
`analyze-state.json` does) and the rollup rows that its records made in the months still
kept. Analyze writes it

- before retention removes a day file, with that file folded in first;
- as a copy of the checkpoint and of the rollup's rows whenever it does not reach the day
  files still kept: on the first run (empty then, when the history is whole), after an
  upgrade from a release without it, after a release that removed day files without it,
  or when it is lost or damaged.

Every replay (a checkpoint lost, corrupt or older than the rollup, a rollup file damaged,
`--rebuild`) folds the day files on from it, so the checkpoint can always be made again
from the base and the day files. Its first line carries a checksum of the rest: a base
that is not whole is never folded on, it is written again from the checkpoint.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import field
from datetime import datetime
from pathlib import Path

import orjson

from cctrack import rollup, store
from cctrack.checkpoint import Checkpoint, foreign_file
from cctrack.errors import CctrackError
from cctrack.files import read_small, write_atomic
from cctrack.model import mutable
from cctrack.retention import month_kept
from cctrack.rollup import Row, row_from_json
from cctrack.state import FoldRules

BASE_FILE = "analyze-base.json"
BASE_VERSION = 1
# A year of a busy user's rollup rows is a few megabytes; the base holds a month's or so.
MAX_BASE = 512 << 20


@mutable
class Base:
    """What the records no longer in the day files (or, after a copy of the checkpoint, the
    records up to its marks) add up to."""

    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    # The rollup rows those records made, in the months retention still keeps.
    rows: list[Row] = field(default_factory=list)
    # The highest seq_no folded in: the day files kept must go on from it.
    seq: int = 0

    def start(self) -> Checkpoint:
        """The checkpoint to fold the day files on, its rows held to be written again (the
        rollup files are written anew from it). Use once: it is the base's own state."""
        stored = self.checkpoint
        for row in self.rows:
            stored.state.rollup.keep(row)
        self.rows = []
        stored.rollup_files = {}
        return stored

    def encode(self) -> bytes:
        body = orjson.dumps(
            {
                "seq": self.seq,
                "checkpoint": self.checkpoint.to_json(),
                "rows": [row.to_json() for row in self.rows],
            }
        )
        head = orjson.dumps({"v": BASE_VERSION, "size": len(body), "blake2b": _digest(body)})
        return head + b"\n" + body + b"\n"

    @classmethod
    def decode(cls, data: bytes) -> Base:
        """Raises ValueError for anything but a whole base of this version."""
        head_line, _, rest = data.partition(b"\n")
        head = orjson.loads(head_line)
        if not isinstance(head, dict) or head.get("v") != BASE_VERSION:
            raise ValueError("not a base of this version")
        body = rest[:-1] if rest.endswith(b"\n") else rest
        if len(body) != head.get("size"):
            raise ValueError("not whole")
        if _digest(body) != head.get("blake2b"):
            raise ValueError("its checksum does not match")
        obj = orjson.loads(body)
        seq = obj["seq"]
        if type(seq) is not int or seq < 0:
            raise ValueError("bad seq")
        return cls(
            Checkpoint.from_json(obj["checkpoint"]), list(map(row_from_json, obj["rows"])), seq
        )


def _digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def load(data_dir: Path) -> tuple[Base | None, str | None]:
    """The base, or None and why there is none to fold on. A base this user may not read
    is an error to fix, never a reason to fold from less."""
    path = data_dir / BASE_FILE
    try:
        data = read_small(path, MAX_BASE)
    except PermissionError:
        raise CctrackError(foreign_file(path)) from None
    except OSError as exc:
        return None, f"{BASE_FILE} unreadable ({exc.strerror})"
    except ValueError:
        return None, f"{BASE_FILE} is not a base"
    if data is None:
        return None, "no base yet"
    try:
        return Base.decode(data), None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"{BASE_FILE} is damaged ({exc})"


def save(data_dir: Path, base: Base) -> None:
    write_atomic(data_dir / BASE_FILE, base.encode())


def kept_rows(rows: list[Row], before: datetime | None) -> list[Row]:
    """The rows of the months retention keeps."""
    return [row for row in rows if month_kept(row.month, before)]


def reaches(base: Base, data_dir: Path, day_files: tuple[str, ...]) -> bool:
    """Does the base go on into the oldest day file kept (it folded that file, or the
    file's first record comes right after the base's last)? If not, records between the
    two were removed without being folded into it."""
    if not day_files:
        return True
    oldest = day_files[0]
    if oldest in base.checkpoint.marks:
        return True
    # A file with no record it can read yet (first seq_no 0) leaves nothing between.
    return store.first_seq_in_file(data_dir / oldest) <= base.seq + 1


def copy_of(data_dir: Path, stored: Checkpoint, before: datetime | None) -> Base:
    """A base that is the checkpoint as saved, with every row the rollup files hold: what
    is kept when the base does not reach the day files (the rows then exist nowhere else
    once their day files go)."""
    copy = Checkpoint.from_json(orjson.loads(orjson.dumps(stored.to_json())))
    held = rollup.read(data_dir, stored.rollup_files or {})
    rows: list[Row] = [*held.hours.values(), *held.tokens.values(), *held.cycles]
    seq = max([0, *(tool.last_seq for tool in stored.state.tools.values())])
    for name, mark in stored.marks.items():
        path = data_dir / name
        if mark.offset == _size(path):
            seq = max(seq, store.last_seq_in_file(path))
    copy.rollup_files = {}
    return Base(copy, kept_rows(rows, before), seq)


def _size(path: Path) -> int:
    try:
        return os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return -1


def advance(
    data_dir: Path,
    base: Base,
    retiring: list[str],
    rules: FoldRules,
    clock: datetime,
    before: datetime | None,
) -> Base:
    """The base with the day files about to be removed folded in (from where it left each),
    oldest first as analyze folded them. Call with the store lock held."""
    stored = base.checkpoint
    stored.state.use(rules)
    read = store.read_from_marks(data_dir, stored.marks, stored.state.add_lines, set(retiring))
    present = set(store.list_day_files(data_dir).names)
    stored.marks = {n: m for n, m in stored.marks.items() if n in present} | read.marks
    # Pruned as of the end of the newest day going, not of now: a window that closes in a
    # day file kept still counts its tokens from before it, as it did when analyzed.
    end = max(day for name in retiring if (day := store.day_end(name)))
    for tokens in stored.state.tokens.values():
        tokens.prune(min(clock, end))
    rows = base.rows + stored.state.rollup.drain(keep_latest=True)
    seq = max([base.seq, *(store.last_seq_in_file(data_dir / name) for name in retiring)])
    return Base(stored, kept_rows(rows, before), seq)


def keep(
    data_dir: Path,
    stored: Checkpoint,
    retiring: list[str],
    rules: FoldRules,
    clock: datetime,
    before: datetime | None,
) -> str | None:
    """Write the base when the day files about to go must be folded into it first, or when
    it does not reach the day files kept; call after the checkpoint is saved, with the
    store lock held, before any day file is removed. Why it was written anew, when it was."""
    base, why = load(data_dir)
    names = store.list_day_files(data_dir).names
    if base is not None and not reaches(base, data_dir, names):
        base, why = None, "it did not reach the oldest day file"
    if base is None:
        fresh = not names or store.first_seq_in_file(data_dir / names[0]) <= 1
        if why == "no base yet" and fresh:
            base = Base()
            if not retiring:
                save(data_dir, base)
        else:
            save(data_dir, copy_of(data_dir, stored, before))
            return f"the base was copied from the checkpoint: {why}"
    if retiring:
        try:
            save(data_dir, advance(data_dir, base, retiring, rules, clock, before))
        except store.RewrittenBelowCheckpoint as exc:
            # The file going is not what the base read of it: the checkpoint, which has
            # read it whole as it is, becomes the base.
            save(data_dir, copy_of(data_dir, stored, before))
            return f"the base was copied from the checkpoint: {exc} changed below the base"
    return None
