"""cctrack/__main__.py: where every cctrack process starts."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib

import cctrack.__main__ as entry
from cctrack import cli


@pytest.fixture
def command(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[list[str] | None, bool, int]]]:
    """cli.main replaced by one that notes its arguments and the collector's state."""
    seen: list[tuple[list[str] | None, bool, int]] = []

    def noted(argv: list[str] | None = None) -> None:
        seen.append((argv, gc.isenabled(), gc.get_freeze_count()))
        raise SystemExit(3)

    monkeypatch.setattr(cli, "main", noted)
    yield seen
    gc.unfreeze()


def test_a_command_runs_with_the_collector_on_and_the_imports_frozen(
    command: list[tuple[list[str] | None, bool, int]],
) -> None:
    """The imports are frozen out of the collector's walks, but the command itself runs
    with the collector on: a long replay makes garbage that must be collected."""
    with pytest.raises(SystemExit) as stop:
        entry.main(["show"])
    assert stop.value.code == 3
    [(argv, enabled, frozen)] = command
    assert argv == ["show"]
    assert enabled
    assert frozen > 1000  # typer's and cctrack's objects at least
    assert gc.isenabled()


@pytest.mark.parametrize("module", [entry, cli], ids=["__main__", "cli"])
def test_the_status_tools_start_their_command(
    module: Any,
    command: list[tuple[list[str] | None, bool, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From the installed commands (__main__) and from those of an editable install made
    before them, which name cli itself."""
    monkeypatch.setattr(sys, "argv", ["cctrack-claude-status", "--profile", "work"])
    with pytest.raises(SystemExit):
        module.claude_status_tool()
    monkeypatch.setattr(sys, "argv", ["cctrack-codex-status"])
    with pytest.raises(SystemExit):
        module.codex_status_tool()
    assert [argv for argv, _, _ in command] == [
        ["claude-status", "--profile", "work"],
        ["codex-status"],
    ]


def test_every_installed_command_starts_here() -> None:
    """pyproject's scripts name functions of this module, so that each installed command
    starts as `python -m cctrack` does."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    assert set(scripts) == {"cctrack", "cctrack-claude-status", "cctrack-codex-status"}
    for target in scripts.values():
        module, _, name = target.partition(":")
        assert module == "cctrack.__main__"
        assert callable(getattr(importlib.import_module(module), name))
