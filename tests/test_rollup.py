"""rollup.py: what the HTML report draws, kept by analyze. Written exactly once whatever
the runs in between; the same as folding every record at once; cut back after a run that
died; replayed when it cannot be mended; gone with the retention."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from builders import append_lines, working_days
from conftest import Env

from cctrack import checkpoint, fold, rollup
from cctrack.rollup import HourRow, Rollup
from cctrack.state import FoldRules
from cctrack.tokens.projects import ProjectNaming
from cctrack.tokens.rules import window_measure
from cctrack.views.history import select_cycles
from cctrack.views.history import token_days as token_days_from_records
from cctrack.views.page import rollup_token_days

UTC = timezone.utc


def held(env: Env) -> Rollup:
    return fold.replay(env.data_dir, FoldRules())[1]


def test_runs_every_few_records_write_what_one_replay_of_them_all_writes(env: Env) -> None:
    lines = working_days(env.root, 7)
    chunks = 9
    for i in range(chunks):
        append_lines(env.data_dir, lines[i * len(lines) // chunks : (i + 1) * len(lines) // chunks])
        assert env.run("analyze").returncode == 0
    stepwise = held(env)
    files = sorted(p.name for p in env.data_dir.glob("rollup-*.jsonl"))
    assert env.run("analyze", "--rebuild").returncode == 0
    once = held(env)
    assert sorted(p.name for p in env.data_dir.glob("rollup-*.jsonl")) == files
    assert stepwise.hours == once.hours and stepwise.tokens == once.tokens
    assert select_cycles(stepwise.cycles, None, None, None) == select_cycles(
        once.cycles, None, None, None
    )
    # Worth comparing: windows closed with their tokens, events, and idle hours left out.
    assert len(once.cycles) >= 4 and all(c.row["tokens"] for c in once.cycles)
    assert sum(row.counts.get("reset", 0) for row in once.hours.values()) >= 4
    assert len(once.hours) < 4 * 7 * 24 / 2


def test_a_replay_spills_the_rows_it_has_finished_with_and_writes_what_it_would_have(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild holding a few dozen rows at a time (not weeks of them) writes rollup files
    whose rows, merged, are what a rebuild holding them all writes; the textfile is the same.
    A checkpoint lost replays the same way."""
    from test_base import counters

    from cctrack import rollup as rollup_module

    append_lines(env.data_dir, working_days(env.root, 14))
    assert env.run("analyze", "--rebuild").returncode == 0
    whole, totals = held(env), counters(env.textfile)
    spilled: list[int] = []
    write = rollup_module.Spill.write

    def counted(self: rollup_module.Spill, rows: list[rollup_module.Row]) -> None:
        spilled.append(len(rows))
        write(self, rows)

    monkeypatch.setattr(rollup_module, "SPILL_ROWS", 40)
    monkeypatch.setattr(rollup_module.Spill, "write", counted)
    assert env.run("analyze", "--rebuild").returncode == 0
    assert len(spilled) >= 5 and sum(spilled) > 5 * 40
    again = held(env)
    assert (again.hours, again.tokens) == (whole.hours, whole.tokens)
    assert sorted(map(repr, again.cycles)) == sorted(map(repr, whole.cycles))
    assert counters(env.textfile) == totals
    (env.data_dir / checkpoint.STATE_FILE).unlink()
    assert env.run("analyze").returncode == 0
    assert (held(env).hours, held(env).tokens) == (whole.hours, whole.tokens)
    assert counters(env.textfile) == totals
    # The spill is an unnamed file: nothing of it is left in the data directory.
    assert not [p for p in env.data_dir.iterdir() if "tmp" in p.name]


def test_the_tokens_per_day_are_the_token_records_per_day(env: Env) -> None:
    append_lines(env.data_dir, working_days(env.root, 7))
    assert env.run("analyze").returncode == 0
    state, kept = fold.replay(env.data_dir, FoldRules())
    expected: dict[str, dict[tuple[str, str], int]] = {}
    for day in token_days_from_records(env.data_dir, None, None):
        table = expected.setdefault(day.tool, {})
        table[(day.date, day.model)] = window_measure(day.tool, day.counts)
    assert rollup_token_days(kept, state, None, None) == expected
    assert len(expected["claude"]) >= 10  # five working days, two models
    # --since: from its local day on.
    since = datetime.now(UTC) - timedelta(days=1)
    first = since.astimezone().date().isoformat()
    recent = rollup_token_days(kept, state, since, "codex")
    assert recent == {"codex": {k: n for k, n in expected["codex"].items() if k[0] >= first}}


def test_projects_per_day_add_up_to_the_models_per_day(env: Env) -> None:
    env.write_token_logs()
    env.use_fixed_tools()
    env.vars["CCTRACK_TOKEN_PROJECTS"] = "1"
    assert env.run("run").returncode == 0
    state, kept = fold.replay(env.data_dir, FoldRules())
    by_model = rollup_token_days(kept, state, None, None)
    by_project = rollup_token_days(kept, state, None, None, ProjectNaming(1))
    for tool, days in by_model.items():
        assert sum(days.values()) == sum(by_project[tool].values()) > 0
    # One project named, the rest `other`.
    names = {name for _, name in by_project["claude"]}
    assert names <= {"project", "other"}


def test_what_a_run_that_died_appended_is_cut_and_never_read(env: Env) -> None:
    append_lines(env.data_dir, working_days(env.root, 7))
    assert env.run("analyze").returncode == 0
    before = held(env)
    newest = max(env.data_dir.glob("rollup-*.jsonl"))
    size = newest.stat().st_size
    stray = HourRow(("default", "codex", "five_hour", 1), (3600.0, 1.0, None), (3600.0, 1.0, None))
    with open(newest, "ab") as out:  # rows appended, then the run died before its checkpoint
        out.write(json.dumps(stray.to_json()).encode() + b"\n")
    orphan = env.data_dir / "rollup-199001.jsonl"
    orphan.write_bytes(json.dumps(stray.to_json()).encode() + b"\n")
    assert held(env) == before  # readers stop at the recorded sizes
    done = env.run("analyze")
    assert done.returncode == 0 and "replayed" not in done.stderr
    assert newest.stat().st_size == size and not orphan.exists()
    assert held(env) == before


def test_a_file_shorter_than_recorded_is_written_again_from_the_day_files(env: Env) -> None:
    append_lines(env.data_dir, working_days(env.root, 7))
    assert env.run("analyze").returncode == 0
    before = held(env)
    newest = max(env.data_dir.glob("rollup-*.jsonl"))
    newest.write_bytes(newest.read_bytes()[:-100])
    # What only reads the state still reads it.
    assert "nothing analysed yet" not in env.run("show").stdout
    done = env.run("analyze")
    assert done.returncode == 0
    assert (
        f"the report's rollup made again: {newest.name} is shorter than analyze left it; "
        "made again from the base"
    ) in done.stderr
    assert "replayed" not in done.stderr  # the totals stand as they were
    assert held(env) == before


def test_a_checkpoint_from_before_the_rollup_replays_once(env: Env) -> None:
    append_lines(env.data_dir, working_days(env.root, 1))
    assert env.run("analyze").returncode == 0
    before = held(env)
    state_file = env.data_dir / checkpoint.STATE_FILE
    old = json.loads(state_file.read_text())
    del old["rollup_files"], old["rollup"]
    state_file.write_text(json.dumps(old))
    for path in env.data_dir.glob("rollup-*.jsonl"):
        path.unlink()
    done = env.run("analyze")
    assert (
        "the report's rollup made again: the checkpoint was written before the report's rollup"
        in done.stderr
    )
    assert "replayed" not in done.stderr
    assert held(env) == before
    assert "made again" not in env.run("analyze").stderr


def test_a_row_this_version_cannot_read_is_left_out_and_named_never_hiding_the_rest(
    env: Env,
) -> None:
    append_lines(env.data_dir, working_days(env.root, 7))
    assert env.run("analyze").returncode == 0
    newest = max(env.data_dir.glob("rollup-*.jsonl"))
    newest.write_bytes(b'["c",1]\n["h", "default", "codex"]\n' + newest.read_bytes())
    state_file = env.data_dir / checkpoint.STATE_FILE
    state = json.loads(state_file.read_text())
    state["rollup_files"][newest.name] = newest.stat().st_size
    state_file.write_text(json.dumps(state))
    kept = held(env)
    assert kept.skipped == [f"{newest.name} line 1", f"{newest.name} line 2"]
    assert len(kept.cycles) >= 4 and kept.hours and kept.tokens
    # What `cycles` reads: the closed windows' rows alone, the damaged one named.
    only = fold.replay(env.data_dir, FoldRules(), kinds="c")[1]
    assert only.cycles == kept.cycles and not only.hours and not only.tokens
    assert only.skipped == [f"{newest.name} line 1"]
    done = env.run("cycles")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == len(kept.cycles)
    assert f"left out 1 rollup row(s) this version cannot read ({newest.name} line 1)" in (
        done.stderr
    )
    assert "--rebuild" not in done.stderr


def test_months_past_the_retention_go_with_the_day_files(env: Env) -> None:
    # 45 days kept 10: the cutoff is always in a later month than the first day.
    append_lines(env.data_dir, working_days(env.root, 45))
    assert env.run("analyze", CCTRACK_RETENTION_DAYS="10").returncode == 0
    cutoff = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y%m")
    months = sorted(p.name[7:13] for p in env.data_dir.glob("rollup-*.jsonl"))
    assert months and months[0] == cutoff
    recorded = json.loads((env.data_dir / checkpoint.STATE_FILE).read_text())["rollup_files"]
    assert sorted(recorded) == sorted(f"rollup-{m}.jsonl" for m in months)
    first = min(row.high[0] for row in held(env).hours.values())
    assert datetime.fromtimestamp(first, UTC).strftime("%Y%m") == cutoff


def test_an_idle_hour_makes_no_row_and_the_line_holds_what_it_last_was() -> None:
    from cctrack.evidence import Point

    kept = Rollup()
    key = ("default", "codex", "five_hour")
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    resets = start + timedelta(hours=5)
    for minutes, used in [(0, 0.1), (30, 0.4), (50, 0.3), (70, 0.3), (300, 0.3), (600, 0.3)]:
        moment = start + timedelta(minutes=minutes)
        kept.add_point(key, Point(moment, used, resets, "rollout", moment), [])
    rows = sorted(kept.hours.values(), key=lambda row: row.key)
    assert [row.key[3] - rows[0].key[3] for row in rows] == [0]
    (row,) = rows
    assert row.high[1] == 0.4 and row.last[1] == 0.3
    assert rollup.row_from_json(json.loads(json.dumps(row.to_json()))) == row


def test_a_spill_without_o_tmpfile_is_a_named_file_removed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the system has no O_TMPFILE (macOS) the spill is tempfile's, whose name is
    gone before anything is written; the rows come back as written, either way."""
    import os

    row = rollup.TokenHour(("default", "claude", "s", 490000), {"m": [1, 2, 3, 4]})
    for system_has_it in (True, False):
        if not system_has_it:
            # The flag's bits gone: opening the directory itself fails, as without it.
            monkeypatch.setattr(os, "O_TMPFILE", 0)
        with rollup.Spill(tmp_path) as spill:
            spill.write([row, row])
            assert list(tmp_path.iterdir()) == []
            assert list(spill.lines()) == [(row.month, orjson.dumps(row.to_json()))] * 2
