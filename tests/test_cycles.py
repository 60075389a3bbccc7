"""cycles.py and `cctrack cycles`: each closed window from its day files, the same as
analyze folds it (the weekly cost of a 5-hour window, a gauge)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from builders import plan_history
from conftest import Env, sample

from cctrack.cycles import CycleTracker
from cctrack.evidence import Point

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def point(minutes: int, used: float, resets: datetime | None) -> Point:
    moment = T0 + timedelta(minutes=minutes)
    return Point(moment, used, resets, "rollout", moment)


def test_a_reset_moved_later_while_used_up_is_one_window_not_two() -> None:
    """Codex keeps counting past the announced reset and moves it later: still one window,
    at 100 % from its first full snapshot until the real reset."""
    tracker = CycleTracker()
    first_reset = T0 + timedelta(hours=5)
    moved = first_reset + timedelta(minutes=40)
    for minutes, used, resets in [
        (60, 0.4, first_reset),
        (240, 1.0, first_reset),
        (290, 1.0, moved),  # past nothing yet, the reset moved later
        (310, 1.0, moved),
    ]:
        assert tracker.add({"five_hour": (point(minutes, used, resets), 18000, None)}) == []
    after = point(350, 0.02, moved + timedelta(hours=5))
    (closed,) = tracker.add({"five_hour": (after, 18000, None)})
    assert closed.reset == moved and closed.peak == 1.0
    assert closed.full_at == T0 + timedelta(minutes=240)
    assert closed.full_seconds == (moved - closed.full_at).total_seconds()
    assert closed.start == moved - timedelta(hours=5)
    assert CycleTracker.from_json(tracker.to_json()) == tracker


@pytest.fixture
def history(env: Env) -> datetime:
    start = (datetime.now(UTC) - timedelta(hours=21)).replace(second=0, microsecond=0)
    plan_history(env.data_dir, start, [0.5, 1.6, 0.8])
    return start


def test_cycles_lists_each_closed_window_with_its_peak_time_at_100_and_weekly_cost(
    env: Env, history: datetime
) -> None:
    done = env.run("cycles", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["window"], r["peak_used_ratio"]) for r in rows] == [
        ("five_hour", 0.5),
        ("five_hour", 1.0),
        ("five_hour", 0.8),
    ]
    first, second, third = rows
    assert first["reset"] == (history + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["start"] == history.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (first["full_at"], first["full_seconds"]) == (None, 0.0)
    # 1.6 by the end: 100 % at the 19th snapshot (190 minutes in), held to the reset.
    full_at = history + timedelta(hours=5, minutes=190)
    assert second["full_at"] == full_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert second["full_seconds"] == 110 * 60
    # The week rose 0.2 points per 5-hour point: a full 5-hour window is a fifth of it.
    for row in rows:
        assert row["weekly_per_five_hour"] == pytest.approx(0.2, abs=1e-3)
    assert third["weekly_points"] == pytest.approx(0.2 * (0.8 - round(0.8 / 29, 4)), abs=1e-4)
    assert all(r["tokens"] is None for r in rows)  # no token counters on this history
    text = env.run("cycles", "--tool", "codex", "--window", "five_hour").stdout.splitlines()
    assert len(text) == 3 and "at 100% 1h50m" in text[1]
    assert "(a full 5h window: 20% of the week)" in text[0]
    csv = env.run("cycles", "--csv").stdout.splitlines()
    assert csv[0].startswith("tool,profile,window,start,reset") and len(csv) == 4
    assert env.run("cycles", "--window", "weekly").stdout.strip() == "no closed windows yet"


def test_analyze_exports_the_last_windows_weekly_cost_and_a_rebuild_agrees(
    env: Env, history: datetime
) -> None:
    env.vars["CCTRACK_SOURCES"] = "codex"
    assert env.run("analyze").returncode == 0
    ratio = sample(env.textfile.read_text(), "cctrack_codex_weekly_per_five_hour_ratio")
    assert ratio == pytest.approx(0.2, abs=1e-3)
    assert env.run("analyze", "--rebuild").returncode == 0
    assert sample(env.textfile.read_text(), "cctrack_codex_weekly_per_five_hour_ratio") == ratio
