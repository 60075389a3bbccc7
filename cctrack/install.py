"""`cctrack setup`: the README's install steps as one idempotent command that says what it
did. It links `cctrack` into ~/.local/bin, points the textfile at node_exporter's directory,
schedules the jobs (systemd user timer or a crontab line), and optionally makes cctrack
Claude Code's status line (wrapping the one there, with a backup). `--uninstall` undoes all
of it and leaves the data.

Every step checks what is there first, so running it twice changes nothing the second time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cctrack import process
from cctrack.errors import EXIT_USAGE, CctrackError
from cctrack.files import private_dir, read_json, write_atomic

CRON_MARK = "# cctrack"
UNITS = ("cctrack-capture.service", "cctrack-analyze.service", "cctrack-capture.timer")
TIMER = "cctrack-capture.timer"
SETUP_FILE = "setup.json"
# Where the README's units and crontab expect the checkout.
README_CHECKOUT = "%h/.local/lib/cctrack"


@dataclass(frozen=True)
class Place:
    """Where things go for this user: plain values, resolved by the caller."""

    home: Path
    checkout: Path
    executable: Path
    data_dir: Path
    claude_home: Path
    config_file: Path
    path_env: str


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _run(argv: list[str], stdin: str | None = None) -> Ran:
    """systemctl and crontab, the user's own tools: without a shell, bounded."""
    try:
        done = process.run_command(argv, (stdin or "").encode(), 60.0, argv[0])
    except process.ProcessFailure as exc:
        return Ran(1, "", str(exc))
    out, err = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    return Ran(done.returncode, out, err)


def link_executable(place: Place) -> list[str]:
    bin_dir = place.home / ".local" / "bin"
    link = bin_dir / "cctrack"
    done = []
    if not bin_dir.is_dir():
        bin_dir.mkdir(parents=True)
        done.append(f"created {bin_dir}")
    if link.is_symlink() and Path(os.readlink(link)) == place.executable:
        done.append(f"{link} already points at {place.executable}")
    elif link.exists() or link.is_symlink():
        done.append(f"left {link} as it is (not cctrack's link); the jobs find cctrack anyway")
    else:
        link.symlink_to(place.executable)
        done.append(f"linked {link} -> {place.executable}")
    if str(bin_dir) not in place.path_env.split(os.pathsep):
        done.append(
            f"note: {bin_dir} is not on your PATH yet; add it (e.g. in ~/.profile) or log in again"
        )
    return done


def set_textfile_dir(place: Place, directory: Path) -> list[str]:
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        raise CctrackError(
            f"{directory} is not a directory you can write; create it or give yourself access "
            f"(sudo setfacl -m u:$USER:rwx {directory}, or on Debian without setfacl: "
            f"sudo chmod 1777 {directory})",
            EXIT_USAGE,
        )
    line = f"textfile_dir = {json.dumps(str(directory))}"
    text = place.config_file.read_text() if place.config_file.exists() else ""
    if line in text.splitlines():
        return [f"{place.config_file} already sends the textfile to {directory}"]
    if re.search(r"^textfile_dir\s*=", text, re.M):
        text = re.sub(r"^textfile_dir\s*=.*$", line, text, count=1, flags=re.M)
    else:
        text = f"{line}\n{text}"
    place.config_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(place.config_file, text.encode(), mode=0o644)
    return [f"set {line} in {place.config_file}"]


def _unit_text(place: Place, name: str, textfile_dir: Path | None) -> str:
    source = place.checkout / "deploy" / "systemd" / "user" / name
    if not source.is_file():
        raise CctrackError(f"{source} is missing; run setup from a cctrack checkout (see README)")
    text = source.read_text().replace(README_CHECKOUT, str(place.checkout))
    if textfile_dir is not None:
        # The sandbox makes everything else read-only: the textfile directory must be listed.
        text = re.sub(r"^(ReadWritePaths=.*)$", rf"\1 -{textfile_dir}", text, count=1, flags=re.M)
    return text


def install_systemd(place: Place, textfile_dir: Path | None) -> list[str]:
    unit_dir = place.home / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for name in UNITS:
        target = unit_dir / name
        text = _unit_text(place, name, textfile_dir)
        if target.exists() and target.read_text() == text:
            done.append(f"{target} is up to date")
            continue
        write_atomic(target, text.encode(), mode=0o644)
        done.append(f"installed {target}")
    done += _systemctl(["daemon-reload"], ["enable", "--now", TIMER])
    done.append("note: `loginctl enable-linger $USER` keeps capturing while you are logged out")
    return done


def _systemctl(*commands: list[str]) -> list[str]:
    systemctl = shutil.which("systemctl")
    lines = []
    for command in commands:
        argv = ["systemctl", "--user", *command]
        if systemctl is None:
            lines.append(f"run yourself (no systemctl here): {shlex.join(argv)}")
            continue
        result = _run([systemctl, *argv[1:]])
        if result.returncode == 0:
            lines.append(f"ran {shlex.join(argv)}")
        else:
            why = (result.stderr.strip().splitlines() or ["no reason given"])[-1]
            lines.append(f"{shlex.join(argv)} failed: {why}")
    return lines


def _crontab() -> str:
    crontab = shutil.which("crontab")
    if crontab is None:
        raise CctrackError("no crontab command here; install cron, or use --systemd-user")
    return crontab


def _read_crontab(crontab: str) -> list[str]:
    result = _run([crontab, "-l"])
    # "no crontab for USER" is exit 1 with nothing to keep.
    return result.stdout.splitlines() if result.returncode == 0 else []


def _write_crontab(crontab: str, lines: list[str]) -> None:
    result = _run([crontab, "-"], "\n".join(lines) + "\n")
    if result.returncode != 0:
        raise CctrackError(f"crontab refused the new table: {result.stderr.strip()}")


def cron_line(place: Place) -> str:
    # Logged to a file, not through `| logger`: a pipe would hide the job's exit status
    # from cron, and logger drops lines where no syslog runs. ~30 KB a day.
    log = place.data_dir / "cron.log"
    job = shlex.quote(str(place.checkout / "jobs" / "run"))
    return f"*/5 * * * * {job} >>{shlex.quote(str(log))} 2>&1 {CRON_MARK}"


def install_cron(place: Place) -> list[str]:
    crontab = _crontab()
    lines = _read_crontab(crontab)
    wanted = cron_line(place)
    if wanted in lines:
        return [f"the crontab already runs cctrack: {wanted}"]
    private_dir(place.data_dir)
    _write_crontab(crontab, [line for line in lines if not line.endswith(CRON_MARK)] + [wanted])
    return [f"added to your crontab: {wanted}"]


def _settings_file(place: Place) -> Path:
    return place.claude_home / "settings.json"


def install_statusline(place: Place) -> list[str]:
    path = _settings_file(place)
    settings: Any = read_json(path) if path.exists() else {}
    if not isinstance(settings, dict):
        raise CctrackError(f"{path} is not a JSON object; fix it by hand first")
    current = settings.get("statusLine")
    command = current.get("command") if isinstance(current, dict) else None
    ours = f"{shlex.quote(str(place.home / '.local' / 'bin' / 'cctrack'))} statusline"
    if isinstance(command, str) and "cctrack statusline" in command:
        return [f"{path} already uses cctrack's status line"]
    backup = path.with_name("settings.json.cctrack-backup")
    if path.exists() and not backup.exists():
        shutil.copy2(path, backup)
    record = _load_setup(place)
    record["statusline_before"] = current
    _save_setup(place, record)
    new = f"{ours} --wrap {shlex.quote(command)}" if isinstance(command, str) and command else ours
    settings["statusLine"] = {"type": "command", "command": new}
    _write_settings(path, settings)
    kept = f" (wrapping your {command!r}; backup in {backup})" if command else ""
    return [f"set Claude Code's statusLine in {path} to `{new}`{kept}"]


def _write_settings(path: Path, settings: dict[str, Any]) -> None:
    """Claude Code's settings.json, replaced atomically, keeping the mode it had."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    write_atomic(path, (json.dumps(settings, indent=2) + "\n").encode(), mode=mode)


def _load_setup(place: Place) -> dict[str, Any]:
    try:
        record = read_json(place.data_dir / SETUP_FILE)
    except (OSError, ValueError):
        record = None
    return record if isinstance(record, dict) else {}


def _save_setup(place: Place, record: dict[str, Any]) -> None:
    private_dir(place.data_dir)
    write_atomic(place.data_dir / SETUP_FILE, json.dumps(record).encode())


def uninstall(place: Place) -> list[str]:
    done = []
    unit_dir = place.home / ".config" / "systemd" / "user"
    installed = [unit_dir / name for name in UNITS if (unit_dir / name).exists()]
    if installed:
        done += _systemctl(["disable", "--now", TIMER])
        for unit in installed:
            unit.unlink()
            done.append(f"removed {unit}")
        done += _systemctl(["daemon-reload"])
    crontab = shutil.which("crontab")
    if crontab is not None:
        lines = _read_crontab(crontab)
        kept = [line for line in lines if not line.endswith(CRON_MARK)]
        if kept != lines:
            _write_crontab(crontab, kept)
            done.append("removed cctrack's line from your crontab")
    record = _load_setup(place)
    path = _settings_file(place)
    if "statusline_before" in record and path.exists():
        settings = read_json(path)
        if isinstance(settings, dict):
            before = record.pop("statusline_before")
            if before is None:
                settings.pop("statusLine", None)
            else:
                settings["statusLine"] = before
            _write_settings(path, settings)
            _save_setup(place, record)
            done.append(f"restored Claude Code's statusLine in {path}")
    link = place.home / ".local" / "bin" / "cctrack"
    if link.is_symlink() and Path(os.readlink(link)) == place.executable:
        link.unlink()
        done.append(f"removed {link}")
    done.append(f"kept your data in {place.data_dir} (remove it yourself if you want)")
    return done


def setup(
    place: Place,
    systemd_user: bool,
    cron: bool,
    textfile_dir: Path | None,
    statusline: bool,
    remove: bool,
) -> list[str]:
    """What `cctrack setup` does, as lines saying what was done."""
    if remove:
        return uninstall(place)
    if systemd_user and cron:
        raise CctrackError("choose one of --systemd-user and --cron", EXIT_USAGE)
    done = link_executable(place)
    if textfile_dir is not None:
        done += set_textfile_dir(place, textfile_dir)
    if systemd_user:
        done += install_systemd(place, textfile_dir)
    if cron:
        done += install_cron(place)
    if statusline:
        done += install_statusline(place)
    return done
