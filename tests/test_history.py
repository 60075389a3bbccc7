"""history.py through its commands: tokens per day with totals and cost, the one --format of
the commands that print tables, and what `tokens --by project` says with projects off."""

from __future__ import annotations

import json
import re

from conftest import Env


def counted(env: Env) -> None:
    env.use_fixed_tools()
    env.write_token_logs()
    done = env.run("run")
    assert done.returncode == 0, done.stderr


def test_tokens_rows_say_their_total_and_cost_and_each_tool_its_totals(env: Env) -> None:
    counted(env)
    lines = env.run("tokens").stdout.splitlines()
    rows = [line for line in lines if not line.startswith("total")]
    totals = [line for line in lines if line.startswith("total")]
    assert rows and {line.split()[1] for line in totals} == {"claude", "codex"}
    for line in rows:
        assert re.search(r" total [\d,]+  input [\d,]+", line), line
    by_tool: dict[str, int] = {}
    for row in (json.loads(x) for x in env.run("tokens", "--format", "json").stdout.splitlines()):
        by_tool[row["tool"]] = by_tool.get(row["tool"], 0) + row["total"]
    for line in totals:
        tool = line.split()[1]
        assert f"total {by_tool[tool]:,}" in line, line
    # Every model of the generated logs has a built-in price: each row and total has a cost.
    assert all(re.search(r"\$[\d,]+\.\d\d$", line) for line in rows), rows
    assert all(re.search(r"\$[\d,]+\.\d\d at API prices$", line) for line in totals), totals


def test_one_format_option_and_the_older_flags_agree(env: Env) -> None:
    counted(env)
    for command in (("tokens",), ("events",), ("cycles",)):
        assert env.run(*command, "--format", "json").stdout == env.run(*command, "--json").stdout
        assert env.run(*command, "--format", "csv").stdout == env.run(*command, "--csv").stdout
    bad = env.run("tokens", "--format", "xml")
    assert bad.returncode == 2 and "unknown --format 'xml'; choose text, json or csv" in bad.stderr


def test_tokens_by_project_with_projects_off_says_so(env: Env) -> None:
    counted(env)
    done = env.run("tokens", "--by", "project")
    assert done.returncode == 0
    assert done.stdout.startswith("no tokens counted per project: token_projects is off")
