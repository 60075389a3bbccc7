"""Fixture builders written from the schemas in shared/SOURCES.md, one per variant."""

from __future__ import annotations

import json
import os
import random
import stat
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cctrack.timefmt import format_time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import write_plan_records
from homes import write_claude_home, write_codex_home

UTC = timezone.utc


def ts(moment: datetime) -> str:
    """A time as Codex writes line timestamps (milliseconds)."""
    return format_time(moment, milliseconds=True)


def z(moment: datetime) -> str:
    """A time as status objects carry it (seconds)."""
    return format_time(moment)


def codex_line(
    moment: datetime, kind: str, payload: dict[str, Any], ordinal: int | None = None
) -> str:
    obj: dict[str, Any] = {"timestamp": ts(moment)}
    if ordinal is not None:
        obj["ordinal"] = ordinal
    obj.update(type=kind, payload=payload)
    return json.dumps(obj, separators=(",", ":"))  # as Codex writes it


def token_count(moment: datetime, rate_limits: Any, info: Any = "default") -> str:
    if info == "default":
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
    return codex_line(
        moment, "event_msg", {"type": "token_count", "info": info, "rate_limits": rate_limits}
    )


def nested_2026(
    primary: tuple | None,
    secondary: tuple | None,
    *,
    limit_id: str | None = "codex",
    plan: str | None = "plus",
    limit_name: str | None = None,
) -> dict[str, Any]:
    """2026 shape; a window is (used_percent, window_minutes, resets_at datetime or None)."""

    def window(spec: tuple | None) -> dict | None:
        if spec is None:
            return None
        used, minutes, resets = spec
        return {
            "used_percent": used,
            "window_minutes": minutes,
            "resets_at": int(resets.timestamp()) if resets else None,
        }

    return {
        "limit_id": limit_id,
        "limit_name": limit_name,
        "primary": window(primary),
        "secondary": window(secondary),
        "credits": None,
        "plan_type": plan,
        "rate_limit_reached_type": None,
    }


def nested_oct2025(primary: tuple, secondary: tuple) -> dict[str, Any]:
    """Oct 2025 on: nested windows with resets_at, no limit_id."""
    return {
        name: {
            "used_percent": used,
            "window_minutes": minutes,
            "resets_at": int(resets.timestamp()),
        }
        for name, (used, minutes, resets) in (("primary", primary), ("secondary", secondary))
    }


def nested_relative(primary: tuple, secondary: tuple) -> dict[str, Any]:
    """~0.41 to Oct 2025: windows are (used, minutes, resets_in_seconds)."""
    return {
        name: {"used_percent": used, "window_minutes": minutes, "resets_in_seconds": seconds}
        for name, (used, minutes, seconds) in (("primary", primary), ("secondary", secondary))
    }


def flat_secondary(primary_used: float, secondary_used: float) -> dict[str, Any]:
    """~0.40: flat, weekly renamed secondary."""
    return {
        "primary_used_percent": primary_used,
        "secondary_used_percent": secondary_used,
        "primary_window_minutes": 300,
        "secondary_window_minutes": 10080,
    }


def flat_weekly(primary_used: float, weekly_used: float) -> dict[str, Any]:
    """Before ~0.40: flat primary/weekly with a ratio field."""
    return {
        "primary_used_percent": primary_used,
        "weekly_used_percent": weekly_used,
        "primary_to_weekly_ratio_percent": 12.5,
        "primary_window_minutes": 300,
        "weekly_window_minutes": 10080,
    }


def write_rollout(
    home: Path,
    started: datetime,
    lines: list[str],
    *,
    archived: bool = False,
    mtime: datetime | None = None,
    session: str = "0199a8f2-7e41-4c1e-9d7a-5e2f3b1c0a11",
    tz: str | None = None,
) -> Path:
    """A rollout file where Codex puts it: folders and file name in local time (tz's, if given)."""
    local = started.astimezone(ZoneInfo(tz) if tz else None)
    root = home / ("archived_sessions" if archived else "sessions")
    folder = root / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rollout-{local:%Y-%m-%dT%H-%M-%S}-{session}.jsonl"
    meta = codex_line(
        started, "session_meta", {"id": session, "cwd": "/work", "cli_version": "0.63.0"}
    )
    path.write_text("\n".join([meta, *lines]) + "\n")
    when = (mtime or started).timestamp()
    os.utime(path, (when, when))
    return path


def statusline_payload(five_hour: tuple | None, seven_day: tuple | None) -> dict[str, Any]:
    """Claude Code's statusLine stdin; a window is (used_percentage, resets_at datetime)."""
    limits = {}
    for key, spec in (("five_hour", five_hour), ("seven_day", seven_day)):
        if spec is not None:
            limits[key] = {"used_percentage": spec[0], "resets_at": int(spec[1].timestamp())}
    return {
        "session_id": "3f1c",
        "model": {"id": "claude-opus-4-5", "display_name": "Opus"},
        "workspace": {"current_dir": "/work"},
        "rate_limits": limits,
    }


def write_credentials(claude_home: Path, token: str, expires: datetime, plan: str = "max") -> Path:
    claude_home.mkdir(parents=True, exist_ok=True)
    path = claude_home / ".credentials.json"
    path.write_text(
        json.dumps(
            {
                "claudeAiOauth": {
                    "accessToken": token,
                    "refreshToken": "sk-ant-ort01-REFRESH-never-used",
                    "expiresAt": int(expires.timestamp() * 1000),
                    "scopes": ["user:inference", "user:profile"],
                    "subscriptionType": plan,
                }
            }
        )
    )
    path.chmod(0o600)
    return path


def script(path: Path, body: str) -> Path:
    """An executable Python script: a real status tool for capture to run."""
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fixed_tool(
    path: Path, source: str, five_hour: float, weekly: float, details: bool = False
) -> Path:
    """A status tool that prints a fixed status, observed at the moment it runs, with one
    per-model bucket beside the plan's windows; with `details`, everything else a vendor
    reports too (a group's spend limit that binds, extra usage or credits, a reached reason,
    banked resets). A shell script (GNU date): it runs in a few milliseconds, where a Python
    one takes tens."""
    status: dict[str, Any] = {
        "source_tool": source,
        "observed_at": "$now",
        "origin": "test",
        "plan": "pro",
        "windows": {
            "five_hour": {"used_ratio": five_hour, "window_seconds": 18000, "resets_at": "$five"},
            "weekly": {"used_ratio": weekly, "window_seconds": 604800, "resets_at": "$week"},
        },
        "buckets": [
            {
                "bucket": "opus",
                "window": "weekly",
                "used_ratio": 0.1,
                "window_seconds": 604800,
                "resets_at": "$week",
            }
        ],
    }
    if details:
        status["spend"] = [
            {
                "limit": "group_shared",
                "group": "Platform team",
                "used_ratio": 0.4,
                "resets_at": "$week",
                "used": 400,
                "amount": 1000,
                "unit": "credits",
                "binding": True,
            }
        ]
        status["extras"] = (
            {
                "extra_usage_enabled": True,
                "extra_usage_used_ratio": 0.4,
                "extra_usage_monthly_limit": 20,
                "extra_usage_spent": 8,
                "currency": "USD",
            }
            if source == "claude"
            else {
                "has_credits": True,
                "credits_unlimited": False,
                "credits_balance": 12.5,
                "limit_reached": "rate_limit_reached",
                "reset_credits_available": 2,
            }
        )
    body = (
        "#!/bin/sh\n"
        'z() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }\n'
        'now=$(z now); five=$(z "+2 hours"); week=$(z "+3 days")\n'
        f"cat <<EOF\n{json.dumps(status)}\nEOF\n"
    )
    path.write_text(body)
    path.chmod(0o755)
    return path


def write_token_logs(claude_home: Path, codex_home: Path, now: datetime, seed: int = 7) -> None:
    """A few Claude Code sessions and Codex rollouts of the last twenty minutes, in the
    formats the tools write (benchmarks/homes.py)."""
    import random

    rng = random.Random(seed)
    start, end = now - timedelta(minutes=20), now - timedelta(minutes=1)
    write_claude_home(claude_home, start, end, 40 << 10, rng)
    write_codex_home(codex_home, start, end, 40 << 10, rng)


def fake_app_server(bin_dir: Path, answer: Any) -> Path:
    """A `codex` whose app-server answers account/rateLimits/read with `answer`, over the
    JSON-RPC on stdio that Codex speaks."""
    bin_dir.mkdir(exist_ok=True)
    return script(
        bin_dir / "codex",
        f"""
import json, sys
for raw in sys.stdin:
    message = json.loads(raw)
    if message.get("method") == "initialize":
        print(json.dumps({{"id": message["id"], "result": {{}}}}), flush=True)
    elif message.get("method") == "account/rateLimits/read":
        print(json.dumps({{"id": message["id"], "result": json.loads({json.dumps(json.dumps(answer))})}}), flush=True)
""",
    )


FIVE_HOURS = timedelta(hours=5)


def plan_history(
    data_dir: Path,
    start: datetime,
    targets: list[float],
    tool: str = "codex",
    weekly_per_point: float = 0.2,
) -> None:
    """Day files of one tool captured every 10 minutes through consecutive 5-hour windows
    from `start`: the i-th rises steadily towards targets[i] by its end (held at 100 % once
    it gets there), the week rising weekly_per_point points per 5-hour point; then one
    snapshot of the next window, so that the last one has closed."""
    from cctrack.records import Record
    from cctrack.status import Status, Window
    from cctrack.store import day_file_name

    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    week_resets = start + timedelta(days=7)
    weekly, seq, files = 0.05, 0, {}

    def capture(moment: datetime, used: float, resets: datetime) -> None:
        nonlocal seq
        seq += 1
        windows = (
            Window("five_hour", used, 18000, resets),
            Window("weekly", round(weekly, 6), 604800, week_resets),
        )
        status = Status(tool, moment, "rollout", windows, "plus")
        record = Record(seq, moment, "h", tool, ok=True, status=status)
        files.setdefault(day_file_name(record), []).append(record.to_line())

    for i, target in enumerate([*targets, 0.29]):
        begin = start + i * FIVE_HOURS
        steps = 29 if i < len(targets) else 1
        before = 0.0
        for k in range(1, steps + 1):
            used = min(1.0, round(target * k / 29, 4))
            weekly += weekly_per_point * (used - before)
            before = used
            capture(begin + timedelta(minutes=10 * k), used, begin + FIVE_HOURS)
    for name, lines in files.items():
        (data_dir / name).write_bytes(b"".join(lines))
    (data_dir / "seq").write_text(f"{seq}\n")


def working_days(
    root: Path, days: int, seed: int = 3, projects: tuple[str, ...] = ()
) -> list[tuple[str, bytes]]:
    """A working week's records up to now, as benchmarks/generate.py makes them (both tools
    every 5 minutes, token records when busy, per project with `projects`), each line with
    its day file's name, in the order capture appended them."""
    source = root / f"generated-{days}-{seed}-{len(projects)}"
    write_plan_records(source, days, datetime.now(timezone.utc), random.Random(seed), projects)
    found = []
    for path in sorted(source.glob("usage-*.jsonl")):
        found += [(path.name, line + b"\n") for line in path.read_bytes().splitlines()]
    return sorted(found, key=lambda item: json.loads(item[1])["seq_no"])


def append_lines(data_dir: Path, lines: list[tuple[str, bytes]]) -> None:
    """Append record lines to their day files, as capture would have."""
    data_dir.mkdir(mode=0o700, exist_ok=True)
    for name, line in lines:
        with open(data_dir / name, "ab") as out:
            out.write(line)
