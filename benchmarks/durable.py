"""What the base (analyze-base.json) costs analyze, beside the release before it.

    python benchmarks/durable.py --release 428db59 [--days 365] [--retention 90] [--repeat 21]

Builds the release's wheel from this repository's history (as tests/test_system_upgrade.py
does), generates a working year of records (benchmarks/generate.py --usage plans), and
times, as whole processes, interleaved, on copies of the same data directory:

- the first `cctrack analyze` with the retention (folds the year, and removes the day
  files past it: this checkout folds them into the base first);
- a steady `cctrack analyze` (nothing new), the run cron pays every five minutes;
- `cctrack analyze` after the checkpoint is lost (the release folds the day files kept;
  this checkout folds them on the base, and its totals are the year's).

Prints medians and the sizes of the files analyze keeps.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def build_release(commit: str, into: Path) -> Path:
    """The commit's wheel, built from this repository's history and installed without its
    dependencies (this checkout's environment has them) into a directory of its own, to run
    with PYTHONPATH (tests/test_system_upgrade.py does too)."""
    source, wheels, site = into / "source", into / "wheels", into / "site"
    source.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True)
    (wheel,) = wheels.glob("cctrack*.whl")  # cctrack-, then cctrack_exporter-
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    return site


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv}: exit {done.returncode}: {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--release", default="428db59")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--retention", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cctrack-durable-"))
    try:
        site = build_release(args.release, work / "release")
        home = work / "home"
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--days",
                str(args.days),
                "--out",
                str(home),
                "--usage",
                "plans",
                "--log-mb",
                "1",
                "--no-claude-transcripts",
            ],
            check=True,
            capture_output=True,
        )
        runs = {
            "this checkout": ([sys.executable, "-m", "cctrack", "analyze"], {}, ROOT),
            args.release: (
                [sys.executable, "-c", "import cctrack.cli as c; c.main()", "analyze"],
                {"PYTHONPATH": str(site)},
                site,
            ),
        }
        times: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
        envs = {}
        for name, (_, extra, _) in runs.items():
            data = work / name.replace(" ", "-") / "data"
            shutil.copytree(home / "data", data)
            (data.parent / "textfile").mkdir()
            envs[name] = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(work / "nohome"),
                "CCTRACK_DATA_DIR": str(data),
                "CCTRACK_TEXTFILE_DIR": str(data.parent / "textfile"),
                "CCTRACK_SOURCES": "claude,codex",
                "CCTRACK_CLAUDE_OAUTH": "off",
                "CCTRACK_HOSTNAME": "bench",
                "CCTRACK_RETENTION_DAYS": str(args.retention),
                **extra,
            }
        for name, (argv, _, cwd) in runs.items():
            times[name]["first analyze, with the retention"] = [timed(argv, envs[name], cwd)]
        for _ in range(args.repeat):
            for name, (argv, _, cwd) in runs.items():
                times[name].setdefault("steady analyze", []).append(timed(argv, envs[name], cwd))
        for _ in range(max(3, args.repeat // 4)):
            for name, (argv, _, cwd) in runs.items():
                state = Path(envs[name]["CCTRACK_DATA_DIR"]) / "analyze-state.json"
                state.unlink()
                times[name].setdefault("analyze after the checkpoint is lost", []).append(
                    timed(argv, envs[name], cwd)
                )
        print(f"{args.days} days of records, retention {args.retention} days, ", end="")
        print(f"median of {args.repeat} (lost checkpoint: of {max(3, args.repeat // 4)})")
        print(f"| run | this checkout | {args.release} | ratio |")
        print("|---|---|---|---|")
        for what in times["this checkout"]:
            mine = statistics.median(times["this checkout"][what])
            theirs = statistics.median(times[args.release][what])
            print(f"| {what} | {mine:.3f} s | {theirs:.3f} s | {mine / theirs:.2f}x |")
        for name in runs:
            data = Path(envs[name]["CCTRACK_DATA_DIR"])
            sizes = {
                p.name: p.stat().st_size
                for p in data.iterdir()
                if p.name.startswith(("analyze-", "rollup-"))
            }
            kept = len(list(data.glob("usage-*.jsonl")))
            rollup = sum(v for k, v in sizes.items() if k.startswith("rollup-"))
            print(
                f"{name}: {kept} day files kept; checkpoint {sizes.get('analyze-state.json', 0):,} B,"
                f" base {sizes.get('analyze-base.json', 0):,} B, rollup {rollup:,} B"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
