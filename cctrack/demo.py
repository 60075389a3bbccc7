"""`run --demo` as a settings profile: demo homes (a Codex home and a Claude status line
snapshot in the real on-disk formats, dated relative to `now` so the dials look live) and
the settings that point a run at them, fed to the one settings resolver like flags."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonlines

from cctrack.files import make_dirs
from cctrack.records import Record
from cctrack.settings import current_user, state_home
from cctrack.sources.claude.statusline import store_statusline
from cctrack.status import Status, Window
from cctrack.store import append_records, list_day_files
from cctrack.timefmt import format_time


def _line(moment: datetime, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": format_time(moment, milliseconds=True), "type": kind, "payload": payload}


def _token_count(moment: datetime, rate_limits: dict[str, Any] | None) -> dict[str, Any]:
    info = {
        "total_token_usage": {
            "input_tokens": 184230,
            "cached_input_tokens": 150912,
            "output_tokens": 6120,
            "reasoning_output_tokens": 3968,
            "total_tokens": 190350,
        },
        "last_token_usage": {
            "input_tokens": 40211,
            "cached_input_tokens": 38400,
            "output_tokens": 812,
            "reasoning_output_tokens": 512,
            "total_tokens": 41023,
        },
        "model_context_window": 258400,
    }
    return _line(
        moment,
        "event_msg",
        {"type": "token_count", "info": info if rate_limits else None, "rate_limits": rate_limits},
    )


def write_codex_home(home: Path, now: datetime) -> Path:
    started = now - timedelta(minutes=40)
    local = started.astimezone()  # Codex names folders and files in local time
    folder = home / "sessions" / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}"
    make_dirs(folder, 0o700)
    path = folder / f"rollout-{local:%Y-%m-%dT%H-%M-%S}-0199a8f2-demo-4c1e-9d7a-5e2f3b1c0a11.jsonl"
    five_hour_reset = now + timedelta(hours=2, minutes=10)
    weekly_reset = now + timedelta(days=2)
    account = {
        "limit_id": "codex",
        "limit_name": None,
        "primary": {
            "used_percent": 42.0,
            "window_minutes": 300,
            "resets_at": int(five_hour_reset.timestamp()),
        },
        "secondary": {
            "used_percent": 63.0,
            "window_minutes": 10080,
            "resets_at": int(weekly_reset.timestamp()),
        },
        "credits": None,
        "plan_type": "plus",
        "rate_limit_reached_type": None,
    }
    bucket = {
        "limit_id": "codex_bengalfox",
        "limit_name": "GPT-5-Codex-Mini",
        "primary": {
            "used_percent": 7.0,
            "window_minutes": 1440,
            "resets_at": int((now + timedelta(hours=9)).timestamp()),
        },
        "secondary": None,
        "credits": None,
        "plan_type": "plus",
        "rate_limit_reached_type": None,
    }
    with jsonlines.open(path, mode="w", compact=True) as rollout:
        rollout.write_all(
            [
                _line(
                    started,
                    "session_meta",
                    {"id": "0199a8f2-demo", "cwd": "/home/demo/project", "cli_version": "0.63.0"},
                ),
                _line(
                    started, "turn_context", {"model": "gpt-5.1-codex", "cwd": "/home/demo/project"}
                ),
                _token_count(started + timedelta(seconds=5), None),
                _token_count(now - timedelta(minutes=3), account),
                _token_count(
                    now - timedelta(minutes=2), bucket
                ),  # a per-model bucket: not the plan limit
            ]
        )
    return home


def write_claude_transcript(home: Path, now: datetime) -> None:
    """A Claude Code session of the last half hour, for the token counters: two answers,
    the first written as two lines (one per content block), as Claude Code does."""
    folder = home / "projects" / "-home-demo-project"
    make_dirs(folder, 0o700)
    lines = []
    for number, (minutes, blocks, usage) in enumerate(
        [(25, 2, (12, 640, 18304, 40210)), (10, 1, (4, 1210, 2210, 58514))]
    ):
        for block in range(blocks):
            moment = now - timedelta(minutes=minutes, seconds=-block)
            lines.append(
                {
                    "parentUuid": None,
                    "isSidechain": False,
                    "cwd": "/home/demo/project",
                    "sessionId": "5d1e-demo",
                    "version": "2.0.30",
                    "message": {
                        "id": f"msg_demo_{number}",
                        "type": "message",
                        "role": "assistant",
                        "model": "claude-opus-4-5-20251101",
                        "content": [{"type": "text", "text": "…"}],
                        "usage": {
                            "input_tokens": usage[0],
                            "output_tokens": usage[1] if block == blocks - 1 else 8,
                            "cache_creation_input_tokens": usage[2],
                            "cache_read_input_tokens": usage[3],
                        },
                    },
                    "requestId": f"req_demo_{number}",
                    "type": "assistant",
                    "timestamp": format_time(moment, milliseconds=True),
                }
            )
    with jsonlines.open(folder / "5d1e-demo.jsonl", mode="w", compact=True) as transcript:
        transcript.write_all(lines)


def write_claude_snapshot(data_dir: Path, now: datetime) -> None:
    """What Claude Code would have piped to `cctrack statusline` a minute ago."""
    payload = {
        "session_id": "demo",
        "model": {"id": "claude-opus-4-5", "display_name": "Opus"},
        "rate_limits": {
            "five_hour": {
                "used_percentage": 71.0,
                "resets_at": int((now + timedelta(hours=1)).timestamp()),
            },
            "seven_day": {
                "used_percentage": 35.0,
                "resets_at": int((now + timedelta(days=4)).timestamp()),
            },
        },
    }
    store_statusline(data_dir, payload, now - timedelta(minutes=1))


# What the demo's history ends in: each tool's current five-hour window (its share used
# and how long until it resets), its week (share used, reset), and how busy its days were.
DEMO_NOW = {
    "claude": (0.71, timedelta(hours=1), 0.35, timedelta(days=4), "max", 0.3),
    "codex": (0.42, timedelta(hours=2, minutes=10), 0.63, timedelta(days=2), "plus", 0.5),
}
HISTORY = timedelta(days=3)
FIVE_HOURS = timedelta(hours=5)
STEP = timedelta(minutes=10)


def history_records(now: datetime) -> list[Record]:
    """Three days of captures before the demo's current windows, as a working user makes
    them: five-hour windows that open at the first use after the last reset, fill as the
    days are busy (some to 100 % and stay there until they reset), and a week that rises at
    a fifth of their pace, so that the report, `cycles` and the dashboard show from the
    first run what a user sees after a week. Deterministic: the same every run."""
    found: list[Record] = []
    for tool, (used_now, to_reset, week_now, to_week, plan, busy) in DEMO_NOW.items():
        rng = random.Random(f"cctrack-demo-{tool}")
        current = now + to_reset - FIVE_HOURS  # the current window's start
        moment = (now - HISTORY).replace(second=0, microsecond=0)
        steps: list[tuple[datetime, float, datetime | None]] = []
        used, reset = 0.0, None
        while moment <= current:
            if reset is not None and moment >= reset:
                used, reset = 0.0, None
            # Working hours only, and no window that would still be open at the current
            # one's start.
            working = 9 <= moment.astimezone().hour < 18 and moment + FIVE_HOURS <= current
            if working and reset is None and rng.random() < busy:
                reset = moment + FIVE_HOURS
            if working and reset is not None and rng.random() < busy:
                # Yesterday was a long day: its windows fill up, and stay full until reset.
                rush = 2.5 if moment.date() == (now - timedelta(days=1)).date() else 1.0
                used = min(1.0, used + rush * rng.uniform(0.01, 0.2 * busy))
            steps.append((moment, used, reset))
            moment += STEP
        # The current window, filling to where the demo's status sources say it is now.
        span = (now - current).total_seconds()
        while moment < now - timedelta(minutes=5):
            share = (moment - current).total_seconds() / span
            steps.append((moment, round(used_now * share, 3), now + to_reset))
            moment += STEP
        # The week at each step: a share of the five-hour windows' rises (a fifth, or less
        # where the week used now leaves no room for that), ending where the week is now.
        rises = [max(0.0, b[1] - a[1]) for a, b in itertools.pairwise(steps)]
        per_five = min(0.2, week_now / sum(rises)) if sum(rises) else 0.2
        week = week_now - per_five * sum(rises)
        week_reset = now + to_week
        for (at, five, five_reset), rise in zip(steps, [0.0, *rises], strict=True):
            week = min(1.0, week + per_five * rise)
            windows = (
                Window("five_hour", five, 18000, five_reset),
                Window("weekly", round(max(0.0, week), 4), 604800, week_reset),
            )
            status = Status(tool, at, "demo", windows, plan)
            found.append(Record(0, at + timedelta(seconds=20), "demo", tool, True, status))
    return sorted(found, key=lambda record: record.timestamp)


def prepare(data_dir: Path, now: datetime) -> tuple[Path, Path]:
    """Write both demo sources into data_dir, and its history the first time; returns
    (claude_home, codex_home)."""
    homes = data_dir / "demo-homes"
    claude_home = homes / "claude"
    make_dirs(claude_home, 0o700)
    if not list_day_files(data_dir).names:
        append_records(data_dir, history_records(now))
    write_claude_snapshot(data_dir, now)
    write_claude_transcript(claude_home, now)
    return claude_home, write_codex_home(homes / "codex", now)


def demo_data_dir(env: Mapping[str, str]) -> Path:
    """The demo's own data directory: demo records never mix with real ones."""
    return state_home(env, Path(env.get("HOME") or Path.home())) / "cctrack-demo"


def demo_flags(env: Mapping[str, str], flags: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The flags of a demo run: freshly written demo homes, no network, and a data directory
    of its own (unless given), so that demo records never mix with real ones."""
    data_dir = flags.get("data_dir") or demo_data_dir(env)
    claude_home, codex_home = prepare(Path(data_dir), now)
    # Never where the real textfile goes (node_exporter would serve demo numbers), and named
    # as the demo's wherever it is put: it never replaces a real one.
    textfile_dir = flags.get("textfile_dir")
    if not textfile_dir:
        textfile_dir = Path(data_dir) / "textfile"
        make_dirs(textfile_dir, 0o755)
    return {
        **flags,
        "data_dir": data_dir,
        "textfile_dir": textfile_dir,
        "textfile_name": f"cctrack-{current_user()}-demo.prom",
        "claude_home": claude_home,
        "codex_home": codex_home,
        "claude_oauth": False,
        "codex_app_server": False,
        # A demo is a run of the built-in tools on the demo homes, whatever is configured.
        "claude_status": "builtin",
        "codex_status": "builtin",
    }
