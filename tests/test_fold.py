"""fold.py: where a fold starts, and what it says about it, in each case of its docstring;
the event limits handed to whatever state it folds on."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from builders import append_lines, working_days
from conftest import Env

from cctrack import checkpoint, fold, store
from cctrack.state import FoldRules
from cctrack.thresholds import Limits

RULES = FoldRules(Limits(reset_move=timedelta(minutes=9), drop=0.02, jump=0.2, rise=0.03))


@pytest.fixture
def analysed(env: Env) -> Env:
    """Days of records analysed with a retention that has taken the oldest into the base,
    then the last day appended after the checkpoint."""
    lines = working_days(env.root, 4)
    days = sorted({name for name, _ in lines})
    append_lines(env.data_dir, [item for item in lines if item[0] != days[-1]])
    env.vars["CCTRACK_RETENTION_DAYS"] = "2"
    done = env.run("analyze")
    assert done.returncode == 0, done.stderr
    append_lines(env.data_dir, [item for item in lines if item[0] == days[-1]])
    return env


def captures(folded: fold.Folded) -> int:
    return sum(t.ok_count + t.error_count for t in folded.stored.state.tools.values())


def test_a_whole_checkpoint_goes_on_with_the_records_after_it(analysed: Env) -> None:
    saved, _ = checkpoint.load(analysed.data_dir)
    folded = fold.fold(analysed.data_dir, RULES)
    assert folded.replayed is None and folded.rollup_remade is None
    assert folded.stored.marks == saved.marks  # the marks read from, before they move on
    assert folded.read.marks != saved.marks
    assert folded.stored.state.rules == RULES
    assert captures(folded) > sum(t.ok_count + t.error_count for t in saved.state.tools.values())


def test_a_lost_corrupt_or_refused_checkpoint_folds_everything_again(analysed: Env) -> None:
    whole = captures(fold.fold(analysed.data_dir, RULES))
    rebuilt = fold.fold(analysed.data_dir, RULES, rebuild=True)
    assert rebuilt.replayed == "--rebuild; folded from the base"
    assert captures(rebuilt) == whole and rebuilt.stored.state.rules == RULES
    state = analysed.data_dir / checkpoint.STATE_FILE
    state.write_bytes(b"{")
    corrupt = fold.fold(analysed.data_dir, RULES)
    assert corrupt.replayed == "state file unreadable (JSONDecodeError); folded from the base"
    assert captures(corrupt) == whole and corrupt.stored.state.rules == RULES
    (analysed.data_dir / "analyze-base.json").unlink()
    state.unlink()
    alone = fold.fold(analysed.data_dir, RULES)
    assert alone.replayed == "no checkpoint yet; folded from the day files alone: no base yet"
    # What retention took is gone with the base: the day files kept alone (the carry, in
    # the textfile, keeps the counters from falling).
    assert 0 < captures(alone) < whole and alone.stored.state.rules == RULES


def _rewrite_first_line(data_dir: Path) -> None:
    first = store.list_day_files(data_dir).names[0]
    path = data_dir / first
    text = path.read_bytes()
    path.write_bytes(text.replace(b'"hostname":"', b'"hostname":"X', 1))


def test_a_day_file_rewritten_below_the_checkpoint_folds_it_again(analysed: Env) -> None:
    whole = captures(fold.fold(analysed.data_dir, RULES))
    _rewrite_first_line(analysed.data_dir)
    again = fold.fold(analysed.data_dir, RULES)
    name = store.list_day_files(analysed.data_dir).names[0]
    assert again.replayed is not None
    assert again.replayed.startswith(f"{name} changed below the checkpoint; folded from ")
    assert captures(again) == whole and again.stored.state.rules == RULES


def test_a_day_file_rewritten_below_the_base_folds_the_day_files_alone(analysed: Env) -> None:
    """A base whose marks the day files contradict is not folded on: the day files are,
    from nothing."""
    (analysed.data_dir / "analyze-base.json").unlink()
    done = analysed.run("analyze")  # the base is copied from the checkpoint: every mark
    assert "the base was copied from the checkpoint" in done.stderr, done.stderr
    _rewrite_first_line(analysed.data_dir)
    rebuilt = fold.fold(analysed.data_dir, RULES, rebuild=True)
    name = store.list_day_files(analysed.data_dir).names[0]
    assert rebuilt.replayed == (
        f"--rebuild; folded from the day files alone: {name} changed below the base"
    )
    assert rebuilt.stored.state.rules == RULES and captures(rebuilt) > 0


def test_a_rollup_that_cannot_go_on_is_made_again_and_the_totals_stand(analysed: Env) -> None:
    whole = fold.fold(analysed.data_dir, RULES)
    totals = captures(whole)
    rollups = sorted(analysed.data_dir.glob("rollup-*.jsonl"))
    assert rollups
    rollups[0].write_bytes(rollups[0].read_bytes()[:10])
    remade = fold.fold(analysed.data_dir, RULES)
    assert remade.replayed is None
    assert remade.rollup_remade == (
        f"{rollups[0].name} is shorter than analyze left it; made again from the base"
    )
    assert remade.stored.rollup_files == {}
    assert remade.read.marks == whole.read.marks
    assert captures(remade) == totals and remade.stored.state.rules == RULES
    assert remade.stored.state.cycles == whole.stored.state.cycles
    # A checkpoint written before there was a rollup at all.
    state = analysed.data_dir / checkpoint.STATE_FILE
    written = json.loads(state.read_bytes())
    del written["rollup_files"]
    state.write_text(json.dumps(written))
    old = fold.fold(analysed.data_dir, RULES)
    assert old.rollup_remade == (
        "the checkpoint was written before the report's rollup; made again from the base"
    )
    assert captures(old) == totals


def test_a_replay_reads_every_row_written_held_and_to_come(analysed: Env, tmp_path: Path) -> None:
    """What the report and `cycles` start from: the rows in the rollup files, the rows the
    checkpoint holds (the newest hour still filling) and those the records after it make,
    as many as a fold of everything from the base makes."""
    state, held = fold.replay(analysed.data_dir, RULES)
    everything = fold.fold(analysed.data_dir, RULES, rebuild=True).stored.state
    assert held.hours.keys() == everything.rollup.hours.keys()
    assert held.tokens.keys() == everything.rollup.tokens.keys()
    assert len(held.hours) > 24 and state.rules == RULES
    nothing_yet, none = fold.replay(tmp_path / "no such directory", RULES)
    assert nothing_yet.rules == RULES and not nothing_yet.tools and not none.hours
