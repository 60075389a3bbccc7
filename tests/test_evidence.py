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

from cctrack.evidence import Limits, Point, compare
from cctrack.records import Record, Status, Window

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
        "2026-11-20T08:15:00Z codex five_hour: usage jumped, 12% -> 40% over 5m00s"
    )
    assert "-2h00m: 2026-11-20T12:00:00Z -> 2026-11-20T10:00:00Z" in out[2]
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
