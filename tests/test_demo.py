"""demo.py: `run --demo` shows from its first run what a user sees after a week: closed
windows (some used up), limit events and a week that rose, ending in the demo's current
numbers; run again, it adds no second history."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from conftest import Env, sample

from cctrack.demo import DEMO_NOW, history_records

UTC = timezone.utc


def test_the_demo_has_a_history_that_ends_in_its_current_numbers(env: Env) -> None:
    done = env.run("run", "--demo")
    assert done.returncode == 0, done.stderr
    demo = Path(env.vars["XDG_STATE_HOME"]) / "cctrack-demo"
    cycles = [
        json.loads(x)
        for x in env.run("cycles", "--data-dir", str(demo), "--json").stdout.splitlines()
    ]
    for tool in ("claude", "codex"):
        closed = [c for c in cycles if c["tool"] == tool and c["window"] == "five_hour"]
        assert len(closed) >= 4, tool
    assert any(c["full_at"] for c in cycles if c["tool"] == "codex")  # a window used up
    events = env.run("events", "--data-dir", str(demo), "--json").stdout.splitlines()
    assert any(json.loads(e)["event"] == "reset" for e in events)
    assert sample(done.stdout, "cctrack_codex_usage_ratio", window="five_hour") == 0.42
    assert sample(done.stdout, "cctrack_codex_usage_ratio", window="weekly") == 0.63
    assert sample(done.stdout, "cctrack_codex_weekly_per_five_hour_ratio") is not None
    # Run again: no second history.
    files = {p.name: p.stat().st_size for p in demo.glob("usage-*.jsonl")}
    assert env.run("run", "--demo").returncode == 0
    again = env.run("cycles", "--data-dir", str(demo), "--json").stdout.splitlines()
    assert len(again) == len(cycles)
    assert set(files) <= {p.name for p in demo.glob("usage-*.jsonl")}


def test_the_demos_history_is_the_same_every_run_and_its_week_rises_to_now() -> None:
    now = datetime(2026, 12, 5, 18, tzinfo=UTC)
    first, second = history_records(now), history_records(now)
    assert first == second
    for tool, (used_now, _, week_now, *_rest) in DEMO_NOW.items():
        mine = [r.status for r in first if r.source_tool == tool and r.status is not None]
        weeks = [s.windows[1].used_ratio for s in mine]
        assert weeks == sorted(weeks) and abs(weeks[-1] - week_now) < 0.01
        assert mine[-1].windows[0].used_ratio <= used_now
        assert mine[-1].observed_at < now
