"""Issue 13, part two: evidence when limits move. evidence.py on its own, then a sequence of
captured snapshots through the real command line: exactly the expected counters and events
lines, and nothing for ordinary use."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from conftest import Env, sample

from cctrack.evidence import Point, compare
from cctrack.records import Record
from cctrack.status import Status, Window
from cctrack.thresholds import Limits

UTC = timezone.utc
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
LIMITS = Limits()


def point(
    minutes: float,
    used: float,
    resets: datetime | None,
    activity: datetime | None = None,
    captured: float | None = None,
) -> Point:
    seen = T0 + timedelta(minutes=minutes)
    at = T0 + timedelta(minutes=captured if captured is not None else minutes)
    return Point(seen, used, resets, "rollout", at, activity)


R1 = T0 + timedelta(hours=4)


@pytest.mark.parametrize(
    ("before", "after", "kinds"),
    [
        (point(0, 0.10, R1), point(5, 0.12, R1), []),  # a steady climb
        (
            point(0, 0.10, R1),
            point(5, 0.10, R1 + timedelta(seconds=40)),
            [],
        ),  # reset jittering by seconds
        (point(5, 0.10, R1), point(5, 0.50, R1), []),  # the same snapshot seen again
        (point(5, 0.10, R1), point(4, 0.05, R1), []),  # an older snapshot: not news
        (
            point(0, 0.80, R1),
            point(245, 0.02, R1 + timedelta(hours=5)),
            ["reset"],
        ),  # a normal reset
        (point(0, 0.80, R1), point(10, 0.0, None, captured=250), ["reset"]),  # seen rolled over
        (point(0, 0.25, R1), point(10, 0.78, R1 - timedelta(hours=2)), ["reset_move", "jump"]),
        (point(0, 0.40, R1), point(5, 0.38, R1), ["drop"]),
        (point(0, 0.40, R1), point(20, 0.60, R1), []),  # a big rise, but over 20 minutes: no jump
        (point(10, 0.40, R1, T0), point(20, 0.45, R1, T0), ["idle_rise"]),
        (
            point(10, 0.40, R1, T0 + timedelta(minutes=12)),
            point(20, 0.45, R1, T0 + timedelta(minutes=12)),
            [],
        ),
    ],
)
def test_compare(before: Point, after: Point, kinds: list[str]) -> None:
    assert compare(before, after, LIMITS) == kinds


def record(
    seq: int,
    minutes: float,
    tool: str,
    windows: list[tuple[str, float, datetime | None]],
    activity: datetime | None = None,
    origin: str = "rollout",
) -> bytes:
    seen = T0 + timedelta(minutes=minutes)
    status = Status(
        tool,
        seen,
        origin,
        tuple(Window(n, u, 18000 if n == "five_hour" else 604800, r) for n, u, r in windows),
        "pro",
    )
    status = replace(status, local_activity_at=activity)
    return Record(seq, seen + timedelta(seconds=30), "box", tool, ok=True, status=status).to_line()


W1 = T0 + timedelta(days=5)  # Claude's weekly reset, steady throughout


def sequence() -> list[bytes]:
    """Codex's five-hour window doing each kind of thing once; Claude's weekly only climbing."""
    c = "codex"
    lines = [
        record(1, 0, c, [("five_hour", 0.10, R1)], T0),
        record(2, 5, c, [("five_hour", 0.12, R1)], T0 + timedelta(minutes=5)),
        record(
            3, 10, c, [("five_hour", 0.12, R1 + timedelta(seconds=20))], T0 + timedelta(minutes=10)
        ),
        record(
            4, 10, c, [("five_hour", 0.12, R1 + timedelta(seconds=20))], T0 + timedelta(minutes=10)
        ),
        record(5, 15, c, [("five_hour", 0.40, R1)], T0 + timedelta(minutes=15)),  # jump
        record(6, 20, c, [("five_hour", 0.38, R1)], T0 + timedelta(minutes=20)),  # drop
        record(
            7, 25, c, [("five_hour", 0.38, R1 - timedelta(hours=2))], T0 + timedelta(minutes=25)
        ),  # moved
        record(
            8,
            30,
            c,
            [("five_hour", 0.45, R1 - timedelta(hours=2))],
            T0 + timedelta(minutes=25),
            origin="app-server",
        ),  # rose with nothing written here since the last snapshot
        record(
            9, 130, c, [("five_hour", 0.03, T0 + timedelta(hours=7))], T0 + timedelta(minutes=130)
        ),  # reset
        record(
            10, 135, c, [("five_hour", 0.05, T0 + timedelta(hours=7))], T0 + timedelta(minutes=135)
        ),
    ]
    for i in range(6):  # Claude: a steady week, nothing to report
        lines.append(
            record(11 + i, 5 * i, "claude", [("weekly", 0.20 + i / 100, W1 + timedelta(seconds=i))])
        )
    return lines


def counters(text: str, tool: str, window: str) -> dict[str, float | None]:
    names = (
        "window_resets_total",
        "reset_moves_total",
        "usage_drops_total",
        "usage_jumps_total",
        "idle_usage_rises_total",
        "last_reset_move_seconds",
    )
    return {n: sample(text, f"cctrack_{tool}_{n}", window=window, bucket="") for n in names}


EXPECTED = {
    "window_resets_total": 1,
    "reset_moves_total": 1,
    "usage_drops_total": 1,
    "usage_jumps_total": 1,
    "idle_usage_rises_total": 1,
    "last_reset_move_seconds": -7200,
}
QUIET = {
    "window_resets_total": 0,
    "reset_moves_total": 0,
    "usage_drops_total": 0,
    "usage_jumps_total": 0,
    "idle_usage_rises_total": 0,
    "last_reset_move_seconds": None,
}


def test_a_sequence_gives_exactly_the_expected_counters_and_events(env: Env) -> None:
    env.data_dir.mkdir(mode=0o700)
    day = env.data_dir / "usage-20261120.jsonl"
    lines = sequence()
    day.write_bytes(b"".join(lines[:5]))  # analysed in two parts, as timers would
    assert env.run("analyze").returncode == 0
    with open(day, "ab") as handle:
        handle.write(b"".join(lines[5:]))
    assert env.run("analyze").returncode == 0
    text = env.textfile.read_text()
    assert counters(text, "codex", "five_hour") == EXPECTED
    assert counters(text, "claude", "weekly") == QUIET
    assert env.run("analyze", "--rebuild").returncode == 0
    assert counters(env.textfile.read_text(), "codex", "five_hour") == EXPECTED

    shown = env.run("events")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout.splitlines()
    assert [line.split(": ", 1)[1].split(",")[0] for line in out] == [
        "usage jumped",
        "usage fell without a reset",
        "reset time moved",
        "usage rose with no activity on this host",
        "reset: quota is back",
    ]
    assert out[0].startswith(
        "2026-11-20T08:15:00Z codex five_hour: usage jumped, 12% -> 40% over 5 m"
    )
    assert "-2 h 00 m: 2026-11-20T12:00:00Z -> 2026-11-20T10:00:00Z" in out[2]
    as_json = [json.loads(line) for line in env.run("events", "--json").stdout.splitlines()]
    assert as_json[2]["event"] == "reset_move" and as_json[2]["move_seconds"] == -7200
    assert as_json[3]["before_origin"] == "rollout" and as_json[3]["after_origin"] == "app-server"
    rows = list(csv.DictReader(io.StringIO(env.run("events", "--csv").stdout)))
    assert [r["event"] for r in rows] == ["jump", "drop", "reset_move", "idle_rise", "reset"]
    assert env.run("events", "--tool", "claude").stdout.strip() == "no limit events"
    assert len(env.run("events", "--since", "2026-11-20T09:00:00Z").stdout.splitlines()) == 1

    history = list(csv.DictReader(io.StringIO(env.run("history", "--csv").stdout)))
    assert len(history) == len(lines)
    assert history[0]["observed_at"] == "2026-11-20T08:00:00Z" and history[0]["used_ratio"] == "0.1"
    claude_rows = list(csv.DictReader(io.StringIO(env.run("history", "--tool", "claude").stdout)))
    assert len(claude_rows) == 6 and {r["tool"] for r in claude_rows} == {"claude"}


@pytest.mark.parametrize(
    ("before", "after", "kinds"),
    [
        # Each rule at its edge exactly, with usage values exact in binary (0.5, 0.25, ...).
        # A drop of exactly `drop`: counted.
        (point(0, 0.5, R1), point(5, 0.5 - 0.0078125, R1), ["drop"]),
        # A jump of exactly `jump`, just inside `jump_within`: counted; at it: not.
        (point(0, 0.25, R1), point(14.9, 0.375, R1), ["jump"]),
        (point(0, 0.25, R1), point(15, 0.375, R1), []),
        # A reset moved by exactly `reset_move`: not yet an event.
        (point(0, 0.5, R1), point(1, 0.5, R1 + timedelta(minutes=5)), []),
        # Seen one RESET_SLACK before the announced reset, with use fallen: a reset.
        (point(0, 0.5, R1), point(239, 0.25, R1 + timedelta(hours=5)), ["reset"]),
        # Fallen, but more than the slack before the reset: a drop, not a reset.
        (point(0, 0.5, R1), point(238.5, 0.25, R1), ["drop"]),
        # Past the reset with use equal (the meter going on): no reset.
        (point(0, 0.5, R1), point(250, 0.5, R1), []),
        # Rolled over when captured exactly at the reset (capture zeroed it): a reset.
        (point(0, 0.5, R1), point(200, 0.0, None, captured=240), ["reset"]),
        # Captured before the reset with nothing to roll over: a drop.
        (point(0, 0.5, R1), point(200, 0.0, None, captured=239), ["drop"]),
        # An idle rise of exactly `rise`, the tool idle since before: counted.
        (point(0, 0.5, R1), point(30, 0.5078125, R1, activity=T0), ["idle_rise"]),
    ],
)
def test_each_rule_at_its_edge(before: Point, after: Point, kinds: list[str]) -> None:
    limits = Limits(drop=0.0078125, jump=0.125, rise=0.0078125)
    assert compare(before, after, limits) == kinds


def test_points_and_counts_go_through_json_whole_and_nothing_else_does() -> None:
    from cctrack.evidence import KINDS, Counts

    full = point(10, 0.5, R1, activity=T0, captured=12)
    bare = point(10, 0.5, None)
    for kept in (full, bare):
        assert Point.from_json(json.loads(json.dumps(kept.to_json()))) == kept
    for bad in (
        [*full.to_json()[:1], True, *full.to_json()[2:]],
        [*full.to_json()[:1], "0.5", *full.to_json()[2:]],
        [*full.to_json()[:3], 7, *full.to_json()[4:]],
    ):
        with pytest.raises(ValueError, match=r"^bad evidence point$"):
            Point.from_json(bad)
    counts = Counts(dict(zip(KINDS, range(len(KINDS)), strict=True)), -90.0)
    assert Counts.from_json(json.loads(json.dumps(counts.to_json()))) == counts
    assert Counts.from_json([[0] * len(KINDS), None]) == Counts()
    for bad in (
        [[0] * (len(KINDS) - 1), None],
        [[0] * (len(KINDS) - 1) + [-1], None],
        [[0] * (len(KINDS) - 1) + [True], None],
        [[0] * (len(KINDS) - 1) + [1.0], None],
        [[0] * len(KINDS), "90"],
        [[0] * len(KINDS), False],
    ):
        with pytest.raises(ValueError, match=r"^bad evidence counts$"):
            Counts.from_json(bad)


def test_the_points_of_a_record_windows_and_buckets_whatever_else_it_holds() -> None:
    from cctrack.evidence import points_of

    record = {
        "observed_at": "2026-11-20T08:00:00Z",
        "timestamp": "2026-11-20T08:01:00Z",
        "windows": {
            "nothing": 3,
            "bool": {"used_ratio": True},
            "over": {"used_ratio": 1.06},
            "negative": {"used_ratio": -0.01},
            "zero": {"used_ratio": 0, "resets_at": "not a time"},
            "full": {"used_ratio": 1.05, "resets_at": "2026-11-20T12:00:00Z"},
        },
        "buckets": [
            "opus",
            {"bucket": 7, "window": "weekly", "used_ratio": 0.5},
            {"bucket": "opus", "window": "weekly", "used_ratio": 0.5},
        ],
    }
    found = [(w, b, p.used_ratio, p.resets_at, p.origin) for w, b, p in points_of(record)]
    assert found == [
        ("zero", "", 0.0, None, ""),
        ("full", "", 1.05, datetime(2026, 11, 20, 12, tzinfo=UTC), ""),
        ("weekly", "opus", 0.5, None, ""),
    ]
    assert points_of({"timestamp": "2026-11-20T08:01:00Z"}) == []
    # A bucket with its own time was true then; a window's own field is not read.
    record["buckets"] = [
        {
            "bucket": "opus",
            "window": "weekly",
            "used_ratio": 0.5,
            "observed_at": "2026-11-17T08:00:00Z",
        },
        {"bucket": "spark", "window": "five_hour", "used_ratio": 0.1, "observed_at": "soon"},
    ]
    record["windows"] = {"five_hour": {"used_ratio": 0.2, "observed_at": "2026-11-17T08:00:00Z"}}
    times = {(w, b): p.observed_at for w, b, p in points_of(record)}
    assert times == {
        ("five_hour", ""): datetime(2026, 11, 20, 8, tzinfo=UTC),
        ("weekly", "opus"): datetime(2026, 11, 17, 8, tzinfo=UTC),
        ("five_hour", "spark"): datetime(2026, 11, 20, 8, tzinfo=UTC),
    }


def test_series_keys_and_counts_as_the_state_file_keeps_them() -> None:
    from cctrack.evidence import Evidence, key_from_text, key_to_text

    key = ("work", "codex", "weekly", "opus")
    assert key_from_text(key_to_text(key)) == key
    for bad in ("a/b/c", "a/b/c/d/e"):
        with pytest.raises(ValueError, match=r"^bad evidence key$"):
            key_from_text(bad)
    evidence = Evidence()
    series = ("default", "codex", "five_hour", "")
    for minutes, used in ((0, 0.5), (5, 0.25), (5, 0.0), (10, 0.125), (4, 0.9)):
        evidence.add(series, point(minutes, used, R1), LIMITS)
    # Two drops; the repeat at minute 5 and the older point are not snapshots.
    assert evidence.counts[series].by_kind["drop"] == 2
    assert evidence.last[series].used_ratio == 0.125
