"""The command line: parse flags, resolve the settings once, call one function, and turn a
CctrackError into one stderr line and its exit code."""

from __future__ import annotations

import functools
import inspect
import os
import signal
import stat
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer
from typer.core import TyperGroup

from cctrack import __version__
from cctrack.errors import EXIT_FAILURE, EXIT_USAGE, CctrackError, Interrupted
from cctrack.settings import SETTINGS, Setting, Settings, resolve_settings
from cctrack.status import DEFAULT_PROFILE

if TYPE_CHECKING:
    from cctrack.report import Report


def failure(exc: BaseException) -> tuple[str, int]:
    """What went wrong, as one line and an exit status (docs/commands.md): a CctrackError
    its own; a file problem nothing turned into one, 1; a stop signal, 128 + its number."""
    if isinstance(exc, CctrackError):
        return str(exc), exc.exit_code
    if isinstance(exc, Interrupted):
        return f"stopped by {signal.Signals(exc.signum).name}", exc.exit_code
    assert isinstance(exc, OSError)
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}", EXIT_FAILURE


class Boundary(TyperGroup):
    """The one place where what went wrong becomes one stderr line and an exit status;
    main() turns stop signals into Interrupted, and run's steps say their own (run goes
    on after a failed step)."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (CctrackError, OSError, Interrupted) as exc:
            line, code = failure(exc)
            log(f"cctrack {ctx.invoked_subcommand}: {line}")
            raise typer.Exit(code) from None


def new_app() -> typer.Typer:
    return typer.Typer(
        cls=Boundary,
        add_completion=True,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        help=(
            "Track Claude Code and Codex subscription limits for Prometheus.\n\n"
            "capture runs the status tools and appends records; analyze turns the records "
            "into a node_exporter textfile; run does both. Settings come from flags, then "
            "environment variables, then $XDG_CONFIG_HOME/cctrack/config.toml, then defaults "
            "(see docs/settings.md)."
        ),
    )


app = new_app()

T = TypeVar("T")


def _option(kind: Any, flag: str, help_text: str) -> Any:
    return Annotated[Optional[kind], typer.Option(flag, help=help_text, show_default=False)]


def _setting_option(setting: Setting) -> Any:
    """A setting's flag, as the settings table says it (settings.SETTINGS)."""
    if setting.kind is bool:
        flag = typer.Option(setting.flag, help=setting.help(), show_default=False)
        return Annotated[Optional[bool], flag]
    if setting.kind is list:
        flag = typer.Option(setting.flag, help=setting.help(), show_default=False)
        return Annotated[Optional[list[str]], flag]
    return _option(setting.kind, setting.flag, setting.help())


# Every option that more than one command takes, defined once; `with_options` adds them.
OPTIONS: dict[str, Any] = {
    **{s.key: _setting_option(s) for s in SETTINGS if s.flag},
    "config": _option(
        Path,
        "--config",
        "Config file. Env CCTRACK_CONFIG; default $XDG_CONFIG_HOME/cctrack/config.toml (optional).",
    ),
    "if_idle": Annotated[
        bool,
        typer.Option(
            "--if-idle",
            help=(
                "Skip this run (exit 0, one line) while another cctrack job of the same data "
                "directory still runs: what timers and cron use."
            ),
        ),
    ],
}
CAPTURE = (
    "data_dir",
    "claude_status",
    "codex_status",
    "sources",
    "timeout",
    "hostname",
    "token_counters",
)
ANALYZE = (
    "data_dir",
    "textfile_dir",
    "sources",
    "retention_days",
    "pushgateway_url",
    "remote_write_url",
    "otlp_endpoint",
    "hostname",
)
RUN = (
    "data_dir",
    "textfile_dir",
    "claude_status",
    "codex_status",
    "sources",
    "timeout",
    "hostname",
    "retention_days",
    "pushgateway_url",
    "remote_write_url",
    "otlp_endpoint",
    "token_counters",
)
ToolsOption = Annotated[
    str,
    typer.Option(
        "--tools",
        help="Which tools to show, comma-separated (claude, codex, an agent's name); "
        "default: the sources captured.",
        show_default=False,
    ),
]


def parse_tools(value: str) -> tuple[str, ...]:
    from cctrack.settings import parse_sources

    return parse_sources(value)


def chosen_tools(value: str, settings: Settings) -> tuple[str, ...]:
    """--tools, else every source captured (agents too)."""
    return parse_tools(value) if value else settings.sources


Rebuild = Annotated[
    bool,
    typer.Option(
        "--rebuild",
        help="Ignore the checkpoint and fold again from the base (what retention removed, "
        "kept in analyze-base.json) and every day file kept: the same totals, the rollup anew.",
    ),
]


class SharedOptions:
    """A command that takes shared options: it receives them as one `flags` mapping, ready
    for resolve_settings, and its own parameters as usual. Typer reads the whole signature
    only when it builds the command, so it is made then: made for every command at each
    start, it was 2 ms of each desk command (benchmarks/RESULTS.md)."""

    def __init__(self, func: Callable[..., Any], names: tuple[str, ...]) -> None:
        functools.update_wrapper(self, func, assigned=("__module__", "__name__", "__doc__"))
        self.func = func
        self.names = names

    def __call__(self, **kwargs: Any) -> Any:
        return self.func({name: kwargs.pop(name) for name in self.names}, **kwargs)

    @functools.cached_property
    def __signature__(self) -> inspect.Signature:
        own = [
            p
            for p in inspect.signature(self.func, eval_str=True).parameters.values()
            if p.name != "flags"
        ]
        shared = [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=OPTIONS[name]
            )
            for name in self.names
        ]
        return inspect.Signature([*own, *shared])

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return {p.name: p.annotation for p in self.__signature__.parameters.values()}


def with_options(*names: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Give a command the shared options `names` (plus --config): see SharedOptions."""

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        return SharedOptions(func, (*names, "config"))

    return decorate


def now() -> datetime:
    return datetime.now(timezone.utc)


@functools.cache
def _stderr_is_a_file() -> bool:
    try:
        return stat.S_ISREG(os.fstat(sys.stderr.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def log(message: str) -> None:
    """One line on stderr. Into a file (cron's `>>cron.log`) it starts with the local time,
    which the journal and a terminal do not need."""
    if _stderr_is_a_file():
        message = f"{datetime.now().astimezone().isoformat(timespec='seconds')} {message}"
    print(message, file=sys.stderr)


def step(command: str, action: Callable[[], int]) -> int:
    """One step of a job that goes on after it (run: capture, analyze, push): its failure is
    its one line and its status, and the next step runs. Everywhere else errors go up to
    the Boundary."""
    try:
        return action()
    except (CctrackError, OSError) as exc:
        line, code = failure(exc)
        log(f"cctrack {command}: {line}")
        return code


def settings_from(flags: dict[str, Any]) -> Settings:
    config = flags.pop("config", None)
    return resolve_settings(flags, os.environ, config)


# What the reading commands (show, bar, guard, statusline, hook) use: they resolve these
# alone, so that a broken setting they do not use never leaves a status line empty.
READING = (
    "data_dir",
    "sources",
    "agents",
    "hook_threshold",
    "hook_use_it_left",
    "hook_use_it_minutes",
)


def reading_settings(flags: dict[str, Any]) -> Settings:
    config = flags.pop("config", None)
    return resolve_settings(flags, os.environ, config, only=READING)


def do_capture(settings: Settings) -> int:
    from cctrack.capture import capture, summary, token_summary

    done = capture(settings, now, os.environ)
    log(summary(done.records, settings.data_dir) + token_summary(done))
    if done.scan_errors or not any(record.ok for record in done.records):
        return EXIT_FAILURE
    return 0


def do_analyze(settings: Settings, rebuild: bool) -> int:
    from cctrack.analyze import analyze, log_line

    log(log_line(analyze(settings, now(), rebuild)))
    return 0


def sinks(settings: Settings) -> bool:
    """Whether `cctrack push` has anywhere to send to."""
    from cctrack.sinks import SINKS

    return any(getattr(settings, sink.url_key) for sink in SINKS)


def do_push(settings: Settings) -> int:
    """The textfile to each sink that is set, each one's outcome recorded in its status file
    (exported by the next analyze); each one's failure is a step of its own."""
    from functools import partial

    from cctrack.files import own_data_dir
    from cctrack.sinks import SINKS, Sink, Target, deliver, recorded

    own_data_dir(settings.data_dir, settings.textfile_path)

    def to(sink: Sink, url: str) -> int:
        at = now()

        def send(since: datetime) -> str:
            credentials = getattr(settings, sink.auth_key)
            target = Target(
                url,
                settings.textfile_path,
                settings.hostname,
                settings.user,
                credentials,
                since,
                at,
            )
            return deliver(sink, target)

        log(recorded(settings.data_dir, sink.status_file, at, send))
        return 0

    codes = [0]
    for sink in SINKS:
        url = getattr(settings, sink.url_key)
        if url:
            codes.append(step("push", partial(to, sink, url)))
    return max(codes)


def as_job(name: str, settings: Settings, if_idle: bool, work: Callable[[], int]) -> int:
    """Run work, the job `name` (capture, analyze or push); with --if-idle, only when no
    other run of the same job of this data directory is still going, so slow timer or cron
    runs never pile up. Each job has its own lock, held for that job alone: a capture and
    an analyze started on the same minute both run (analyze reads what is there), and a
    push still waiting on a slow sink never makes the next run skip its capture."""
    if not if_idle:
        return work()
    from cctrack.files import own_data_dir, try_locked

    data_dir = own_data_dir(settings.data_dir, settings.textfile_path)
    with try_locked(data_dir / f".{name}.job.lock") as free:
        if not free:
            log(f"cctrack {name}: the previous cctrack {name} still runs; skipping this {name}")
            return 0
        return work()


@app.command()
@with_options(*CAPTURE, "if_idle")
def capture(flags: dict[str, Any]) -> None:
    """Run each status tool once and append one record per tool to the day file.

    Exit 0 if at least one tool succeeded, 1 if all failed, 2 on a usage or configuration error.
    """
    if_idle = flags.pop("if_idle")
    settings = settings_from(flags)
    code = as_job(
        "capture", settings, if_idle, lambda: step("capture", lambda: do_capture(settings))
    )
    raise typer.Exit(code)


@app.command()
@with_options(*ANALYZE, "if_idle")
def analyze(flags: dict[str, Any], rebuild: Rebuild = False) -> None:
    """Fold the records after the checkpoint into cctrack-USER.prom, atomically, then advance the
    checkpoint; day files past the retention go once fully read.

    On failure the previous textfile and checkpoint are left as they were.
    """
    if_idle = flags.pop("if_idle")
    settings = settings_from(flags)
    code = as_job(
        "analyze",
        settings,
        if_idle,
        lambda: step("analyze", lambda: do_analyze(settings, rebuild)),
    )
    raise typer.Exit(code)


@app.command()
@with_options(
    "data_dir",
    "textfile_dir",
    "pushgateway_url",
    "remote_write_url",
    "otlp_endpoint",
    "hostname",
    "if_idle",
)
def push(flags: dict[str, Any]) -> None:
    """Send the textfile analyze wrote to the Pushgateway of pushgateway_url (PUT, group
    job=cctrack, instance=hostname, user), the remote write endpoint of remote_write_url and
    the OTLP/HTTP endpoint of otlp_endpoint, for machines a Prometheus cannot scrape.

    Its own job, so that analyze needs no network. With none set it does nothing (exit 0).
    Exit 1 when a send failed: counted in push.json, remote-write.json or otlp.json,
    exported by the next analyze.
    """
    if_idle = flags.pop("if_idle")
    settings = settings_from(flags)
    if not sinks(settings):
        if not if_idle:
            log(
                "cctrack push: none of pushgateway_url, remote_write_url and otlp_endpoint "
                "is set (docs/settings.md); nothing to push"
            )
        raise typer.Exit(0)
    raise typer.Exit(as_job("push", settings, if_idle, lambda: do_push(settings)))


@app.command()
@with_options(*RUN, "if_idle")
def run(
    flags: dict[str, Any],
    rebuild: Rebuild = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=(
                "Capture from bundled demo Claude and Codex data (no network), into a separate "
                "demo data directory, and print the textfile."
            ),
        ),
    ] = False,
) -> None:
    """Capture, then analyze (even when capture failed, so the failure shows as a metric),
    then push when pushgateway_url is set."""
    if_idle = flags.pop("if_idle")
    if demo:
        from cctrack.demo import demo_flags

        flags = demo_flags(os.environ, flags, now())
    settings = settings_from(flags)

    def job(name: str, work: Callable[[], int]) -> int:
        return as_job(name, settings, if_idle, work)

    def work() -> int:
        captured = job("capture", lambda: step("capture", lambda: do_capture(settings)))
        analyzed = job("analyze", lambda: step("analyze", lambda: do_analyze(settings, rebuild)))
        if analyzed == 0 and sinks(settings):
            analyzed = job("push", lambda: do_push(settings))
        if demo and analyzed == 0:
            sys.stdout.write(settings.textfile_path.read_text())
            from cctrack.shipped import command_name

            log(
                f"cctrack run: demo data; see it with "
                f"`{command_name()} show --data-dir {settings.data_dir}`, or as a picture "
                f"with `{command_name()} report --html --data-dir {settings.data_dir}` "
                "(it needs the report extra)"
            )
        return captured or analyzed

    raise typer.Exit(work())


@app.command()
@with_options("data_dir", "sources")
def show(
    flags: dict[str, Any],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """What the latest analysis says: per tool and window, used, pace, time to reset, age
    of the data."""
    from cctrack.views.show import show as show_report

    settings = reading_settings(flags)
    profiles = tuple(profile.name for profile in settings.profiles)
    typer.echo(show_report(settings.data_dir, settings.sources, as_json, now(), profiles))


def _status_tool(source: str, flags: dict[str, Any]) -> None:
    from cctrack.sources.builtin import emit_status, produce

    params = settings_from(flags).source_params()
    code = emit_status(
        f"cctrack-{source}-status", lambda moment: produce(source, params, os.environ, moment)
    )
    raise typer.Exit(code)


def check_profile(name: str) -> str:
    """A profile name becomes part of file names: only what a [profiles.NAME] table allows."""
    from cctrack.settings import PROFILE_NAME_RULE, valid_profile_name

    if not valid_profile_name(name):
        raise typer.BadParameter(f"a profile name is {PROFILE_NAME_RULE}")
    return name


ProfileOption = Annotated[
    str,
    typer.Option(
        "--profile",
        help="Which profile ([profiles.NAME]); default: default.",
        callback=check_profile,
    ),
]
# For the editor's commands (statusline, hook): checked by the command, which never fails
# the editor, not by the option.
EditorProfileOption = Annotated[
    str, typer.Option("--profile", help="Which profile ([profiles.NAME]); default: default.")
]


def desk_report(flags: dict[str, Any], tools: str, profile: str) -> tuple[Report, tuple[str, ...]]:
    """The latest analysis of the tools asked for (--tools, else every source), and those."""
    from cctrack.views.latest import latest_report

    settings = reading_settings(flags)
    chosen = chosen_tools(tools, settings)
    return latest_report(settings.data_dir, chosen, (profile,), now())[0], chosen


@app.command()
@with_options("data_dir")
def bar(
    flags: dict[str, Any],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="plain, json, waybar (JSON with text/tooltip/class/percentage), tmux (#[fg=…] "
            "colours) or i3blocks (full text, short text, colour).",
        ),
    ] = "plain",
    tools: ToolsOption = "",
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """One line for a desktop bar from the latest analysis (no capture, no network), with a
    class for colouring: ok, warn (80 % used, or burning too fast) or critical (95 %)."""
    from cctrack.views.desk import FORMATS
    from cctrack.views.desk import bar as render_bar

    if fmt not in FORMATS:
        raise CctrackError(
            f"unknown --format {fmt!r}; choose from {', '.join(FORMATS)}", EXIT_USAGE
        )
    report, chosen = desk_report(flags, tools, profile)
    typer.echo(render_bar(report, now(), chosen, fmt, profile))


@app.command()
@with_options("data_dir")
def guard(
    flags: dict[str, Any],
    tool: Annotated[
        str, typer.Option("--tool", help="claude, codex or an agent's name.")
    ] = "codex",
    window: Annotated[str, typer.Option("--window", help="five_hour, weekly, ...")] = "five_hour",
    min_left: Annotated[
        float, typer.Option("--min-left", help="Percent of the window that must be left.")
    ] = 10.0,
    max_age: Annotated[
        Optional[str],
        typer.Option(
            "--max-age",
            help="Numbers older than this (15m, 2h, 1d) count as unknown; by default any age.",
            show_default=False,
        ),
    ] = None,
    fail_open: Annotated[
        bool, typer.Option("--fail-open", help="Exit 0, not 69, when it is unknown.")
    ] = False,
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Is enough of a limit left to start a long run? From the latest analysis, offline.

    Exit 0 when at least --min-left percent is left, 1 when not, 69 (EX_UNAVAILABLE) when
    unknown or older than --max-age; one line says why.
    """
    from cctrack.views.desk import guard as decide
    from cctrack.views.desk import parse_age

    (chosen,) = parse_tools(tool)  # one tool, checked before anything is read
    try:
        age = parse_age(max_age) if max_age else None
    except ValueError as exc:
        raise CctrackError(str(exc), EXIT_USAGE) from None
    verdict = decide(
        desk_report(flags, chosen, profile)[0],
        now(),
        chosen,
        window,
        min_left,
        age,
        fail_open,
        profile,
    )
    typer.echo(verdict.message)
    raise typer.Exit(verdict.code)


@app.command()
@with_options("data_dir")
def setup(
    flags: dict[str, Any],
    systemd_user: Annotated[
        bool, typer.Option("--systemd-user", help="Schedule with the systemd user timer.")
    ] = False,
    cron: Annotated[bool, typer.Option("--cron", help="Schedule with a crontab line.")] = False,
    textfile: Annotated[
        Optional[Path],
        typer.Option(
            "--textfile-dir",
            help="node_exporter's textfile directory, written to your config file.",
            show_default=False,
        ),
    ] = None,
    statusline: Annotated[
        bool,
        typer.Option(
            "--statusline",
            help="Make cctrack Claude Code's statusLine (wrapping the "
            "one there; settings.json is backed up).",
        ),
    ] = False,
    hook: Annotated[
        bool,
        typer.Option(
            "--hook",
            help="Add `cctrack hook` to Claude Code's UserPromptSubmit hooks (settings.json) "
            "and Codex's (hooks.json in its home, when there is one).",
        ),
    ] = False,
    remove: Annotated[
        bool, typer.Option("--uninstall", help="Undo all of it; your data stays.")
    ] = False,
) -> None:
    """Install cctrack for this user in one step, idempotently, saying what it did: link it
    into ~/.local/bin, set the textfile directory, create the directories the jobs write,
    schedule the jobs (units that run this very cctrack), add the status line and the
    agent hook."""
    from cctrack.demo import demo_data_dir
    from cctrack.install import Place, SetupFailed
    from cctrack.install import setup as run_setup
    from cctrack.shipped import installed_command

    config = flags.get("config") or os.environ.get("CCTRACK_CONFIG")
    settings = settings_from(flags)
    home = Path(os.environ.get("HOME") or Path.home())
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    place = Place(
        home=home,
        executable=installed_command(),
        data_dir=settings.data_dir,
        textfile_dir=settings.textfile_dir,
        textfile_dir_is_default=settings.textfile_dir_is_default,
        textfile_name=settings.textfile_name,
        claude_home=settings.claude_home,
        config_file=Path(config) if config else Path(xdg) / "cctrack" / "config.toml",
        path_env=os.environ.get("PATH", ""),
        codex_home=settings.codex_home,
        html_report=settings.html_report,
        demo_dir=demo_data_dir(os.environ),
    )
    try:
        lines = run_setup(place, systemd_user, cron, textfile, statusline, remove, hook)
    except SetupFailed as failed:
        for line in failed.done:
            typer.echo(f"cctrack setup: {line}")
        raise
    for line in lines:
        typer.echo(f"cctrack setup: {line}")


@app.command()
def deploy(
    names: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="A group (systemd-system, systemd-user, cron, launchd, prometheus, grafana) "
            "or one file as --list names it.",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        Optional[Path],
        typer.Option(
            "--to", help="Write the files into this directory (0644).", show_default=False
        ),
    ] = None,
    listing: Annotated[bool, typer.Option("--list", help="List what cctrack ships.")] = False,
    command: Annotated[
        Optional[Path],
        typer.Option(
            "--command",
            help="The cctrack the units and cron line run, as a path on the hosts they are "
            "for; default this one.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print or write what cctrack ships for deployment, for hosts managed by hand or by
    Ansible/Salt: systemd units (running this cctrack), the cron line, launchd's agent, the
    Prometheus alert rules and the Grafana dashboard.

    One file goes to stdout; a group needs --to DIR. System units are refused when other
    users could not run the cctrack they name (a Python under /root, a venv in a private
    home), as far as this host can tell.
    """
    from cctrack.shipped import deploy as rendered
    from cctrack.shipped import installed_command, shipped_files, write_files

    if listing or not names:
        typer.echo("\n".join(shipped_files()))
        return
    files = rendered(names, to, command or installed_command())
    if to is None:
        sys.stdout.write(files[0][1])
        return
    for target in write_files(files, to):
        log(f"cctrack deploy: wrote {target}")


def parse_since(value: Optional[str]) -> Optional[datetime]:
    if value is None:
        return None
    from cctrack.timefmt import parse_time

    text = value if "T" in value else f"{value}T00:00:00Z"
    try:
        return parse_time(text)
    except ValueError:
        raise CctrackError(
            f"--since {value!r} is not a date (2026-11-01) or an RFC 3339 time", EXIT_USAGE
        ) from None


SinceOption = Annotated[
    Optional[str],
    typer.Option(
        "--since", help="Only from this UTC date (2026-11-01) or time on.", show_default=False
    ),
]


ToolFilter = Annotated[
    Optional[str],
    typer.Option(
        "--tool", help="Only this tool: claude, codex or an agent's name.", show_default=False
    ),
]
FormatOption = Annotated[
    str,
    typer.Option("--format", help="text, json (one object per line) or csv (with a header row)."),
]
# The two booleans --format replaced, kept working for scripts written before it.
JsonOption = Annotated[bool, typer.Option("--json", hidden=True)]
CsvOption = Annotated[bool, typer.Option("--csv", hidden=True)]


def one_tool(tool: str | None) -> str | None:
    """--tool: None for every tool."""
    return parse_tools(tool)[0] if tool else None


def output_format(fmt: str, as_json: bool = False, as_csv: bool = False) -> str:
    """--format, or the older --json / --csv."""
    chosen = "json" if as_json else "csv" if as_csv else fmt
    if chosen not in ("text", "json", "csv"):
        raise CctrackError(f"unknown --format {fmt!r}; choose text, json or csv", EXIT_USAGE)
    return chosen


@app.command()
@with_options("data_dir")
def events(
    flags: dict[str, Any],
    since: SinceOption = None,
    tool: ToolFilter = None,
    fmt: FormatOption = "text",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Every limit event in the records, with both snapshots: resets, reset times that
    moved, usage that fell without a reset, jumped, or rose with nothing running here."""
    from cctrack.fold import rules_of
    from cctrack.views.history import render_events, replay_events, select

    settings = settings_from(flags)
    chosen = one_tool(tool)
    found = replay_events(settings.data_dir, rules_of(settings))
    typer.echo(
        render_events(
            select(found, parse_since(since), chosen), output_format(fmt, as_json, as_csv)
        )
    )


@app.command()
@with_options("data_dir")
def cycles(
    flags: dict[str, Any],
    since: SinceOption = None,
    tool: ToolFilter = None,
    window: Annotated[
        Optional[str],
        typer.Option("--window", help="Only this window: five_hour, weekly, …", show_default=False),
    ] = None,
    fmt: FormatOption = "text",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """One row per closed window, as analyze folded it: its start and reset, peak use, when it
    first reached 100 % and for how long, the tokens counted here within it, and for a
    5-hour window the weekly points it cost (what a full 5-hour window costs of the week)."""
    from cctrack.fold import rules_of
    from cctrack.views.history import cycle_rows, render_cycles

    settings = settings_from(flags)
    rows, left_out = cycle_rows(
        settings.data_dir, rules_of(settings), parse_since(since), one_tool(tool), window
    )
    if left_out:
        log(f"cctrack cycles: {left_out}")
    typer.echo(render_cycles(rows, output_format(fmt, as_json, as_csv)))


@app.command()
@with_options("data_dir", "sources")
def report(
    flags: dict[str, Any],
    as_html: Annotated[
        bool, typer.Option("--html", help="A self-contained HTML page (the one format).")
    ] = False,
    output: Annotated[
        Optional[str],
        typer.Option(
            "-o",
            "--output",
            help="Where to write it; - for stdout. Default: cctrack-report.html here.",
            show_default=False,
        ),
    ] = None,
    since: SinceOption = None,
    tool: ToolFilter = None,
) -> None:
    """A picture for people without Grafana: one HTML file (no network, no script), with
    each window's use over time, its limit events, resets and run-out time, tokens per day
    by model, tokens per 1 % over time and the closed windows. Opens from file://."""
    from cctrack.files import replaceable, write_atomic
    from cctrack.fold import rules_of
    from cctrack.views.page import render

    if not as_html:
        raise CctrackError("say --html: the report is an HTML page", EXIT_USAGE)
    settings = settings_from(flags)
    profiles = tuple(profile.name for profile in settings.profiles)
    page = render(
        settings.data_dir,
        now(),
        settings.sources,
        profiles,
        rules_of(settings),
        parse_since(since),
        one_tool(tool),
    )
    if output == "-":
        sys.stdout.write(page)
        return
    target = Path(output or "cctrack-report.html")
    # A link named on the command line is most likely /dev/stdout or the like: kept.
    replaceable(target, links=False)
    # Private: it shows usage, projects and times of work.
    write_atomic(target, page.encode())
    log(f"cctrack report: wrote {target} ({len(page) // 1024} KB); open it in a browser")


@app.command()
@with_options("data_dir")
def history(
    flags: dict[str, Any],
    since: SinceOption = None,
    tool: ToolFilter = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV (the only format).")] = True,
) -> None:
    """Every captured window and bucket as CSV rows, for a spreadsheet: when the numbers
    were true, when they were captured, used share, reset time, origin."""
    from cctrack.views.history import history_rows, write_history

    settings = settings_from(flags)
    chosen = one_tool(tool)
    write_history(history_rows(settings.data_dir, parse_since(since), chosen), sys.stdout)


@app.command()
@with_options("data_dir")
def tokens(
    flags: dict[str, Any],
    since: SinceOption = None,
    tool: ToolFilter = None,
    fmt: FormatOption = "text",
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="model, or project (with token_projects on, from when it was turned on).",
        ),
    ] = "model",
) -> None:
    """Tokens per day (local time) and model, from the token records that capture appends:
    the numbers `ccusage daily` shows, without reading the transcripts again; in text, each
    row's total and its cost at API prices, and each tool's totals."""
    from cctrack.fold import rules_of
    from cctrack.tokens.prices import price_table
    from cctrack.views.history import render_token_days, token_days

    if by not in ("model", "project"):
        raise CctrackError(f"unknown --by {by!r}; choose model or project", EXIT_USAGE)
    chosen_format = output_format(fmt, as_json, as_csv)
    settings = settings_from(flags)
    if by == "project" and not settings.token_projects:
        typer.echo(
            "no tokens counted per project: token_projects is off; set it (docs/tokens.md) "
            "and they are counted from then on"
        )
        return
    chosen = one_tool(tool)
    naming = rules_of(settings).projects
    rows = token_days(
        settings.data_dir, parse_since(since), chosen, naming if by == "project" else None
    )
    prices = price_table(settings.prices)
    typer.echo(render_token_days(rows, chosen_format, by, prices))


@app.command("claude-status")
@with_options("data_dir")
def claude_status(flags: dict[str, Any]) -> None:
    """The built-in Claude status tool: print one status object (also installed as
    cctrack-claude-status)."""
    _status_tool("claude", flags)


@app.command("codex-status")
@with_options("data_dir")
def codex_status(flags: dict[str, Any]) -> None:
    """The built-in Codex status tool: print one status object (also installed as
    cctrack-codex-status)."""
    _status_tool("codex", flags)


@app.command("codexbar-status")
def codexbar_status(
    provider: Annotated[
        str,
        typer.Option(
            "--provider",
            help="CodexBar's provider id (gemini, copilot, opencodego, …: `codexbar --help`).",
            show_default=False,
        ),
    ],
    tool: Annotated[
        Optional[str],
        typer.Option(
            "--tool",
            help="The name the status carries; default: the agent capture runs it for, else "
            "the provider's id.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A status tool for any agent CodexBar reads: runs `codexbar usage --provider P
    --format json` and prints one status object (docs/status.md). For [agents.NAME]:
    status = "cctrack codexbar-status --provider P"."""
    from cctrack.settings import DEFAULT_TIMEOUT, parse_timeout
    from cctrack.sources.builtin import emit_status
    from cctrack.sources.codexbar import agent_name
    from cctrack.sources.codexbar import codexbar_status as read

    # Inside capture's own timeout for this tool, so that CodexBar's answer, not the
    # timeout, says what went wrong.
    given = os.environ.get("CCTRACK_TIMEOUT")
    timeout = 0.9 * (parse_timeout(given) if given else DEFAULT_TIMEOUT)
    code = emit_status(
        "cctrack-codexbar-status",
        lambda moment: read(
            provider, tool or agent_name(provider, os.environ), os.environ, timeout, moment
        ),
    )
    raise typer.Exit(code)


@app.command()
@with_options("data_dir")
def statusline(
    flags: dict[str, Any],
    wrap: Annotated[
        Optional[str],
        typer.Option(
            "--wrap",
            help=(
                "Your existing statusLine command: run through the shell with the same stdin, "
                "its output printed first."
            ),
            show_default=False,
        ),
    ] = None,
    profile: EditorProfileOption = DEFAULT_PROFILE,
    tools: ToolsOption = "",
) -> None:
    """A Claude Code statusLine command: store the rate_limits snapshot and print a
    one-line summary. Always exits 0. Reads at most 1 MiB of stdin, for at most 5 seconds."""
    from cctrack.settings import PROFILE_NAME_RULE, valid_profile_name
    from cctrack.sources.account import account_memory, claude_account
    from cctrack.views.desk import statusline as run_statusline

    try:
        settings = reading_settings(flags)
        if not valid_profile_name(profile):
            raise CctrackError(f"--profile must be {PROFILE_NAME_RULE}")
        stdin = read_editor_stdin()
    except (CctrackError, OSError) as exc:
        log(f"cctrack statusline: {exc}")
        return
    # Whose numbers a render carries: the account logged in to this profile's home now.
    home = next((p.claude_home for p in settings.profiles if p.name == profile), None)
    memory = account_memory(settings.data_dir, profile)
    account = claude_account(home, memory) if home is not None else None
    # Claude Code runs it, with its own numbers on stdin: Claude first, whatever is captured.
    chosen = parse_tools(tools) if tools else tuple(dict.fromkeys(("claude", *settings.sources)))
    # Claude Code shows a status line's ANSI colours; NO_COLOR (no-color.org) turns them off.
    colour = not os.environ.get("NO_COLOR")
    line = run_statusline(stdin, settings.data_dir, wrap, now(), chosen, profile, account, colour)
    # Claude Code reads the line through a pipe: click would strip the colours there.
    typer.echo(line, color=colour)


@app.command()
@with_options("data_dir")
def hook(
    flags: dict[str, Any],
    profile: EditorProfileOption = DEFAULT_PROFILE,
    tools: ToolsOption = "",
) -> None:
    """A UserPromptSubmit hook for Claude Code and Codex: prints one line into the agent's
    context when a window is past hook_threshold, runs out before its reset at the current
    rate, has reset after it was used up, or the numbers are stale; nothing otherwise.
    Reads the latest analysis only (no network). Always exits 0."""
    from cctrack.settings import PROFILE_NAME_RULE, valid_profile_name
    from cctrack.views.hook import hook_line

    try:
        settings = reading_settings(flags)
        if not valid_profile_name(profile):
            raise CctrackError(f"--profile must be {PROFILE_NAME_RULE}")
        read_editor_stdin()  # drained, so the editor's write never fails; not needed
        line, problem = hook_line(
            settings.data_dir, chosen_tools(tools, settings), profile, settings.hook, now()
        )
    except (CctrackError, OSError, ValueError) as exc:
        log(f"cctrack hook: {exc}")
        return
    if problem:
        log(f"cctrack hook: {problem}")
    if line:
        typer.echo(line)


# Claude Code's statusLine and hook JSON is a few KiB, written at once and closed.
STATUSLINE_STDIN = 1 << 20
STATUSLINE_WAIT = 5.0


def read_editor_stdin() -> bytes:
    """The editor's pipe, bounded in bytes and seconds. A stream without a descriptor (one
    handed over in memory, as typer's CliRunner does) has all its bytes already: it is read
    up to the same bound, with nothing to wait for."""
    import io

    from cctrack.files import read_bounded

    try:
        fd = sys.stdin.fileno()
    except io.UnsupportedOperation:
        return sys.stdin.buffer.read(STATUSLINE_STDIN)
    return read_bounded(fd, STATUSLINE_STDIN, STATUSLINE_WAIT)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"cctrack {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    pass


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _stop(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def app_for(argv: list[str]) -> typer.Typer:
    """The app with only the command that runs, when argv names one: typer builds every
    command it holds (their options from their signatures) on each start, and the status
    line and the hook start on every refresh and prompt. Anything else (--help, a typo, an
    option first) gets the whole app, which lists and suggests every command."""
    first = argv[0] if argv else ""
    chosen = [
        info
        for info in app.registered_commands
        if info.callback is not None
        and (info.name or typer.main.get_command_name(info.callback.__name__)) == first
    ]
    if len(chosen) != 1:
        return app
    one = new_app()
    one.registered_callback = app.registered_callback
    one.registered_commands = chosen
    return one


def main(argv: list[str] | None = None) -> None:
    """A stop signal (systemd's and `timeout`'s SIGTERM, SIGHUP, ^C) becomes Interrupted
    where the program is, so that everything unwinds (children killed, locks released, what
    was captured recorded); the Boundary turns it into 128 + the signal's number, as here
    one that arrives before or after a command."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)
    args = sys.argv[1:] if argv is None else argv
    try:
        app_for(args)(args=args)
    except Interrupted as stop:
        line, code = failure(stop)
        log(f"cctrack: {line}")
        sys.exit(code)


# The built-in status tools as commands of their own: cctrack.__main__ starts them, and
# the console scripts of an install made before it did (an editable install not made
# again since) name these directly.
def claude_status_tool() -> None:
    main(["claude-status", *sys.argv[1:]])


def codex_status_tool() -> None:
    main(["codex-status", *sys.argv[1:]])
