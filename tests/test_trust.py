"""Hostile environments, round 2: untrusted configuration and unbounded input, each with the
real fault: real file modes and another real unix user, a real FIFO, a stdin that never
closes, a directory tree 1,200 levels deep, control bytes from a tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import script, statusline_payload, write_credentials
from conftest import Env, FakeUsageAPI, Receiver, require_root, sample

CCTRACK = [sys.executable, "-m", "cctrack"]


def config_of(env: Env, text: str) -> Path:
    path = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("mode", [0o666, 0o620])
def test_commands_from_a_config_others_can_write_are_refused(env: Env, mode: int) -> None:
    marker = env.root / "ran"
    tool = script(env.root / "evil", f"open({str(marker)!r}, 'w').close()")
    path = config_of(env, f'codex_status = "{tool}"\nnotify_command = ["{tool}"]\n')
    path.chmod(mode)
    done = env.run("capture")
    assert done.returncode == 2 and not marker.exists()
    assert "sets codex_status, notify_command" in done.stderr
    assert f"chmod go-w {path}" in done.stderr
    # Settings that run nothing are still read from such a file.
    config_of(env, "retention_days = 30\n").chmod(mode)
    assert env.run("analyze").returncode == 0
    # Within a profile's table too, each named, beside those at the top.
    path = config_of(
        env,
        f'notify_command = ["{tool}"]\n[profiles.work]\ncodex_home = "{env.root}"\n'
        f'codex_status = "{tool}"\n',
    )
    path.chmod(mode)
    done = env.run("capture")
    assert done.returncode == 2 and not marker.exists()
    assert "sets notify_command, profiles.work.codex_status, which" in done.stderr
    # A profile's table of homes alone runs nothing and is read.
    config_of(env, f'[profiles.work]\ncodex_home = "{env.root}"\n').chmod(mode)
    assert env.run("analyze").returncode == 0


@pytest.fixture
def other_user() -> str:
    require_root("making another user")
    name = "cctrack-other"
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--no-create-home", "--no-user-group", "--shell", "/bin/false", name],
            check=True,
        )
    yield name
    subprocess.run(["userdel", name], capture_output=True)


def test_a_config_that_belongs_to_another_user_runs_nothing(env: Env, other_user: str) -> None:
    marker = env.root / "ran"
    tool = script(env.root / "evil", f"open({str(marker)!r}, 'w').close()")
    path = config_of(env, f'claude_status = "{tool}"\n')
    os.chown(
        path,
        int(subprocess.run(["id", "-u", other_user], capture_output=True, text=True).stdout),
        -1,
    )
    done = env.run("capture")
    assert done.returncode == 2 and not marker.exists()
    assert "it belongs to another user" in done.stderr


def test_a_password_in_the_pushgateway_url_is_refused_and_never_printed(env: Env) -> None:
    env.use_fixed_tools()
    done = env.run("run", "--pushgateway-url", "https://pusher:hunter2-s3cret@push.example.net")
    assert done.returncode == 2
    assert "hunter2" not in done.stderr and "pushgateway_auth_file" in done.stderr


def test_a_profile_name_never_leaves_the_data_directory(env: Env) -> None:
    payload = json.dumps(statusline_payload((40.0, __import__("datetime").datetime.now()), None))
    outside = env.root / "x"
    done = env.run("statusline", "--profile", "../../x", input=payload.encode())
    assert done.returncode == 0 and "--profile" in done.stderr
    assert not outside.exists() and not list(env.root.glob("*.json"))
    assert env.run("bar", "--profile", "../x").returncode == 2


def test_a_config_that_is_a_fifo_does_not_hang(env: Env) -> None:
    path = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    done = env.run("show", timeout=30)
    assert done.returncode == 2 and "is not a regular file" in done.stderr


def test_a_statusline_stdin_that_never_closes_gets_an_answer(env: Env) -> None:
    process = subprocess.Popen(
        [*CCTRACK, "statusline"],
        env=env.vars,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(b'{"rate_limits": {')  # and then nothing, never closed
    process.stdin.flush()
    try:
        out, _ = process.communicate(timeout=60)  # bounded by cctrack's own 5 s
    finally:
        process.kill()
    assert process.returncode == 0 and b"no Claude usage yet" in out


def test_a_huge_statusline_stdin_is_read_only_up_to_its_bound(env: Env) -> None:
    big = b'{"pad": "' + b"x" * (20 << 20) + b'"}'
    done = subprocess.run(
        [*CCTRACK, "statusline"], env=env.vars, input=big, capture_output=True, timeout=120
    )
    assert done.returncode == 0 and b"not stored" in done.stderr


def test_a_tree_1200_levels_deep_does_not_stop_token_counting(env: Env) -> None:
    env.use_fixed_tools()
    env.write_token_logs()
    deep = env.claude_home / "projects" / "deep"
    deep.mkdir(parents=True)
    levels = [deep]
    for _ in range(1200):  # one by one: os.makedirs itself recurses
        levels.append(levels[-1] / "d")
        levels[-1].mkdir()
    try:
        done = env.run("run")
        assert done.returncode == 0 and "RecursionError" not in done.stderr, done.stderr
        assert sample(env.textfile.read_text(), "cctrack_claude_window_tokens", window="weekly")
    finally:
        for level in reversed(levels):  # pytest's own clean-up would recurse too
            level.rmdir()


def test_control_bytes_from_a_tool_are_escaped_before_storing_and_printing(env: Env) -> None:
    tool = script(
        env.root / "noisy",
        "import sys; sys.stderr.write('bad\\x00\\x1b[2Jcleared'); sys.exit(1)",
    )
    env.use_fixed_tools()
    env.vars["CLAUDE_STATUS_PATH"] = str(tool)
    done = env.run("run")
    records = [r for r in env.records() if r["source_tool"] == "claude"]
    assert "\\x00" in records[0]["error"] and "\x00" not in records[0]["error"]
    assert "\x1b" not in done.stderr and "\\x1b[2J" in done.stderr
    assert "\x1b" not in env.run("show").stdout


def test_a_fifo_where_a_json_file_belongs_never_hangs(env: Env) -> None:
    # Claude Code's credentials, .claude.json and cctrack's own state files are all read by
    # one reader, non-blocking and only when regular.
    env.claude_home.mkdir()
    for name in (".credentials.json", ".claude.json"):
        os.mkfifo(env.claude_home / name)
    env.data_dir.mkdir()
    os.mkfifo(env.data_dir / "analyze-state.json")
    done = env.run("claude-status", CCTRACK_CLAUDE_OAUTH="on", timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    analyzed = env.run("analyze", timeout=60)
    assert analyzed.returncode == 0 and "state file unreadable" in analyzed.stderr


# A valid config value for every setting: a new setting fails the walk below until it has
# one, and with it a decision whether a config others can write may set it.
SAMPLE_VALUES = {
    "data_dir": '"~/elsewhere"',
    "textfile_dir": '"/tmp"',
    "textfile_name": '"x.prom"',
    "pushgateway_url": '"http://127.0.0.1:9"',
    "pushgateway_auth_file": '"~/.ssh/id_ed25519"',
    "remote_write_url": '"http://127.0.0.1:9/api/v1/write"',
    "remote_write_auth_file": '"~/.ssh/id_ed25519"',
    "otlp_endpoint": '"http://127.0.0.1:9/v1/metrics"',
    "otlp_headers_file": '"~/.ssh/id_ed25519"',
    "profiles": "{}",
    "agents": '{gemini = {status = "/bin/true"}}',
    "notify_command": '["/bin/true"]',
    "notify_thresholds": "[0.5]",
    "notify_timeout": "5",
    "hook_threshold": "0.8",
    "hook_use_it_minutes": "30",
    "hook_use_it_left": "0.4",
    "html_report": '"~/.bashrc"',
    "event_reset_move_minutes": "5",
    "event_drop_points": "1",
    "event_jump_points": "10",
    "event_jump_within_minutes": "15",
    "claude_status": '"/bin/true"',
    "codex_status": '"/bin/true"',
    "sources": '["codex"]',
    "timeout": "10",
    "hostname": '"box"',
    "retention_days": "30",
    "token_counters": "false",
    "token_projects": "0",
    "project_names": "{}",
    "prices": "{}",
    "claude_oauth": "false",
    "claude_usage_url": '"http://127.0.0.1:9/usage"',
    "codex_app_server": "false",
    "claude_home": '"~/.claude"',
    "codex_home": '"~/.codex"',
}
# What a config others can write must never choose: a command to run, a private file to
# read and send, where your data and its credentials go, a file to write over.
RISKS = (
    "agents",
    "_status",
    "_command",
    "_auth_file",
    "_headers_file",
    "_url",
    "_endpoint",
    "html_report",
)


def test_every_setting_says_whether_a_config_others_can_write_may_set_it(env: Env) -> None:
    """Trust is a column of the settings table: each row walked through the real command
    line with a config of mode 0666, and for each, refused (with the reason and the fix)
    exactly when it is one of RISKS."""
    from cctrack.settings import SETTINGS

    assert [s.key for s in SETTINGS] == list(SAMPLE_VALUES)
    for setting in SETTINGS:
        risky = setting.key.endswith(RISKS)
        assert bool(setting.trusted_only) == risky, setting.key
        path = config_of(env, f"{setting.key} = {SAMPLE_VALUES[setting.key]}\n")
        path.chmod(0o666)
        done = env.run("show")
        refused = "takes those only from a file that nobody else can change" in done.stderr
        assert refused == risky, (setting.key, done.stderr)
        if risky:
            assert done.returncode == 2 and f"sets {setting.key}, which" in done.stderr
            assert setting.trusted_only in done.stderr and f"chmod go-w {path}" in done.stderr
        path.chmod(0o600)
        assert "takes those only" not in env.run("show").stderr, setting.key


@pytest.mark.parametrize(
    ("url_key", "file_key", "path"),
    [
        ("remote_write_url", "remote_write_auth_file", "/api/v1/write"),
        ("otlp_endpoint", "otlp_headers_file", "/v1/metrics"),
        ("pushgateway_url", "pushgateway_auth_file", ""),
    ],
)
def test_a_config_others_can_write_never_sends_a_private_file_anywhere(
    env: Env, receivers: list[Receiver], url_key: str, file_key: str, path: str
) -> None:
    """The leak as it was found: a 0666 config in the user's own config directory names a
    listener and one of the user's 0600 files; `push` and `run` sent its contents there."""
    (listener, _) = receivers
    secret = env.root / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- hunter2\n")
    secret.chmod(0o600)
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    config = config_of(env, f'{url_key} = "{listener.url}{path}"\n{file_key} = "{secret}"\n')
    config.chmod(0o666)
    for command in ("push", "run"):
        done = env.run(command)
        assert done.returncode == 2 and f"chmod go-w {config}" in done.stderr, done.stderr
    assert listener.requests == []
    # Even the URL alone: the textfile (plans, accounts, projects) is not theirs to have.
    config.write_text(f'{url_key} = "{listener.url}{path}"\n')
    assert env.run("push").returncode == 2 and listener.requests == []


def test_a_config_others_can_write_never_points_the_claude_token_elsewhere(
    env: Env,
    usage_api: FakeUsageAPI,
) -> None:
    write_credentials(
        env.claude_home, "sk-ant-oat01-secret", datetime.now(timezone.utc) + timedelta(hours=2)
    )
    env.vars.pop("CCTRACK_CLAUDE_OAUTH")
    config = config_of(env, f'claude_usage_url = "{usage_api.url}"\n')
    config.chmod(0o666)
    done = env.run("capture")
    assert done.returncode == 2 and "claude_usage_url" in done.stderr
    assert usage_api.requests == []


def test_the_config_files_trust_at_each_of_its_edges(tmp_path: Path) -> None:
    """Who may change the file, and its folder, decides whether it may name a command, a
    private file or a URL that receives data: the owner (this user or root), the file's
    write bits for group and others (execute bits are not writing), the folder's owner and
    its write bits unless sticky (as /tmp is). Run as root here, as CI is."""
    from cctrack.errors import CctrackError
    from cctrack.settings import MAX_CONFIG_BYTES, load_config

    require_root("files owned by another user")
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o755)
    path = folder / "config.toml"
    risky = 'notify_command = ["/bin/true"]\n'

    def refusal(
        mode: int = 0o644, owner: int = 0, folder_mode: int = 0o755, folder_owner: int = 0
    ) -> str:
        path.write_text(risky)
        path.chmod(mode)
        os.chown(path, owner, 0)
        folder.chmod(folder_mode)
        os.chown(folder, folder_owner, 0)
        try:
            load_config(path, True)
        except CctrackError as exc:
            assert exc.exit_code == 2
            return str(exc)
        return ""

    assert refusal() == ""
    assert refusal(mode=0o645) == ""  # others may run it, not change it
    assert "others can write it (mode 0664; chmod go-w" in refusal(mode=0o664)
    assert "it belongs to another user (uid 1)" in refusal(owner=1)
    assert f"others can replace it in {folder} (chmod go-w {folder})" in refusal(folder_mode=0o777)
    assert f"others can replace it in {folder}" in refusal(folder_owner=1)
    assert refusal(folder_mode=0o1777) == ""  # sticky, as /tmp: only the owner may replace it
    # Two reasons at once, each said once.
    path.write_text(risky + 'remote_write_auth_file = "/etc/shadow"\n')
    path.chmod(0o666)
    with pytest.raises(CctrackError) as caught:
        load_config(path, True)
    assert "which reads a private file and sends it; runs a command, but" in str(caught.value)
    # Its size: 1 MiB is read whole, a byte more is refused.
    path.chmod(0o644)
    body = b'hostname = "edge"\n'
    path.write_bytes(b"#" * (MAX_CONFIG_BYTES - len(body) - 1) + b"\n" + body)
    assert load_config(path, True) == {"hostname": "edge"}
    path.write_bytes(b"#" * MAX_CONFIG_BYTES + b"\n")
    with pytest.raises(CctrackError, match=f"^config file {path} is larger than 1 MiB$") as big:
        load_config(path, True)
    assert big.value.exit_code == 2
    # Missing: an error only when asked for by name; unreadable or unknown: said.
    path.unlink()
    assert load_config(path, False) == {}
    with pytest.raises(CctrackError, match=f"^config file {path} does not exist$") as missing:
        load_config(path, True)
    assert missing.value.exit_code == 2
    path.write_text("timeout = [\n")
    with pytest.raises(CctrackError, match=f"^cannot read config file {path}: ") as unreadable:
        load_config(path, True)
    assert unreadable.value.exit_code == 2
    path.write_text("colour = 'blue'\n")
    with pytest.raises(CctrackError) as unknown:
        load_config(path, True)
    assert str(unknown.value).startswith(
        f"unknown setting 'colour' in {path}; known settings: data_dir, "
    )
    assert unknown.value.exit_code == 2
