"""cli.py: typer builds only the command that runs (the status line and the hook start on
every refresh and prompt), and that command reads exactly as it does in the whole app."""

from __future__ import annotations

import json
import os

import pytest
import typer
from conftest import Env
from test_claude_sources import ACCOUNT, OTHER, login
from typer.testing import CliRunner

from cctrack.cli import app, app_for
from cctrack.sources.account import pseudonym


def names() -> list[str]:
    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_is_built_alone_and_reads_as_in_the_whole_app() -> None:
    assert len(names()) >= 19 and {"statusline", "hook", "bar", "guard", "run"} <= set(names())
    runner = CliRunner()
    for name in names():
        one = app_for([name, "--help"])
        assert one is not app
        assert list(typer.main.get_command(one).commands) == [name]  # type: ignore[attr-defined]
        alone = runner.invoke(one, [name, "--help"])
        whole = runner.invoke(app, [name, "--help"])
        assert (alone.exit_code, alone.stdout) == (whole.exit_code, whole.stdout), name


@pytest.mark.parametrize("argv", [[], ["--help"], ["--version"], ["hok"], ["-x", "hook"]])
def test_anything_but_a_command_first_gets_the_whole_app(argv: list[str]) -> None:
    """Help lists every command, and a typo is told the command it may have meant."""
    assert app_for(argv) is app


def test_a_typo_is_told_what_it_may_have_meant() -> None:
    done = CliRunner().invoke(app_for(["hok"]), ["hok"])
    assert done.exit_code == 2 and "Did you mean 'hook'?" in done.stderr


# What no desk command needs: the fold and its files, the scan, the network, the status
# tools' readers, and (without a config file) the TOML parser. (typer imports subprocess.)
NOT_AT_THE_DESK = (
    "cctrack.state",
    "cctrack.evidence",
    "cctrack.rollup",
    "cctrack.store",
    "cctrack.checkpoint",
    "cctrack.base",
    "cctrack.fold",
    "cctrack.tokens.scan",
    "cctrack.tokens.prices",
    "cctrack.records",
    "cctrack.net",
    "cctrack.process",
    "cctrack.sends",
    "cctrack.sources.params",
    "cctrack.sources.codex",
    "cctrack.sources.claude.oauth",
    "sqlite3",
    "tomllib",
    "urllib.request",
    # OpenSSL, for an account's pseudonym: only when .claude.json names one (none here).
    "hashlib",
)


@pytest.mark.parametrize(
    ("command", "stdin"),
    [
        ("hook", '{"hook_event_name": "UserPromptSubmit", "prompt": "go", "session_id": "s"}'),
        ("bar", ""),
        ("guard", ""),
        ("statusline", '{"session_id": "s", "model": {"display_name": "Opus"}}'),
    ],
)
def test_a_desk_command_imports_only_what_it_uses(env: Env, command: str, stdin: str) -> None:
    """Each desk command, in a process of its own as Claude Code starts it, after a demo
    run: none of the modules it has no use for is imported."""
    assert env.run("run", "--demo").returncode == 0
    imported = imports_of(env, command, stdin)
    assert "cctrack.cli" in imported and "cctrack.report" in imported
    assert not imported & set(NOT_AT_THE_DESK), sorted(imported & set(NOT_AT_THE_DESK))


# A render's stdin, without numbers: enough for the status line to look for its account.
RENDER = '{"session_id": "s", "model": {"display_name": "Opus"}}'


def test_a_logged_in_status_line_reads_its_account_once(env: Env) -> None:
    """.claude.json (megabytes for many users) is read, and the account id hashed (OpenSSL),
    on the first render; after that, only while the file is as it was, not at all."""
    login(env, ACCOUNT)
    assert "hashlib" in imports_of(env, "statusline", RENDER)
    assert "hashlib" not in imports_of(env, "statusline", RENDER)
    login(env, OTHER)
    os.utime(env.claude_home / ".claude.json", ns=(1, 2))  # changed, whatever the clock's tick
    assert "hashlib" in imports_of(env, "statusline", RENDER)


def test_the_built_in_tool_and_the_status_line_remember_the_account_together(env: Env) -> None:
    """Capture's built-in Claude tool reads .claude.json once a minute; what it found is the
    status line's too, and the other way round."""
    login(env, ACCOUNT)
    env.vars["CCTRACK_CLAUDE_OAUTH"] = "off"
    env.run("claude-status")  # no numbers yet: it fails, having read the account
    memory = json.loads((env.data_dir / "claude-account.json").read_text())
    assert memory["account"] == pseudonym("claude", ACCOUNT)
    assert "hashlib" not in imports_of(env, "statusline", RENDER)


def imports_of(env: Env, command: str, stdin: str) -> set[str]:
    """The modules a cctrack command has imported when it ends, run as its own process."""
    import subprocess
    import sys

    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['cctrack', {command!r}]\n"
        "try:\n"
        "    runpy.run_module('cctrack', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env.vars,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return set(done.stderr.splitlines()[-1].split())


def test_analyze_imports_no_network(env: Env) -> None:
    """Analyze names the sinks (their health is exported) but sends nothing: the HTTP
    client is the push's alone."""
    import subprocess
    import sys

    env.use_fixed_tools()
    assert env.run("capture").returncode == 0
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['cctrack', 'analyze']\n"
        "try:\n"
        "    runpy.run_module('cctrack', run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env.vars, capture_output=True, text=True, timeout=60
    )
    imported = set(done.stderr.splitlines()[-1].split())
    assert "cctrack.sinks" in imported
    assert not imported & {"urllib.request", "http.client", "ssl"}
