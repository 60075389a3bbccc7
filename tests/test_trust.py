"""Hostile environments, round 2: untrusted configuration and unbounded input, each with the
real fault: real file modes and another real unix user, a real FIFO, a stdin that never
closes, a directory tree 1,200 levels deep, control bytes from a tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import script, statusline_payload
from conftest import IN_CI, Env, sample

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


@pytest.fixture
def other_user() -> str:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("needs root to make another user")
        pytest.skip("needs root to make another user")
    name = "cctrack-other"
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/false", name], check=True)
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
