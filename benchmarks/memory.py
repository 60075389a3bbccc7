"""Peak memory of the commands that read the whole history, at several history lengths.

    python benchmarks/generate.py --days 30  --out W/m1  --log-mb 1 --usage plans --no-claude-transcripts
    python benchmarks/generate.py --days 182 --out W/m6  --log-mb 1 --usage plans --no-claude-transcripts
    python benchmarks/generate.py --days 365 --out W/m12 --log-mb 1 --usage plans --no-claude-transcripts
    python benchmarks/memory.py W/m1 W/m6 W/m12 [--before CHECKOUT]

For each generated history (its `data` directory, analyzed once first) it runs `history
--csv`, `tokens`, `cycles`, `report --html` and `analyze --rebuild` as whole processes
(`python -m cctrack`, this checkout, and with --before another one first on PYTHONPATH)
and prints each one's peak RSS (wait4) and wall time. Flat means the same at a month and
at a year. Nothing touches the network.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkouts import check_imports

COMMANDS = {
    "history --csv": ["history", "--csv"],
    "tokens": ["tokens"],
    "cycles": ["cycles"],
    "report --html": ["report", "--html", "-o", "page.html"],
    "analyze --rebuild": ["analyze", "--rebuild"],
}


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one process, its output thrown away. It runs in
    the data directory's parent: `python -m` puts the working directory first on the path,
    and a checkout there would be imported instead of PYTHONPATH's."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv,
        env=env,
        cwd=Path(env["CCTRACK_DATA_DIR"]).parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("histories", type=Path, nargs="+")
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    checkouts = {"this": here, **({"before": args.before} if args.before else {})}
    work = Path(tempfile.mkdtemp(prefix="cctrack-memory-"))
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}\n"
    )
    print("| history | records | command | " + " | ".join(f"{c} MiB, s" for c in checkouts) + " |")
    print("|---|---|---|" + "---|" * len(checkouts))
    for history in args.histories:
        results: dict[str, dict[str, tuple[float, float]]] = {}
        records = sum(1 for day in (history / "data").glob("usage-*.jsonl") for _ in day.open("rb"))
        for who, checkout in checkouts.items():
            data = work / f"{history.name}-{who}"
            shutil.copytree(history / "data", data)
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(work),
                "LANG": "C.UTF-8",
                "PYTHONPATH": str(checkout),
                "CCTRACK_DATA_DIR": str(data),
                "CCTRACK_TEXTFILE_DIR": str(work),
                "CCTRACK_SOURCES": "claude,codex",
                "MPLCONFIGDIR": str(work / "mpl"),
            }
            base = [sys.executable, "-m", "cctrack"]
            check_imports(checkout, env, data.parent)
            measured([*base, "analyze"], env)
            results[who] = {name: measured([*base, *argv], env) for name, argv in COMMANDS.items()}
        for name in COMMANDS:
            cells = " | ".join(
                f"{results[who][name][1]:.0f}, {results[who][name][0]:.2f}" for who in checkouts
            )
            print(f"| {history.name} | {records:,} | `{name}` | {cells} |")


if __name__ == "__main__":
    main()
