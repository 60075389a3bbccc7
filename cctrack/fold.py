"""Where a fold of the day files starts: the checkpoint when it can go on, else the base
(base.py) with the day files still kept folded on it, never the day files alone while a
base holds what retention took.

- A checkpoint lost, corrupt, or contradicted by a day file rewritten below its mark:
  everything is folded again from the base.
- A checkpoint whose rollup cannot go on (written before there was one, or a rollup file
  gone or shorter): its totals stay as they are; only the rollup is made again, from the
  base's rows and the day files.
- `--rebuild`: from the base.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from cctrack import base as basefile
from cctrack import rollup, store
from cctrack.checkpoint import ANALYZE_LOCK, Checkpoint, load
from cctrack.files import locked
from cctrack.model import mutable
from cctrack.rollup import Rollup
from cctrack.state import FoldRules, State
from cctrack.store import STORE_LOCK
from cctrack.tokens.projects import ProjectNaming

if TYPE_CHECKING:
    from cctrack.settings import Settings


def rules_of(settings: Settings) -> FoldRules:
    return FoldRules(
        settings.event_limits, ProjectNaming(settings.token_projects, settings.project_names)
    )


@mutable
class Folded:
    stored: Checkpoint
    read: store.ReadResult
    # Why the totals were folded again from the base (or from nothing), when they were.
    replayed: str | None = None
    # Why the rollup alone was made again, when it was.
    rollup_remade: str | None = None


def _feed(state: State, spill: rollup.Spill | None) -> Callable[[list[bytes]], None]:
    """What folds the day files' lines into the state: with a spill, the rollup rows the
    fold has finished with go there once a few days' are held, so a replay of years holds
    days of rows, not years."""
    if spill is None:
        return state.add_lines

    def add(lines: list[bytes]) -> None:
        state.add_lines(lines)
        if len(state.rollup.hours) + len(state.rollup.tokens) >= rollup.SPILL_ROWS:
            spill.write(state.rollup.drain(keep_latest=True))
            # The minutes of tokens a window may still need, as of the newest folded: as
            # analyze prunes them after each run, by a clock never behind that minute.
            for tokens in state.tokens.values():
                if tokens.minutes:
                    tokens.prune(datetime.fromtimestamp(max(tokens.minutes) * 60, timezone.utc))

    return add


def _from_base(
    data_dir: Path, rules: FoldRules, spill: rollup.Spill | None
) -> tuple[Checkpoint, store.ReadResult, str]:
    """The base with every day file kept folded on it (call with the store lock held); what
    it started from, for the log line."""
    base, why = basefile.load(data_dir)
    start = base.start() if base else Checkpoint()
    start.state.use(rules)
    note = "from the base" if base else f"from the day files alone: {why}"
    try:
        read = store.read_from_marks(data_dir, start.marks, _feed(start.state, spill))
    except store.RewrittenBelowCheckpoint as exc:
        if spill is not None:
            spill.reset()
        start = Checkpoint()
        start.state.use(rules)
        read = store.read_from_marks(data_dir, {}, _feed(start.state, spill))
        note = f"from the day files alone: {exc} changed below the base"
    return start, read, note


def fold(
    data_dir: Path,
    rules: FoldRules,
    rebuild: bool = False,
    reader: bool = False,
    spill: rollup.Spill | None = None,
) -> Folded:
    """The checkpoint with the records after it folded in, or what replaces it (above).
    Call with the analyze lock held; nothing is written but to the spill, where a replay
    puts the rollup rows it has finished with (reader: for one that only reads,
    files.locked)."""
    stored: Checkpoint | None
    stored, why = (None, "--rebuild") if rebuild else load(data_dir)
    if why is not None:
        stored = None
    with locked(data_dir / STORE_LOCK, reader):
        read = None
        if stored is not None:
            stored.state.use(rules)
            try:
                read = store.read_from_marks(data_dir, stored.marks, stored.state.add_lines)
            except store.RewrittenBelowCheckpoint as exc:
                stored, why = None, f"{exc} changed below the checkpoint"
        if stored is None or read is None:
            start, read, note = _from_base(data_dir, rules, spill)
            return Folded(start, read, replayed=f"{why}; folded {note}")
        damage = (
            "the checkpoint was written before the report's rollup"
            if stored.rollup_files is None
            else rollup.damage(data_dir, stored.rollup_files)
        )
        if damage is None:
            return Folded(stored, read)
        # The totals stand; the rows are made again as a replay would make them.
        again, _, note = _from_base(data_dir, rules, spill)
        stored.state.rollup, stored.state.cycles = again.state.rollup, again.state.cycles
        stored.rollup_files = {}
        return Folded(stored, read, rollup_remade=f"{damage}; made again {note}")


def replay(data_dir: Path, rules: FoldRules, kinds: str = rollup.ALL_ROWS) -> tuple[State, Rollup]:
    """What analyze has folded and would fold next, without writing anything: the
    checkpoint's state with the records after it folded in, and every rollup row (those
    written, those held, those the new records make), merged; of the files, only the rows
    of `kinds` (rollup.read)."""
    if not data_dir.is_dir():
        return State(rules=rules), Rollup()
    with locked(data_dir / ANALYZE_LOCK, reader=True):
        folded = fold(data_dir, rules, reader=True)
        held = rollup.read(data_dir, folded.stored.rollup_files or {}, kinds)
    state = folded.stored.state
    wanted = tuple(rollup.ROW_TYPES[kind] for kind in kinds)
    for row in state.rollup.drain(keep_latest=False):
        if isinstance(row, wanted):
            held.keep(row)
    return state, held
