"""The command line: parse flags, call one function, turn a CctrackError into one stderr line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer

from cctrack import __version__
from cctrack.errors import EXIT_FAILURE, CctrackError
from cctrack.settings import Settings, resolve_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help=(
        "Track Claude Code and Codex subscription limits for Prometheus.\n\n"
        "capture runs the status tools and appends records; analyze turns the records into "
        "a node_exporter textfile; run does both. Settings come from flags, then environment "
        "variables, then $XDG_CONFIG_HOME/cctrack/config.toml, then defaults (see README)."
    ),
)

T = TypeVar("T")

DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Day files, checkpoint and state. Env CCTRACK_DATA_DIR; default $XDG_STATE_HOME/cctrack.", show_default=False)]
TextfileDir = Annotated[Optional[Path], typer.Option("--textfile-dir", help="Where cctrack.prom goes (node_exporter's --collector.textfile.directory). Env CCTRACK_TEXTFILE_DIR.", show_default=False)]
ClaudeStatus = Annotated[Optional[str], typer.Option("--claude-status", help="Claude status command (path or command line, run without a shell). Env CLAUDE_STATUS_PATH; default the built-in tool.", show_default=False)]
CodexStatus = Annotated[Optional[str], typer.Option("--codex-status", help="Codex status command (path or command line, run without a shell). Env CODEX_STATUS_PATH; default the built-in tool.", show_default=False)]
Sources = Annotated[Optional[list[str]], typer.Option("--source", help="Source to capture, repeatable: claude, codex. Env CCTRACK_SOURCES (comma list); default both.", show_default=False)]
Timeout = Annotated[Optional[float], typer.Option("--timeout", help="Seconds each status tool may take, retries included. Env CCTRACK_TIMEOUT; default 30.", show_default=False)]
Hostname = Annotated[Optional[str], typer.Option("--hostname", help="Hostname stamped on records. Env CCTRACK_HOSTNAME; default this machine's.", show_default=False)]
Config = Annotated[Optional[Path], typer.Option("--config", help="Config file. Default $XDG_CONFIG_HOME/cctrack/config.toml (optional).", show_default=False)]
Rebuild = Annotated[bool, typer.Option("--rebuild", help="Ignore the checkpoint and replay every record.")]


def now() -> datetime:
    return datetime.now(timezone.utc)


def log(message: str) -> None:
    print(message, file=sys.stderr)


def guarded(command: str, action: Callable[[], T]) -> T:
    """Run action; a CctrackError becomes one stderr line and its exit code."""
    try:
        return action()
    except CctrackError as exc:
        log(f"cctrack {command}: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # a file problem no function above turned into a CctrackError
        log(f"cctrack {command}: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")
        raise typer.Exit(EXIT_FAILURE) from None


def settings_from(config: Optional[Path], **flags: object) -> Settings:
    return guarded("settings", lambda: resolve_settings(flags, os.environ, config))


def do_capture(settings: Settings) -> int:
    from cctrack.capture import capture, summary

    records = capture(settings, now, os.environ)
    log(summary(records, settings.data_dir))
    return 0 if any(record.ok for record in records) else EXIT_FAILURE


def do_analyze(settings: Settings, rebuild: bool) -> int:
    from cctrack.analyze import analyze, log_line

    log(log_line(analyze(settings, now(), rebuild)))
    return 0


@app.command()
def capture(
    data_dir: DataDir = None,
    claude_status: ClaudeStatus = None,
    codex_status: CodexStatus = None,
    source: Sources = None,
    timeout: Timeout = None,
    hostname: Hostname = None,
    config: Config = None,
) -> None:
    """Run each status tool once and append one record per tool to the day file.

    Exit 0 if at least one tool succeeded, 1 if all failed, 2 on a usage or configuration error.
    """
    settings = settings_from(config, data_dir=data_dir, claude_status=claude_status, codex_status=codex_status,
                             sources=source, timeout=timeout, hostname=hostname)
    raise typer.Exit(guarded("capture", lambda: do_capture(settings)))


@app.command()
def analyze(
    data_dir: DataDir = None,
    textfile_dir: TextfileDir = None,
    source: Sources = None,
    rebuild: Rebuild = False,
    config: Config = None,
) -> None:
    """Fold the records after the checkpoint into cctrack.prom, atomically, then advance the checkpoint.

    On failure the previous textfile and checkpoint are left as they were.
    """
    settings = settings_from(config, data_dir=data_dir, textfile_dir=textfile_dir, sources=source)
    guarded("analyze", lambda: do_analyze(settings, rebuild))


@app.command()
def run(
    data_dir: DataDir = None,
    textfile_dir: TextfileDir = None,
    claude_status: ClaudeStatus = None,
    codex_status: CodexStatus = None,
    source: Sources = None,
    timeout: Timeout = None,
    hostname: Hostname = None,
    rebuild: Rebuild = False,
    config: Config = None,
    demo: Annotated[bool, typer.Option("--demo", help="Capture from bundled demo Claude and Codex data (no network), into a separate demo data directory, and print the textfile.")] = False,
) -> None:
    """Capture, then analyze (even when capture failed, so the failure shows as a metric)."""
    settings = settings_from(config, data_dir=data_dir, textfile_dir=textfile_dir, claude_status=claude_status,
                             codex_status=codex_status, sources=source, timeout=timeout, hostname=hostname)
    if demo:
        from cctrack.demo import demo_settings

        settings = guarded("run", lambda: demo_settings(settings, os.environ, data_dir, textfile_dir, now()))
    captured = guarded_code("capture", lambda: do_capture(settings))
    analyzed = guarded_code("analyze", lambda: do_analyze(settings, rebuild))
    if demo and analyzed == 0:
        sys.stdout.write((settings.textfile_dir / "cctrack.prom").read_text())
        log(f"cctrack run: demo data; see it with `cctrack show --data-dir {settings.data_dir}`")
    raise typer.Exit(captured or analyzed)


def guarded_code(command: str, action: Callable[[], int]) -> int:
    try:
        return guarded(command, action)
    except typer.Exit as exc:
        return exc.exit_code


@app.command()
def show(
    data_dir: DataDir = None,
    source: Sources = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    config: Config = None,
) -> None:
    """What the latest analysis says: per tool and window, used, pace, time to reset, age of the data."""
    from cctrack.show import show as show_report

    settings = settings_from(config, data_dir=data_dir, sources=source)
    typer.echo(show_report(settings.data_dir, settings.sources, as_json, now()))


@app.command("claude-status")
def claude_status() -> None:
    """The built-in Claude status tool: print one status object (also installed as cctrack-claude-status)."""
    from cctrack.sources.claude import main

    main()


@app.command("codex-status")
def codex_status() -> None:
    """The built-in Codex status tool: print one status object (also installed as cctrack-codex-status)."""
    from cctrack.sources.codex import main

    main()


@app.command()
def statusline(
    wrap: Annotated[Optional[str], typer.Option("--wrap", help="Your existing statusLine command: run through the shell with the same stdin, its output printed first.", show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """A Claude Code statusLine command: store the rate_limits snapshot and print a one-line summary. Always exits 0."""
    from cctrack.sources.claude import statusline as run_statusline

    try:
        target = resolve_settings({"data_dir": data_dir}, os.environ).data_dir
    except CctrackError as exc:
        log(f"cctrack statusline: {exc}")
        return
    typer.echo(run_statusline(sys.stdin.buffer.read(), target, wrap, now()))


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"cctrack {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    pass


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        log("cctrack: interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
