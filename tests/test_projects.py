"""Per-project attribution (token_projects): which project used the window, through the
real command line on generated transcripts and rollouts; off, nothing changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from builders import codex_line, token_count, write_rollout
from conftest import Env, sample

from cctrack.report import ProjectNaming

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
        }
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
