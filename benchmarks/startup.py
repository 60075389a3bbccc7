"""Start-up cost of a steady `cctrack run`, against the interpreter floor, in one run.

    python benchmarks/startup.py [--repeat 31] [--cctrack OTHER/.venv/bin/cctrack ...]

For each cctrack (this checkout's by default, others to compare side by side) it times
whole processes, median of --repeat runs, interleaved so that machine noise hits all alike:
`python -c pass` with the same interpreter (the floor), `cctrack run` with trivial status
tools (shell scripts that print a fixed status), and `cctrack run` with the built-in tools
on the bundled demo homes. Nothing touches the network.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL = """#!/bin/sh
printf '{"source_tool":"%s","observed_at":"%s","origin":"test","windows":{"five_hour":{"used_ratio":0.25,"window_seconds":18000}}}\\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--cctrack", type=Path, action="append", default=[])
    args = parser.parse_args()
    binaries = [Path(sys.executable).parent / "cctrack", *args.cctrack]
    work = Path(tempfile.mkdtemp(prefix="cctrack-startup-"))
    tool = work / "trivial-status"
    tool.write_text(TRIVIAL)
    tool.chmod(0o755)
    cases: dict[str, tuple[list[str], dict[str, str]]] = {}
    for index, binary in enumerate(binaries):
        python = str(binary.parent / "python")
        base = {
            "PATH": os.environ["PATH"],
            "HOME": str(work),
            "LANG": "C.UTF-8",
            "CCTRACK_HOSTNAME": "bench",
        }
        trivial = {
            **base,
            "CCTRACK_DATA_DIR": str(work / f"d{index}"),
            "CCTRACK_TEXTFILE_DIR": str(work / f"t{index}"),
            "CLAUDE_STATUS_PATH": f"{tool} claude",
            "CODEX_STATUS_PATH": f"{tool} codex",
        }
        (work / f"t{index}").mkdir()
        demo = {**base}
        prepared = subprocess.run(
            [
                str(binary),
                "run",
                "--demo",
                "--data-dir",
                str(work / f"demo{index}"),
                "--textfile-dir",
                str(work / f"t{index}"),
            ],
            env=demo,
            capture_output=True,
            check=False,
        )
        if prepared.returncode != 0:
            print(
                f"{binary}: run --demo failed, built-in case skipped: {prepared.stderr.decode()[-200:]}"
            )
        builtin = {
            **base,
            "CCTRACK_DATA_DIR": str(work / f"demo{index}"),
            "CCTRACK_TEXTFILE_DIR": str(work / f"t{index}"),
            "CLAUDE_CONFIG_DIR": str(work / f"demo{index}/demo-homes/claude"),
            "CODEX_HOME": str(work / f"demo{index}/demo-homes/codex"),
            "CCTRACK_CLAUDE_OAUTH": "off",
        }
        cases[f"{binary}: python -c pass"] = ([python, "-c", "pass"], base)
        cases[f"{binary}: run, trivial tools"] = ([str(binary), "run"], trivial)
        if prepared.returncode == 0:
            cases[f"{binary}: run, built-in tools"] = ([str(binary), "run"], builtin)
    for argv, env in cases.values():
        timed(argv, env)  # warm caches and checkpoints
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, (argv, env) in cases.items():
            samples[name].append(timed(argv, env))
    print(
        f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; median of {args.repeat}"
    )
    for binary in binaries:
        floor = statistics.median(samples[f"{binary}: python -c pass"])
        trivial = statistics.median(samples[f"{binary}: run, trivial tools"])
        print(f"\n{binary}\n| case | median ms | ratio |\n|---|---|---|")
        print(f"| `python -c pass` | {floor * 1000:.1f} | 1.0x floor |")
        print(
            f"| `cctrack run`, trivial tools | {trivial * 1000:.1f} | {trivial / floor:.2f}x floor |"
        )
        if f"{binary}: run, built-in tools" not in samples:
            continue
        builtin = statistics.median(samples[f"{binary}: run, built-in tools"])
        print(
            f"| `cctrack run`, built-in tools | {builtin * 1000:.1f} | {builtin / trivial:.2f}x trivial-tool run |"
        )


if __name__ == "__main__":
    main()
