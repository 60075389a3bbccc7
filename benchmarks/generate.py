"""Generate realistic homes for the benchmarks: a Codex home, a Claude home and a cctrack data
directory with a given span of history.

    python benchmarks/generate.py --days 365 --out benchmarks/work/year

writes OUT/codex (rollout files, ~5,000 over a year, ~1 GB), OUT/claude (transcripts, ~1 GB
over a year), OUT/data (records: two sources every 5 minutes) and OUT/textfile. Sizes scale
with --days. Everything is dated so that the last day ends now.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cctrack.records import Record, Status, Window
from cctrack.sources.claude.statusline import store_statusline
from cctrack.timefmt import format_time

UTC = timezone.utc
CODEX_FILES_PER_YEAR = 5000
CODEX_BYTES_PER_YEAR = 1 << 30
CLAUDE_BYTES_PER_YEAR = 1 << 30
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 3


def ts(moment: datetime) -> str:
    return format_time(moment, milliseconds=True)


def codex_file(start: datetime, target_bytes: int, rng: random.Random) -> str:
    """One session: metadata, then turns of response items and token_count events, some with
    per-model buckets, the first token_count with null info and rate limits."""
    moment = start
    lines = [
        json.dumps(
            {
                "timestamp": ts(moment),
                "type": "session_meta",
                "payload": {
                    "id": f"s-{rng.getrandbits(64):x}",
                    "cwd": "/home/u/project",
                    "cli_version": "0.63.0",
                },
            }
        ),
        json.dumps(
            {
                "timestamp": ts(moment),
                "type": "turn_context",
                "payload": {"model": "gpt-5.1-codex", "cwd": "/home/u/project"},
            }
        ),
        json.dumps(
            {
                "timestamp": ts(moment),
                "type": "event_msg",
                "payload": {"type": "token_count", "info": None, "rate_limits": None},
            }
        ),
    ]
    size = sum(map(len, lines))
    total = 0
    while size < target_bytes:
        moment += timedelta(seconds=rng.randint(5, 90))
        text = FILLER * rng.randint(1, 8)
        lines.append(
            json.dumps(
                {
                    "timestamp": ts(moment),
                    "type": "response_item",
                    "payload": {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text}],
                    },
                }
            )
        )
        total += rng.randint(1000, 50000)
        reset = int((moment + timedelta(hours=rng.uniform(0.1, 5))).timestamp())
        limit_id = "codex" if rng.random() < 0.8 else "codex_bengalfox"
        lines.append(
            json.dumps(
                {
                    "timestamp": ts(moment),
                    "type": "event_msg",
                    "payload": {
                        "type": "token_count",
                        "info": {
                            "total_token_usage": {
                                "input_tokens": total,
                                "cached_input_tokens": total // 2,
                                "output_tokens": total // 20,
                                "reasoning_output_tokens": total // 40,
                                "total_tokens": total + total // 20,
                            },
                            "last_token_usage": {
                                "input_tokens": 4000,
                                "cached_input_tokens": 3000,
                                "output_tokens": 200,
                                "reasoning_output_tokens": 100,
                                "total_tokens": 4200,
                            },
                            "model_context_window": 258400,
                        },
                        "rate_limits": {
                            "limit_id": limit_id,
                            "limit_name": None,
                            "primary": {
                                "used_percent": rng.uniform(0, 100),
                                "window_minutes": 300,
                                "resets_at": reset,
                            },
                            "secondary": {
                                "used_percent": rng.uniform(0, 100),
                                "window_minutes": 10080,
                                "resets_at": reset + 86400,
                            },
                            "credits": None,
                            "plan_type": "plus",
                            "rate_limit_reached_type": None,
                        },
                    },
                }
            )
        )
        size += len(lines[-1]) + len(lines[-2])
    return "\n".join(lines) + "\n"


def write_codex(home: Path, days: int, now: datetime, rng: random.Random) -> None:
    files = max(3, CODEX_FILES_PER_YEAR * days // 365)
    per_file = CODEX_BYTES_PER_YEAR * days // 365 // files
    for i in range(files):
        start = now - timedelta(days=days) + timedelta(seconds=(days * 86400 - 3600) * i / files)
        local = start.astimezone()
        folder = home / "sessions" / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = (
            folder / f"rollout-{local:%Y-%m-%dT%H-%M-%S}-{i:08x}-0000-4000-8000-000000000000.jsonl"
        )
        path.write_text(codex_file(start, per_file, rng))
        end = min(now, start + timedelta(hours=1)).timestamp()
        os.utime(path, (end, end))


def write_claude(home: Path, days: int, now: datetime, rng: random.Random) -> None:
    target = CLAUDE_BYTES_PER_YEAR * days // 365
    sessions = max(3, 3000 * days // 365)
    per_session = target // sessions
    for i in range(sessions):
        folder = home / "projects" / f"-home-u-project{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        moment = now - timedelta(days=days) + timedelta(seconds=days * 86400 * i / sessions)
        lines, size = [], 0
        while size < per_session:
            moment += timedelta(seconds=rng.randint(2, 60))
            message_id = f"msg_{rng.getrandbits(64):016x}"
            lines.append(
                json.dumps(
                    {
                        "type": "assistant",
                        "timestamp": ts(moment),
                        "sessionId": f"{i}",
                        "requestId": f"req_{rng.getrandbits(64):016x}",
                        "message": {
                            "id": message_id,
                            "model": "claude-opus-4-5",
                            "role": "assistant",
                            "content": [{"type": "text", "text": FILLER * rng.randint(1, 6)}],
                            "usage": {
                                "input_tokens": rng.randint(1, 5000),
                                "output_tokens": rng.randint(1, 2000),
                                "cache_creation_input_tokens": rng.randint(0, 9000),
                                "cache_read_input_tokens": rng.randint(0, 90000),
                            },
                        },
                    }
                )
            )
            size += len(lines[-1])
        (folder / f"{i:08x}-0000-4000-8000-000000000000.jsonl").write_text("\n".join(lines) + "\n")


def write_records(data_dir: Path, days: int, now: datetime, rng: random.Random) -> int:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    moment = (now - timedelta(days=days)).replace(second=0, microsecond=0)
    seq = 0
    batches: dict[str, list[bytes]] = {}
    while moment < now - timedelta(minutes=5):
        for source in ("claude", "codex"):
            seq += 1
            if rng.random() < 0.02:
                record = Record(
                    seq,
                    moment,
                    "bench",
                    source,
                    ok=False,
                    error=f"{source}-status timed out after 30 s",
                )
            else:
                reset = moment + timedelta(hours=2)
                status = Status(
                    source,
                    moment,
                    "rollout" if source == "codex" else "statusline",
                    (
                        Window(
                            "five_hour", round(rng.random(), 4), 18000, reset.replace(microsecond=0)
                        ),
                        Window(
                            "weekly",
                            round(rng.random(), 4),
                            604800,
                            (reset + timedelta(days=3)).replace(microsecond=0),
                        ),
                    ),
                    "plus",
                )
                record = Record(seq, moment, "bench", source, ok=True, status=status)
            batches.setdefault(f"usage-{moment:%Y%m%d}.jsonl", []).append(record.to_line())
        moment += timedelta(minutes=5)
    for name, lines in batches.items():
        (data_dir / name).write_bytes(b"".join(lines))
    (data_dir / "seq").write_text(f"{seq}\n")
    return seq


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--no-claude-transcripts",
        action="store_true",
        help="skip the Claude transcripts (only the comparisons read them)",
    )
    args = parser.parse_args()
    now = datetime.now(UTC)
    rng = random.Random(args.days)
    args.out.mkdir(parents=True, exist_ok=True)
    write_codex(args.out / "codex", args.days, now, rng)
    if not args.no_claude_transcripts:
        write_claude(args.out / "claude", args.days, now, rng)
    (args.out / "claude").mkdir(exist_ok=True)
    records = write_records(args.out / "data", args.days, now, rng)
    store_statusline(
        args.out / "data",
        {
            "rate_limits": {
                "five_hour": {
                    "used_percentage": 40.0,
                    "resets_at": int((now + timedelta(hours=2)).timestamp()),
                },
                "seven_day": {
                    "used_percentage": 20.0,
                    "resets_at": int((now + timedelta(days=2)).timestamp()),
                },
            }
        },
        now,
    )
    (args.out / "textfile").mkdir(exist_ok=True)
    print(f"{args.out}: {records} records over {args.days} days")


if __name__ == "__main__":
    main()
