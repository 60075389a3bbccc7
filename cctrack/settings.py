"""Settings: command-line flag, else environment, else config file, else default
(docs/settings.md). Resolved once per run, in the process the user started; everything
below gets plain values."""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cctrack.errors import EXIT_USAGE, CctrackError
from cctrack.files import user_name
from cctrack.model import frozen
from cctrack.status import DEFAULT_PROFILE, SOURCE_TOOLS, TOOL_NAME_RULE, is_number, valid_tool
from cctrack.thresholds import Limits

if TYPE_CHECKING:
    # Only the jobs that run the status tools need them (source_params), and only a config
    # file that sets prices the price type.
    from cctrack.sources.params import SourceParams
    from cctrack.tokens.prices import Price

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETENTION_DAYS = 400
DEFAULT_CLAUDE_USAGE_URL = "https://api.anthropic.com/api/oauth/usage"
BUILTIN = "builtin"


@frozen(eq=False)
class Setting:
    """One setting, said once: its row of docs/settings.md (checked in full by
    tests/test_docs.py), its flag and the flag's help, its environment variable, its config
    key. Adding a setting is one entry here, one line there, and its parsing below. Rows
    are compared by identity."""

    key: str
    what: str
    default: str
    flag: str = ""
    env: str = ""
    # What a flag's value is, for the command line: a path, a number, a list, a switch.
    kind: type = str
    # The docs' flag and config key cells, where they say more than the flag and the key.
    flag_doc: str = ""
    key_doc: str = ""
    # A given value checked and converted (a CctrackError says what is wrong with it), and
    # the value when none is given; None where the resolver works the default out.
    parse: Callable[[Any], Any] | None = None
    fallback: Any = None
    # Why it is taken only from a config file nobody else can change (as ssh does): it
    # names a command to run, a private file to read and send, a URL that receives your
    # data and its credentials, or a file to write. "" for a setting any config may set.
    trusted_only: str = ""

    def row(self) -> list[str]:
        """The setting's row of the docs table."""
        flag = self.flag_doc or (f"`{self.flag}`" if self.flag else "—")
        return [
            self.what,
            flag,
            f"`{self.env}`" if self.env else "—",
            self.key_doc or f"`{self.key}`",
            self.default,
            self.trusted_only or "any",
        ]

    def help(self) -> str:
        """The flag's help: what it is, its variable and its default, in plain text."""
        what = _plain(self.what)
        return f"{what[0].upper()}{what[1:]}. Env {self.env}; default {_plain(self.default)}."


def _plain(markdown: str) -> str:
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown).replace("`", "")


PRICE_FIELDS = ("input", "output", "cache_write", "cache_read")
DEFAULT_NOTIFY_THRESHOLDS = (0.8, 0.95)
DEFAULT_NOTIFY_TIMEOUT = 10.0
PROFILE_KEYS = ("claude_home", "codex_home", "claude_status", "codex_status")
_PROFILE_NAME = re.compile(r"^[a-z0-9_-]{1,32}\Z")
PROFILE_NAME_RULE = "1-32 of a-z 0-9 _ -"


@frozen
class Profile:
    """One Claude Code home and one Codex home, captured together under one name."""

    name: str
    claude_home: Path
    codex_home: Path
    # () is the built-in status tool.
    claude_status: tuple[str, ...] = ()
    codex_status: tuple[str, ...] = ()
    # Where else Claude Code may keep transcripts: $XDG_CONFIG_HOME/claude when no home was
    # configured, as ccusage reads both.
    claude_more_homes: tuple[Path, ...] = ()

    def status_command(self, source: str) -> tuple[str, ...]:
        return self.claude_status if source == "claude" else self.codex_status

    def homes(self, source: str) -> tuple[Path, ...]:
        if source == "claude":
            return (self.claude_home, *self.claude_more_homes)
        return (self.codex_home,)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class HookRules(NamedTuple):
    """When `cctrack hook` tells the agent (settings `hook_*`, docs/settings.md)."""

    threshold: float = 0.9
    use_it_left: float = 0.5
    # 0: no "use it or lose it" notices.
    use_it_minutes: float = 0.0


@frozen(eq=False)
class Settings:
    """Every setting, resolved once (resolve_settings) and passed down as plain values.
    Compared by identity, as the table's rows are: nothing compares two resolutions, and
    the __eq__ and __hash__ of some 60 fields were 1 ms of every start."""

    data_dir: Path
    textfile_dir: Path
    # Only the default directory is created on demand: a configured one that is missing is
    # more likely a typo than a wish, and node_exporter would not be reading it either.
    textfile_dir_is_default: bool
    # () is the built-in status tool.
    claude_status: tuple[str, ...]
    codex_status: tuple[str, ...]
    sources: tuple[str, ...]
    timeout: float
    hostname: str
    claude_oauth: bool
    claude_usage_url: str
    codex_app_server: bool
    claude_home: Path
    codex_home: Path
    retention_days: int = DEFAULT_RETENTION_DAYS
    user: str = "unknown"
    textfile_name: str = "cctrack-unknown.prom"
    pushgateway_url: str | None = None
    pushgateway_auth_file: Path | None = None
    remote_write_url: str | None = None
    remote_write_auth_file: Path | None = None
    otlp_endpoint: str | None = None
    otlp_headers_file: Path | None = None
    html_report: Path | None = None
    # Empty: the one profile the top-level homes and status commands make, "default".
    configured_profiles: tuple[Profile, ...] = field(default=())
    notify_command: tuple[str, ...] = ()
    notify_thresholds: tuple[float, ...] = DEFAULT_NOTIFY_THRESHOLDS
    notify_timeout: float = DEFAULT_NOTIFY_TIMEOUT
    event_limits: Limits = field(default_factory=Limits)
    token_counters: bool = True
    # Projects named per window (0: projects are not counted), and names by directory.
    token_projects: int = 0
    project_names: tuple[tuple[str, str], ...] = ()
    prices: tuple[Price, ...] = ()
    claude_more_homes: tuple[Path, ...] = ()
    hook: HookRules = HookRules()
    agents: tuple[Agent, ...] = ()

    @property
    def profiles(self) -> tuple[Profile, ...]:
        return self.configured_profiles or (
            Profile(
                DEFAULT_PROFILE,
                self.claude_home,
                self.codex_home,
                self.claude_status,
                self.codex_status,
                self.claude_more_homes,
            ),
        )

    @property
    def textfile_path(self) -> Path:
        return self.textfile_dir / self.textfile_name

    def status_command(self, profile: Profile, source: str) -> tuple[str, ...]:
        """The command that prints the source's status in the profile; () for a built-in."""
        if source in SOURCE_TOOLS:
            return profile.status_command(source)
        return next(agent.status for agent in self.agents if agent.name == source)

    def source_params(self, profile: Profile | None = None) -> SourceParams:
        from cctrack.sources.params import SourceParams

        profile = profile or self.profiles[0]
        return SourceParams(
            data_dir=self.data_dir,
            claude_home=profile.claude_home,
            codex_home=profile.codex_home,
            claude_oauth=self.claude_oauth,
            claude_usage_url=self.claude_usage_url,
            codex_app_server=self.codex_app_server,
            timeout=self.timeout,
            profile=profile.name,
        )

    def child_environment(
        self, base: Mapping[str, str], profile: Profile | None = None
    ) -> dict[str, str]:
        """What a status tool runs with: the caller's environment plus the resolved settings,
        so that any tool, built-in or not, sees exactly what capture was told."""
        return {**base, **self.source_params(profile).to_env()}


def _xdg(env: Mapping[str, str], name: str, home: Path, fallback: str) -> Path:
    value = env.get(name, "")
    # The XDG spec says relative paths are invalid and must be ignored.
    return Path(value) if value and os.path.isabs(value) else home / fallback


def state_home(env: Mapping[str, str], home: Path) -> Path:
    return _xdg(env, "XDG_STATE_HOME", home, ".local/state")


def checkout_root() -> Path | None:
    """The source checkout cctrack runs from, if it runs from one (an editable install)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "textfile").is_dir():
        return root
    return None


def default_textfile_dir(env: Mapping[str, str], home: Path) -> Path:
    root = checkout_root()
    if root is not None:
        return root / "textfile"
    return _xdg(env, "XDG_DATA_HOME", home, ".local/share") / "cctrack" / "textfile"


MAX_CONFIG_BYTES = 1 << 20


def valid_profile_name(name: str) -> bool:
    return name == DEFAULT_PROFILE or bool(_PROFILE_NAME.match(name))


def _read_config(path: Path) -> tuple[bytes, str | None]:
    """The file's bytes, and why others could change it (None when they cannot). Opened
    without blocking and refused unless it is a regular file: a FIFO would hang every run."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CctrackError(f"config file {path} is not a regular file", EXIT_USAGE)
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise CctrackError(f"config file {path} is larger than 1 MiB", EXIT_USAGE)
    me = os.geteuid()
    if st.st_uid not in (me, 0):
        return data, f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return data, f"others can write it (mode {stat.S_IMODE(st.st_mode):04o}; chmod go-w {path})"
    folder = os.stat(path.parent)
    if folder.st_uid not in (me, 0) or (folder.st_mode & 0o022 and not folder.st_mode & 0o1000):
        return data, f"others can replace it in {path.parent} (chmod go-w {path.parent})"
    return data, None


def _untrusted_keys(config: dict[str, Any]) -> list[str]:
    """The keys of a config file that only a file nobody else can change may set
    (Setting.trusted_only), also within [profiles.NAME] tables."""
    found = [key for key in config if key in TRUSTED_ONLY]
    profiles = config.get("profiles")
    for name, table in profiles.items() if isinstance(profiles, dict) else ():
        if isinstance(table, dict):
            found += [f"profiles.{name}.{k}" for k in table if k in TRUSTED_ONLY]
    return found


def load_config(path: Path, required: bool) -> dict[str, Any]:
    try:
        data, why = _read_config(path)
    except FileNotFoundError:
        if required:
            raise CctrackError(f"config file {path} does not exist", EXIT_USAGE) from None
        return {}
    except OSError as exc:
        raise CctrackError(f"cannot read config file {path}: {exc}", EXIT_USAGE) from None
    # Imported only for a file to parse: the status line and the hook start on every
    # refresh and prompt, most often with no config file.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        config = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CctrackError(f"cannot read config file {path}: {exc}", EXIT_USAGE) from None
    risky = _untrusted_keys(config) if why else []
    if risky:
        reasons = sorted({SETTING[key.rsplit(".", 1)[-1]].trusted_only for key in risky})
        raise CctrackError(
            f"config file {path} sets {', '.join(risky)}, which {'; '.join(reasons)}, but "
            f"{why}: cctrack takes those only from a file that nobody else can change",
            EXIT_USAGE,
        )
    unknown = sorted(set(config) - set(ENVIRONMENT) - set(CONFIG_ONLY))
    if unknown:
        raise CctrackError(
            f"unknown setting {unknown[0]!r} in {path}; known settings: "
            f"{', '.join([*ENVIRONMENT, *CONFIG_ONLY])}",
            EXIT_USAGE,
        )
    return dict(config)


def parse_textfile_name(name: Any) -> str:
    if "/" in str(name) or not str(name).endswith(".prom"):
        raise CctrackError(
            f"textfile_name {name!r} must be a file name ending in .prom "
            "(node_exporter reads only those)",
            EXIT_USAGE,
        )
    return str(name)


# Each sink's URL setting and the setting of the private file its credentials come from.
AUTH_FILES = {
    "pushgateway_url": "pushgateway_auth_file",
    "remote_write_url": "remote_write_auth_file",
    "otlp_endpoint": "otlp_headers_file",
}


def sink_url(key: str) -> Callable[[Any], str]:
    """A sink's URL (pushgateway_url, remote_write_url, otlp_endpoint): http(s), without a
    user or password, which would show in every log line and in `ps`; their place is the
    sink's auth file."""

    def parse(url: Any) -> str:
        import urllib.parse

        try:
            parts = urllib.parse.urlsplit(str(url))
        except ValueError:
            raise CctrackError(f"{key} is not a URL", EXIT_USAGE) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CctrackError(f"{key} {url!r} must be an http:// or https:// URL", EXIT_USAGE)
        if "@" in parts.netloc:
            raise CctrackError(
                f"{key} carries a user or password, which would show in logs and in the "
                "process list; write user:password into a file only you can read (chmod 600) "
                f"and set {AUTH_FILES[key]} to it",
                EXIT_USAGE,
            )
        return str(url)

    return parse


def parse_command(value: Any, what: str) -> tuple[str, ...]:
    """A status command: a list, an existing file (spaces and all), or a command line split
    like a shell would, but never run by one."""
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return tuple(value)
    if not isinstance(value, str) or not value.strip():
        raise CctrackError(f"{what} must be a path or a command line", EXIT_USAGE)
    if os.path.isfile(value):
        return (value,)
    import shlex

    try:
        argv = tuple(shlex.split(value))
    except ValueError as exc:
        raise CctrackError(f"cannot parse {what} {value!r}: {exc}", EXIT_USAGE) from None
    if not argv:
        raise CctrackError(f"{what} is empty", EXIT_USAGE)
    return argv


def parse_sources(value: Any) -> tuple[str, ...]:
    """claude, codex and agents' names (each then needs its `[agents.NAME]`), in order."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise CctrackError("sources must be a list such as claude,codex", EXIT_USAGE)
    sources: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not valid_tool(name):
            raise CctrackError(
                f"source {name!r} cannot be a tool's name: claude, codex, or an agent's name, "
                f"{TOOL_NAME_RULE}",
                EXIT_USAGE,
            )
        if name not in sources:
            sources.append(name)
    if not sources:
        raise CctrackError("no source selected; use claude, codex or both", EXIT_USAGE)
    return tuple(sources)


@frozen
class Agent:
    """A coding agent beside Claude and Codex (`[agents.NAME]`): its status command prints
    the status object of docs/status.md."""

    name: str
    status: tuple[str, ...]


AGENT_KEYS = ("status",)


def parse_agents(value: Any) -> tuple[Agent, ...]:
    """`[agents.NAME]` tables, each with `status`, the agent's status command."""
    if not isinstance(value, dict):
        raise CctrackError("agents must be tables such as [agents.gemini]", EXIT_USAGE)
    agents = []
    for name, table in sorted(value.items()):
        if not valid_tool(name) or name in SOURCE_TOOLS:
            raise CctrackError(
                f"agent name {name!r} must be {TOOL_NAME_RULE}, and not claude or codex "
                "(their status commands are claude_status and codex_status)",
                EXIT_USAGE,
            )
        if not isinstance(table, dict) or set(table) != set(AGENT_KEYS):
            raise CctrackError(
                f'agent {name}: say its status command, status = "…" (and nothing else)',
                EXIT_USAGE,
            )
        agents.append(Agent(name, parse_command(table["status"], f"agent {name} status")))
    return tuple(agents)


def parse_timeout(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise CctrackError(f"timeout {value!r} is not a number of seconds", EXIT_USAGE) from None
    if not 0 < seconds <= 3600:
        raise CctrackError(f"timeout {value!r} must be between 0 and 3600 seconds", EXIT_USAGE)
    return seconds


def current_user() -> str:
    """The unix user this runs as: the `user` label and the default textfile's name."""
    return user_name(os.geteuid())


def _profile_path(table: dict[str, Any], key: str, fallback: Path) -> Path:
    given = table.get(key)
    return Path(str(given)).expanduser() if given else fallback


def _profile_command(table: dict[str, Any], source: str, name: str) -> tuple[str, ...]:
    given = table.get(f"{source}_status")
    if given is None or given == BUILTIN:
        return ()
    return parse_command(given, f"profile {name} {source} status command")


def parse_profiles(value: Any, home: Path) -> tuple[Profile, ...]:
    """`[profiles.NAME]` tables: each a Claude Code home and a Codex home, optionally its
    own status commands."""
    if not isinstance(value, dict) or not value:
        raise CctrackError("profiles must be tables such as [profiles.work]", EXIT_USAGE)
    profiles = []
    for name, table in sorted(value.items()):
        if not _PROFILE_NAME.match(name):
            raise CctrackError(f"profile name {name!r} must be {PROFILE_NAME_RULE}", EXIT_USAGE)
        if not isinstance(table, dict) or set(table) - set(PROFILE_KEYS):
            raise CctrackError(
                f"profile {name}: known keys are {', '.join(PROFILE_KEYS)}", EXIT_USAGE
            )

        profiles.append(
            Profile(
                name,
                _profile_path(table, "claude_home", home / f".claude-{name}"),
                _profile_path(table, "codex_home", home / f".codex-{name}"),
                _profile_command(table, "claude", name),
                _profile_command(table, "codex", name),
            )
        )
    for source in SOURCE_TOOLS:
        seen: dict[str, str] = {}
        for profile in profiles:
            where = os.path.realpath(profile.homes(source)[0])
            if where in seen:
                raise CctrackError(
                    f"profiles {seen[where]} and {profile.name} both use {where}: its tokens "
                    f"would count twice; give each profile its own {source} home",
                    EXIT_USAGE,
                )
            seen[where] = profile.name
    return tuple(profiles)


def parse_event_limits(config: Mapping[str, Any]) -> Limits:
    """When a change between snapshots is an event (evidence.py), from the config file."""

    def number(key: str, default: float) -> float:
        value = config.get(key, default)
        if not is_number(value) or not 0 < value <= 10080:
            raise CctrackError(f"{key} must be a positive number, not {value!r}", EXIT_USAGE)
        return float(value)

    return Limits(
        reset_move=timedelta(minutes=number("event_reset_move_minutes", 5)),
        drop=number("event_drop_points", 1) / 100,
        jump=number("event_jump_points", 10) / 100,
        jump_within=timedelta(minutes=number("event_jump_within_minutes", 15)),
    )


def parse_thresholds(value: Any) -> tuple[float, ...]:
    """Usage shares at which notify_command hears of a crossing, each in (0, 1]."""
    items = value if isinstance(value, (list, tuple)) else [value]
    try:
        thresholds = tuple(sorted({float(item) for item in items}))
    except (TypeError, ValueError):
        raise CctrackError(
            "notify_thresholds must be numbers such as [0.8, 0.95]", EXIT_USAGE
        ) from None
    if not all(0 < t <= 1 for t in thresholds):
        raise CctrackError(
            "notify_thresholds must be shares between 0 and 1, such as 0.8", EXIT_USAGE
        )
    return thresholds


def number_in(key: str, fits: Callable[[float], bool], rule: str) -> Callable[[Any], float]:
    """A setting that is one number, checked by `fits`; `rule` says what fits."""

    def parse(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not fits(number):
            raise CctrackError(f"{key} must be {rule}", EXIT_USAGE)
        return number

    return parse


def parse_share(key: str) -> Callable[[Any], float]:
    return number_in(key, lambda n: 0 < n <= 1, "a share between 0 and 1, such as 0.9")


def parse_minutes(key: str) -> Callable[[Any], float]:
    return number_in(key, lambda n: 0 <= n <= 7 * 24 * 60, "minutes from 0 (off) to 10080")


def parse_projects_cap(value: Any) -> int:
    try:
        cap = int(value)
    except (TypeError, ValueError):
        cap = -1
    if isinstance(value, bool) or not 0 <= cap <= 50 or str(cap) != str(value).strip():
        raise CctrackError("token_projects must be a whole number from 0 (off) to 50", EXIT_USAGE)
    return cap


def parse_project_names(value: Any) -> tuple[tuple[str, str], ...]:
    """`[project_names]`: "/home/me/src/app" = "app", paths as the sessions' cwd says them."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise CctrackError(
            'project_names must be a table of paths and names, such as "/home/me/app" = "app"',
            EXIT_USAGE,
        )
    return tuple(sorted(value.items()))


def parse_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise CctrackError(
            f"retention_days {value!r} is not a whole number of days", EXIT_USAGE
        ) from None
    if not 0 <= days <= 100000:
        raise CctrackError(
            f"retention_days {value!r} must be 0 (keep all) or more days", EXIT_USAGE
        )
    return days


def parse_switch(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CctrackError(f"{what} must be on or off, not {value!r}", EXIT_USAGE)


def parse_prices(value: Any) -> tuple[Price, ...]:
    """`[prices.MODEL]` tables: USD per million tokens of input, output, cache_write and
    cache_read (Codex's cached input)."""
    from cctrack.records import model_label
    from cctrack.tokens.prices import Price

    if not isinstance(value, dict):
        raise CctrackError("prices must be a table of [prices.MODEL] tables", EXIT_USAGE)
    prices = []
    for model, rates in value.items():
        if not isinstance(rates, dict) or model_label(str(model)) is None:
            raise CctrackError(f"prices.{model} must be a table under a model name", EXIT_USAGE)
        unknown = sorted(set(rates) - set(PRICE_FIELDS))
        if unknown or not {"input", "output"} <= set(rates):
            raise CctrackError(
                f"prices.{model} takes {', '.join(PRICE_FIELDS)} (input and output required)",
                EXIT_USAGE,
            )
        numbers = {}
        for key, rate in rates.items():
            if not is_number(rate) or not 0 <= rate < 1e6:
                raise CctrackError(
                    f"prices.{model}.{key} must be USD per million tokens, not {rate!r}",
                    EXIT_USAGE,
                )
            numbers[key] = float(rate)
        prices.append(Price(str(model), **numbers))
    return tuple(prices)


SETTINGS = (
    Setting(
        "data_dir",
        "data directory (day files, checkpoint, state, locks)",
        "`$XDG_STATE_HOME/cctrack` (`~/.local/state/cctrack`)",
        "--data-dir",
        "CCTRACK_DATA_DIR",
        Path,
    ),
    Setting(
        "textfile_dir",
        "textfile directory (node_exporter's `--collector.textfile.directory`)",
        "`textfile/` of the checkout when run from one (editable install), else "
        "`$XDG_DATA_HOME/cctrack/textfile`",
        "--textfile-dir",
        "CCTRACK_TEXTFILE_DIR",
        Path,
    ),
    Setting(
        "textfile_name",
        "textfile name (must end in `.prom`)",
        "`cctrack-USER.prom`, USER the unix user: users sharing a directory never collide",
        env="CCTRACK_TEXTFILE_NAME",
        parse=parse_textfile_name,
    ),
    Setting(
        "pushgateway_url",
        "Pushgateway that `cctrack push` sends the textfile to (after each analyze, in the "
        "units and `run`)",
        "none (no push)",
        "--pushgateway-url",
        "CCTRACK_PUSHGATEWAY_URL",
        parse=sink_url("pushgateway_url"),
        trusted_only="receives your data and its credentials",
    ),
    Setting(
        "pushgateway_auth_file",
        "basic auth for the Pushgateway: a file holding `user:password`, readable only by "
        "its owner",
        "none",
        trusted_only="reads a private file and sends it",
    ),
    Setting(
        "remote_write_url",
        "Prometheus remote write endpoint that `cctrack push` also sends the textfile's "
        "samples to (Mimir, Thanos Receive, VictoriaMetrics, Grafana Cloud)",
        "none (no remote write)",
        "--remote-write-url",
        "CCTRACK_REMOTE_WRITE_URL",
        parse=sink_url("remote_write_url"),
        trusted_only="receives your data and its credentials",
    ),
    Setting(
        "remote_write_auth_file",
        "basic auth for the remote write endpoint: a file holding `user:password`, readable "
        "only by its owner",
        "none",
        trusted_only="reads a private file and sends it",
    ),
    Setting(
        "otlp_endpoint",
        "OTLP/HTTP metrics endpoint (`…/v1/metrics`) that `cctrack push` also sends the "
        "textfile's metrics to (an OpenTelemetry Collector, Datadog, Honeycomb, Grafana "
        "Cloud)",
        "none (no OTLP)",
        "--otlp-endpoint",
        "CCTRACK_OTLP_ENDPOINT",
        parse=sink_url("otlp_endpoint"),
        trusted_only="receives your data and its credentials",
    ),
    Setting(
        "otlp_headers_file",
        "headers for the OTLP endpoint (an API key): a file of `Name: value` lines, readable "
        "only by its owner",
        "none",
        trusted_only="reads a private file and sends it",
    ),
    Setting(
        "profiles",
        "profiles: several Claude Code / Codex homes, each captured every run",
        "one profile, `default`, of the homes below",
        key_doc="`profiles` (`[profiles.NAME]` tables)",
    ),
    Setting(
        "agents",
        "other coding agents, each with a status command printing a status object "
        "([status.md](status.md)); captured in every profile, beside Claude and Codex",
        "none",
        key_doc='`agents` (`[agents.NAME]` tables, `status = "…"`)',
        parse=parse_agents,
        fallback=(),
        trusted_only="runs a command",
    ),
    Setting(
        "notify_command",
        "command analyze runs once per notification event, event JSON on stdin, no shell",
        "none",
        parse=lambda v: parse_command(v, "notify_command"),
        fallback=(),
        trusted_only="runs a command",
    ),
    Setting(
        "notify_thresholds",
        "usage shares whose crossing is an event",
        "`[0.8, 0.95]`",
        parse=parse_thresholds,
        fallback=DEFAULT_NOTIFY_THRESHOLDS,
    ),
    Setting(
        "notify_timeout",
        "seconds a notify_command may take",
        "10",
        parse=parse_timeout,
        fallback=DEFAULT_NOTIFY_TIMEOUT,
    ),
    Setting(
        "hook_threshold",
        "share used at which `cctrack hook` tells the agent about a window",
        "0.9",
        parse=parse_share("hook_threshold"),
        fallback=HookRules().threshold,
    ),
    Setting(
        "hook_use_it_minutes",
        "`cctrack hook` says a window resets soon with much unused this many minutes before "
        "its reset (0: never)",
        "0",
        parse=parse_minutes("hook_use_it_minutes"),
        fallback=HookRules().use_it_minutes,
    ),
    Setting(
        "hook_use_it_left",
        '"much unused" for that notice: at least this share left',
        "0.5",
        parse=parse_share("hook_use_it_left"),
        fallback=HookRules().use_it_left,
    ),
    Setting(
        "html_report",
        "a path where analyze keeps `cctrack report --html` up to date after each run (from "
        "the rollup: a year as fast as a week, about 1.4 s); `cctrack setup --systemd-user` "
        "creates its directory and lets the sandboxed analyze write there",
        "none",
        env="CCTRACK_HTML_REPORT",
        trusted_only="writes a file",
    ),
    Setting(
        "event_reset_move_minutes",
        "a reset time that moves by more than this, without a reset, is an event",
        "5",
    ),
    Setting(
        "event_drop_points",
        "usage that falls by at least this many points, without a reset, is an event",
        "1",
    ),
    Setting(
        "event_jump_points",
        "usage that rises by at least this many points between close snapshots is a jump",
        "10",
    ),
    Setting(
        "event_jump_within_minutes",
        '"close snapshots" for a jump: observed less than this many minutes apart',
        "15",
    ),
    Setting(
        "claude_status",
        "Claude status command (a path or a command line, run without a shell)",
        "built-in",
        "--claude-status",
        "CLAUDE_STATUS_PATH",
        trusted_only="runs a command",
    ),
    Setting(
        "codex_status",
        "Codex status command (a path or a command line, run without a shell)",
        "built-in",
        "--codex-status",
        "CODEX_STATUS_PATH",
        trusted_only="runs a command",
    ),
    Setting(
        "sources",
        "sources to capture (`claude`, `codex`, an agent's name: [status.md](status.md))",
        "the tools you have: `claude` when a Claude Code home exists (or a Claude status "
        "command is set), `codex` likewise, and every `[agents.NAME]`; Claude and Codex when "
        "none is. Set it to pin the list",
        "--source",
        "CCTRACK_SOURCES",
        list,
        flag_doc="`--source` (repeat)",
        parse=parse_sources,
    ),
    Setting(
        "timeout",
        "timeout per status tool, retries included, in seconds",
        "30 s",
        "--timeout",
        "CCTRACK_TIMEOUT",
        float,
        parse=parse_timeout,
        fallback=DEFAULT_TIMEOUT,
    ),
    Setting("hostname", "hostname on records", "this machine's", "--hostname", "CCTRACK_HOSTNAME"),
    Setting(
        "retention_days",
        "day files kept once analysed, in days (0 keeps all; counters keep their totals)",
        "400",
        "--retention-days",
        "CCTRACK_RETENTION_DAYS",
        int,
        parse=parse_days,
        fallback=DEFAULT_RETENTION_DAYS,
    ),
    Setting(
        "token_counters",
        "token counters: capture reads the new bytes of the Claude Code transcripts and "
        "Codex rollouts ([tokens.md](tokens.md))",
        "on",
        "--token-counters/--no-token-counters",
        "CCTRACK_TOKEN_COUNTERS",
        bool,
        flag_doc="`--token-counters` / `--no-token-counters`",
        parse=lambda v: parse_switch(v, "token_counters"),
        fallback=True,
    ),
    Setting(
        "token_projects",
        "per-project token counting: how many projects each window names (their share in "
        "`show` and `latest.json`, a `project` label on the token counters), the rest as "
        "`other`; 0 is off ([tokens.md](tokens.md#projects))",
        "0 (off)",
        env="CCTRACK_TOKEN_PROJECTS",
        parse=parse_projects_cap,
        fallback=0,
    ),
    Setting(
        "project_names",
        "names for projects by their directory (a table of path = name); others are named "
        "by their directory's last part",
        "none",
        parse=parse_project_names,
        fallback=(),
    ),
    Setting(
        "prices",
        "API prices, USD per million tokens, extending or overriding the shipped table",
        "the table in `cctrack/tokens/prices.py`",
        key_doc="`prices` (`[prices.MODEL]` tables: `input`, `output`, `cache_write`, "
        "`cache_read`)",
        parse=parse_prices,
        fallback=(),
    ),
    Setting(
        "claude_oauth",
        "Claude OAuth source",
        "on",
        env="CCTRACK_CLAUDE_OAUTH",
        parse=lambda v: parse_switch(v, "claude_oauth"),
        fallback=True,
    ),
    Setting(
        "claude_usage_url",
        "usage endpoint URL (https; plain http only to loopback)",
        "Anthropic's",
        env="CCTRACK_CLAUDE_USAGE_URL",
        parse=str,
        fallback=DEFAULT_CLAUDE_USAGE_URL,
        trusted_only="receives your Claude Code login's token",
    ),
    Setting(
        "codex_app_server",
        "ask `codex app-server` when the snapshot is stale",
        "off",
        env="CCTRACK_CODEX_APP_SERVER",
        parse=lambda v: parse_switch(v, "codex_app_server"),
        fallback=False,
    ),
    Setting(
        "claude_home",
        "Claude Code home",
        "`~/.claude` (token counters also read `$XDG_CONFIG_HOME/claude/projects`, default "
        "`~/.config/claude/projects`, then)",
        env="CLAUDE_CONFIG_DIR",
    ),
    Setting("codex_home", "Codex home", "`~/.codex`", env="CODEX_HOME"),
)
SETTING = {setting.key: setting for setting in SETTINGS}
# Settings a config file others can write never sets (Setting.trusted_only).
TRUSTED_ONLY = tuple(s.key for s in SETTINGS if s.trusted_only)
# config.toml key -> environment variable.
ENVIRONMENT = {s.key: s.env for s in SETTINGS if s.env}
# Read from the config file only: a secret's path and tables have no flag or variable.
CONFIG_ONLY = tuple(s.key for s in SETTINGS if not s.env and not s.flag)


def resolve_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    home: Path | None = None,
    only: Collection[str] | None = None,
) -> Settings:
    """Flags (None when not given) win over the environment, then the config file, then
    defaults. With `only`, the settings not named there keep their defaults unread: a
    reading command resolves what it uses, and a broken setting it does not use (a bad
    `[prices]` table, a timeout out of range) never stops it."""
    flags = flags or {}
    env = os.environ if env is None else env
    home = home or Path(env.get("HOME") or Path.home())
    if config_path is None and env.get("CCTRACK_CONFIG"):
        config_path = Path(env["CCTRACK_CONFIG"])
    required = config_path is not None
    config_path = (
        config_path or _xdg(env, "XDG_CONFIG_HOME", home, ".config") / "cctrack" / "config.toml"
    )
    config = load_config(config_path, required)

    def pick(key: str) -> Any:
        """The value given for the setting, flag over variable over config file; None."""
        if flags.get(key) not in (None, (), []):
            return flags[key]
        variable = SETTING[key].env
        if variable and env.get(variable, "") != "":
            return env[variable]
        return config.get(key)

    def value(key: str) -> Any:
        """The setting's value: what was given, checked by its parse, else its fallback."""
        setting = SETTING[key]
        if only is not None and key not in only:
            return setting.fallback
        given = pick(key)
        if given is None or given == "":
            return setting.fallback
        return setting.parse(given) if setting.parse else given

    def place(key: str, default: Path) -> Path:
        """A directory setting: the path given (~ expanded), else its place by default,
        which depends on HOME and XDG_* (so it is not in the table)."""
        given = pick(key)
        return Path(given).expanduser() if given else default

    def command(source: str) -> tuple[str, ...]:
        value = pick(f"{source}_status")
        if only is not None and f"{source}_status" not in only:
            return ()
        if value is None or value == BUILTIN:
            return ()
        return parse_command(value, f"{source} status command")

    sources = value("sources")
    hostname = pick("hostname")
    claude_home = pick("claude_home")
    user = current_user()

    def config_file(key: str) -> Path | None:
        given = config.get(key)
        return Path(str(given)).expanduser() if given else None

    profiles = config.get("profiles")
    settings = Settings(
        data_dir=place("data_dir", state_home(env, home) / "cctrack"),
        textfile_dir=place("textfile_dir", default_textfile_dir(env, home)),
        textfile_dir_is_default=not pick("textfile_dir"),
        claude_status=command("claude"),
        codex_status=command("codex"),
        sources=sources or SOURCE_TOOLS,
        timeout=value("timeout"),
        hostname=str(hostname) if hostname else os.uname().nodename,
        claude_oauth=value("claude_oauth"),
        claude_usage_url=value("claude_usage_url"),
        codex_app_server=value("codex_app_server"),
        claude_home=place("claude_home", home / ".claude"),
        codex_home=place("codex_home", home / ".codex"),
        retention_days=value("retention_days"),
        user=user,
        textfile_name=value("textfile_name") or f"cctrack-{user}.prom",
        pushgateway_url=value("pushgateway_url"),
        pushgateway_auth_file=config_file("pushgateway_auth_file"),
        remote_write_url=value("remote_write_url"),
        remote_write_auth_file=config_file("remote_write_auth_file"),
        otlp_endpoint=value("otlp_endpoint"),
        otlp_headers_file=config_file("otlp_headers_file"),
        html_report=place("html_report", Path()) if pick("html_report") else None,
        configured_profiles=parse_profiles(profiles, home) if profiles is not None else (),
        notify_command=value("notify_command"),
        notify_thresholds=value("notify_thresholds"),
        event_limits=parse_event_limits(config) if only is None else Limits(),
        token_counters=value("token_counters"),
        token_projects=value("token_projects"),
        project_names=value("project_names"),
        prices=value("prices"),
        # Where Claude Code also keeps transcripts, and ccusage looks, when no home is set.
        claude_more_homes=()
        if claude_home
        else (_xdg(env, "XDG_CONFIG_HOME", home, ".config") / "claude",),
        notify_timeout=value("notify_timeout"),
        hook=HookRules(
            value("hook_threshold"), value("hook_use_it_left"), value("hook_use_it_minutes")
        ),
        agents=value("agents"),
    )
    named = {agent.name for agent in settings.agents}
    if sources is None:
        settings = replace(settings, sources=present_sources(settings.profiles, settings.agents))
    elif only is None or "agents" in only:
        unknown = [s for s in sources if s not in SOURCE_TOOLS and s not in named]
        if unknown:
            raise CctrackError(
                f"source {unknown[0]!r} is an agent without a status command: add "
                f'[agents.{unknown[0]}] with status = "…" to the config file (docs/status.md)',
                EXIT_USAGE,
            )
    return settings


def present_sources(
    profiles: tuple[Profile, ...], agents: tuple[Agent, ...] = ()
) -> tuple[str, ...]:
    """The default sources: the tools this user has (a home, or a status command of their
    own), so that a Claude-only user is not told every run that Codex is down, and every
    agent configured. With none of these, Claude and Codex: their errors then say what is
    missing."""
    found = tuple(
        source
        for source in SOURCE_TOOLS
        if any(
            profile.status_command(source) or any(home.is_dir() for home in profile.homes(source))
            for profile in profiles
        )
    ) + tuple(agent.name for agent in agents)
    return found or SOURCE_TOOLS
