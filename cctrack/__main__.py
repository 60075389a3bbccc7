"""Where every cctrack process starts: `python -m cctrack` and the commands pip installs.

The imports (typer, click and the cctrack modules a command needs: some 26,000 objects,
which live until the process ends) run with the garbage collector paused, and are then
frozen out of its walks: otherwise it walks them again and again while they load, in every
full collection after, and once more at exit. That was 11 to 14 ms of each desk command's
75 to 115 (benchmarks/RESULTS.md). Tests import cctrack.cli itself, with the collector as
it is.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from types import ModuleType


def start(command: Callable[[ModuleType], None]) -> None:
    """Import the command line with the collector paused, then run `command` of it."""
    gc.disable()
    from cctrack import cli

    gc.freeze()
    gc.enable()
    try:
        command(cli)
    finally:
        # What the command imported and built: the process ends now.
        gc.freeze()


def main(argv: list[str] | None = None) -> None:
    start(lambda cli: cli.main(argv))


def claude_status_tool() -> None:
    """The cctrack-claude-status command."""
    start(lambda cli: cli.claude_status_tool())


def codex_status_tool() -> None:
    """The cctrack-codex-status command."""
    start(lambda cli: cli.codex_status_tool())


if __name__ == "__main__":
    main()
