"""How many series one user exports, with and without token_projects, and how many come and
go as the projects a user works in change.

    python benchmarks/series.py [--days 120] [--projects 10] [--before CHECKOUT]

Generates `--days` of both tools' records up to now (benchmarks/generate.py's working
weeks, token records split over 24 projects whose main one changes every fortnight), then
appends them a day at a time and runs `analyze` after each (`python -m cctrack`, this
checkout, and with --before another one first on PYTHONPATH), with token_projects off and
at `--projects`. For each it prints the series in the last textfile, the most in any one,
and how many distinct series (name and labels) appeared over the whole run: what a
Pushgateway or remote-write receiver holds for the user, and its churn.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from checkouts import check_imports
from generate import write_plan_records


def series(textfile: Path) -> set[str]:
    return {
        line.rsplit(" ", 1)[0]
        for line in textfile.read_text().splitlines()
        if line and not line.startswith("#")
    }


def run(checkout: Path, days: list[tuple[str, list[bytes]]], work: Path, slots: int) -> str:
    data, target = work / "data", work / "textfile"
    data.mkdir(mode=0o700)
    target.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(work),
        "PYTHONPATH": str(checkout),
        "CCTRACK_DATA_DIR": str(data),
        "CCTRACK_TEXTFILE_DIR": str(target),
        "CCTRACK_SOURCES": "claude,codex",
        "CCTRACK_TOKEN_PROJECTS": str(slots),
    }
    check_imports(checkout, env, work)
    seen: set[str] = set()
    most = 0
    for name, lines in days:
        with open(data / name, "ab") as out:
            out.write(b"".join(lines))
        subprocess.run(
            [sys.executable, "-m", "cctrack", "analyze"],
            env=env,
            cwd=work,
            check=True,
            capture_output=True,
        )
        (textfile,) = target.glob("cctrack-*.prom")
        now = series(textfile)
        seen |= now
        most = max(most, len(now))
    return f"{len(now)} | {most} | {len(seen)}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cctrack-series-"))
    source = work / "generated"
    projects = [f"/home/alice/src/p{n:02d}" for n in range(24)]
    write_plan_records(source, args.days, datetime.now(timezone.utc), random.Random(7), projects)
    lines = [
        (path.name, line + b"\n")
        for path in sorted(source.glob("usage-*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]
    days = [(n, [line for _, line in d]) for n, d in groupby(lines, key=lambda item: item[0])]
    checkouts = {"this": HERE.parent}
    if args.before:
        checkouts = {"before": args.before, **checkouts}
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.days} days analyzed a day at a time, 24 projects, main one each fortnight\n"
    )
    print("| checkout | token_projects | series now | most at once | distinct over the run |")
    print("|---|---|---|---|---|")
    for who, checkout in checkouts.items():
        for slots in (0, args.projects):
            place = work / f"{who}-{slots}"
            place.mkdir()
            print(f"| {who} | {slots} | {run(checkout, days, place, slots)} |", flush=True)


if __name__ == "__main__":
    main()
