"""cli.py: typer builds only the command that runs (the status line and the hook start on
every refresh and prompt), and that command reads exactly as it does in the whole app."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cctrack.cli import app, app_for


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
