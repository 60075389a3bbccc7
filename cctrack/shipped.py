"""What cctrack ships for deployment: the systemd units, the cron line, launchd's agent, the
alert rules and the dashboard. In a checkout they are `deploy/`; in a wheel (pip, pipx, uv)
the same files are the package `cctrack.deploy`. Units are rendered for one installation:
the shipped text names the default place of the `cctrack` command, which becomes the path of
the one running now, so both jobs of a unit always run the same cctrack."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from cctrack.errors import DISTRIBUTION, EXIT_USAGE, CctrackError
from cctrack.files import write_atomic
from cctrack.model import frozen
from cctrack.settings import checkout_root

# The command as the shipped units and cron line name it.
SYSTEM_COMMAND = "/opt/cctrack/bin/cctrack"
USER_COMMAND = "%h/.local/bin/cctrack"
CRON_COMMAND = '"$HOME/.local/bin/cctrack"'
GROUPS = {
    "systemd-system": "systemd/system",
    "systemd-user": "systemd/user",
    "cron": "cron",
    "launchd": "launchd",
    "prometheus": "prometheus",
    "grafana": "grafana",
}


def deploy_dir() -> Path:
    """deploy/ of the checkout this runs from, else the copy inside the installed package."""
    root = checkout_root()
    if root is not None and (root / "deploy").is_dir():
        return root / "deploy"
    packaged = Path(__file__).resolve().parent / "deploy"
    if packaged.is_dir():
        return packaged
    raise CctrackError(
        f"the deployment files are missing from this installation ({packaged}); "
        f"reinstall {DISTRIBUTION} from the wheel or checkout it came from"
    )


def shipped_files() -> list[str]:
    """Every shipped file, relative to deploy/: `systemd/user/cctrack-capture.service`."""
    base = deploy_dir()
    return sorted(
        str(path.relative_to(base))
        for path in base.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def installed_command() -> Path:
    """The `cctrack` console script of the installation running now (a venv's bin/)."""
    beside = Path(sys.executable).parent / "cctrack"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    return Path(sys.argv[0]).resolve()


def command_name() -> str:
    """How a person here runs this cctrack: `cctrack` when that is what PATH finds, else its
    full path (a checkout's .venv/bin/cctrack is on nobody's PATH)."""
    import shlex
    import shutil

    command = installed_command()
    found = shutil.which("cctrack")
    if found and os.path.realpath(found) == os.path.realpath(command):
        return "cctrack"
    return shlex.quote(str(command))


def systemd_quote(path: Path | str) -> str:
    """A path as one word of a unit's line: % doubled, quoted when it has spaces."""
    text = str(path).replace("%", "%%")
    return f'"{text}"' if any(c.isspace() for c in text) or '"' in text else text


def render(name: str, command: Path | None) -> str:
    """A shipped file's text; units and the cron line run `command` when one is given."""
    path = deploy_dir() / name
    if name not in shipped_files():
        raise CctrackError(
            f"cctrack ships no {name!r}; `cctrack deploy --list` lists what it ships", EXIT_USAGE
        )
    text = path.read_text()
    if command is None:
        return text
    if name.startswith("systemd/system/"):
        return text.replace(SYSTEM_COMMAND, systemd_quote(command))
    if name.startswith("systemd/user/"):
        return text.replace(USER_COMMAND, systemd_quote(command))
    if name.startswith("cron/"):
        import shlex

        return text.replace(CRON_COMMAND, shlex.quote(str(command)))
    return text


def group_files(group: str) -> list[str]:
    if group not in GROUPS:
        raise CctrackError(
            f"unknown group {group!r}; choose from {', '.join(GROUPS)}, or name one file "
            "(`cctrack deploy --list`)",
            EXIT_USAGE,
        )
    prefix = GROUPS[group] + "/"
    return [name for name in shipped_files() if name.startswith(prefix)]


@frozen
class Unrunnable:
    path: Path
    why: str


def others_cannot_run(command: Path) -> Unrunnable | None:
    """Why another user (a service user) could not run `command`: a directory on the way, the
    script, or the interpreter its first line names is closed to others (a pyenv Python under
    /root, a venv in a 0700 home). None when they can."""
    targets = [command]
    try:
        with open(command, "rb") as handle:
            first = handle.readline(4096)
        if first.startswith(b"#!"):
            words = first[2:].decode(errors="replace").split()
            if words:
                targets.append(Path(words[0]))
    except OSError as exc:
        return Unrunnable(command, exc.strerror or str(exc))
    for target in targets:
        real = Path(os.path.realpath(target))
        for directory in [*reversed(target.parents), *reversed(real.parents)]:
            closed = _closed(directory, "closed to others")
            if closed:
                return closed
        closed = _closed(real, "not executable by others")
        if closed:
            return closed
    return None


def _closed(path: Path, what: str) -> Unrunnable | None:
    """Unless others may execute (search) path: why not."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return Unrunnable(path, exc.strerror or str(exc))
    if mode & stat.S_IXOTH:
        return None
    return Unrunnable(path, f"mode {stat.S_IMODE(mode):04o}, {what}")


def deploy(names: list[str], to: Path | None, command: Path) -> list[tuple[str, str]]:
    """The files asked for, rendered for `command`: (name, text) pairs. Units for the system
    are refused when their service users could not run `command`."""
    chosen: list[str] = []
    for name in names:
        chosen += group_files(name) if name in GROUPS else [name]
    if len(chosen) > 1 and to is None:
        raise CctrackError(
            "that is several files: name one (`cctrack deploy --list`), or give --to DIR",
            EXIT_USAGE,
        )
    # A path that is not here is for other hosts (--command): nothing here can check it.
    if command.exists() and any(name.startswith("systemd/system/") for name in chosen):
        closed = others_cannot_run(command)
        if closed is not None:
            raise CctrackError(
                f"the service users could not run {command}: {closed.path} ({closed.why}); "
                "install cctrack into a venv made with the system's python3, e.g. "
                "/usr/bin/python3 -m venv /opt/cctrack (docs/server.md)"
            )
    return [(name, render(name, command)) for name in chosen]


def write_files(files: list[tuple[str, str]], to: Path) -> list[Path]:
    """Each file into `to` under its own name, atomically, readable by all (units, rules)."""
    if not to.is_dir():
        raise CctrackError(f"{to} is not a directory", EXIT_USAGE)
    written = []
    for name, text in files:
        target = to / Path(name).name
        write_atomic(target, text.encode(), mode=0o644)
        written.append(target)
    return written
