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
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from homes import write_claude_home, write_codex_home

from cctrack.records import Record, Status, Window
from cctrack.sources.claude.statusline import store_statusline

UTC = timezone.utc
LOG_BYTES_PER_YEAR = 1 << 30


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
        "--log-mb",
        type=int,
        help="megabytes of transcripts and rollouts together, half each (default: 1 GB of "
        "each per year of --days)",
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
