"""Faults and bad input: nothing lost, nothing duplicated, every failure a clear record or error."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import fixed_tool, script
from conftest import Env, run_as, sample

from cctrack.analyze import analyze
from cctrack.capture import capture
from cctrack.settings import resolve_settings

UTC = timezone.utc


def tool_printing(env: Env, name: str, body: str) -> str:
    return str(script(env.root / name, body))


def day_file(env: Env) -> Path:
    files = sorted(env.data_dir.glob("usage-*.jsonl"))
    assert len(files) == 1
    return files[0]


def metric(env: Env, name: str, **labels: str) -> float | None:
    return sample(env.textfile.read_text(), name, **labels)


# ---- crashes and concurrency -------------------------------------------------------------------


def test_torn_last_line_is_skipped_alone_and_counted(env: Env) -> None:
    env.use_fixed_tools()
    for _ in range(2):
        assert env.run("capture").returncode == 0
    path = day_file(env)
    whole = path.read_bytes()
    path.write_bytes(whole + whole.splitlines(keepends=True)[-1][:57])  # a crash mid-append
    for _ in range(2):
        assert env.run("capture").returncode == 0
    lines = path.read_bytes().split(b"\n")
    assert all(json.loads(line)["seq_no"] for line in lines[:4] + lines[5:-1])  # every record whole
    assert env.run("analyze").returncode == 0
    assert metric(env, "cctrack_analyze_skipped_lines_total", reason="torn") == 1
    assert metric(env, "cctrack_analyze_skipped_lines_total", reason="invalid") == 0
    assert metric(env, "cctrack_claude_captures_total", result="ok") == 4
    assert metric(env, "cctrack_codex_captures_total", result="ok") == 4


def test_torn_fragment_seen_by_analyze_before_the_repair_counts_once(env: Env) -> None:
    env.use_fixed_tools()
    env.run("capture")
    path = day_file(env)
    with open(path, "ab") as handle:
        handle.write(b'{"v":1,"seq_no":99,"timest')
    assert env.run("analyze").returncode == 0
    env.run("capture")
    assert env.run("analyze").returncode == 0
    assert metric(env, "cctrack_analyze_skipped_lines_total", reason="torn") == 1
    assert metric(env, "cctrack_codex_captures_total", result="ok") == 2
    seqs = [
        json.loads(line)["seq_no"]
        for line in path.read_text().splitlines()
        if not line.startswith('{"v":1,"seq_no":99,')
    ]
    assert seqs == [1, 2, 3, 4]  # the counter ignored the fragment


def test_ten_concurrent_captures(env: Env) -> None:
    env.use_fixed_tools()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "cctrack", "capture"],
            env=env.vars,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(10)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * 10
    raw = day_file(env).read_bytes()
    assert raw.endswith(b"\n")
    records = [json.loads(line) for line in raw.splitlines()]  # any interleaving breaks a line
    assert len(records) == 20
    assert sorted(r["seq_no"] for r in records) == list(range(1, 21))
    assert sum(r["source_tool"] == "codex" for r in records) == 10


def test_capture_that_cannot_write_says_so_in_one_line(env: Env) -> None:
    env.use_fixed_tools()
    env.run("capture")
    failed = env.run(
        "capture", file_size_limit=0
    )  # any growth of any file fails, as on a full disk
    assert failed.returncode == 1
    assert (
        failed.stderr.count("\n") == 1
        and "cannot record captures" in failed.stderr
        and "Traceback" not in failed.stderr
    )
    assert len(env.records()) == 2
    assert env.run("capture").returncode == 0
    assert [r["seq_no"] for r in env.records()] == [1, 2, 3, 4]


def test_lost_seq_counter_never_reuses_a_number(env: Env) -> None:
    env.use_fixed_tools()
    env.run("capture")
    (env.data_dir / "seq").unlink()
    env.run("capture")
    (env.data_dir / "seq").write_text("garbage")
    env.run("capture")
    assert [r["seq_no"] for r in env.records()] == [1, 2, 3, 4, 5, 6]


# ---- status tools that misbehave ---------------------------------------------------------------


def test_hanging_tool_is_killed_with_its_children(env: Env) -> None:
    env.use_fixed_tools()
    pids = env.root / "pids"
    hang = tool_printing(
        env,
        "hang",
        f"""
import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
time.sleep(300)
""",
    )
    result = env.run("capture", "--codex-status", hang, "--timeout", "1")
    assert result.returncode == 0  # claude still captured
    (codex,) = [r for r in env.records() if r["source_tool"] == "codex"]
    assert codex["ok"] is False and codex["error"] == "codex-status timed out after 1 s"
    assert [r["ok"] for r in env.records() if r["source_tool"] == "claude"] == [True]
    for pid in map(int, pids.read_text().split()):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        assert state in ("Z", "X"), f"process {pid} survived the timeout"


BAD_OUTPUTS = {
    "exits non-zero": (
        "import sys; print('not logged in', file=sys.stderr); sys.exit(4)",
        "codex-status failed (exit 4): not logged in",
    ),
    "prints garbage": (
        "print('Usage: 42% of something')",
        "codex-status printed no valid status: output is not JSON",
    ),
    "prints nothing": ("pass", "codex-status printed no valid status: output is not JSON"),
    "prints 100 MB": (
        "import sys\nfor _ in range(100): sys.stdout.write('x' * (1 << 20))",
        "codex-status printed more than 1 MiB",
    ),
    "prints non-UTF-8": (
        "import sys; sys.stdout.buffer.write(b'\\xff\\xfe{}')",
        "codex-status printed no valid status: output is not UTF-8",
    ),
    "wrong source": (
        'print(\'{"source_tool": "claude", "observed_at": "2026-01-01T00:00:00Z", "origin": "x", "windows": {"weekly": {"used_ratio": 0.1}}}\')',
        "codex-status printed no valid status: status is for claude, expected codex",
    ),
}


def ratio_tool(value: str) -> str:
    return (
        'print(\'{"source_tool": "codex", "observed_at": "2026-01-01T00:00:00Z", "origin": "x", '
        f'"windows": {{"weekly": {{"used_ratio": {value}, "window_seconds": 604800}}}}}}\')'
    )


for label, value, words in (
    ("NaN", "NaN", "output is not JSON"),
    ("Infinity", "Infinity", "output is not JSON"),
    ("negative", "-0.2", "outside 0..1"),
    ("over 100 %", "3.5", "outside 0..1"),
    ("an epoch", "1795500000", "outside 0..1"),
    ("a string", '"42%"', "not a number"),
):
    BAD_OUTPUTS[f"ratio is {label}"] = (ratio_tool(value), words)


@pytest.mark.parametrize("case", sorted(BAD_OUTPUTS))
def test_bad_status_output_is_a_clear_error_record(env: Env, case: str) -> None:
    body, words = BAD_OUTPUTS[case]
    env.use_fixed_tools()
    result = env.run("capture", "--codex-status", tool_printing(env, "bad", body))
    assert result.returncode == 0
    records = env.records()
    assert [(r["source_tool"], r["ok"]) for r in records] == [("claude", True), ("codex", False)]
    assert words in records[1]["error"]
    assert len(records[1]["error"]) < 400 and "\n" not in records[1]["error"]
    assert env.run("analyze").returncode == 0
    assert metric(env, "cctrack_codex_up") == 0 and metric(env, "cctrack_claude_up") == 1


@pytest.mark.usefixtures("quick_backoff")
def test_transient_failures_are_retried_and_others_are_not(env: Env) -> None:
    env.use_fixed_tools()
    counter = env.root / "attempts"
    good = env.vars["CODEX_STATUS_PATH"]
    flaky = tool_printing(
        env,
        "flaky",
        f"""
import os, sys
from pathlib import Path
counter = Path({str(counter)!r})
attempt = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(attempt))
if attempt < 3:
    print("backend busy", file=sys.stderr)
    sys.exit(75)
os.execv({good!r}, [{good!r}])""",
    )
    assert env.run("capture", "--codex-status", flaky).returncode == 0
    assert counter.read_text() == "3"
    assert [r["ok"] for r in env.records()] == [True, True]
    counter.unlink()
    broken = tool_printing(
        env,
        "broken",
        f"""
from pathlib import Path
counter = Path({str(counter)!r})
counter.write_text(str(int(counter.read_text()) + 1 if counter.exists() else 1))
raise SystemExit(1)
""",
    )
    env.run("capture", "--codex-status", broken)
    assert counter.read_text() == "1"


def test_secrets_a_tool_prints_on_stderr_are_redacted(env: Env) -> None:
    env.use_fixed_tools()
    leaky = tool_printing(
        env,
        "leaky",
        "import sys; print('401 for Authorization: Bearer abc.def-123 key sk-ant-oat01-AbCdEf0123456789xyz jwt "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', file=sys.stderr); sys.exit(1)",
    )
    env.run("capture", "--codex-status", leaky)
    error = env.records()[-1]["error"]
    assert (
        error
        == "codex-status failed (exit 1): 401 for Authorization: Bearer [redacted] key [redacted] jwt [redacted]"
    )


def test_missing_status_command_is_named(env: Env) -> None:
    env.use_fixed_tools()
    env.run("capture", "--codex-status", str(env.root / "no-such-tool"))
    assert "codex-status not found: " in env.records()[-1]["error"]


# ---- the checkpoint and the day files ----------------------------------------------------------


def three_runs(env: Env) -> None:
    env.use_fixed_tools()
    for _ in range(3):
        assert env.run("run").returncode == 0


def expect_counts(env: Env, ok: int, replayed: str | None) -> None:
    result = env.run("analyze")
    assert result.returncode == 0, result.stderr
    assert (replayed in result.stderr) if replayed else ("replayed" not in result.stderr), (
        result.stderr
    )
    assert metric(env, "cctrack_claude_captures_total", result="ok") == ok
    assert metric(env, "cctrack_codex_captures_total", result="ok") == ok


def test_deleted_checkpoint_rebuilds(env: Env) -> None:
    three_runs(env)
    (env.data_dir / "analyze-state.json").unlink()
    expect_counts(env, 3, "no checkpoint yet")
    expect_counts(env, 3, None)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"{not json",
        b'{"v": 1}',
        b'{"v": 99}',
        b"\x00\xff" * 10,
        b'{"v":1,"analyzed_at":null,"invalid_lines":"x","torn_fragments":0,"tools":{},"marks":{}}',
    ],
)
def test_corrupt_checkpoint_rebuilds(env: Env, garbage: bytes) -> None:
    three_runs(env)
    (env.data_dir / "analyze-state.json").write_bytes(garbage)
    expect_counts(env, 3, "replayed all records")


def test_day_file_truncated_below_checkpoint_is_reread_and_its_counts_stay(env: Env) -> None:
    three_runs(env)
    path = day_file(env)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]))  # someone cut the file back to its first capture
    # Read again from the start, and what was counted stays counted (carried): a counter
    # that fell would read as a reset in Prometheus.
    expect_counts(env, 3, "changed below the checkpoint")
    expect_counts(env, 3, None)


def test_day_file_replaced_below_checkpoint_is_reread(env: Env) -> None:
    three_runs(env)
    path = day_file(env)
    content = path.read_bytes()
    # Same length, same inode, different content: one record's ok flag damaged.
    flipped = content.replace(b'"ok":true', b'"ok":null', 1)
    assert len(flipped) == len(content)
    with open(path, "r+b") as handle:
        handle.write(flipped)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    result = env.run("analyze")
    assert "changed below the checkpoint" in result.stderr
    assert metric(env, "cctrack_analyze_skipped_lines_total", reason="invalid") == 1
    # And a file swapped for a copy (new inode) is noticed as well.
    copy = path.with_suffix(".tmp")
    copy.write_bytes(content)
    copy.replace(path)
    expect_counts(env, 3, "changed below the checkpoint")


def test_deleting_old_day_files_keeps_counters(env: Env) -> None:
    three_runs(env)
    day_file(env).unlink()
    expect_counts(env, 3, None)


def test_day_boundary_at_utc_midnight(env: Env) -> None:
    """One capture on each side of midnight: two day files, one analysis over both."""
    env.use_fixed_tools()
    # The clock below is for the status records alone.
    settings = resolve_settings({}, {**env.vars, "CCTRACK_TOKEN_COUNTERS": "off"})
    midnight = datetime(2026, 11, 25, tzinfo=UTC)
    moments = iter(
        [
            midnight - timedelta(milliseconds=300),
            midnight - timedelta(milliseconds=100),
            midnight + timedelta(milliseconds=100),
            midnight + timedelta(milliseconds=300),
        ]
    )
    for _ in range(2):
        capture(settings, lambda: next(moments), env.vars)
    names = sorted(p.name for p in env.data_dir.glob("usage-*.jsonl"))
    assert names == ["usage-20261124.jsonl", "usage-20261125.jsonl"]
    by_day = {
        name: [
            json.loads(text)["seq_no"] for text in (env.data_dir / name).read_text().splitlines()
        ]
        for name in names
    }
    assert sorted(by_day["usage-20261124.jsonl"] + by_day["usage-20261125.jsonl"]) == [1, 2, 3, 4]
    outcome = analyze(settings, midnight + timedelta(minutes=1))
    assert {t.tool: t.ok_count for t in outcome.report.tools} == {"claude": 2, "codex": 2}


# ---- security ----------------------------------------------------------------------------------


def test_status_command_path_with_spaces_and_metacharacters_runs_only_that_file(env: Env) -> None:
    env.use_fixed_tools()
    folder = env.root / "my tools; touch PWNED & $(touch PWNED2) `id`"
    folder.mkdir()
    tool = folder / "codex status|tee PWNED3"
    tool.write_bytes(Path(env.vars["CODEX_STATUS_PATH"]).read_bytes())
    tool.chmod(0o755)
    result = env.run("capture", "--codex-status", str(tool))
    assert result.returncode == 0
    assert all(r["ok"] for r in env.records())
    assert not any(p.name.startswith("PWNED") for p in env.root.rglob("PWNED*"))
    assert not any(Path(os.getcwd()).glob("PWNED*"))


def test_file_modes(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run", file_size_limit=None).returncode == 0
    assert stat.S_IMODE(env.data_dir.stat().st_mode) == 0o700
    for path in env.data_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(env.textfile.stat().st_mode) == 0o644


def test_file_modes_ignore_a_permissive_umask(env: Env) -> None:
    """Under umask 000 every file and directory cctrack makes has its own mode: the data
    private, the textfile readable, and nothing writable by others, not the chart cache,
    not ~/.local/bin where the editors run the `cctrack` link."""

    def under_umask_000(*args: str) -> None:
        done = subprocess.run(
            ["/bin/sh", "-c", f'umask 000; exec {sys.executable} -m cctrack "$@"', "sh", *args],
            env=env.vars,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr

    env.use_fixed_tools()
    under_umask_000("run")
    assert {stat.S_IMODE(p.stat().st_mode) for p in env.data_dir.iterdir()} == {0o600}
    assert stat.S_IMODE(env.textfile.stat().st_mode) == 0o644
    under_umask_000("report", "--html", "-o", str(env.root / "page.html"))
    bin_dir = env.root / "fakebin"
    bin_dir.mkdir()
    script(bin_dir / "systemctl", "import sys; sys.exit(1 if 'is-enabled' in sys.argv else 0)")
    env.vars["PATH"] = f"{bin_dir}:{env.vars['PATH']}"
    under_umask_000("setup", "--systemd-user", "--hook")
    home = Path(env.vars["HOME"])
    made = [env.data_dir, home / ".local", home / ".config"]
    found = [p for top in made for p in (top, *top.rglob("*")) if not p.is_symlink()]
    assert len(found) > 10 and home / ".local/bin" in found
    writable = [p for p in found if stat.S_IMODE(p.stat().st_mode) & 0o022]
    assert not writable, writable


def test_a_tool_error_with_its_fix_at_the_end_of_a_long_line_keeps_the_fix(env: Env) -> None:
    """Messages say what to do last; a 300-character cut used to lose it ("(see REA")."""
    env.use_fixed_tools()
    reason = "claude-status: " + "no numbers in the status line snapshot yet, " * 9
    reason += "set Claude Code's statusLine command (see README, 'On the desk')"
    env.vars["CLAUDE_STATUS_PATH"] = str(
        script(env.root / "long", f"import sys; sys.exit({reason!r})")
    )
    assert env.run("capture").returncode == 0
    (failed,) = [r for r in env.records() if not r["ok"]]
    assert len(reason) > 400 and failed["error"].endswith("(see README, 'On the desk')")
    assert env.run("analyze").returncode == 0
    assert "(see README, 'On the desk')" in env.run("show").stdout


def test_a_tool_the_user_does_not_have_is_never_down_whatever_came_first(env: Env) -> None:
    """The first capture ran before Claude Code's home existed, so both tools were tried
    and both failed; then Claude Code is installed, and this user never had Codex: no
    `cctrack_codex_up 0` (CctrackSourceDown would fire forever), also after --rebuild."""
    env.vars["CCTRACK_CLAUDE_OAUTH"] = "off"
    assert env.run("run").returncode == 1  # neither tool: both tried, both failed
    assert metric(env, "cctrack_codex_up") == 0 and metric(env, "cctrack_claude_up") == 0
    env.claude_home.mkdir(parents=True)
    env.vars["CLAUDE_STATUS_PATH"] = str(
        fixed_tool(env.root / "claude-status", "claude", 0.25, 0.5)
    )
    for args in (("run",), ("analyze", "--rebuild")):
        assert env.run(*args).returncode == 0
        text = env.textfile.read_text()
        assert "cctrack_codex_" not in text and metric(env, "cctrack_claude_up") == 1


def test_a_textfile_directory_the_user_cannot_write_is_named_with_the_fix(
    alice: tuple[str, Env],
) -> None:
    user, env = alice
    env.data_dir.mkdir(mode=0o700)
    os.chown(env.data_dir, pwd.getpwnam(user).pw_uid, -1)
    env.textfile_dir.chmod(0o755)
    os.chown(env.textfile_dir, 0, 0)  # node_exporter's directory, root's
    done = run_as(user, env, "analyze")
    assert done.returncode == 1
    assert f"sudo setfacl -m u:{user}:rwx {env.textfile_dir}" in done.stderr
    assert f"sudo chmod 1777 {env.textfile_dir}" in done.stderr


def test_a_push_still_running_never_makes_the_next_run_skip_its_capture(env: Env) -> None:
    """`run --if-idle` takes each step's lock for that step alone: while an earlier push
    waits on a slow sink, the next run still captures and analyzes, and skips only the push."""
    import fcntl

    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    before = len(env.records())
    with open(env.data_dir / ".push.job.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the earlier push, still going
        done = env.run("run", "--if-idle", CCTRACK_PUSHGATEWAY_URL="http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr
    assert len(env.records()) == before + 2
    assert metric(env, "cctrack_codex_captures_total", result="ok") == 2
    assert "the previous cctrack push still runs; skipping this push" in done.stderr
    assert "skipping this capture" not in done.stderr
