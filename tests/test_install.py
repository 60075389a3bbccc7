"""`cctrack setup` through the real command line: systemd user units (systemctl is a fake
that records its calls; tests/test_system_systemd.py runs the same under a real user
manager), a real crontab, Claude Code's status line; each twice (idempotent) and then undone
with --uninstall. A schedule that is there already is replaced or refused, never doubled."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from builders import fixed_tool, script
from conftest import Env, require_binary, sample

ROOT = Path(__file__).resolve().parent.parent
CCTRACK = Path(sys.executable).parent / "cctrack"


def setup(env: Env, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CCTRACK), "setup", *args],
        env={**env.vars, **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fake_systemctl(env: Env) -> Path:
    calls = env.root / "systemctl-calls"
    bin_dir = env.root / "fakebin"
    bin_dir.mkdir()
    # Like the real one: `is-enabled` fails for a timer nobody enabled.
    script(
        bin_dir / "systemctl",
        f"import sys; open({str(calls)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "sys.exit(1 if 'is-enabled' in sys.argv else 0)",
    )
    env.vars["PATH"] = f"{bin_dir}:{env.vars['PATH']}"
    return calls


def test_systemd_user_setup_installs_links_and_is_idempotent(
    env: Env, fake_systemctl: Path
) -> None:
    home = Path(env.vars["HOME"])
    first = setup(env, "--systemd-user", "--textfile-dir", str(env.textfile_dir))
    assert first.returncode == 0, first.stderr
    units = home / ".config/systemd/user"
    capture = (units / "cctrack-capture.service").read_text()
    analyze = (units / "cctrack-analyze.service").read_text()
    # The units run the cctrack setup ran from, and may write only what each job writes.
    assert f"ExecStart={CCTRACK} capture --if-idle" in capture
    assert f"ExecStart={CCTRACK} analyze --if-idle" in analyze
    assert f"ReadWritePaths=-{env.data_dir}\n" in capture
    assert f"ReadWritePaths=-{env.data_dir} -{env.textfile_dir}\n" in analyze
    assert env.data_dir.is_dir()
    assert (units / "cctrack-capture.timer").is_file() and (
        units / "cctrack-analyze.service"
    ).is_file()
    link = home / ".local/bin/cctrack"
    assert link.is_symlink() and Path(os.readlink(link)) == CCTRACK
    assert "is not on your PATH yet" in first.stdout
    config = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack/config.toml"
    assert f'textfile_dir = "{env.textfile_dir}"' in config.read_text()
    assert fake_systemctl.read_text().splitlines() == [
        "--user is-enabled --quiet cctrack-capture.timer",
        "--user daemon-reload",
        "--user enable --now cctrack-capture.timer",
    ]
    second = setup(env, "--systemd-user", "--textfile-dir", str(env.textfile_dir))
    assert second.returncode == 0
    assert "is up to date" in second.stdout and "already runs" in second.stdout
    assert "already sends the textfile" in second.stdout
    # With an HTML report, analyze may write its directory too (created if missing).
    page = home / "cctrack" / "report.html"
    third = setup(
        env,
        "--systemd-user",
        "--textfile-dir",
        str(env.textfile_dir),
        CCTRACK_HTML_REPORT=str(page),
    )
    assert third.returncode == 0 and f"created {page.parent}" in third.stdout
    analyze = (units / "cctrack-analyze.service").read_text()
    assert f"ReadWritePaths=-{env.data_dir} -{env.textfile_dir} -{page.parent}\n" in analyze
    assert f"ReadWritePaths=-{env.data_dir}\n" in (units / "cctrack-capture.service").read_text()
    undone = setup(env, "--uninstall")
    assert undone.returncode == 0, undone.stderr
    assert not (units / "cctrack-capture.service").exists() and not link.exists()
    assert "--user disable --now cctrack-capture.timer" in fake_systemctl.read_text()
    assert "kept your data" in undone.stdout
    assert not config.exists()  # setup made it for its one line: nothing of the user's in it


def test_setup_fails_when_the_user_manager_cannot_enable_the_timer(env: Env) -> None:
    systemctl = require_binary("systemctl")
    # The real systemctl with no user manager to talk to (no XDG_RUNTIME_DIR, no bus).
    env.vars["PATH"] = f"{Path(systemctl).parent}:{env.vars['PATH']}"
    env.vars.pop("XDG_RUNTIME_DIR", None)
    env.vars.pop("DBUS_SESSION_BUS_ADDRESS", None)
    done = setup(env, "--systemd-user")
    assert done.returncode == 1
    assert "systemctl --user daemon-reload failed" in done.stderr
    assert "is a user manager running?" in done.stderr


def test_a_schedule_made_by_hand_is_refused_not_doubled(
    env: Env, fake_systemctl: Path, own_crontab: str
) -> None:
    hand = '*/5 * * * * "$HOME/.local/bin/cctrack" run --if-idle >>"$HOME/.cctrack-cron.log" 2>&1'
    subprocess.run([own_crontab, "-"], input=hand + "\n", text=True, check=True)
    for flag in ("--cron", "--systemd-user"):
        done = setup(env, flag)
        assert done.returncode == 2, done
        assert "your crontab already runs cctrack" in done.stderr
        assert "would run the jobs twice" in done.stderr
    assert subprocess.run([own_crontab, "-l"], capture_output=True, text=True).stdout == hand + "\n"
    units = Path(env.vars["HOME"]) / ".config/systemd/user"
    assert not (units / "cctrack-capture.timer").exists()


def test_setup_replaces_its_own_schedule_with_the_other_kind(
    env: Env, fake_systemctl: Path, own_crontab: str
) -> None:
    subprocess.run([own_crontab, "-r"], capture_output=True)
    assert setup(env, "--cron").returncode == 0
    assert "# cctrack" in subprocess.run([own_crontab, "-l"], capture_output=True, text=True).stdout
    moved = setup(env, "--systemd-user")
    assert moved.returncode == 0, moved.stderr
    assert "removed cctrack's line from your crontab" in moved.stdout
    assert (
        "cctrack" not in subprocess.run([own_crontab, "-l"], capture_output=True, text=True).stdout
    )
    back = setup(env, "--cron")
    assert back.returncode == 0, back.stderr
    assert "--user disable --now cctrack-capture.timer" in fake_systemctl.read_text()
    units = Path(env.vars["HOME"]) / ".config/systemd/user"
    assert not (units / "cctrack-capture.timer").exists()


def test_a_textfile_directory_that_cannot_be_written_is_refused(env: Env) -> None:
    result = setup(env, "--textfile-dir", str(env.root / "missing"))
    assert result.returncode == 2 and "is not a directory you can write" in result.stderr


@pytest.fixture
def own_crontab() -> Iterator[str]:
    crontab = require_binary("crontab")
    before = subprocess.run([crontab, "-l"], capture_output=True, text=True)
    try:
        yield crontab
    finally:
        if before.returncode == 0:
            subprocess.run([crontab, "-"], input=before.stdout, text=True, check=True)
        else:
            subprocess.run([crontab, "-r"], capture_output=True)


def test_cron_setup_adds_one_working_line_and_uninstall_removes_it(
    env: Env, own_crontab: str
) -> None:
    tools = env.root / "tools"
    tools.mkdir()
    home = Path(env.vars["HOME"])
    config = home / ".config/cctrack/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "claude_oauth = false\n"
        f'claude_status = "{fixed_tool(tools / "c", "claude", 0.3, 0.1)}"\n'
        f'codex_status = "{fixed_tool(tools / "x", "codex", 0.4, 0.2)}"\n'
    )
    # Setup itself runs from the user's shell; the job later runs under cron's bare environment.
    textfile = env.textfile
    for name in ("CCTRACK_TEXTFILE_DIR", "CCTRACK_DATA_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        env.vars.pop(name)
    data_dir = home / ".local/state/cctrack"
    for _ in range(2):
        result = setup(env, "--cron", "--textfile-dir", str(textfile.parent))
        assert result.returncode == 0, result.stderr
    lines = [
        line
        for line in subprocess.run(
            [own_crontab, "-l"], capture_output=True, text=True
        ).stdout.splitlines()
        if "cctrack" in line
    ]
    assert len(lines) == 1 and lines[0].startswith("*/5 * * * * ")
    command = lines[0].split(" ", 5)[5].removesuffix(" # cctrack")
    cron_env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}
    ran = subprocess.run(
        ["env", "-i", *(f"{k}={v}" for k, v in cron_env.items()), "/bin/sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert sample(textfile.read_text(), "cctrack_codex_usage_ratio", window="five_hour") == 0.4
    log = (data_dir / "cron.log").read_text()
    assert "cctrack analyze: claude up, codex up" in log
    # Every line of cron.log says when it was written.
    for line in log.splitlines():
        stamp = datetime.fromisoformat(line.split(" ", 1)[0])
        assert stamp.tzinfo is not None and line.split(" ", 2)[1] == "cctrack"
    assert setup(env, "--uninstall").returncode == 0
    after = subprocess.run([own_crontab, "-l"], capture_output=True, text=True).stdout
    assert "cctrack" not in after
    assert not textfile.exists()


def test_statusline_setup_wraps_the_existing_one_and_uninstall_restores_it(env: Env) -> None:
    settings = env.claude_home / "settings.json"
    env.claude_home.mkdir()
    original = {"model": "opus", "statusLine": {"type": "command", "command": "~/bin/my line.sh"}}
    settings.write_text(json.dumps(original))
    result = setup(env, "--statusline")
    assert result.returncode == 0, result.stderr
    now = json.loads(settings.read_text())
    link = Path(env.vars["HOME"]) / ".local/bin/cctrack"
    assert (
        now["statusLine"]["command"]
        == f"{link} statusline --wrap {shlex.quote('~/bin/my line.sh')}"
    )
    assert now["model"] == "opus"
    assert json.loads((env.claude_home / "settings.json.cctrack-backup").read_text()) == original
    assert "already uses cctrack's status line" in setup(env, "--statusline").stdout
    assert setup(env, "--uninstall").returncode == 0
    assert json.loads(settings.read_text()) == original


def test_hook_setup_adds_the_agent_hook_to_both_editors_and_uninstall_takes_it_out(
    env: Env,
) -> None:
    env.claude_home.mkdir()
    env.codex_home.mkdir()
    theirs = {"type": "command", "command": "~/bin/remind.sh"}
    original = {"model": "opus", "hooks": {"UserPromptSubmit": [{"hooks": [theirs]}]}}
    settings = env.claude_home / "settings.json"
    settings.write_text(json.dumps(original))
    done = setup(env, "--hook")
    assert done.returncode == 0, done.stderr
    link = Path(env.vars["HOME"]) / ".local/bin/cctrack"
    ours = {"type": "command", "command": f"{link} hook", "timeout": 10}
    assert json.loads(settings.read_text())["hooks"]["UserPromptSubmit"] == [
        {"hooks": [theirs]},
        {"hooks": [ours]},
    ]
    codex = env.codex_home / "hooks.json"
    assert json.loads(codex.read_text()) == {"hooks": {"UserPromptSubmit": [{"hooks": [ours]}]}}
    again = setup(env, "--hook")
    assert again.stdout.count("already runs cctrack's hook") == 2
    # The command as the editors run it (through a shell, the hook JSON on stdin): exit 0,
    # and nothing to say before any analysis.
    ran = subprocess.run(
        ["sh", "-c", ours["command"]],
        input='{"hook_event_name": "UserPromptSubmit", "prompt": "hi"}',
        env=env.vars,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (ran.returncode, ran.stdout) == (0, "")
    assert setup(env, "--uninstall").returncode == 0
    assert json.loads(settings.read_text()) == original
    assert not codex.exists()  # setup made it, and nothing else is in it


def test_statusline_setup_reads_settings_as_claude_code_does(env: Env) -> None:
    env.claude_home.mkdir()
    # Dotfiles: settings.json is a link to the real file elsewhere, with a byte-order mark.
    real = env.root / "dotfiles" / "claude-settings.json"
    real.parent.mkdir()
    real.write_bytes(b"\xef\xbb\xbf" + json.dumps({"model": "opus"}).encode())
    (env.claude_home / "settings.json").symlink_to(real)
    done = setup(env, "--statusline")
    assert done.returncode == 0, done.stderr
    assert (env.claude_home / "settings.json").is_symlink()  # the link is kept
    assert real.read_bytes().startswith(b"\xef\xbb\xbf")  # and the mark, byte for byte
    written = json.loads(real.read_text("utf-8-sig"))
    assert written["model"] == "opus" and "cctrack" in written["statusLine"]["command"]
    assert setup(env, "--uninstall").returncode == 0
    assert "statusLine" not in json.loads(real.read_text("utf-8-sig"))


def test_statusline_setup_refuses_settings_with_comments_before_changing_anything(
    env: Env,
) -> None:
    env.claude_home.mkdir()
    settings = env.claude_home / "settings.json"
    text = '{\n  // my model\n  "model": "opus"\n}\n'
    settings.write_text(text)
    done = setup(env, "--statusline")
    assert done.returncode == 2 and "has comments" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert settings.read_text() == text
    assert not (Path(env.vars["HOME"]) / ".local/bin/cctrack").exists()


def test_a_link_pipx_or_uv_made_stays_theirs_through_setup_and_uninstall(
    env: Env, fake_systemctl: Path
) -> None:
    link = Path(env.vars["HOME"]) / ".local/bin/cctrack"
    link.parent.mkdir(parents=True)
    link.symlink_to(CCTRACK)  # as `pipx install` leaves it
    first = setup(env, "--systemd-user")
    assert first.returncode == 0 and f"{link} already runs" in first.stdout
    undone = setup(env, "--uninstall")
    assert undone.returncode == 0 and link.is_symlink() and Path(os.readlink(link)) == CCTRACK
    assert f"left {link} (setup did not make it" in undone.stdout


def test_a_setup_that_stops_halfway_says_what_it_made_and_the_way_without_systemd(
    env: Env,
) -> None:
    bin_dir = env.root / "nosystemd"
    bin_dir.mkdir()
    # No user manager: every call but is-enabled fails, as on a server without a login.
    script(
        bin_dir / "systemctl",
        "import sys; print('Failed to connect to bus: No medium found', file=sys.stderr); "
        "sys.exit(1)",
    )
    env.vars["PATH"] = f"{bin_dir}:{env.vars['PATH']}"
    done = setup(env, "--systemd-user", "--textfile-dir", str(env.textfile_dir))
    assert done.returncode == 1
    link = Path(env.vars["HOME"]) / ".local/bin/cctrack"
    assert f"linked {link}" in done.stdout and "installed " in done.stdout
    assert "set textfile_dir" in done.stdout
    assert "`cctrack setup --cron`" in done.stderr and "--uninstall` undoes it" in done.stderr
    undone = setup(env, "--uninstall")
    assert undone.returncode == 0 and not link.exists()
    config = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack/config.toml"
    assert not config.exists()


def test_uninstall_leaves_nothing_of_cctracks_behind(env: Env, fake_systemctl: Path) -> None:
    home = Path(env.vars["HOME"])
    assert setup(env, "--systemd-user").returncode == 0
    stamp = home / ".local/share/systemd/timers/stamp-cctrack-capture.timer"
    stamp.parent.mkdir(parents=True)
    stamp.write_text("")
    demo = Path(env.vars["XDG_STATE_HOME"]) / "cctrack-demo"
    assert env.run("run", "--demo").returncode == 0 and demo.is_dir()
    # `cctrack --install-completion bash`, as typer writes it.
    done = subprocess.run(
        [str(CCTRACK), "--install-completion", "bash"],
        env={**env.vars, "SHELL": "/bin/bash"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    bashrc = home / ".bashrc"
    assert "bash_completions/cctrack.sh" in bashrc.read_text()
    undone = setup(env, "--uninstall")
    assert undone.returncode == 0, undone.stderr
    assert not stamp.exists() and not demo.exists()
    assert "cctrack" not in bashrc.read_text()
    assert not (home / ".bash_completions" / "cctrack.sh").exists()


def test_only_what_is_exactly_setups_is_setups(env: Env) -> None:
    """A status line the user chose after setup stays on uninstall; a handler of theirs
    that mentions `cctrack hook` is neither taken for setup's nor removed."""
    env.claude_home.mkdir()
    settings = env.claude_home / "settings.json"
    theirs = {"type": "command", "command": "~/bin/log-prompts.sh && cctrack hook --tools codex"}
    settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [theirs]}]}}))
    done = setup(env, "--statusline", "--hook")
    assert done.returncode == 0, done.stderr
    link = Path(env.vars["HOME"]) / ".local/bin/cctrack"
    groups = json.loads(settings.read_text())["hooks"]["UserPromptSubmit"]
    assert [h["command"] for g in groups for h in g["hooks"]] == [
        theirs["command"],
        f"{link} hook",
    ]
    # The user picks another status line after setup.
    chosen = json.loads(settings.read_text())
    chosen["statusLine"] = {"type": "command", "command": "~/bin/mine.sh"}
    settings.write_text(json.dumps(chosen))
    undone = setup(env, "--uninstall")
    assert undone.returncode == 0, undone.stderr
    after = json.loads(settings.read_text())
    assert after["statusLine"]["command"] == "~/bin/mine.sh"
    assert "it is not setup's now" in undone.stdout
    assert after["hooks"]["UserPromptSubmit"] == [{"hooks": [theirs]}]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (json.dumps({"model": "opus é"}).encode("utf-16"), "is not UTF-8"),
        ('{"model": "café"}'.encode("latin-1"), "is not UTF-8"),
        (b'{"model": "opus", "model": "sonnet"}', "names 'model' twice"),
    ],
)
def test_a_settings_file_cctrack_cannot_write_back_whole_is_refused_untouched(
    env: Env, data: bytes, said: str
) -> None:
    env.claude_home.mkdir()
    settings = env.claude_home / "settings.json"
    settings.write_bytes(data)
    done = setup(env, "--statusline")
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert settings.read_bytes() == data
    assert not (env.claude_home / "settings.json.cctrack-backup").exists()


def test_every_rewrite_keeps_the_file_as_it_was_beside_it(env: Env) -> None:
    env.claude_home.mkdir()
    settings = env.claude_home / "settings.json"
    first = json.dumps({"model": "opus"}, indent=4).encode()
    settings.write_bytes(first)
    assert setup(env, "--statusline").returncode == 0
    backup = env.claude_home / "settings.json.cctrack-backup"
    assert backup.read_bytes() == first
    before_hook = settings.read_bytes()
    assert setup(env, "--hook").returncode == 0
    assert backup.read_bytes() == before_hook


def test_uninstall_names_the_access_it_asked_for(env: Env, fake_systemctl: Path) -> None:
    """The docs have the user give themselves node_exporter's directory with setfacl, which
    takes root to undo: uninstall names the command instead of leaving it forgotten."""
    setfacl = require_binary("setfacl")
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    subprocess.run([setfacl, "-m", f"u:{user}:rwx", str(env.textfile_dir)], check=True)
    assert setup(env, "--systemd-user", "--textfile-dir", str(env.textfile_dir)).returncode == 0
    undone = setup(env, "--uninstall")
    assert undone.returncode == 0
    assert f"sudo setfacl -x u:{user} {env.textfile_dir}" in undone.stdout
