"""capture -> day files -> analyze -> textfile -> node_exporter, with real processes throughout."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import script
from conftest import Env, require_binary, sample

UTC = timezone.utc


def test_dual_capture_gives_monotonic_seq_numbers(env: Env) -> None:
    env.use_fixed_tools()
    first_day = datetime.now(UTC).strftime("%Y%m%d")
    for _ in range(3):
        result = env.run("capture")
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "claude ok, codex ok" in result.stderr
    records = env.records()
    seqs = [r["seq_no"] for r in records]
    assert seqs == list(range(1, 7))
    assert {r["source_tool"] for r in records} == {"claude", "codex"}
    assert all(r["v"] == 1 and r["ok"] and r["hostname"] == "testbox" for r in records)
    # One file per UTC day: the day the captures started, and the next if they crossed it.
    days = {first_day, datetime.now(UTC).strftime("%Y%m%d")}
    names = [p.name for p in env.data_dir.glob("usage-*.jsonl")]
    assert names and {name[6:14] for name in names} <= days


def test_equal_claude_and_codex_record_counts_after_n_cycles(env: Env) -> None:
    env.use_fixed_tools()
    # One source fails on every cycle: its failures are records too.
    env.vars["CODEX_STATUS_PATH"] = str(
        script(env.root / "broken", "import sys; sys.exit('backend said no')")
    )
    for _ in range(4):
        assert env.run("run").returncode == 0
    records = env.records()
    by_tool = {
        tool: [r for r in records if r["source_tool"] == tool] for tool in ("claude", "codex")
    }
    assert len(by_tool["claude"]) == len(by_tool["codex"]) == 4
    assert all(not r["ok"] and "backend said no" in r["error"] for r in by_tool["codex"])
    text = env.textfile.read_text()
    assert sample(text, "cctrack_codex_captures_total", result="error") == 4
    assert sample(text, "cctrack_claude_captures_total", result="ok") == 4
    assert sample(text, "cctrack_codex_up") == 0
    assert sample(text, "cctrack_claude_up") == 1


@pytest.mark.component
def test_end_to_end_metrics_through_real_node_exporter(env: Env, node_exporter) -> None:  # type: ignore[no-untyped-def]
    env.use_fixed_tools(claude=(0.25, 0.5), codex=(0.42, 0.13))
    assert env.run("capture").returncode == 0
    assert env.run("capture").returncode == 0
    result = env.run("analyze")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(env.textfile.stat().st_mode) == 0o644
    scraped = node_exporter.scrape()
    assert sample(scraped, "node_textfile_scrape_error") == 0
    assert sample(scraped, "cctrack_codex_usage_ratio", window="five_hour") == pytest.approx(0.42)
    assert sample(scraped, "cctrack_codex_usage_ratio", window="weekly") == pytest.approx(0.13)
    assert sample(scraped, "cctrack_claude_usage_ratio", window="five_hour") == pytest.approx(0.25)
    assert sample(scraped, "cctrack_claude_usage_ratio", window="weekly") == pytest.approx(0.5)
    assert sample(scraped, "cctrack_claude_captures_total", result="ok") == 2
    assert sample(scraped, "cctrack_codex_window_seconds", window="weekly") == 604800
    # 3 hours elapsed of 5 when the numbers were observed (reset 2 h ahead): pace = 0.42 / 0.6
    assert sample(scraped, "cctrack_codex_pace_ratio", window="five_hour") == pytest.approx(
        0.42 / 0.6, rel=1e-3
    )
    assert "_created" not in scraped


@pytest.mark.component
def test_textfile_passes_promtool(env: Env) -> None:
    promtool = require_binary("promtool")
    env.use_fixed_tools()
    env.vars["CODEX_STATUS_PATH"] = str(script(env.root / "broken", "import sys; sys.exit(3)"))
    assert env.run("run").returncode == 0
    check = subprocess.run(
        [promtool, "check", "metrics"], input=env.textfile.read_bytes(), capture_output=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == b"" and check.stderr == b"", "promtool found lint problems"


def test_analyze_reads_only_after_checkpoint(env: Env) -> None:
    env.use_fixed_tools()
    env.run("run")
    state = json.loads((env.data_dir / "analyze-state.json").read_text())
    ((name, mark),) = state["marks"].items()
    assert mark[0] == (env.data_dir / name).stat().st_size
    env.run("capture")
    result = env.run("analyze")
    assert "replayed" not in result.stderr  # incremental, not a rebuild
    assert sample(env.textfile.read_text(), "cctrack_codex_captures_total", result="ok") == 2
    rebuilt = env.run("analyze", "--rebuild")
    assert "replayed all records: --rebuild" in rebuilt.stderr
    assert sample(env.textfile.read_text(), "cctrack_codex_captures_total", result="ok") == 2


def test_capture_exit_codes(env: Env) -> None:
    env.use_fixed_tools()
    fail = str(script(env.root / "fail", "import sys; sys.exit(1)"))
    assert env.run("capture", "--codex-status", fail).returncode == 0  # one of two succeeded
    both = env.run("capture", "--codex-status", fail, "--claude-status", fail)
    assert both.returncode == 1
    assert "claude FAILED" in both.stderr and "codex FAILED" in both.stderr
    usage = env.run("capture", "--source", "gemini")
    assert usage.returncode == 2
    assert usage.stderr.strip().splitlines() == [
        "cctrack capture: source 'gemini' is an agent without a status command: add "
        '[agents.gemini] with status = "…" to the config file (docs/status.md)'
    ]
    assert env.run("capture", "--no-such-flag").returncode == 2


def test_run_analyzes_even_when_capture_fails(env: Env) -> None:
    fail = str(
        script(env.root / "fail", "import sys; print('no login', file=sys.stderr); sys.exit(1)")
    )
    result = env.run("run", "--claude-status", fail, "--codex-status", fail)
    assert result.returncode == 1
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_up") == 0
    assert sample(text, "cctrack_codex_captures_total", result="error") == 1


def test_analyze_failure_keeps_old_textfile_and_checkpoint(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    before = env.textfile.read_bytes()
    state_before = (env.data_dir / "analyze-state.json").read_bytes()
    env.run("capture")
    # The textfile is several KiB, the checkpoint less than 2: only the textfile write fails.
    failed = env.run("analyze", file_size_limit=2048)
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1
    assert "cannot write" in failed.stderr and "previous file is left as it was" in failed.stderr
    assert env.textfile.read_bytes() == before
    assert (env.data_dir / "analyze-state.json").read_bytes() == state_before
    assert sorted(p.name for p in env.textfile_dir.iterdir()) == [env.textfile.name]  # no temp
    assert env.run("analyze").returncode == 0
    assert sample(env.textfile.read_text(), "cctrack_claude_captures_total", result="ok") == 2


def test_missing_configured_textfile_dir_is_an_error(env: Env) -> None:
    env.use_fixed_tools()
    result = env.run("analyze", "--textfile-dir", str(env.root / "nope"))
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "--textfile-dir" in result.stderr
    assert not (env.data_dir / "analyze-state.json").exists()


def test_show_text_and_json(env: Env) -> None:
    env.use_fixed_tools(codex=(0.42, 0.13))
    assert "nothing analysed yet" in env.run("show").stdout
    env.run("run")
    text = env.run("show").stdout
    assert "codex   up" in text and "58 % left" in text and "resets in" in text
    shown = json.loads(env.run("show", "--json").stdout)
    codex = shown["tools"]["codex"]
    assert codex["up"] is True and codex["plan"] == "pro" and codex["origin"] == "test"
    assert codex["windows"]["five_hour"]["used_ratio"] == 0.42
    assert 0 < codex["windows"]["five_hour"]["resets_in_seconds"] <= 7200
    assert codex["captures"] == {"ok": 1, "error": 0}


def test_tokens_in_show_the_textfile_and_an_unpriced_model_named_once(env: Env) -> None:
    env.use_fixed_tools(claude=(0.25, 0.5))
    env.write_token_logs()
    log = sorted((env.claude_home / "projects").rglob("*.jsonl"))[0]
    last = json.loads(log.read_text().splitlines()[-1])
    last["message"]["model"], last["message"]["id"] = "claude-future-9", "msg_future"
    with log.open("a") as handle:
        handle.write(json.dumps(last, separators=(",", ":")) + "\n")
    first = env.run("run")
    assert first.returncode == 0 and "no API price for claude/claude-future-9" in first.stderr
    second = env.run("run")
    assert second.returncode == 0 and "no API price" not in second.stderr
    text = env.textfile.read_text()
    future = last["message"]["usage"]["cache_read_input_tokens"]
    assert (
        sample(text, "cctrack_claude_tokens_total", model="claude-future-9", type="cache_read")
        == future
    )
    assert sample(text, "cctrack_claude_cost_usd_total", model="claude-future-9") is None
    assert sample(text, "cctrack_claude_cost_usd_total", model="claude-haiku-4-5") > 0
    window = sample(text, "cctrack_claude_window_tokens", window="five_hour")
    assert window > 0
    assert sample(text, "cctrack_claude_tokens_per_percent", window="five_hour") == pytest.approx(
        window / 25
    )
    shown = json.loads(env.run("show", "--json").stdout)["tools"]["claude"]["tokens"]
    assert shown["windows"]["five_hour"]["tokens"] == window
    # The logs are of the last 20 minutes: all of them today, unless today began since.
    assert 0 <= shown["today"] <= window
    assert shown["windows"]["five_hour"]["per_percent"] == pytest.approx(window / 25)
    assert "tokens" in env.run("show").stdout


def test_demo_run_prints_populated_textfile(env: Env) -> None:
    result = env.run("run", "--demo", "--textfile-dir", str(env.textfile_dir))
    assert result.returncode == 0, result.stderr
    assert sample(result.stdout, "cctrack_codex_usage_ratio", window="five_hour") == pytest.approx(
        0.42
    )
    assert sample(result.stdout, "cctrack_claude_usage_ratio", window="five_hour") == pytest.approx(
        0.71
    )
    assert (
        sample(result.stdout, "cctrack_codex_usage_ratio", window="daily") is None
    )  # the model bucket is not the plan
    # the demo keeps away from the user's real data directory, and from the real textfile
    # even where it is told to write beside it
    assert not env.data_dir.exists()
    assert (Path(env.vars["XDG_STATE_HOME"]) / "cctrack-demo").is_dir()
    assert not env.textfile.exists()
    demo = env.textfile_dir / env.textfile.name.replace(".prom", "-demo.prom")
    assert demo.read_text() == result.stdout


def test_help_explains_every_command(env: Env) -> None:
    top = env.run("--help")
    assert top.returncode == 0
    for command in (
        "capture",
        "analyze",
        "run",
        "show",
        "claude-status",
        "codex-status",
        "statusline",
    ):
        assert command in top.stdout
        assert env.run(command, "--help").returncode == 0
    assert "CCTRACK_DATA_DIR" in env.run("capture", "--help").stdout


def test_console_scripts_are_installed() -> None:
    import shutil

    for name in ("cctrack", "cctrack-claude-status", "cctrack-codex-status"):
        assert shutil.which(name) or (Path(os.sys.executable).parent / name).exists(), name


def test_records_in_the_future_do_not_break_analysis(env: Env) -> None:
    """Records out of time order and a clock that moved backwards: seq_no decides 'latest'."""
    env.data_dir.mkdir(mode=0o700)
    now = datetime.now(UTC)

    def rec(seq: int, ts: datetime, ok: bool, used: float = 0.1) -> str:
        base = {
            "v": 1,
            "seq_no": seq,
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "hostname": "h",
            "source_tool": "codex",
            "ok": ok,
        }
        if ok:
            base.update(
                observed_at=ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                origin="rollout",
                windows={
                    "weekly": {
                        "used_ratio": used,
                        "window_seconds": 604800,
                        "resets_at": (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                },
            )
        else:
            base["error"] = "boom"
        return json.dumps(base) + "\n"

    later = now + timedelta(days=1)
    (env.data_dir / f"usage-{later:%Y%m%d}.jsonl").write_text(rec(1, later, True, 0.3))
    (env.data_dir / f"usage-{now:%Y%m%d}.jsonl").write_text(
        rec(2, now, True, 0.6) + rec(3, now, False)
    )
    assert env.run("analyze", "--source", "codex").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_codex_usage_ratio", window="weekly") == pytest.approx(0.6)
    assert sample(text, "cctrack_codex_up") == 0


def test_readme_quickstart_on_a_machine_without_claude_or_codex(tmp_path: Path) -> None:
    """The README's first command, in a fresh clone, for a user with neither tool installed."""
    import shutil

    root = Path(__file__).resolve().parent.parent
    clone = tmp_path / "clone"
    shutil.copytree(
        root,
        clone,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "work",
            "__pycache__",
            ".pytest_cache",
            ".hypothesis",
            "*.egg-info",
            "cctrack*.prom",
        ),
    )
    readme = (root / "README.md").read_text()
    assert "scripts/quickstart" in readme.split("## Quick start", 1)[1].split("##", 1)[0]
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    done = subprocess.run(
        ["scripts/quickstart"], cwd=clone, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "bundled demo data" in done.stderr
    assert sample(done.stdout, "cctrack_codex_usage_ratio", window="weekly") == pytest.approx(0.63)
    assert sample(done.stdout, "cctrack_claude_up") == 1
    # The demo's textfile is the demo's, in its own directory: never the real one's name
    # or place (node_exporter would serve demo numbers as the user's).
    assert not list((clone / "textfile").glob("cctrack-*.prom"))
    (written,) = (home / ".local/state/cctrack-demo/textfile").glob("cctrack-*-demo.prom")
    assert written.read_text() == done.stdout
    # Claude Code installed but not logged in, no Codex: nothing could be captured, and the
    # quickstart says so, then shows the demo, saying it is demo data.
    (home / ".claude").mkdir()
    failed = subprocess.run(
        ["scripts/quickstart"], cwd=clone, env=env, capture_output=True, text=True, timeout=600
    )
    assert failed.returncode == 0, failed.stderr
    assert (
        "claude FAILED: claude-status failed (exit 1): cctrack-claude-status: no Claude usage"
        in failed.stderr
    )
    assert "could not be read" in failed.stderr and "bundled demo data" in failed.stderr
    assert "captured your own usage" not in failed.stderr
    assert sample(failed.stdout, "cctrack_codex_usage_ratio", window="weekly") == pytest.approx(
        0.63
    )
    # Once Codex has been used on the machine, the same command reports the real numbers.
    from builders import nested_2026, token_count, write_rollout

    now = datetime.now(UTC)
    write_rollout(
        home / ".codex",
        now - timedelta(hours=1),
        [
            token_count(
                now - timedelta(minutes=1), nested_2026((17.0, 300, now + timedelta(hours=3)), None)
            )
        ],
    )
    real = subprocess.run(
        ["scripts/quickstart"], cwd=clone, env=env, capture_output=True, text=True, timeout=600
    )
    assert real.returncode == 0, real.stderr
    assert (
        "demo" not in real.stderr and "no Claude Code login" in real.stderr
    )  # Claude: no login, no network
    assert sample(real.stdout, "cctrack_codex_usage_ratio", window="five_hour") == pytest.approx(
        0.17
    )
    assert sample(real.stdout, "cctrack_codex_usage_ratio", window="weekly") is None
    assert sample(real.stdout, "cctrack_claude_up") == 0
