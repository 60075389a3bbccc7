"""Profiles, the user label and account ids: several logins of one user, told apart."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

from builders import fixed_tool
from conftest import Env, sample

from cctrack.sources.account import claude_account, codex_account, pseudonym

USER = pwd.getpwuid(os.geteuid()).pw_name


def write_config(env: Env, text: str) -> None:
    config = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)


def test_two_profiles_give_series_told_apart_by_profile(env: Env) -> None:
    tools = env.root / "tools"
    tools.mkdir()
    work = fixed_tool(tools / "work-codex", "codex", 0.7, 0.2)
    personal = fixed_tool(tools / "personal-codex", "codex", 0.1, 0.05)
    write_config(
        env,
        f"""
sources = ["codex"]
[profiles.work]
codex_home = "{env.root / "codex-work"}"
codex_status = "{work}"
[profiles.personal]
codex_home = "{env.root / "codex-personal"}"
codex_status = "{personal}"
""",
    )
    result = env.run("run")
    assert result.returncode == 0, result.stderr
    assert "work/codex ok" in result.stderr and "personal/codex ok" in result.stderr
    text = env.textfile.read_text()
    assert (
        sample(text, "cctrack_codex_usage_ratio", window="five_hour", profile="work", user=USER)
        == 0.7
    )
    assert (
        sample(text, "cctrack_codex_usage_ratio", window="five_hour", profile="personal", user=USER)
        == 0.1
    )
    assert sample(text, "cctrack_codex_up", profile="default") is None
    assert {r["profile"] for r in env.records()} == {"work", "personal"}
    shown = json.loads(env.run("show", "--json").stdout)
    assert shown["profiles"]["work"]["codex"]["windows"]["five_hour"]["used_ratio"] == 0.7
    assert "personal/codex" in env.run("show").stdout


def test_without_profiles_everything_is_the_default_profile(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_up", profile="default", user=USER, account="") == 1
    assert sample(text, "cctrack_analyze_last_success_timestamp_seconds", user=USER) is not None
    assert all("profile" not in r for r in env.records())  # records as before


def test_account_ids_are_pseudonymous_and_stable(tmp_path: Path) -> None:
    claude = tmp_path / "home" / ".claude"
    claude.mkdir(parents=True)
    (tmp_path / "home" / ".claude.json").write_text(
        json.dumps(
            {
                "oauthAccount": {
                    "accountUuid": "9d8c7b6a-0000-4000-8000-123456789abc",
                    "emailAddress": "me@example.com",
                    "displayName": "Me",
                }
            }
        )
    )
    codex = tmp_path / "codex"
    codex.mkdir()
    (codex / "auth.json").write_text(
        json.dumps({"tokens": {"account_id": "acct_42", "access_token": "secret"}})
    )
    account = claude_account(claude)
    assert account == pseudonym("claude", "9d8c7b6a-0000-4000-8000-123456789abc")
    assert account is not None and len(account) == 12 and "example" not in account
    assert codex_account(codex) == pseudonym("codex", "acct_42") != account
    assert codex_account(tmp_path / "nowhere") is None


def test_the_account_label_reaches_the_textfile_from_the_builtin_tool(env: Env) -> None:
    from datetime import datetime, timedelta, timezone

    from builders import nested_2026, token_count, write_rollout

    now = datetime.now(timezone.utc).replace(microsecond=0)
    write_rollout(
        env.codex_home,
        now - timedelta(hours=1),
        [
            token_count(
                now - timedelta(minutes=2), nested_2026((20.0, 300, now + timedelta(hours=1)), None)
            )
        ],
        mtime=now - timedelta(minutes=2),
    )
    (env.codex_home / "auth.json").write_text(
        json.dumps({"tokens": {"account_id": "acct_42", "id_token": "x"}})
    )
    env.vars["CCTRACK_SOURCES"] = "codex"
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    account = pseudonym("codex", "acct_42")
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour", account=account) == 0.2
    assert "acct_42" not in text and "acct_42" not in "".join(
        p.read_text() for p in env.data_dir.glob("usage-*")
    )


def test_textfile_name_can_be_set(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run", CCTRACK_TEXTFILE_NAME="mine.prom").returncode == 0
    assert (env.textfile_dir / "mine.prom").is_file()
    bad = env.run("analyze", CCTRACK_TEXTFILE_NAME="../escape.prom")
    assert bad.returncode == 2 and "must be a file name ending in .prom" in bad.stderr
