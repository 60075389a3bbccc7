"""cycles.py and `cctrack cycles`: each closed window from its day files, the same as
analyze folds it (the weekly cost of a 5-hour window, a gauge)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from builders import plan_history
from conftest import Env, sample

from cctrack.cycles import COLUMNS, MIN_FIVE_HOUR_POINTS, CycleTracker, OpenCycle
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
    assert len(text) == 3 and "at 100 % for 1 h 50 m" in text[1]
    # What a full 5-hour window costs of the week, said once while it stays the same.
    assert "(a full 5h window: 20 % of the week)" in text[0]
    assert "of the week" not in text[1] and "of the week" not in text[2]
    csv = env.run("cycles", "--format", "csv").stdout.splitlines()
    assert csv == env.run("cycles", "--csv").stdout.splitlines()
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


def test_a_week_of_windows_tracked_through_json_at_every_step() -> None:
    """Two 5-hour windows and a weekly one, the tracker written and read back between every
    record (as analyze's checkpoint does): each window's start, first sight, peak, time at
    100 % and its fall from it, its weekly cost, and the week's own reset."""
    week_reset = T0 + timedelta(days=2)
    five = T0 + timedelta(hours=5)
    tracker = CycleTracker()
    closed = []
    steps = [
        # (minutes, five-hour used, five-hour reset, weekly used, weekly reset)
        (10, 0.10, five, 0.30, week_reset),
        (10, 1.0, five, 0.99, week_reset),  # the same moment again: passed over
        (60, 0.50, five, 0.38, week_reset),
        (120, 1.00, five, 0.40, week_reset),
        (150, 1.00, five, 0.40, week_reset),
        (180, 0.97, five, 0.41, week_reset),  # below 100 % again: full from 120 to 180
        (200, 1.00, five, 0.42, week_reset),  # full again: the first stretch is what counts
        (310, 0.05, five + timedelta(hours=5), 0.43, week_reset),  # reset: the first closes
        (400, 0.55, five + timedelta(hours=5), 0.53, week_reset),
        # The week resets, seen in the same record as the second window's reset.
        (2 * 24 * 60 + 10, 0.0, None, 0.01, week_reset + timedelta(days=7)),
        (2 * 24 * 60 + 20, 0.2, T0 + timedelta(days=2, hours=5), 0.02, None),
    ]
    for minutes, used, resets, weekly_used, weekly_resets in steps:
        record = {
            "weekly": (point(minutes, weekly_used, weekly_resets), 604800, None),
            "five_hour": (point(minutes, used, resets), 18000, None),
        }
        closed += tracker.add(record)
        again = CycleTracker.from_json(json.loads(json.dumps(tracker.to_json())))
        assert again == tracker
        tracker = again
    first, week, second = closed
    assert (first.window, week.window, second.window) == ("five_hour", "weekly", "five_hour")
    assert first.start == T0 and first.reset == five
    assert first.first_seen == T0 + timedelta(minutes=10) and first.peak == 1.0
    assert first.full_at == T0 + timedelta(minutes=120) and first.full_seconds == 3600
    # 0.42 - 0.30 of the week for 0.90 of the 5-hour window (1.00 - 0.10).
    assert first.weekly_points == 0.12 and first.weekly_per_five_hour == round(0.12 / 0.9, 6)
    assert week.reset == week_reset and week.start == week_reset - timedelta(days=7)
    # Its snapshots all in the old week: 0.10 of the week for 0.50 of the window.
    assert second.weekly_points == 0.1 and second.weekly_per_five_hour == 0.2
    assert tracker.last_weekly_per_five_hour == 0.2 and second.full_at is None
    assert second.peak == 0.55 and second.reset == five + timedelta(hours=5)
    assert tracker.weekly_resets == 1
    row = first.row("default", "codex", 1234)
    assert row["first_seen"] == "2026-11-24T10:10:00Z" and row["tokens"] == 1234
    assert list(row) == list(COLUMNS)
    for bad in ({"open": {}, "weekly_resets": 0, "last_weekly_per_five_hour": "x"},):
        with pytest.raises(ValueError, match=r"^bad cycle tracker$"):
            CycleTracker.from_json(bad)
    broken = tracker.to_json()["open"]["five_hour"]
    for index, value in ((2, "high"), (3, 1.5)):
        damaged = list(broken)
        damaged[index] = value
        with pytest.raises(ValueError, match=r"^bad open cycle$"):
            OpenCycle.from_json(damaged)


def test_a_window_that_moved_too_little_has_no_weekly_rate() -> None:
    """Below MIN_FIVE_HOUR_POINTS of the 5-hour window the rate is rounding: none; at it
    exactly, one."""
    for moved, rated in ((MIN_FIVE_HOUR_POINTS, True), (MIN_FIVE_HOUR_POINTS - 0.01, False)):
        tracker = CycleTracker()
        five = T0 + timedelta(hours=5)
        for minutes, used, weekly in ((10, 0.5, 0.2), (60, 0.5 + moved, 0.21)):
            tracker.add(
                {
                    "weekly": (point(minutes, weekly, T0 + timedelta(days=3)), 604800, None),
                    "five_hour": (point(minutes, used, five), 18000, None),
                }
            )
        (cycle,) = tracker.add(
            {"five_hour": (point(320, 0.0, five + timedelta(hours=5)), 18000, None)}
        )
        assert (cycle.weekly_per_five_hour is not None) is rated, moved


def test_each_window_of_a_record_is_taken_on_its_own() -> None:
    """A window seen again at the same moment is passed over, the others of the record are
    not; a window whose reset is not known closes when the next one begins; every weekly
    reset is counted; a window of unknown length has no start."""
    tracker = CycleTracker()
    week = T0 + timedelta(days=3)
    tracker.add(
        {
            "weekly": (point(10, 0.2, week), 604800, None),
            "five_hour": (point(10, 0.1, None), None, None),
        }
    )
    tracker.add(
        {
            "weekly": (point(10, 0.2, week), 604800, None),
            "five_hour": (point(20, 0.6, None), None, None),
        }
    )
    assert tracker.open["five_hour"].last.used_ratio == 0.6
    # The 5-hour window starts again (use fell to 0, a new reset): the old one, whose reset
    # nobody knew, closed at the moment the new one was first seen.
    (closed,) = tracker.add({"five_hour": (point(40, 0.0, T0 + timedelta(hours=5)), None, True)})
    assert closed.reset == T0 + timedelta(minutes=40) and closed.start is None
    for days in (3, 10):
        tracker.add(
            {"weekly": (point(days * 1440 + 5, 0.01, week + timedelta(days=days)), 604800, True)}
        )
    assert tracker.weekly_resets == 2
