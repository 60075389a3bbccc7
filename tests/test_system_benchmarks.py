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
