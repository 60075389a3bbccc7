"""Token counters against ccusage, and against themselves switched off, in one run.

    python benchmarks/tokens.py --home benchmarks/work/tokens-500 [--repeat 5]

HOME is made by `benchmarks/generate.py --days 30 --log-mb 500 --out HOME` (Claude Code
transcripts and Codex rollouts in the formats the tools write). Measured, interleaved so
that machine noise hits all alike, wall time (median) and peak RSS (max) of whole processes:

- first scan: `cctrack capture` (trivial status tools) into an empty data directory, which
  reads every log, against `ccusage daily --json --offline` (both tools' logs) on the
  same homes;
- steady run: `cctrack run` after a minute's growth (one turn appended to one transcript
  and one rollout) with token counters on, against the same with them off; with the
  built-in status tools reading the same homes (as a user's run does), and with trivial
  status tools (shell scripts), which leave the scan nothing to hide behind.

- a long session: the same steady run, counters on, while the transcript that grows holds
  4, 32 and 128 MB (a day of tool output);
- a history of logs: the same steady run, counters on and off, in homes of a day and of a
  year of small logs (20 a day: 7,300 in 389 folders), which the full check every ten
  minutes looks at and a minute's scan need not.

With --before CHECKOUT, the first scan and the long session of that checkout too (`python
-m cctrack` with it first on PYTHONPATH, with a data directory of its own).

ccusage is the one scripts/test installs (.ccusage/, 20.0.24), or --ccusage PATH: its
`ccusage` command (a Node script that starts the native binary, what a user runs) and, when
found beside it, the native binary itself, without Node's start.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from homes import claude_turn, codex_session
from startup import TRIVIAL

ROOT = Path(__file__).resolve().parent.parent
CCTRACK = Path(sys.executable).parent / "cctrack"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of the process or any of its children."""
    start = time.perf_counter()
    # From HOME, not this checkout: `python -m` looks in its working directory first.
    proc = subprocess.Popen(
        argv, env=env, cwd=env["HOME"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {stderr[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def native_binary(ccusage: Path) -> Path | None:
    """The platform binary the ccusage command starts, in its node_modules."""
    modules = ccusage.resolve().parent
    while modules.name != "node_modules" and modules != modules.parent:
        modules = modules.parent
    found = sorted(modules.glob("@ccusage/ccusage-*/bin/ccusage"))
    return found[0] if found else None


def logs_size(home: Path) -> int:
    return sum(p.stat().st_size for p in home.rglob("*.jsonl"))


def grow(home: Path, rng: random.Random) -> None:
    """A minute's work: one more turn in the newest transcript and rollout."""
    now = datetime.now(timezone.utc)
    transcript = max((home / "claude/projects").rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    with transcript.open("a") as handle:
        handle.write("\n".join(claude_turn(rng, "bench", now, "claude-sonnet-4-5", 200)) + "\n")
    rollout = max((home / "codex/sessions").rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    with rollout.open("a") as handle:
        lines = codex_session(rng, now - timedelta(seconds=60), now, 4000, False).splitlines()
        handle.write("\n".join(lines[3:]) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steady-repeat", type=int, default=21)
    parser.add_argument("--ccusage", type=Path, default=ROOT / ".ccusage/node_modules/.bin/ccusage")
    parser.add_argument("--before", type=Path, help="another checkout, timed beside this one")
    args = parser.parse_args()
    home = args.home.resolve()
    work = Path(tempfile.mkdtemp(prefix="cctrack-tokens-"))
    tool = work / "trivial-status"
    tool.write_text(TRIVIAL)
    tool.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "CCTRACK_HOSTNAME": "bench",
        "CLAUDE_CONFIG_DIR": str(home / "claude"),
        "CODEX_HOME": str(home / "codex"),
        "CLAUDE_STATUS_PATH": f"{tool} claude",
        "CODEX_STATUS_PATH": f"{tool} codex",
        "CCTRACK_TEXTFILE_DIR": str(work / "textfile"),
    }
    (work / "textfile").mkdir()
    size = (logs_size(home / "claude"), logs_size(home / "codex"))
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, ccusage {args.ccusage}")
    print(f"logs: Claude {size[0] / 1e6:.0f} MB, Codex {size[1] / 1e6:.0f} MB")

    peers = {"ccusage daily": args.ccusage}
    native = native_binary(args.ccusage)
    if native:
        peers["ccusage native"] = native
    ours = {f"{who} capture": command for who, command in checkouts(args.before).items()}
    first: dict[str, list[tuple[float, float]]] = {name: [] for name in [*ours, *peers]}
    for i in range(args.repeat):
        data = work / f"first-{i}"
        for name, (argv, extra) in ours.items():
            run_env = {**env, **extra, "CCTRACK_DATA_DIR": str(data)}
            first[name].append(timed([*argv, "capture"], run_env))
            shutil.rmtree(data)
        for name, peer in peers.items():
            first[name].append(timed([str(peer), "daily", "--json", "--offline"], env))
    print(f"\nfirst full scan, median of {args.repeat} (peak RSS: max):")
    for name, runs in first.items():
        wall = statistics.median(w for w, _ in runs)
        print(f"  {name:<16} {wall:7.2f} s  {max(r for _, r in runs):6.1f} MiB")
    this = statistics.median(w for w, _ in first["this capture"])
    for name in peers:
        print(f"  this / {name}: {this / statistics.median(w for w, _ in first[name]):.2f}")

    # The built-in status tools read the same homes (Codex's newest rollout, Claude's
    # status-line snapshot in the data directory), as a user's run does; the trivial ones
    # leave the token scan alone with nothing to hide behind: the worst case.
    builtin = {k: v for k, v in env.items() if not k.endswith("_STATUS_PATH")}
    builtin["CCTRACK_CLAUDE_OAUTH"] = "off"
    rng = random.Random(1)
    for tools, tools_env in (("built-in status tools", builtin), ("trivial status tools", env)):
        data = work / f"steady-{tools.split()[0]}"
        shutil.copytree(home / "data", data)
        timed([str(CCTRACK), "run"], {**tools_env, "CCTRACK_DATA_DIR": str(data)})
        steady: dict[str, list[tuple[float, float]]] = {"counters on": [], "counters off": []}
        for _ in range(args.steady_repeat):
            for name, switch in (("counters on", "on"), ("counters off", "off")):
                grow(home, rng)
                run_env = {**tools_env, "CCTRACK_DATA_DIR": str(data)}
                steady[name].append(
                    timed([str(CCTRACK), "run"], {**run_env, "CCTRACK_TOKEN_COUNTERS": switch})
                )
        print(
            f"\nsteady `cctrack run`, {tools}, after a minute's growth, "
            f"median of {args.steady_repeat}:"
        )
        for name, runs in steady.items():
            wall = statistics.median(w for w, _ in runs)
            print(f"  {name:<16} {wall * 1000:7.0f} ms  {max(r for _, r in runs):6.1f} MiB")
        on = statistics.median(w for w, _ in steady["counters on"])
        off = statistics.median(w for w, _ in steady["counters off"])
        print(f"  on / off: {on / off:.2f}")
    long_session(work, env, args.before, args.steady_repeat)
    history_of_logs(work, env, args.before, args.steady_repeat)
    shutil.rmtree(work)


def checkouts(before: Path | None) -> dict[str, tuple[list[str], dict[str, str]]]:
    """This checkout's installed command, and another checkout's as `python -m cctrack`."""
    runners: dict[str, tuple[list[str], dict[str, str]]] = {"this": ([str(CCTRACK)], {})}
    if before:
        runners["before"] = ([sys.executable, "-m", "cctrack"], {"PYTHONPATH": str(before)})
    return runners


def many_logs(home: Path, days: int, rng: random.Random) -> None:
    """A day's 14 small rollouts and 6 small transcripts, for each of days up to now, each
    log and folder dated as the tools left them."""
    now = datetime.now(timezone.utc)
    for back in range(days, 0, -1):
        day = now - timedelta(days=back)
        stamp = day.timestamp()
        for _ in range(14):
            name = f"rollout-{day:%Y-%m-%dT%H-%M-%S}-{rng.getrandbits(64):016x}.jsonl"
            path = home / f"codex/sessions/{day:%Y/%m/%d}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(codex_session(rng, day, day + timedelta(minutes=5), 3000, False))
            os.utime(path, (stamp, stamp))
        for n in range(6):
            path = home / f"claude/projects/-home-u-p{n}/{rng.getrandbits(64):016x}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            turn = claude_turn(rng, path.stem, day, "claude-haiku-4-5", 200)
            path.write_text("\n".join(turn) + "\n")
            os.utime(path, (stamp, stamp))
    old = (now - timedelta(days=2)).timestamp()
    for folder in home.rglob("*"):
        if folder.is_dir():
            os.utime(folder, (old, old))


def history_of_logs(work: Path, env: dict[str, str], before: Path | None, repeat: int) -> None:
    """The steady run as the logs of a day and of a year are there to be looked at."""
    runners = checkouts(before)
    rng = random.Random(3)
    homes = {}
    for days in (1, 365):
        home = work / f"history-{days}"
        many_logs(home, days, rng)
        homes[days] = home
    print(f"\na history of logs: steady `cctrack run` after a minute's growth, median of {repeat}:")
    runs: dict[tuple[int, str, str], list[tuple[float, float]]] = {}

    def run(days: int, who: str, switch: str) -> None:
        home = homes[days]
        argv, extra = runners[who]
        grow(home, rng)
        run_env = {
            **env,
            **extra,
            "CLAUDE_CONFIG_DIR": str(home / "claude"),
            "CODEX_HOME": str(home / "codex"),
            "CCTRACK_DATA_DIR": str(home / f"data-{who}"),
            "CCTRACK_TOKEN_COUNTERS": switch,
        }
        runs.setdefault((days, who, switch), []).append(timed([*argv, "run"], run_env))

    for days in homes:
        for who in runners:
            run(days, who, "on")
    runs.clear()  # the first scans, untimed
    for _ in range(repeat):
        for days in homes:
            for who in runners:
                for switch in ("on", "off"):
                    run(days, who, switch)
    for (days, who, switch), found in runs.items():
        wall = statistics.median(w for w, _ in found)
        logs = sum(
            1 for tool in ("claude", "codex") for _ in homes[days].glob(f"{tool}/**/*.jsonl")
        )
        print(f"  {days:3} days ({logs} logs), {who}, counters {switch}: {wall * 1000:5.0f} ms")


def long_session(work: Path, env: dict[str, str], before: Path | None, repeat: int) -> None:
    """The steady run while one transcript that grows each minute holds more and more."""
    runners = checkouts(before)
    rng = random.Random(2)
    print(f"\na long session: steady `cctrack run`, counters on, median of {repeat}:")
    for megabytes in (4, 32, 128):
        home = work / f"long-{megabytes}"
        transcript = home / "claude/projects/-home-u-project/long.jsonl"
        transcript.parent.mkdir(parents=True)
        (home / "codex").mkdir()
        start = datetime.now(timezone.utc) - timedelta(hours=8)
        with transcript.open("w") as handle:
            while handle.tell() < megabytes << 20:
                start += timedelta(seconds=10)
                handle.write("\n".join(claude_turn(rng, "long", start, "claude-opus-4-5", 20000)))
                handle.write("\n")
        homes = {
            **env,
            "CLAUDE_CONFIG_DIR": str(home / "claude"),
            "CODEX_HOME": str(home / "codex"),
        }
        runs: dict[str, list[tuple[float, float]]] = {}
        for who, (argv, extra) in runners.items():
            runs[who] = []
            data = {"CCTRACK_DATA_DIR": str(home / f"data-{who}"), **extra}
            timed([*argv, "run"], {**homes, **data})
        for _ in range(repeat):
            for who, (argv, extra) in runners.items():
                with transcript.open("a") as handle:
                    now = datetime.now(timezone.utc)
                    handle.write("\n".join(claude_turn(rng, "long", now, "claude-opus-4-5", 200)))
                    handle.write("\n")
                data = {"CCTRACK_DATA_DIR": str(home / f"data-{who}"), **extra}
                runs[who].append(timed([*argv, "run"], {**homes, **data}))
        line = ", ".join(
            f"{who} {statistics.median(w for w, _ in found) * 1000:.0f} ms"
            for who, found in runs.items()
        )
        print(f"  {transcript.stat().st_size / 1e6:5.0f} MB transcript: {line}")


if __name__ == "__main__":
    main()
