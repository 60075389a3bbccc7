"""`cctrack setup`: the README's install steps as one idempotent command that says what it
did. It links `cctrack` into ~/.local/bin, points the textfile at node_exporter's directory,
creates the directories the jobs write, schedules the jobs (systemd user units running the
cctrack this runs from, or a crontab line), and optionally makes cctrack Claude Code's
status line (wrapping the one there, with a backup). `--uninstall` undoes all of it, the
textfile and the setting it wrote included, and leaves the data.

Every step checks what is there first, so running it twice changes nothing the second time;
a schedule that is already there is replaced when setup made it and refused otherwise, so
the jobs never run twice.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shlex
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from cctrack import process, shipped
from cctrack.errors import EXIT_USAGE, CctrackError
from cctrack.files import make_dirs, private_dir, read_json, ready_dir, user_name, write_atomic
from cctrack.model import frozen

CRON_MARK = "# cctrack"
UNITS = (
    "cctrack-capture.service",
    "cctrack-analyze.service",
    "cctrack-push.service",
    "cctrack-capture.timer",
)
TIMER = "cctrack-capture.timer"
SETUP_FILE = "setup.json"
# The line of the shipped units that lists what the sandbox leaves writable.
WRITABLE = re.compile(r"^ReadWritePaths=.*$", re.M)


@frozen
class Place:
    """Where things go for this user: plain values, resolved by the caller."""

    home: Path
    executable: Path
    data_dir: Path
    textfile_dir: Path
    textfile_dir_is_default: bool
    textfile_name: str
    claude_home: Path
    config_file: Path
    path_env: str
    codex_home: Path | None = None
    # The HTML report analyze keeps (html_report): its directory is writable in the unit.
    html_report: Path | None = None
    # The demo's data directory (`cctrack run --demo`): uninstall removes it.
    demo_dir: Path | None = None

    @property
    def link(self) -> Path:
        """~/.local/bin/cctrack: what setup links, and what the editors' commands run."""
        return self.home / ".local" / "bin" / "cctrack"


@frozen
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


def _why(result: Ran) -> str:
    return (result.stderr.strip().splitlines() or ["no reason given"])[-1]


def link_executable(place: Place, record: dict[str, Any]) -> list[str]:
    """~/.local/bin/cctrack, unless something is there already (pipx's or uv's link, which
    stays theirs: uninstall removes only a link that setup made, as setup.json says)."""
    link = place.link
    bin_dir = link.parent
    done = []
    if not bin_dir.is_dir():
        # The editors run the link: nobody else may replace it, whatever the umask.
        make_dirs(bin_dir, 0o755)
        done.append(f"created {bin_dir}")
    if link.exists() and os.path.realpath(link) == os.path.realpath(place.executable):
        done.append(f"{link} already runs {place.executable}")
    elif link.exists() or link.is_symlink():
        done.append(f"left {link} as it is (another cctrack); the jobs run {place.executable}")
    else:
        link.symlink_to(place.executable)
        record["linked"] = str(link)
        done.append(f"linked {link} -> {place.executable}")
    if str(bin_dir) not in place.path_env.split(os.pathsep):
        done.append(
            f"note: {bin_dir} is not on your PATH yet; add it (e.g. in ~/.profile) or log in again"
        )
    return done


def _config_text(place: Place) -> str:
    return place.config_file.read_text() if place.config_file.exists() else ""


def set_textfile_dir(place: Place, directory: Path, record: dict[str, Any]) -> list[str]:
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        raise CctrackError(
            f"{directory} is not a directory you can write; create it or give yourself access "
            f"(sudo setfacl -m u:$USER:rwx {directory}, or on Debian without setfacl: "
            f"sudo chmod 1777 {directory})",
            EXIT_USAGE,
        )
    line = f"textfile_dir = {json.dumps(str(directory))}"
    text = _config_text(place)
    if not place.config_file.exists():
        _created(record, place.config_file)
    if line in text.splitlines():
        return [f"{place.config_file} already sends the textfile to {directory}"]
    before = re.search(r"^textfile_dir\s*=.*$", text, re.M)
    text = text.replace(before.group(0), line, 1) if before else f"{line}\n{text}"
    make_dirs(place.config_file.parent, 0o755)
    write_atomic(place.config_file, text.encode(), mode=0o644)
    # What uninstall puts back: the line setup wrote, and the one it replaced.
    record.setdefault("config_before", before.group(0) if before else None)
    record["config_line"] = line
    return [f"set {line} in {place.config_file}"]


def make_directories(place: Place) -> list[str]:
    """What the jobs write, before a sandbox that leaves the rest read-only starts them."""
    done = []
    if not place.data_dir.is_dir():
        done.append(f"created {place.data_dir}")
    private_dir(place.data_dir)
    if not place.textfile_dir.is_dir() and place.textfile_dir_is_default:
        done.append(f"created {place.textfile_dir}")
    ready_dir(
        place.textfile_dir,
        mode=0o755,
        create=place.textfile_dir_is_default,
        what="textfile directory",
        missing_hint="; create it or run setup with --textfile-dir",
    )
    if place.html_report is not None and not place.html_report.parent.is_dir():
        make_dirs(place.html_report.parent, 0o700)
        done.append(f"created {place.html_report.parent}")
    return done


def _unit_text(place: Place, name: str) -> str:
    text = shipped.render(f"systemd/user/{name}", place.executable)
    if name.endswith(".service"):
        # The sandbox leaves only these writable: this user's data directory, and for
        # analyze, which writes them, the textfile directory and the HTML report's.
        writes = [place.data_dir]
        if name == "cctrack-analyze.service":
            writes.append(place.textfile_dir)
            if place.html_report is not None:
                writes.append(place.html_report.parent)
        # "-": a directory removed later does not stop the unit from starting.
        line = "ReadWritePaths=" + " ".join(shipped.systemd_quote(f"-{path}") for path in writes)
        text = WRITABLE.sub(lambda _: line, text, count=1)
    return text


def _systemctl(*args: str) -> Ran:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return Ran(127, "", "no systemctl here")
    return _run([systemctl, "--user", *args])


def _must(*args: str) -> str:
    """A systemctl --user step that setup cannot do without: its failure fails setup."""
    result = _systemctl(*args)
    argv = shlex.join(["systemctl", "--user", *args])
    if result.returncode != 0:
        raise CctrackError(
            f"{argv} failed: {_why(result)} (is a user manager running? "
            "`systemctl --user status`; without one, `cctrack setup --cron` schedules the "
            "jobs with cron instead; as root, use the system units: docs/server.md)"
        )
    return f"ran {argv}"


def _unit_dir(place: Place) -> Path:
    return place.home / ".config" / "systemd" / "user"


def _timer_enabled() -> bool:
    return _systemctl("is-enabled", "--quiet", TIMER).returncode == 0


def install_systemd(place: Place, record: dict[str, Any], done: list[str]) -> None:
    """The user units installed and the timer enabled; each step said in done as it is
    made, so that a step that fails leaves the ones before it told."""
    if record.get("schedule") != "systemd-user" and _timer_enabled():
        raise CctrackError(
            f"{TIMER} is already enabled, but not by setup: it would run the jobs twice; "
            f"`systemctl --user disable --now {TIMER}` first, or keep it and run setup "
            "without --systemd-user",
            EXIT_USAGE,
        )
    crontab = _crontab()
    hand = _hand_made(_read_crontab(crontab)) if crontab else []
    if hand:
        raise CctrackError(
            f"your crontab already runs cctrack ({hand[0]!r}): the timer would run the jobs "
            "twice; remove that line with `crontab -e` first, or keep it and run setup "
            "without --systemd-user",
            EXIT_USAGE,
        )
    unit_dir = _unit_dir(place)
    make_dirs(unit_dir, 0o755)
    for name in UNITS:
        target = unit_dir / name
        text = _unit_text(place, name)
        if target.exists() and target.read_text() == text:
            done.append(f"{target} is up to date")
            continue
        write_atomic(target, text.encode(), mode=0o644)
        done.append(f"installed {target}")
    done.append(_must("daemon-reload"))
    done.append(_must("enable", "--now", TIMER))
    # Only once the timer runs: setup's own crontab line, which it replaces.
    done += remove_cron_line(place)
    record["schedule"] = "systemd-user"
    done.append("note: `loginctl enable-linger $USER` keeps capturing while you are logged out")


def remove_units(place: Place) -> list[str]:
    stamp = place.home / ".local" / "share" / "systemd" / "timers" / f"stamp-{TIMER}"
    if stamp.is_file():
        stamp.unlink()  # Persistent=true's memory of the last run
    unit_dir = _unit_dir(place)
    installed = [unit_dir / name for name in UNITS if (unit_dir / name).exists()]
    if not installed:
        return []
    done = []
    stopped = _systemctl("disable", "--now", TIMER)
    if stopped.returncode == 0:
        done.append(f"ran systemctl --user disable --now {TIMER}")
    else:
        done.append(f"systemctl --user disable --now {TIMER} failed: {_why(stopped)}")
    for unit in installed:
        unit.unlink()
        done.append(f"removed {unit}")
    if _systemctl("daemon-reload").returncode == 0:
        done.append("ran systemctl --user daemon-reload")
    return done


def _crontab() -> str | None:
    return shutil.which("crontab")


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
    # from cron, and logger drops lines where no syslog runs. ~30 KB a day; each line starts
    # with its time.
    log = place.data_dir / "cron.log"
    job = shlex.quote(str(place.executable))
    return f"*/5 * * * * {job} run --if-idle >>{shlex.quote(str(log))} 2>&1 {CRON_MARK}"


def _hand_made(lines: list[str]) -> list[str]:
    """Crontab lines that run cctrack but are not setup's."""
    return [
        line
        for line in lines
        if "cctrack" in line and not line.lstrip().startswith("#") and not line.endswith(CRON_MARK)
    ]


def install_cron(place: Place, record: dict[str, Any]) -> list[str]:
    crontab = _crontab()
    if crontab is None:
        raise CctrackError("no crontab command here; install cron, or use --systemd-user")
    lines = _read_crontab(crontab)
    hand = _hand_made(lines)
    if hand:
        raise CctrackError(
            f"your crontab already runs cctrack ({hand[0]!r}): a second line would run the "
            "jobs twice; remove that line with `crontab -e` first, or keep it",
            EXIT_USAGE,
        )
    ours = record.get("schedule") == "systemd-user"
    if not ours and _timer_enabled():
        raise CctrackError(
            f"{TIMER} is enabled, but not by setup: cron would run the jobs twice; "
            f"`systemctl --user disable --now {TIMER}` first",
            EXIT_USAGE,
        )
    wanted = cron_line(place)
    if wanted in lines:
        done = [f"the crontab already runs cctrack: {wanted}"]
    else:
        _write_crontab(crontab, [x for x in lines if not x.endswith(CRON_MARK)] + [wanted])
        done = [f"added to your crontab: {wanted}"]
    # Only once the crontab runs the jobs: setup's own timer, which cron replaces.
    if ours:
        done += remove_units(place)
    record["schedule"] = "cron"
    return done


def remove_cron_line(place: Place) -> list[str]:
    crontab = _crontab()
    if crontab is None:
        return []
    lines = _read_crontab(crontab)
    kept = [line for line in lines if not line.endswith(CRON_MARK)]
    if kept == lines:
        return []
    _write_crontab(crontab, kept)
    return ["removed cctrack's line from your crontab"]


def _settings_file(place: Place) -> Path:
    return place.claude_home / "settings.json"


def _load_settings(path: Path) -> tuple[Path, dict[str, Any]]:
    """Claude Code's settings.json as Claude Code reads it, and the real file to write: a
    link (dotfiles) is followed, a byte-order mark skipped. A file with comments is refused
    before anything changes: writing it back would drop them."""
    real = Path(os.path.realpath(path))
    try:
        data = real.read_bytes()
    except FileNotFoundError:
        return real, {}
    except OSError as exc:
        raise CctrackError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CctrackError(
            f"{path} is not UTF-8 (Claude Code writes UTF-8); cctrack would have to change "
            "bytes it cannot read back to write it: make the change by hand (docs/desk.md)",
            EXIT_USAGE,
        ) from None
    try:
        settings = json.loads(text, object_pairs_hook=_no_repeats) if text.strip() else {}
    except RepeatedKey as exc:
        raise CctrackError(
            f"{path} names {exc} twice; writing it back would keep one of them: fix it by "
            "hand first",
            EXIT_USAGE,
        ) from None
    except ValueError:
        if re.search(r"^\s*//|/\*", text, re.M):
            raise CctrackError(
                f"{path} has comments, which cctrack would lose by writing it; make the "
                "change by hand (docs/desk.md: the status line, the agent hook)",
                EXIT_USAGE,
            ) from None
        raise CctrackError(f"{path} is not valid JSON; fix it by hand first", EXIT_USAGE) from None
    if not isinstance(settings, dict):
        raise CctrackError(f"{path} is not a JSON object; fix it by hand first", EXIT_USAGE)
    return real, settings


class RepeatedKey(ValueError):
    """A JSON object that names a key twice: json keeps the last, so writing it back would
    drop the other."""


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise RepeatedKey(repr(key))
        found[key] = value
    return found


def install_statusline(place: Place, record: dict[str, Any]) -> list[str]:
    path, settings = _load_settings(_settings_file(place))
    current = settings.get("statusLine")
    command = current.get("command") if isinstance(current, dict) else None
    ours = f"{shlex.quote(str(place.link))} statusline"
    if isinstance(command, str) and command == record.get("statusline_ours"):
        return [f"{path} already uses cctrack's status line"]
    if isinstance(command, str) and "cctrack statusline" in command:
        return [f"left {path} as it is: its status line already runs a cctrack statusline"]
    record["statusline_before"] = current
    new = f"{ours} --wrap {shlex.quote(command)}" if isinstance(command, str) and command else ours
    record["statusline_ours"] = new
    settings["statusLine"] = {"type": "command", "command": new}
    backup = _write_settings(path, settings)
    kept = f" (wrapping your {command!r})" if command else ""
    kept += f"; the file as it was: {backup}" if backup else ""
    return [f"set Claude Code's statusLine in {path} to `{new}`{kept}"]


# Claude Code's settings.json and Codex's hooks.json hold hooks in the same shape:
# {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": …}]}]}}.
HOOK_EVENT = "UserPromptSubmit"
HOOK_TIMEOUT = 10


def _hook_groups(settings: dict[str, Any], path: Path) -> list[Any]:
    hooks = settings.setdefault("hooks", {})
    groups = hooks.setdefault(HOOK_EVENT, []) if isinstance(hooks, dict) else None
    if not isinstance(groups, list):
        raise CctrackError(f"{path}: hooks.{HOOK_EVENT} is not a list; fix it by hand", EXIT_USAGE)
    return groups


def _our_hook(place: Place) -> str:
    """The one command setup adds as a hook: only a handler that runs exactly this is ours."""
    return f"{shlex.quote(str(place.link))} hook"


def _is_our_hook(handler: Any, place: Place) -> bool:
    return isinstance(handler, dict) and handler.get("command") == _our_hook(place)


def _handlers(group: Any) -> list[Any]:
    found = group.get("hooks") if isinstance(group, dict) else None
    return found if isinstance(found, list) else []


def install_hook(place: Place, path: Path, editor: str, record: dict[str, Any]) -> list[str]:
    """cctrack's UserPromptSubmit hook added to one editor's hooks file, once."""
    real, settings = _load_settings(path)
    if not real.exists():
        _created(record, real)
    groups = _hook_groups(settings, path)
    if any(_is_our_hook(h, place) for group in groups for h in _handlers(group)):
        return [f"{path} already runs cctrack's hook"]
    command = _our_hook(place)
    groups.append({"hooks": [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT}]})
    _write_settings(real, settings)
    return [f"added `{command}` to {editor}'s {HOOK_EVENT} hooks in {path}"]


def remove_hook(place: Place, path: Path, editor: str) -> list[str]:
    """cctrack's handlers taken out of one editor's hooks file, and what they leave empty."""
    if not path.exists():
        return []
    try:
        real, settings = _load_settings(path)
        groups = _hook_groups(settings, path)
    except CctrackError as exc:
        return [f"left {editor}'s hooks as they are: {exc}"]
    kept = []
    for group in groups:
        handlers = _handlers(group)
        mine = [h for h in handlers if _is_our_hook(h, place)]
        if not mine:
            kept.append(group)
        elif len(mine) < len(handlers):
            kept.append({**group, "hooks": [h for h in handlers if not _is_our_hook(h, place)]})
    if kept == groups:
        return []
    if kept:
        settings["hooks"][HOOK_EVENT] = kept
    else:
        settings["hooks"].pop(HOOK_EVENT)
        if not settings["hooks"]:
            settings.pop("hooks")
    _write_settings(real, settings)
    return [f"removed cctrack's hook from {editor}'s {HOOK_EVENT} hooks in {path}"]


def _hook_files(place: Place) -> list[tuple[Path, str]]:
    """Where the hook goes: Claude Code's settings.json, and Codex's hooks.json when this
    user has a Codex home."""
    files = [(_settings_file(place), "Claude Code")]
    if place.codex_home is not None and place.codex_home.is_dir():
        files.append((place.codex_home / "hooks.json", "Codex"))
    return files


def _created(record: dict[str, Any], path: Path) -> None:
    """Note a file setup creates: uninstall removes it when nothing but setup's is left."""
    created = record.setdefault("created", [])
    if str(path) not in created:
        created.append(str(path))


def remove_created(record: dict[str, Any]) -> list[str]:
    """The files setup created that hold nothing now (an empty config file, `{}`)."""
    done = []
    for name in record.pop("created", []):
        path = Path(name)
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError):  # gone, or not setup's to judge
            continue
        if text in ("", "{}"):
            path.unlink()
            done.append(f"removed {path} (setup made it; it holds nothing now)")
    return done


# What `cctrack --install-completion` (typer) wrote: for bash a line in ~/.bashrc and the
# script it sources; for zsh and fish a script.
def remove_completion(home: Path) -> list[str]:
    done = []
    script = home / ".bash_completions" / "cctrack.sh"
    rc = home / ".bashrc"
    line = f"source '{script}'"
    lines = rc.read_text().splitlines() if rc.is_file() else []
    if line in lines:
        kept = [x for x in lines if x != line]
        write_atomic(rc, "".join(f"{x}\n" for x in kept).encode(), mode=rc.stat().st_mode & 0o777)
        done.append(f"removed `{line}` from {rc}")
    for path in (
        script,
        home / ".zfunc" / "_cctrack",
        home / ".config/fish/completions/cctrack.fish",
    ):
        if path.is_file():
            path.unlink()
            done.append(f"removed {path}")
    return done


def acl_note(place: Place) -> list[str]:
    """The access to the textfile directory the docs had the user grant (setfacl): said,
    not undone, since it takes root."""
    getfacl = shutil.which("getfacl")
    if getfacl is None or place.textfile_dir_is_default:
        return []
    user = user_name(os.geteuid())
    listed = _run([getfacl, "-cp", str(place.textfile_dir)])
    if f"user:{user}:" not in listed.stdout:
        return []
    return [
        f"note: you may remove the access you gave yourself to {place.textfile_dir}: "
        f"`sudo setfacl -x u:{user} {place.textfile_dir}`"
    ]


def _write_settings(path: Path, settings: dict[str, Any]) -> Path | None:
    """An editor's settings file, replaced atomically, keeping its mode and its byte-order
    mark; the file as it was is kept beside it first (NAME.cctrack-backup), which is
    returned (None when there was no file)."""
    make_dirs(path.parent, 0o755)
    backup = None
    data = b""
    mode = 0o600
    if path.exists():
        data = path.read_bytes()
        mode = path.stat().st_mode & 0o777
        backup = path.with_name(f"{path.name}.cctrack-backup")
        write_atomic(backup, data, mode=mode)
    mark = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    write_atomic(path, mark + (json.dumps(settings, indent=2) + "\n").encode(), mode=mode)
    return backup


def _load_setup(place: Place) -> dict[str, Any]:
    try:
        record = read_json(place.data_dir / SETUP_FILE)
    except (OSError, ValueError):
        record = None
    return record if isinstance(record, dict) else {}


def _save_setup(place: Place, record: dict[str, Any]) -> None:
    private_dir(place.data_dir)
    write_atomic(place.data_dir / SETUP_FILE, json.dumps(record).encode())


def restore_statusline(place: Place, record: dict[str, Any]) -> list[str]:
    if "statusline_before" not in record or not _settings_file(place).exists():
        return []
    try:
        path, settings = _load_settings(_settings_file(place))
    except CctrackError as exc:
        return [f"left Claude Code's settings as they are: {exc}"]
    before = record.pop("statusline_before")
    ours = record.pop("statusline_ours", None)
    current = settings.get("statusLine")
    now = current.get("command") if isinstance(current, dict) else None
    # Only what is exactly setup's is setup's: a status line chosen since stays. (A setup
    # from before statusline_ours was recorded wrote one that runs `cctrack statusline`.)
    if ours is not None:
        setups = now == ours
    else:
        setups = isinstance(now, str) and "cctrack statusline" in now
    if not setups:
        return [f"left Claude Code's statusLine in {path} as it is: it is not setup's now"]
    if before is None:
        settings.pop("statusLine", None)
    else:
        settings["statusLine"] = before
    _write_settings(path, settings)
    return [f"restored Claude Code's statusLine in {path}"]


def restore_config(place: Place, record: dict[str, Any]) -> list[str]:
    line = record.pop("config_line", None)
    before = record.pop("config_before", None)
    text = _config_text(place)
    if not line or line not in text.splitlines():
        return []
    lines = [before if x == line else x for x in text.splitlines() if x != line or before]
    write_atomic(place.config_file, "".join(f"{x}\n" for x in lines).encode(), mode=0o644)
    what = f"put back {before}" if before else f"removed {line}"
    return [f"{what} in {place.config_file}"]


def remove_textfile(place: Place) -> list[str]:
    """The textfile goes too: node_exporter would go on serving its last numbers, and the
    stale alerts would fire for a deliberate uninstall."""
    path = place.textfile_dir / place.textfile_name
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return []
    if st.st_uid != os.geteuid():
        return [f"left {path} (not yours)"]
    path.unlink()
    return [f"removed {path}"]


def uninstall(place: Place) -> list[str]:
    record = _load_setup(place)
    done = remove_units(place)
    done += remove_cron_line(place)
    done += restore_statusline(place, record)
    for path, editor in _hook_files(place):
        done += remove_hook(place, path, editor)
    done += restore_config(place, record)
    done += remove_created(record)
    done += remove_textfile(place)
    link = place.link
    made = record.pop("linked", None) == str(link)
    if made and link.is_symlink() and os.path.realpath(link) == os.path.realpath(place.executable):
        link.unlink()
        done.append(f"removed {link}")
    elif link.exists():
        done.append(f"left {link} (setup did not make it: pipx, uv or you did)")
    done += remove_completion(place.home)
    if place.demo_dir is not None and place.demo_dir.is_dir():
        shutil.rmtree(place.demo_dir)
        done.append(f"removed the demo's data in {place.demo_dir}")
    done += acl_note(place)
    record.pop("schedule", None)
    if place.data_dir.is_dir():
        _save_setup(place, record)
    done.append(f"kept your data in {place.data_dir} (remove it yourself if you want)")
    return done


def setup(
    place: Place,
    systemd_user: bool,
    cron: bool,
    textfile_dir: Path | None,
    statusline: bool,
    remove: bool,
    hook: bool = False,
) -> list[str]:
    """What `cctrack setup` does, as lines saying what was done."""
    if remove:
        return uninstall(place)
    if systemd_user and cron:
        raise CctrackError("choose one of --systemd-user and --cron", EXIT_USAGE)
    # Files that cctrack could not write back whole are refused here, before anything changes.
    if statusline:
        _load_settings(_settings_file(place))
    if hook:
        for path, _ in _hook_files(place):
            _hook_groups(_load_settings(path)[1], path)
    record = _load_setup(place)
    done: list[str] = []
    try:
        done += link_executable(place, record)
        if textfile_dir is not None:
            done += set_textfile_dir(place, textfile_dir, record)
            place = replace(place, textfile_dir=textfile_dir, textfile_dir_is_default=False)
        done += make_directories(place)
        if systemd_user:
            install_systemd(place, record, done)
        if cron:
            done += install_cron(place, record)
        if statusline:
            done += install_statusline(place, record)
        if hook:
            for path, editor in _hook_files(place):
                done += install_hook(place, path, editor, record)
    except CctrackError as exc:
        raise SetupFailed(str(exc), exc.exit_code, done) from None
    finally:
        _save_setup(place, record)
    return done


class SetupFailed(CctrackError):
    """Setup stopped; what it had done before (kept, and undone by --uninstall)."""

    def __init__(self, message: str, exit_code: int, done: list[str]) -> None:
        if done:
            message += "; done before it stopped (`cctrack setup --uninstall` undoes it)"
        super().__init__(message, exit_code)
        self.done = done
