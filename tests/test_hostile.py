"""Issue 11: nothing a fault, another user or a status tool can bend. Each test reproduces
a defect of the main before the fix."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import script
from conftest import Env, FakeUsageAPI, require_root, sample

from cctrack import files
from cctrack.errors import CctrackError
from cctrack.redact import redact
from cctrack.sources.claude.oauth import check_usage_url

UTC = timezone.utc
TOKEN = "sk-ant-oat01-HOSTILE-c0ffee-do-not-leak-7f3a"


def metric(env: Env, name: str, **labels: str) -> float | None:
    return sample(env.textfile.read_text(), name, **labels)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# ---- 1. temporary files --------------------------------------------------------------------


def test_a_link_planted_at_the_temp_name_is_never_followed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "victim"
    victim.write_text("precious records\n")
    victim.chmod(0o600)
    names = iter(["0123456789abcdef", "fedcba9876543210"])
    monkeypatch.setattr(files.os, "urandom", lambda _n: bytes.fromhex(next(names)))
    (tmp_path / ".cctrack.prom.tmp-0123456789abcdef").symlink_to(victim)
    files.write_atomic(tmp_path / "cctrack.prom", b"metrics\n", mode=0o644)
    assert victim.read_text() == "precious records\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert (tmp_path / "cctrack.prom").read_bytes() == b"metrics\n"


def test_a_link_at_the_target_is_replaced_not_written_through(env: Env) -> None:
    env.use_fixed_tools()
    victim = env.root / "victim"
    victim.write_text("keep me\n")
    env.textfile.symlink_to(victim)
    assert env.run("run").returncode == 0
    assert victim.read_text() == "keep me\n"
    assert env.textfile.is_file() and not env.textfile.is_symlink()


def test_stale_temp_files_of_our_pattern_are_removed_and_nothing_else(env: Env) -> None:
    env.use_fixed_tools()
    stale = env.textfile_dir / ".cctrack.prom.tmp-0123456789abcdef"
    fresh = env.textfile_dir / ".cctrack.prom.tmp-fedcba9876543210"
    other = env.textfile_dir / ".someone-elses.tmp-0123456789abcdef.txt"
    for path in (stale, fresh, other):
        path.write_text("x")
    old = datetime.now(UTC).timestamp() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    assert env.run("run").returncode == 0
    assert not stale.exists() and fresh.exists() and other.exists()


# ---- 2. the token goes only to the configured origin ---------------------------------------


def test_a_redirect_never_carries_the_token(env: Env, usage_api: FakeUsageAPI) -> None:
    from builders import write_credentials

    write_credentials(env.claude_home, TOKEN, datetime.now(UTC) + timedelta(hours=1))
    elsewhere = usage_api.url.replace("/api/oauth/usage", "/elsewhere")
    usage_api.answer(302, {}, {"Location": elsewhere})
    usage_api.answer(200, {"five_hour": {"utilization": 10.0, "resets_at": None}})
    result = env.run(
        "claude-status", CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=usage_api.url
    )
    assert result.returncode != 0 and "redirect" in result.stderr
    assert [r["path"] for r in usage_api.requests] == ["/api/oauth/usage"]
    assert TOKEN not in result.stderr


@pytest.mark.parametrize(
    "url", ["http://example.com/api/oauth/usage", "ftp://127.0.0.1/x", "https:///x"]
)
def test_plain_http_is_refused_except_to_loopback(url: str) -> None:
    with pytest.raises(CctrackError):
        check_usage_url(url)
    check_usage_url("http://127.0.0.1:9/usage")
    check_usage_url("http://localhost/usage")
    check_usage_url("https://api.anthropic.com/api/oauth/usage")


# ---- 3. one redaction step -----------------------------------------------------------------

SECRETS = [
    "GITHUB_TOKEN=abcdef0123456789",
    '{"accessToken":"at-0123456789abcdef","refreshToken":"rt-0123456789abcdef"}',
    "ghp_0123456789abcdefghijABCDEFGHIJ",
    "github_pat_11ABCDEFG0123456789_abcdefghij",
    "sk_live_0123456789abcdef",
    "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    f"Bearer {TOKEN}",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_hides_every_token_shape(secret: str) -> None:
    hidden = redact(f"login failed: {secret} (retry)")
    for piece in ("0123456789abcdef", "dXNlcjpwYXNzd29yZA", TOKEN, "ABCDEFGHIJ", "abcdefghij"):
        assert piece not in hidden
    assert "login failed" in hidden


def test_tool_output_is_redacted_in_records_state_and_stderr(env: Env) -> None:
    env.use_fixed_tools()
    stderr_tool = script(
        env.root / "leaky",
        "import sys\nsys.exit('GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ')",
    )
    origin_tool = script(
        env.root / "origin",
        f"""
import json
print(json.dumps({{"source_tool": "codex", "observed_at": "2026-11-24T00:00:00Z",
  "origin": "Bearer {TOKEN}", "windows": {{"weekly": {{"used_ratio": 0.1}}}}}}))
""",
    )
    outputs = []
    for tool in (stderr_tool, origin_tool):
        result = env.run("run", "--codex-status", str(tool))
        outputs.append(result.stderr)
    # Every file, the token scan store included.
    stored = "".join(
        p.read_bytes().decode("utf-8", "replace") for p in env.data_dir.iterdir() if p.is_file()
    )
    for text in (stored, *outputs, env.textfile.read_text()):
        assert "ghp_0123456789" not in text and TOKEN not in text and "sk-ant" not in text
    errors = [r["error"] for r in env.records() if not r["ok"]]
    assert "[redacted]" in errors[0] and "bad origin a string of" in errors[1]


def test_plan_label_is_restricted_to_a_plain_name(env: Env) -> None:
    tool = script(
        env.root / "plan",
        """
import json
print(json.dumps({"source_tool": "codex", "observed_at": "2026-11-24T00:00:00Z", "origin": "test",
  "plan": "Pro\\"} evil{x=\\"1", "windows": {"weekly": {"used_ratio": 0.1}}}))
""",
    )
    env.use_fixed_tools()
    assert env.run("run", "--codex-status", str(tool)).returncode == 0
    assert metric(env, "cctrack_codex_source_info", origin="test", plan="") == 1


# ---- 4. decide on exit; leave nothing behind -----------------------------------------------


def test_status_counts_at_exit_and_what_the_tool_left_running_is_killed(env: Env) -> None:
    env.use_fixed_tools()
    pids = env.root / "pids"
    tool = script(
        env.root / "forky",
        f"""
import json, os, subprocess, datetime
now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
holder = subprocess.Popen(["sleep", "300"])  # keeps stdout open
escaped = subprocess.Popen(["sleep", "301"], start_new_session=True)  # leaves the group
open({str(pids)!r}, "w").write(f"{{holder.pid}} {{escaped.pid}}")
print(json.dumps({{"source_tool": "codex", "observed_at": now, "origin": "test",
  "windows": {{"weekly": {{"used_ratio": 0.5, "window_seconds": 604800}}}}}}), flush=True)
""",
    )
    result = env.run("capture", "--codex-status", str(tool), "--timeout", "20")
    assert result.returncode == 0, result.stderr
    (codex,) = [r for r in env.records() if r["source_tool"] == "codex"]
    assert codex["ok"] is True and codex["windows"]["weekly"]["used_ratio"] == 0.5
    for pid in map(int, pids.read_text().split()):
        assert not alive(pid), pid


# ---- 5. seq_no is never reused -------------------------------------------------------------


@pytest.mark.parametrize("tail", [b"x" * (200 << 10), b"\0" * (100 << 10), b"\n" * (70 << 10)])
def test_lost_counter_and_junk_tail_never_reuse_a_number(env: Env, tail: bytes) -> None:
    env.use_fixed_tools()
    assert env.run("capture").returncode == 0
    (day,) = env.data_dir.glob("usage-*.jsonl")
    with open(day, "ab") as handle:
        handle.write(tail)
    (env.data_dir / "seq").unlink()
    assert env.run("capture").returncode == 0
    lines = day.read_bytes().split(b"\n")
    seqs = [json.loads(line)["seq_no"] for line in lines if line.startswith(b'{"v"')]
    assert seqs == [1, 2, 3, 4]


def test_empty_future_dated_day_files_do_not_restart_numbering(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("capture").returncode == 0
    for year in (2098, 2099):
        (env.data_dir / f"usage-{year}0101.jsonl").write_bytes(b"")
    (env.data_dir / "seq").unlink()
    env.vars["CODEX_STATUS_PATH"] = str(script(env.root / "down", "import sys; sys.exit('down')"))
    assert env.run("run").returncode == 0
    assert [r["seq_no"] for r in env.records()] == [1, 2, 3, 4]
    assert metric(env, "cctrack_codex_up") == 0


# ---- 6. one bad entry stops nothing --------------------------------------------------------


def test_a_directory_named_like_a_day_file_is_skipped_and_counted(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("capture").returncode == 0
    (env.data_dir / "usage-20200101.jsonl").mkdir()
    (env.data_dir / "usage-20201231.jsonl").mkdir()
    assert env.run("capture").returncode == 0
    result = env.run("analyze")
    assert result.returncode == 0, result.stderr
    assert "usage-20200101.jsonl" in result.stderr and result.stderr.count("\n") == 1
    assert metric(env, "cctrack_analyze_unreadable_files") == 2
    assert metric(env, "cctrack_claude_captures_total", result="ok") == 2


def test_a_file_named_for_a_day_that_is_not_one_is_skipped_and_counted(env: Env) -> None:
    """Whatever it holds: usage-20261399.jsonl once stopped every analyze with a traceback."""
    env.use_fixed_tools()
    assert env.run("capture").returncode == 0
    (real,) = env.data_dir.glob("usage-*.jsonl")
    for day in ("20261399", "00000000"):
        (env.data_dir / f"usage-{day}.jsonl").write_bytes(real.read_bytes())
    assert env.run("capture").returncode == 0
    result = env.run("analyze")
    assert result.returncode == 0, result.stderr
    assert "usage-20261399.jsonl" in result.stderr and "Traceback" not in result.stderr
    assert metric(env, "cctrack_analyze_unreadable_files") == 2
    assert metric(env, "cctrack_claude_captures_total", result="ok") == 2


def test_a_day_file_that_cannot_be_read_for_a_while_is_not_counted_twice_after(
    env: Env,
) -> None:
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    (day,) = env.data_dir.glob("usage-*.jsonl")
    aside = env.root / "aside"
    day.rename(aside)
    day.mkdir()  # unreadable as a day file (root reads any file)
    assert env.run("analyze").returncode == 0
    assert metric(env, "cctrack_analyze_unreadable_files") == 1
    day.rmdir()
    aside.rename(day)
    assert env.run("analyze").returncode == 0
    assert metric(env, "cctrack_claude_captures_total", result="ok") == 1


# ---- 7. absurd numbers ---------------------------------------------------------------------


def test_a_counter_past_2_63_does_not_poison_later_records(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("capture").returncode == 0
    (env.data_dir / "seq").write_text(f"{2**63 + 5}\n")
    env.vars["CODEX_STATUS_PATH"] = str(script(env.root / "down", "import sys; sys.exit('down')"))
    assert env.run("run").returncode == 0
    assert [r["seq_no"] for r in env.records()] == [1, 2, 3, 4]
    assert metric(env, "cctrack_codex_up") == 0
    assert metric(env, "cctrack_analyze_skipped_lines_total", reason="invalid") == 0


def test_impossible_checkpoint_values_mean_a_replay_not_a_failure(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    state_file = env.data_dir / "analyze-state.json"
    state = json.loads(state_file.read_text())
    name = next(iter(state["marks"]))
    state["marks"][name][0] = -5
    state["tools"]["claude"]["ok"] = -3
    state_file.write_text(json.dumps(state))
    result = env.run("analyze")
    assert result.returncode == 0 and "checkpoint corrupt" in result.stderr
    assert metric(env, "cctrack_claude_captures_total", result="ok") == 1


# ---- 8. growth -----------------------------------------------------------------------------


def test_old_day_files_go_after_the_retention_and_counters_keep_their_totals(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    (today,) = env.data_dir.glob("usage-*.jsonl")
    recent_past = datetime.now(UTC) - timedelta(days=100)
    old = env.data_dir / f"usage-{recent_past:%Y%m%d}.jsonl"
    lines = (
        today.read_text()
        .replace('"seq_no":1,', '"seq_no":101,')
        .replace('"seq_no":2,', '"seq_no":102,')
    )
    old.write_text(lines)
    (env.data_dir / "seq").write_text("102\n")
    assert env.run("analyze").returncode == 0
    assert old.exists()  # within the default 400 days
    assert env.run("analyze", "--retention-days", "30").returncode == 0
    assert not old.exists() and today.exists()
    assert metric(env, "cctrack_claude_captures_total", result="ok") == 2
    assert env.run("analyze", "--retention-days", "30").returncode == 0
    assert metric(env, "cctrack_claude_captures_total", result="ok") == 2


def test_a_wide_open_data_directory_is_tightened(env: Env) -> None:
    env.use_fixed_tools()
    env.data_dir.mkdir(mode=0o755)
    env.data_dir.chmod(0o755)
    assert env.run("capture").returncode == 0
    assert stat.S_IMODE(env.data_dir.stat().st_mode) == 0o700


def test_commands_that_only_read_work_on_a_read_only_data_directory(env: Env) -> None:
    """A real read-only mount (a backup, another user's copy): `cycles` took a lock it could
    not create, and `report --html -o elsewhere` a chart cache it could not write."""
    require_root("a read-only mount")
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    subprocess.run(["mount", "--bind", str(env.data_dir), str(env.data_dir)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(env.data_dir)], check=True)
        with pytest.raises(OSError):
            (env.data_dir / "probe").write_text("")
        for command in (("cycles",), ("cycles", "--json"), ("show",), ("tokens",), ("events",)):
            done = env.run(*command)
            assert done.returncode == 0, (command, done.stderr)
        page = env.root / "elsewhere.html"
        done = env.run("report", "--html", "-o", str(page))
        assert done.returncode == 0, done.stderr
        assert "<svg" in page.read_text()
    finally:
        subprocess.run(["umount", "-l", str(env.data_dir)], check=False)
