"""The HTML report of a history, side by side with `cctrack history --csv` of the same
history, in one run.

    python benchmarks/report.py --homes benchmarks/work/plans benchmarks/work/year [--repeat 5]

Each home comes from benchmarks/generate.py (`--usage plans`: a working year; `--usage
random`: the fold's worst case, every snapshot a limit event). One `cctrack analyze` first
writes the checkpoint and the rollup as the timers keep them; then `cctrack report --html`
and `cctrack history --csv` run as whole processes, interleaved, median of --repeat. Also
`report --html --since` a week ago, and the sizes of the day files, the rollup and the page.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import CCTRACK, home_env, records_in, timed


def size_mib(paths: list[Path]) -> float:
    return sum(path.stat().st_size for path in paths) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--homes", type=Path, nargs="+", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    cctrack = str(CCTRACK)
    week_ago = (datetime.now(timezone.utc) - timedelta(days=7)).strftime("%Y-%m-%d")
    results = {}
    for home in args.homes:
        env = home_env(home)
        page = home / "report.html"
        timed([cctrack, "analyze"], env)
        cases = {
            "report --html": [cctrack, "report", "--html", "-o", str(page)],
            "report --html --since a week ago": [
                *(cctrack, "report", "--html", "-o", str(page)),
                *("--since", week_ago),
            ],
            "history --csv": [cctrack, "history", "--csv"],
        }
        walls: dict[str, list[float]] = {name: [] for name in cases}
        peaks: dict[str, int] = dict.fromkeys(cases, 0)
        for _ in range(args.repeat):
            for name, argv in cases.items():
                wall, peak, _ = timed(argv, env)
                walls[name].append(wall)
                peaks[name] = max(peaks[name], peak)
        data = home / "data"
        results[home.name] = {
            "records": records_in(data),
            "day_files_mib": size_mib(list(data.glob("usage-*.jsonl"))),
            "rollup_mib": size_mib(list(data.glob("rollup-*.jsonl"))),
            "page_kib": page.stat().st_size / 1024,
            "cases": {
                name: {
                    "median_s": statistics.median(values),
                    "min_s": min(values),
                    "max_s": max(values),
                    "peak_rss_mib": peaks[name] / 1024,
                }
                for name, values in walls.items()
            },
        }
    machine = (
        f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}; median of {args.repeat}"
    )
    print(machine)
    for name, row in results.items():
        print(
            f"\n## {name}: {row['records']:,} records, day files {row['day_files_mib']:.1f} MiB, "
            f"rollup {row['rollup_mib']:.1f} MiB, page {row['page_kib']:.0f} KiB"
        )
        print(
            "| command | median s | min s | max s | peak RSS MiB | ratio |\n|---|---|---|---|---|---|"
        )
        peer = row["cases"]["history --csv"]["median_s"]
        for case, m in row["cases"].items():
            print(
                f"| `cctrack {case}` | {m['median_s']:.2f} | {m['min_s']:.2f} | {m['max_s']:.2f} "
                f"| {m['peak_rss_mib']:.0f} | {m['median_s'] / peer:.2f}x history --csv |"
            )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
