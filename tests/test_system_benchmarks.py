"""The benchmark scripts still run (their numbers are in benchmarks/RESULTS.md, not asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generate_and_run_on_a_day_of_history(tmp_path: Path) -> None:
    home = tmp_path / "day"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/generate.py"),
            "--days",
            "1",
            "--out",
            str(home),
            "--no-claude-transcripts",
        ],
        check=True,
        capture_output=True,
    )
    assert len(list((home / "codex/sessions").rglob("rollout-*.jsonl"))) >= 3
    results = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/run.py"),
            "--homes",
            str(home),
            "--repeat",
            "1",
            "--json",
            str(results),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    row = json.loads(results.read_text())["results"]["day"]
    assert row["records"] >= 576 and row["analyze --rebuild"]["records_per_s"] > 0
    assert "| run |" in done.stdout


def test_the_report_benchmark_runs_beside_history_csv(tmp_path: Path) -> None:
    home = tmp_path / "plans"
    subprocess.run(
        [
            *(sys.executable, str(ROOT / "benchmarks/generate.py"), "--days", "2"),
            *("--usage", "plans", "--log-mb", "1", "--out", str(home), "--no-claude-transcripts"),
        ],
        check=True,
        capture_output=True,
    )
    results = tmp_path / "results.json"
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "benchmarks/report.py"), "--homes", str(home)),
            *("--repeat", "1", "--json", str(results)),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    row = json.loads(results.read_text())["results"]["plans"]
    assert row["records"] > 1000 and row["rollup_mib"] > 0 and row["page_kib"] > 50
    assert "| `cctrack report --html` |" in done.stdout and "x history --csv |" in done.stdout


def test_the_desk_memory_and_series_benchmarks_run(tmp_path: Path) -> None:
    """Each beside another checkout (here: this one), as RESULTS.md runs them."""
    desk = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/desk.py"), "--repeat", "1", "--before", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert desk.returncode == 0, desk.stderr
    for case in ("statusline", "hook", "bar", "guard", "run (steady)"):
        assert f"| this: {case} |" in desk.stdout and f"| before, -m: {case} |" in desk.stdout
    home = tmp_path / "month"
    subprocess.run(
        [
            *(sys.executable, str(ROOT / "benchmarks/generate.py"), "--days", "2"),
            *("--usage", "plans", "--log-mb", "1", "--out", str(home), "--no-claude-transcripts"),
        ],
        check=True,
        capture_output=True,
    )
    memory = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/memory.py"), str(home), "--before", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert memory.returncode == 0, memory.stderr
    assert "| month |" in memory.stdout and "`history --csv`" in memory.stdout
    series = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/series.py"), "--days", "3", "--before", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert series.returncode == 0, series.stderr
    assert "| before | 10 |" in series.stdout and "| this | 10 |" in series.stdout
