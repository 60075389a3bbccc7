"""Generate realistic homes for the benchmarks: a Codex home, a Claude home and a cctrack data
directory with a given span of history.

    python benchmarks/generate.py --days 365 --out benchmarks/work/year

writes OUT/codex (rollouts, ~1 GB over a year), OUT/claude (transcripts, ~1 GB over a year),
both in the formats the tools write (benchmarks/homes.py), OUT/data (records: two sources
every 5 minutes) and OUT/textfile. Sizes scale with --days, or are set by --log-mb.
Everything is dated so that the last day ends now.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from homes import write_claude_home, write_codex_home

from cctrack.records import Record, TokenRecord
from cctrack.sources.claude.statusline import store_statusline
from cctrack.status import Status, Window

UTC = timezone.utc
LOG_BYTES_PER_YEAR = 1 << 30


def write_batches(data_dir: Path, batches: dict[str, list[bytes]], seq: int) -> int:
    """Each day file's lines, and the seq counter; the number of records."""
    for name, lines in batches.items():
        (data_dir / name).write_bytes(b"".join(lines))
    (data_dir / "seq").write_text(f"{seq}\n")
    return seq


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
    return write_batches(data_dir, batches, seq)


def write_plan_records(
    data_dir: Path, days: int, now: datetime, rng: random.Random, projects: Sequence[str] = ()
) -> int:
    """Records as a working week makes them: each tool busy most 5-minute steps of office
    hours on weekdays and now and then in an evening; a 5-hour window opens at the first
    use after the last one reset and fills as it is used, the week fills at a fifth of
    the pace and resets every seven days; a token record per busy step and tool. With
    `projects` (directories), its rows per project as well (token_projects): most in the
    fortnight's main project, the rest anywhere, so that the largest change over time."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    start = (now - timedelta(days=days)).replace(second=0, microsecond=0)
    models = {"claude": ("claude-sonnet-4-5", "claude-opus-4-1"), "codex": ("gpt-5-codex",)}
    state = {
        tool: {"reset": None, "used": 0.0, "weekly": 0.0, "week": start + timedelta(days=7)}
        for tool in models
    }
    seq, scans = 0, dict.fromkeys(models, 0)
    batches: dict[str, list[bytes]] = {}
    moment = start
    while moment < now - timedelta(minutes=5):
        office = moment.weekday() < 5 and 9 <= moment.hour < 18
        evening = moment.hour in (20, 21) and moment.toordinal() % 3 == 0
        for tool, at in state.items():
            seq += 1
            if moment >= at["week"]:
                at["week"] += timedelta(days=7)
                at["weekly"] = 0.0
            if at["reset"] is not None and moment >= at["reset"]:
                at["reset"], at["used"] = None, 0.0
            busy = (office and rng.random() < 0.8) or (evening and rng.random() < 0.5)
            if busy:
                if at["reset"] is None:
                    at["reset"] = moment + timedelta(hours=5)
                step = min(1.0 - at["used"], rng.uniform(0.002, 0.012))
                at["used"] += step
                at["weekly"] = min(1.0, at["weekly"] + step / 5)
                scans[tool] += 1
                minute = int(moment.timestamp()) // 60
                rows = tuple(
                    (minute - k, rng.choice(models[tool]), *(rng.randint(1, 9000) for _ in "abcd"))
                    for k in range(rng.randint(1, 4))
                )
                main = projects[moment.toordinal() // 14 % len(projects)] if projects else ""
                by_project = tuple(
                    (minute, main if rng.random() < 0.6 else rng.choice(projects), model, *counts)
                    for minute, model, *counts in (rows if projects else ())
                )
                tokens = TokenRecord(
                    seq,
                    moment,
                    "bench",
                    tool,
                    "0123456789abcdef",
                    scans[tool],
                    0,
                    rows,
                    projects=by_project,
                )
                batches.setdefault(f"usage-{moment:%Y%m%d}.jsonl", []).append(tokens.to_line())
                seq += 1
            if rng.random() < 0.02:
                record = Record(seq, moment, "bench", tool, ok=False, error="timed out")
            else:
                windows = (
                    Window("five_hour", round(at["used"], 4), 18000, at["reset"]),
                    Window("weekly", round(at["weekly"], 4), 604800, at["week"]),
                )
                status = Status(tool, moment, "rollout", windows, "plus")
                record = Record(seq, moment, "bench", tool, ok=True, status=status)
            batches.setdefault(f"usage-{moment:%Y%m%d}.jsonl", []).append(record.to_line())
        moment += timedelta(minutes=5)
    return write_batches(data_dir, batches, seq)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--log-mb",
        type=int,
        help="megabytes of transcripts and rollouts together, half each (default: 1 GB of "
        "each per year of --days)",
    )
    parser.add_argument(
        "--usage",
        choices=("random", "plans"),
        default="random",
        help="random: every snapshot's numbers at random, nearly every one a limit event "
        "(the fold's worst case); plans: windows filled by a working week, with token records",
    )
    parser.add_argument(
        "--no-claude-transcripts",
        action="store_true",
        help="skip the Claude transcripts (only the comparisons read them)",
    )
    args = parser.parse_args()
    now = datetime.now(UTC)
    rng = random.Random(args.days)
    args.out.mkdir(parents=True, exist_ok=True)
    start = now - timedelta(days=args.days)
    each = (args.log_mb << 20) // 2 if args.log_mb else LOG_BYTES_PER_YEAR * args.days // 365
    write_codex_home(args.out / "codex", start, now, each, rng)
    if not args.no_claude_transcripts:
        write_claude_home(args.out / "claude", start, now, each, rng)
    (args.out / "claude").mkdir(exist_ok=True)
    writer = write_plan_records if args.usage == "plans" else write_records
    records = writer(args.out / "data", args.days, now, rng)
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
