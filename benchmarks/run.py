"""Time cctrack as whole processes, as cron and systemd run it, at small and large history.

    python benchmarks/run.py --homes benchmarks/work/day benchmarks/work/year [--repeat 9] [--compare]

Each home comes from benchmarks/generate.py. For each: median wall time and peak RSS of
`cctrack capture`, `cctrack analyze` in steady state (a capture's two new records since the
last analysis), `cctrack run`, and `cctrack analyze --rebuild` (records per second). With
--compare, ccusage (npm) and claude-monitor (PyPI) answer their nearest question ("how much
of the current 5-hour block is used") on the same Claude transcripts, in the same run; both
are installed under benchmarks/work/ and run offline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
CCTRACK = Path(sys.executable).parent / "cctrack"


def timed(
    argv: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)
) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in KiB (the process or any of its children) and exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {stderr[-500:]}")
    return elapsed, usage.ru_maxrss, proc.returncode


def measure(
    argv: list[str],
    env: dict[str, str],
    repeat: int,
    before: list[str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> dict[str, float]:
    walls, rss = [], []
    for _ in range(repeat):
        if before:
            timed(before, env)
        wall, peak, _ = timed(argv, env, ok_codes)
        walls.append(wall)
        rss.append(peak)
    return {
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "peak_rss_mib": max(rss) / 1024,
    }


def home_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_HOME": str(home / "codex"),
        "CLAUDE_CONFIG_DIR": str(home / "claude"),
        "CCTRACK_DATA_DIR": str(home / "data"),
        "CCTRACK_TEXTFILE_DIR": str(home / "textfile"),
        "CCTRACK_CLAUDE_OAUTH": "off",
        "CCTRACK_HOSTNAME": "bench",
        "LANG": "C.UTF-8",
    }


def records_in(data_dir: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in data_dir.glob("usage-*.jsonl"))


def ensure_comparisons(home: Path) -> dict[str, list[str]]:
    node = WORK / "node"
    if not (node / "node_modules/.bin/ccusage").exists():
        # ccusage 18+ needs a native package the registry does not serve for linux-x64.
        subprocess.run(
            ["npm", "install", "--prefix", str(node), "--no-audit", "--no-fund", "ccusage@17"],
            check=True,
            capture_output=True,
        )
    venv = WORK / "claude-monitor-venv"
    if not (venv / "bin/claude-monitor").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin/pip"), "install", "-q", "claude-monitor==4.0.0"], check=True
        )
    return {
        "ccusage blocks --active --json --offline": [
            str(node / "node_modules/.bin/ccusage"),
            "blocks",
            "--active",
            "--json",
            "--offline",
        ],
        "claude-monitor --once --output json --no-api": [
            str(venv / "bin/claude-monitor"),
            "--once",
            "--output",
            "json",
            "--no-api",
            "--plan",
            "max5",
            "--data-paths",
            str(home / "claude/projects"),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--homes", type=Path, nargs="+", required=True)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    for home in args.homes:
        env = home_env(home)
        cctrack = str(CCTRACK)
        timed([cctrack, "analyze"], env)  # a checkpoint to be in steady state from
        row = {
            "records": records_in(home / "data"),
            "codex_rollout_files": sum(1 for _ in (home / "codex").rglob("rollout-*.jsonl")),
            "codex_bytes": sum(p.stat().st_size for p in (home / "codex").rglob("*.jsonl")),
            "claude_bytes": sum(p.stat().st_size for p in (home / "claude").rglob("*.jsonl")),
            "capture": measure([cctrack, "capture"], env, args.repeat),
            "analyze (steady)": measure(
                [cctrack, "analyze"], env, args.repeat, before=[cctrack, "capture"]
            ),
            "run": measure([cctrack, "run"], env, args.repeat),
            "analyze --rebuild": measure(
                [cctrack, "analyze", "--rebuild"], env, max(3, args.repeat // 3)
            ),
            "codex-status": measure([cctrack + "-codex-status"], env, args.repeat),
        }
        row["analyze --rebuild"]["records_per_s"] = (
            records_in(home / "data") / row["analyze --rebuild"]["median_s"]
        )
        compare_env = {
            **env,
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "",
        }
        for name, argv in (ensure_comparisons(home) if args.compare else {}).items():
            # claude-monitor's exit code is its answer's status (11 "limit hit", 20 "no active
            # session", ...), not a failure.
            codes = tuple(range(100)) if "claude-monitor" in name else (0,)
            row[name] = measure(argv, compare_env, max(3, args.repeat // 3), ok_codes=codes)
            row[name]["ratio_to_cctrack_run"] = row[name]["median_s"] / row["run"]["median_s"]
        results[home.name] = row
    machine = f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    print(machine)
    for home, row in results.items():
        print(
            f"\n## {home}: {row['records']} records, {row['codex_rollout_files']} rollout files "
            f"({row['codex_bytes'] / 2**20:.0f} MiB), Claude transcripts {row['claude_bytes'] / 2**20:.0f} MiB"
        )
        print(
            "| command | median s | min s | max s | peak RSS MiB | note |\n|---|---|---|---|---|---|"
        )
        for name, m in row.items():
            if isinstance(m, dict):
                note = (
                    f"{m['records_per_s']:,.0f} records/s"
                    if "records_per_s" in m
                    else f"{m['ratio_to_cctrack_run']:.1f}x cctrack run"
                    if "ratio_to_cctrack_run" in m
                    else ""
                )
                print(
                    f"| {name} | {m['median_s']:.3f} | {m['min_s']:.3f} | {m['max_s']:.3f} | {m['peak_rss_mib']:.1f} | {note} |"
                )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
