"""Per-project attribution (token_projects): which project used the window, through the
real command line on generated transcripts and rollouts; off, nothing changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from builders import codex_line, token_count, write_rollout
from conftest import Env, sample

from cctrack.records import TokenRecord
from cctrack.report import totals_by_project
from cctrack.state import TokenState
from cctrack.tokens.projects import ProjectNaming

UTC = timezone.utc


def claude_reply(moment: datetime, cwd: str, message: str, tokens: int) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "cwd": cwd,
            "sessionId": "s-" + message,
            "version": "2.0.30",
            "isSidechain": False,
            "requestId": "req_" + message,
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "message": {
                "id": "msg_" + message,
                "model": "claude-sonnet-4-5-20250929",
                "role": "assistant",
                "usage": {
                    "input_tokens": tokens,
                    "output_tokens": tokens // 10,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                },
            },
        },
        separators=(",", ":"),  # as Claude Code writes it
    )


def write_logs(env: Env, now: datetime) -> None:
    """Claude: 3,000 input tokens in app, 1,000 in api, 100 in docs (outputs a tenth);
    Codex: one turn in app."""
    projects = env.claude_home / "projects" / "p"
    projects.mkdir(parents=True)
    lines = [
        claude_reply(now - timedelta(minutes=30), "/home/u/src/app", "a1", 2000),
        claude_reply(now - timedelta(minutes=20), "/home/u/src/app", "a2", 1000),
        claude_reply(now - timedelta(minutes=10), "/home/u/src/api", "b1", 1000),
        claude_reply(now - timedelta(minutes=5), "/srv/docs", "c1", 100),
    ]
    (projects / "session.jsonl").write_text("\n".join(lines) + "\n")
    # A session resumed in another directory copies a1: counted once, where read first.
    copy = lines[0].replace('"cwd": "/home/u/src/app"', '"cwd": "/home/u/src/api"')
    (projects / "zz-resumed.jsonl").write_text(copy + "\n")
    started = now - timedelta(minutes=15)
    context = codex_line(
        started, "turn_context", {"cwd": "/home/u/src/app", "model": "gpt-5.1-codex"}
    )
    write_rollout(env.codex_home, started, [context, token_count(started, None)])


def test_projects_share_each_window_and_label_the_counters(env: Env) -> None:
    now = datetime.now(UTC)
    write_logs(env, now)
    env.use_fixed_tools(claude=(0.4, 0.2), codex=(0.3, 0.1))
    env.write_config('token_projects = 2\n[project_names]\n"/home/u/src/api" = "billing-api"\n')
    assert env.run("run").returncode == 0
    shown = env.run("show").stdout
    # Claude's five hours: app 3,300 of 4,510, billing-api 1,100, the rest (docs) other.
    assert "projects       five_hour: app 73%, billing-api 24%, other 2%" in shown, shown
    windows = json.loads((env.data_dir / "latest.json").read_text())["tools"]["claude"]
    five = windows["tokens"]["windows"]["five_hour"]
    assert [p["project"] for p in five["projects"]] == ["app", "billing-api", "other"]
    assert sum(p["tokens"] for p in five["projects"]) == five["tokens"]
    text = env.textfile.read_text()
    labelled = sample(
        text,
        "cctrack_claude_tokens_total",
        model="claude-sonnet-4-5-20250929",
        type="input",
        project="app",
    )
    assert labelled == 3000
    assert (
        sample(
            text,
            "cctrack_claude_tokens_total",
            model="claude-sonnet-4-5-20250929",
            type="input",
            project="other",
        )
        == 100
    )
    assert (
        sample(
            text, "cctrack_codex_tokens_total", model="gpt-5.1-codex", type="output", project="app"
        )
        == 812
    )
    assert 'project="unattributed"' not in text  # every token has its project
    by_project = env.run("tokens", "--by", "project", "--json").stdout.splitlines()
    days = [json.loads(line) for line in by_project]
    assert {(d["tool"], d["project"]) for d in days} == {
        ("claude", "app"),
        ("claude", "billing-api"),
        ("claude", "docs"),
        ("codex", "app"),
    }
    assert env.run("tokens", "--by", "repo").returncode == 2
    # The report's tokens per day and project: the two largest named, docs as other.
    from cctrack import fold
    from cctrack.state import FoldRules
    from cctrack.views.page import rollup_token_days

    state, kept = fold.replay(env.data_dir, FoldRules())
    naming = ProjectNaming(2, (("/home/u/src/api", "billing-api"),))
    drawn = rollup_token_days(kept, state, None, None, naming)
    assert {name for _, name in drawn["claude"]} == {"app", "billing-api", "other"}
    by_model = rollup_token_days(kept, state, None, None)
    assert sum(drawn["claude"].values()) == sum(by_model["claude"].values())


def test_off_by_default_nothing_has_a_project(env: Env) -> None:
    now = datetime.now(UTC)
    write_logs(env, now)
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    assert "project" not in env.textfile.read_text()
    assert all("projects" not in record for record in env.token_records())
    assert "projects" not in env.run("show").stdout


def test_a_project_is_its_name_or_its_directorys_last_part() -> None:
    naming = ProjectNaming(2, (("/home/u/src/api", "billing-api"),))
    assert naming.name("/home/u/src/api") == "billing-api"
    assert naming.name("/home/u/src/app/") == "app"
    assert naming.name("") == "unattributed"
    # Two directories of one name add up; past the cap, the rest is other.
    assert naming.top({"/a/app": 5, "/b/app": 5, "/c/x": 3, "/d/y": 1}) == (
        ("app", 10),
        ("x", 3),
        ("other", 1),
    )
    assert ProjectNaming(0).top({"/a": 1}) == (("other", 1),)
    # Never one of the labels of the rest: such a directory is named by its path.
    assert naming.name("/home/u/other") == "/home/u/other"
    assert ProjectNaming(1, (("/w/x", "unattributed"),)).name("/w/x") == "/w/x"
    assert Path("/").name == ""


def test_a_store_from_before_projects_is_migrated_in_place(tmp_path: Path) -> None:
    import sqlite3

    from cctrack.tokens.db import ScanStore

    path = tmp_path / "tokens-default.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "create table claude_slots(row integer primary key, message int not null, request int, "
        "minute int not null, model text not null, a int not null, b int not null, "
        "c int not null, d int not null, sidechain int not null, speed int not null)"
    )
    old.execute("insert into claude_slots values (1, 7, 8, 100, 'm', 1, 2, 3, 4, 0, 0)")
    old.commit()
    old.close()
    store = ScanStore.open(path)
    try:
        (row,) = store.claude_slots([7])
        assert row[-1] == ""  # counted before projects: no project
    finally:
        store.close()


def test_per_project_counts_add_up_to_the_totals_on_generated_logs(env: Env) -> None:
    """Generated sessions (copies, resumed sessions, sub-agents: benchmarks/homes.py): the
    projects' tokens add up to the totals, which are what they are with projects off."""
    env.use_fixed_tools()
    env.write_token_logs()
    off = env.root / "off"
    assert env.run("capture", CCTRACK_DATA_DIR=str(off)).returncode == 0
    assert env.run("capture", CCTRACK_TOKEN_PROJECTS="5").returncode == 0

    def totals(*args: str, **extra: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for line in env.run("tokens", "--json", *args, **extra).stdout.splitlines():
            row = json.loads(line)
            found[row["tool"]] = found.get(row["tool"], 0) + row["total"]
        return found

    by_model = totals()
    assert by_model and by_model == totals(CCTRACK_DATA_DIR=str(off))
    assert totals("--by", "project", CCTRACK_TOKEN_PROJECTS="5") == by_model


def _record(scan: int, *rows: tuple[datetime, str, int]) -> TokenRecord:
    """A Claude token record with each (time, directory, input tokens) as a project row."""
    minutes = [(int(at.timestamp()) // 60, cwd, n) for at, cwd, n in rows]
    return TokenRecord(
        scan,
        rows[0][0],
        "h",
        "claude",
        "0123456789abcdef",
        scan,
        0,
        tuple((m, "opus", n, 0, 0, 0) for m, _, n in minutes),
        projects=tuple((m, cwd, "opus", n, 0, 0, 0) for m, cwd, n in minutes),
    )


def _series(tokens: TokenState) -> dict[str, int]:
    return {
        p: n for _, kind, p, n in totals_by_project(tokens, ProjectNaming(2)) if kind == "input"
    }


def test_projects_keep_their_series_for_the_month_and_are_chosen_again_by_the_last_one() -> None:
    """Two places: the first two directories take them; at each month's start, one that
    was among the four largest of the month before keeps its place, the largest of the
    rest take the others. A series never falls, and a user's project series are the two,
    other and unattributed, however the projects come and go."""
    oct1, nov1 = (datetime(2026, m, 1, 9, tzinfo=UTC) for m in (10, 11))
    dec1 = datetime(2026, 12, 1, tzinfo=UTC)  # its first minute is December's
    tokens = TokenState("claude")
    seen: list[dict[str, int]] = []

    def fold(*rows: tuple[datetime, str, int]) -> dict[str, int]:
        tokens.fold(_record(len(seen) + 1, *rows), 2)
        seen.append(_series(tokens))
        return seen[-1]

    october = ((oct1, "/a", 25), (oct1, "/b", 1), (oct1, "/c", 50))
    october += ((oct1, "/e", 20), (oct1, "/f", 30), (oct1, "/g", 40))
    assert fold(*october) == {"a": 25, "b": 1, "other": 140}
    assert fold((oct1 + timedelta(days=3), "/c", 50), (oct1, "", 4)) == {
        "a": 25,
        "b": 1,
        "other": 190,
        "unattributed": 4,
    }
    # November: a (25) was fourth of October's and keeps its place; b's goes to the largest,
    # c (100), whose series starts; b's series ends, counted since as other, and a new
    # directory waits for a place.
    assert fold((nov1, "/b", 7), (nov1, "/c", 1), (nov1, "/d", 2)) == {
        "a": 25,
        "c": 1,
        "other": 199,
        "unattributed": 4,
    }
    assert tokens.kept == ["/a", "/c"]
    # A log of October found late keeps November's places, and counts in November's use.
    assert fold((oct1, "/b", 3)) == {"a": 25, "c": 1, "other": 202, "unattributed": 4}
    late = nov1 + timedelta(days=2)
    assert fold((late, "/d", 4), (late, "/d", 4))["other"] == 210
    # December: a had no tokens in November and loses its place to the largest, b and d
    # with 10 each (b first by path); b's series goes on from where it ended (1).
    assert fold((dec1, "/b", 1), (dec1, "/a", 5)) == {
        "b": 2,
        "c": 1,
        "other": 215,
        "unattributed": 4,
    }
    assert tokens.kept == ["/c", "/b"]
    # Rows of one minute add up, per minute and per minute and project.
    assert tokens.since(oct1) == 247
    assert tokens.projects_since(oct1)["/d"] == 2 + 4 + 4
    for before, after in pairwise(seen):
        assert all(after.get(p, n) >= n for p, n in before.items()), (before, after)
    assert all(len(series) <= 2 + 2 for series in seen)


def test_the_places_survive_the_checkpoint_and_a_release_without_them_gets_its_own_back() -> None:
    """Written and read back, the labels and places go on as if never stopped. Counts of a
    release that labelled at export time (the largest so far, by name) get those labels:
    this version exports what it did, nothing jumps."""
    from cctrack.state import FoldRules, State

    oct1, nov1 = datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 11, 2, 9, tzinfo=UTC)
    first = (oct1, "/a", 10), (oct1, "/x/b", 30), (oct1, "/y/b", 5), (oct1, "/c", 20)
    later = (nov1, "/c", 3), (nov1, "/d", 9)
    whole = TokenState("claude")
    whole.fold(_record(1, *first), 2)
    again = TokenState.from_json(json.loads(json.dumps(whole.to_json())))
    assert again == whole
    whole.fold(_record(2, *later), 2)
    again.fold(_record(2, *later), 2)
    assert again == whole and again.kept == ["/a", "/x/b"]
    # A release's state: the same totals, no labels.
    old = whole.to_json()
    old = {
        k: v
        for k, v in old.items()
        if k not in ("project_labels", "kept_projects", "project_month")
    }

    def upgraded(tokens: dict) -> TokenState:
        """A release's token counts, as this version loads and labels them."""
        release = {"tools": {}, "invalid_lines": 0, "torn_fragments": 0, "analyzed_at": None}
        state = State.from_json({**release, "tokens": {"claude": tokens}})
        return state.use(FoldRules(projects=ProjectNaming(2))).tokens[("default", "claude")]

    migrated = upgraded(old)
    released = ProjectNaming(2).top({cwd: n for (_, _, cwd), n in whole.project_totals.items()})
    assert _series(migrated) == dict(released)
    # The places: the directories of the two names, largest first.
    assert migrated.kept == ["/x/b", "/c", "/y/b"]
    assert released == (("b", 35), ("c", 23), ("other", 19))
    # What such a release counted without a directory ranked among the names, as
    # `unattributed`: it took a place there, and takes it here too.
    old["project_totals"] = [*old["project_totals"], ["opus", "input", "", 30]]
    old["totals"] = [[m, k, n + 30 if k == "input" else n] for m, k, n in old["totals"]]
    lifetime = {cwd: n for (_, _, cwd), n in whole.project_totals.items()} | {"": 30}
    released = ProjectNaming(2).top(lifetime)
    assert released == (("b", 35), ("unattributed", 30), ("other", 42))
    assert _series(upgraded(old)) == dict(released)


def test_a_rebuild_gives_each_project_series_what_analyze_gave_it_week_by_week(env: Env) -> None:
    """Labels depend only on the records in order: folded again from the start they are the
    same, across the month changes of ten weeks of work in six projects."""
    from itertools import groupby

    from builders import working_days
    from test_base import counters
    from test_system_upgrade import project_series

    env.vars["CCTRACK_TOKEN_PROJECTS"] = "2"
    projects = tuple(f"/w/p{n}" for n in range(6))
    lines = sorted(working_days(env.root, 70, projects=projects), key=lambda item: item[0])
    env.data_dir.mkdir(mode=0o700)
    for _, week in groupby(enumerate(lines), key=lambda item: item[0] * 10 // len(lines)):
        for _, (name, line) in week:
            with open(env.data_dir / name, "ab") as out:
                out.write(line)
        assert env.run("analyze").returncode == 0
    stepwise = counters(env.textfile)
    # Two places and other: every token has its project, none is unattributed.
    assert set(project_series(stepwise).values()) == {2 + 1}
    assert env.run("analyze", "--rebuild").returncode == 0
    assert counters(env.textfile) == stepwise


def test_months_are_utc_calendar_months_whatever_the_zone_and_ties_go_by_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from cctrack.tokens.projects import chosen, month_of, month_start

    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    try:
        for at in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, tzinfo=UTC)):
            minute = int(at.timestamp()) // 60
            month = month_of(minute)
            assert month == at.year * 12 + at.month - 1
            first = int(at.replace(day=1, hour=0, minute=0).timestamp()) // 60
            assert type(month_start(month)) is int and month_start(month) == first
            assert month_start(month) <= minute < month_start(month + 1)
            assert month_of(first - 1) == month - 1
    finally:
        monkeypatch.undo()
        time.tzset()
    assert chosen([], {"/b": 5, "/a": 5, "/c": 9, "/z": 0}, 3) == ["/c", "/a", "/b"]
