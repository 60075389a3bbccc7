"""Hostile environments, round 2: real signals. SIGTERM (what systemd, `timeout` and `kill`
send), SIGHUP and SIGINT unwind a job: children are killed, locks released, what was
captured recorded, and the exit is 128 + the signal (docs/commands.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import fixed_tool, script
from conftest import Env


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stopped_capture_records_what_finished_and_leaves_no_orphan(
    env: Env, signum: int
) -> None:
    tools = env.root / "tools"
    tools.mkdir()
    pid_file = env.root / "hung.pid"
    hung = script(
        tools / "hung",
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)",
    )
    done_file = env.root / "claude.pid"
    answer = fixed_tool(tools / "claude-answer", "claude", 0.25, 0.5)
    claude = script(
        tools / "claude",
        f"import os, subprocess, sys; open({str(done_file)!r}, 'w').write(str(os.getpid())); "
        f"sys.exit(subprocess.call([{str(answer)!r}]))",
    )
    env.vars["CLAUDE_STATUS_PATH"] = str(claude)
    env.vars["CODEX_STATUS_PATH"] = str(hung)
    env.vars["CCTRACK_TIMEOUT"] = "300"
    process = subprocess.Popen(
        [sys.executable, "-m", "cctrack", "capture", "--if-idle"],
        env=env.vars,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):  # until the hung tool runs (bounded; nothing timed is asserted)
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    hung_pid = int(pid_file.read_text())
    # Until capture has reaped the finished tool (a zombie keeps its /proc entry till then).
    for _ in range(600):
        pid = done_file.read_text() if done_file.exists() else ""
        if pid and not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.05)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr
    assert not alive(hung_pid), "the hung status tool survived its capture"
    # The finished answer is recorded; the stopped one says why.
    records = {r["source_tool"]: r for r in env.records()}
    assert records["claude"]["ok"] is True
    assert records["codex"]["ok"] is False and "was stopped" in records["codex"]["error"]
    # The job's lock went with it: the next run is not skipped.
    again = env.run("capture", "--if-idle", CODEX_STATUS_PATH=str(answer))
    assert "skipping" not in again.stderr


def test_a_stopped_analyze_kills_its_notify_command_and_keeps_the_checkpoint(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("capture").returncode == 0
    pid_file = env.root / "notify.pid"
    notify = script(
        env.root / "notify",
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)",
    )
    config = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'notify_command = ["{notify}"]\nnotify_timeout = 300\nnotify_thresholds = [0.1]\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cctrack", "analyze"],
        env=env.vars,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    notify_pid = int(pid_file.read_text())
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert not alive(notify_pid)
    assert not (env.data_dir / "analyze-state.json").exists()  # the checkpoint did not move
