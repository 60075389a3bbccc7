"""The commands people wait on, against the floors, in one interleaved run.

    python benchmarks/desk.py [--repeat 31] [--before CHECKOUT]

Times whole processes, median of --repeat runs, interleaved so that machine noise hits all
alike: `python -c pass` and `python -c 'import typer'` with the same interpreter (the
floors), then `cctrack statusline` (Claude Code's payload on stdin), `cctrack hook` (its
UserPromptSubmit JSON), `cctrack bar`, `cctrack guard` and a steady `cctrack run` (trivial
status tools: shell scripts printing a fixed status) on the bundled demo's data, in a home
logged in to Claude Code as its users' are (a `.claude.json` of 230 KB naming the
account, which the status line reads when it changes); the status line again in a home
whose `.claude.json` is 5 MB (200 projects' histories, as heavy users' grow). With
--before, the same commands of another checkout (`python -m cctrack` with that checkout
first on PYTHONPATH, as this one is run the same way beside it) in the same run. Nothing
touches the network.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkouts import check_imports

TRIVIAL = """#!/bin/sh
printf '{"source_tool":"%s","observed_at":"%s","origin":"test","windows":{"five_hour":{"used_ratio":0.25,"window_seconds":18000}}}\\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
"""
HOOK_INPUT = {"hook_event_name": "UserPromptSubmit", "prompt": "go on", "session_id": "s"}


def write_claude_json(path: Path, projects: int = 40, prompts: int = 20) -> None:
    """A logged-in user's `~/.claude.json`: the account, and the history Claude Code keeps
    of each project, which is most of its size. Written a project at a time: the children
    timed here start from this process, and their peak RSS counts what it held then."""
    history = [{"display": "x" * 200, "pastedContents": {}} for _ in range(prompts)]
    project = {"allowedTools": [], "history": history, "mcpServers": {}, "lastCost": 1.23}
    head = {
        "numStartups": 412,
        "tipsHistory": {f"tip-{i}": i for i in range(60)},
        "oauthAccount": {"accountUuid": "3f0c2a9e-1b7d-4c55-9a0e-6d2f4b8e1c77"},
    }
    with path.open("w") as out:
        out.write(json.dumps(head, indent=2)[:-2] + ',\n  "projects": {')
        for i in range(projects):
            text = json.dumps(project, indent=2).replace("\n", "\n    ")
            out.write(f'{"," if i else ""}\n    "/home/someone/src/project{i}": {text}')
        out.write("\n  }\n}\n")


def statusline_input() -> bytes:
    """What Claude Code pipes into its status line, with its rate limits."""
    soon = datetime.now(timezone.utc) + timedelta(hours=2)
    later = datetime.now(timezone.utc) + timedelta(days=3)
    return json.dumps(
        {
            "session_id": "s",
            "model": {"id": "claude-opus-4-5", "display_name": "Opus"},
            "workspace": {"current_dir": "/tmp"},
            "rate_limits": {
                "five_hour": {"used_percentage": 42, "resets_at": int(soon.timestamp())},
                "seven_day": {"used_percentage": 13, "resets_at": int(later.timestamp())},
            },
        }
    ).encode()


def timed(argv: list[str], env: dict[str, str], stdin: bytes) -> tuple[float, float]:
    """Wall seconds and the child's peak RSS in MiB (wait4). It runs in HOME: `python -m`
    puts the working directory first on the path, and a checkout there would be imported
    instead of PYTHONPATH's."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv,
        env=env,
        cwd=env["HOME"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdin is not None
    child.stdin.write(stdin)
    child.stdin.close()
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped here
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="cctrack-desk-"))
    tool = work / "trivial-status"
    tool.write_text(TRIVIAL)
    tool.chmod(0o755)
    write_claude_json(work / ".claude.json")
    big = work / "big"
    big.mkdir()
    write_claude_json(big / ".claude.json", projects=200, prompts=100)
    base = {"PATH": os.environ["PATH"], "HOME": str(work), "LANG": "C.UTF-8", "NO_COLOR": "1"}
    here = Path(__file__).resolve().parent.parent
    runners = {"this": ([str(Path(python).parent / "cctrack")], {})}
    if args.before:
        runners["this, -m"] = ([python, "-m", "cctrack"], {"PYTHONPATH": str(here)})
        runners["before, -m"] = ([python, "-m", "cctrack"], {"PYTHONPATH": str(args.before)})
    cases: dict[str, tuple[list[str], dict[str, str], bytes]] = {
        "python -c pass": ([python, "-c", "pass"], base, b""),
        "python -c 'import typer'": ([python, "-c", "import typer"], base, b""),
    }
    for index, (who, (prefix, extra)) in enumerate(runners.items()):
        data = work / f"demo{index}"
        env = {
            **base,
            **extra,
            "CCTRACK_DATA_DIR": str(data),
            "CCTRACK_TEXTFILE_DIR": str(work / f"t{index}"),
            "CCTRACK_SOURCES": "claude,codex",
        }
        (work / f"t{index}").mkdir()
        check_imports(Path(extra.get("PYTHONPATH", here)), env, work)
        subprocess.run(
            [*prefix, "run", "--demo"], env=env, cwd=work, capture_output=True, check=True
        )
        steady = {
            **env,
            "CLAUDE_STATUS_PATH": f"{tool} claude",
            "CODEX_STATUS_PATH": f"{tool} codex",
        }
        cases[f"{who}: statusline"] = ([*prefix, "statusline"], env, statusline_input())
        # Its own home and data directory: the account is remembered per data directory.
        heavy = {**env, "HOME": str(big), "CCTRACK_DATA_DIR": str(work / f"big{index}")}
        subprocess.run(
            [*prefix, "run", "--demo"], env=heavy, cwd=big, capture_output=True, check=True
        )
        cases[f"{who}: statusline, 5 MB .claude.json"] = (
            [*prefix, "statusline"],
            heavy,
            statusline_input(),
        )
        cases[f"{who}: hook"] = ([*prefix, "hook"], env, json.dumps(HOOK_INPUT).encode())
        cases[f"{who}: bar"] = ([*prefix, "bar"], env, b"")
        cases[f"{who}: guard"] = ([*prefix, "guard", "--fail-open"], env, b"")
        cases[f"{who}: run (steady)"] = ([*prefix, "run"], steady, b"")
    for argv, env, stdin in cases.values():
        timed(argv, env, stdin)  # warm caches and checkpoints
    walls: dict[str, list[float]] = {name: [] for name in cases}
    peaks: dict[str, float] = dict.fromkeys(cases, 0.0)
    for _ in range(args.repeat):
        for name, (argv, env, stdin) in cases.items():
            wall, rss = timed(argv, env, stdin)
            walls[name].append(wall)
            peaks[name] = max(peaks[name], rss)
    typer = statistics.median(walls["python -c 'import typer'"])
    floor = statistics.median(walls["python -c pass"])
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; median of {args.repeat}, interleaved\n"
    )
    print("| case | median ms | x `import typer` | x `python -c pass` | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for name, samples in walls.items():
        median = statistics.median(samples)
        print(
            f"| {name} | {median * 1000:.1f} | {median / typer:.2f} | {median / floor:.2f} "
            f"| {peaks[name]:.1f} |"
        )


if __name__ == "__main__":
    main()
