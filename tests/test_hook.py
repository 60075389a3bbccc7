"""hook.py: the line `cctrack hook` puts into the agent's context, by table, and the hook's
contract through the real command line (JSON on stdin, stdout into context, exit 0)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import Env

from cctrack.records import Record
from cctrack.report import Report, RunOut, build_report, tool_report
from cctrack.settings import HookRules
from cctrack.state import State, ToolState
from cctrack.status import Status, Window
from cctrack.views.hook import ADVICE, notices
from cctrack.views.latest import LATEST_FILE, latest_json

UTC = timezone.utc
AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CLAUDE_CODE_HOOK_INPUT = {
    "session_id": "abc123",
    "transcript_path": "/home/u/.claude/projects/p/abc123.jsonl",
    "cwd": "/home/u/src/p",
    "permission_mode": "default",
    "hook_event_name": "UserPromptSubmit",
    "prompt": "refactor the parser",
}


def stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def latest(
    windows: dict[str, tuple[float, datetime | None, datetime | None]],
    observed: datetime = AT - timedelta(minutes=2),
    tool: str = "codex",
    now: datetime = AT,
) -> Report:
    """The report the one loader gives at `now` of one capture observed at `observed`
    (windows rolled over by report's rule), each window's run-out set as given."""
    status = Status(
        tool,
        observed,
        "test",
        tuple(Window(name, used, 18000, resets) for name, (used, resets, _) in windows.items()),
    )
    state = ToolState(ok_count=1, last_success=Record(1, observed, "h", tool, True, status))
    read = tool_report(tool, state, now)
    gone = {name: at for name, (_, _, at) in windows.items()}
    rolled = tuple(
        replace(
            w,
            # A window rolled over has no run-out, whatever was projected before.
            runs_out=RunOut(gone[w.name], "window") if gone[w.name] and w.resets_at else None,
        )
        for w in read.windows
    )
    return Report(now, now, (replace(read, windows=rolled),), 0, 0)


HOURS = timedelta(hours=1)


@pytest.fixture
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for the test, so that the times said read the same anywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "windows,observed,rules,expected",
    [
        # All well: nothing at all, so the agent's context stays clean.
        ({"five_hour": (0.3, AT + HOURS, None)}, None, HookRules(), []),
        (
            {"weekly": (0.93, AT + 30 * HOURS, None)},
            None,
            HookRules(),
            ["codex weekly limit: 7 % left, resets Mon 18:00"],
        ),
        # At the threshold exactly (0.9, a common value) it speaks; a hair below, not.
        (
            {"weekly": (0.9, AT + 30 * HOURS, None)},
            None,
            HookRules(),
            ["codex weekly limit: 10 % left, resets Mon 18:00"],
        ),
        ({"weekly": (0.8999, AT + 30 * HOURS, None)}, None, HookRules(), []),
        (
            {"five_hour": (0.6, AT + 2 * HOURS, AT + HOURS / 2)},
            None,
            HookRules(),
            [
                "codex five_hour limit runs out in ~30 m at the current rate, 1 h 30 m before "
                "it resets in 2 h 00 m (40 % left)"
            ],
        ),
        # A reset that passed since the numbers were observed: rolled over, nothing to say.
        ({"five_hour": (0.97, AT - timedelta(minutes=1), None)}, None, HookRules(), []),
        # Numbers observed after their own reset (Codex counts on past it): as they stand,
        # by the same rule as every other view.
        (
            {"five_hour": (0.97, AT - HOURS, None)},
            None,
            HookRules(),
            ["codex five_hour limit: 3 % left, reset overdue"],
        ),
        (
            {"five_hour": (0.3, AT + HOURS, None)},
            AT - 2 * HOURS,
            HookRules(),
            ["codex's numbers are 2 h 00 m old (cctrack is not capturing)"],
        ),
        # Use it or lose it: off by default, said when asked for.
        ({"weekly": (0.2, AT + HOURS / 2, None)}, None, HookRules(), []),
        (
            {"weekly": (0.2, AT + HOURS / 2, None)},
            None,
            HookRules(use_it_minutes=60),
            ["codex weekly limit resets in 30 m with 80 % left: room for larger work"],
        ),
        ({"weekly": (0.6, AT + HOURS / 2, None)}, None, HookRules(use_it_minutes=60), []),
    ],
)
def test_what_the_agent_is_told(
    windows: dict[str, tuple[float, datetime | None, datetime | None]],
    observed: datetime | None,
    rules: HookRules,
    expected: list[str],
    utc_clock: None,
) -> None:
    said, memory, urgent = notices(
        latest(windows, observed or AT - timedelta(minutes=2)), rules, AT, {}
    )
    assert said == expected
    assert memory == {}
    assert urgent == any("left," in s or "runs out" in s for s in expected)


def test_a_reset_is_told_once_and_only_after_the_window_was_used_up() -> None:
    resets = AT + HOURS
    used_up = latest({"five_hour": (1.0, resets, None)})
    said, memory, _ = notices(used_up, HookRules(), AT, {})
    assert memory == {"codex/five_hour": resets.isoformat()}
    after = AT + 2 * HOURS
    fresh = latest(
        {"five_hour": (0.05, after + 4 * HOURS, None)}, after - timedelta(minutes=1), now=after
    )
    said, memory, urgent = notices(fresh, HookRules(), after, memory)
    assert said == ["codex five_hour limit has reset after it was used up: 95 % left now"]
    assert memory == {} and not urgent
    # The next prompt: nothing more to say.
    assert notices(fresh, HookRules(), after, memory)[0] == []
    # Codex moving the reset of a used-up window later is no reset.
    moved = latest({"five_hour": (1.0, resets + HOURS, None)})
    said, memory, _ = notices(moved, HookRules(), AT, {"codex/five_hour": resets.isoformat()})
    assert "has reset" not in " ".join(said)
    assert memory == {"codex/five_hour": (resets + HOURS).isoformat()}
    # A window that reset without being used up is no news.
    high = latest({"five_hour": (0.95, resets, None)})
    assert notices(fresh, HookRules(), after, {})[0] == []
    assert notices(high, HookRules(), AT, {})[1] == {}


def run_hook(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return env.run("hook", *args, input=json.dumps(CLAUDE_CODE_HOOK_INPUT).encode())


def test_the_hook_speaks_only_when_a_limit_needs_the_agent(env: Env) -> None:
    # Nothing analysed yet: silent, exit 0.
    first = run_hook(env)
    assert (first.returncode, first.stdout, first.stderr) == (0, "", "")
    env.use_fixed_tools(claude=(0.25, 0.5), codex=(0.42, 0.13))
    assert env.run("run").returncode == 0
    calm = run_hook(env)
    assert (calm.returncode, calm.stdout) == (0, "")
    env.use_fixed_tools(claude=(0.95, 0.5), codex=(0.75, 0.13))
    assert env.run("run").returncode == 0
    told = run_hook(env)
    assert told.returncode == 0 and told.stdout.count("\n") == 1, told.stdout
    line = told.stdout.strip()
    assert line.startswith("cctrack (usage limits): claude five_hour limit: 5 % left")
    assert "codex five_hour limit runs out in ~" in line and line.endswith(ADVICE)
    assert "weekly" not in line
    only = run_hook(env, "--tools", "codex")
    assert "claude" not in only.stdout and "codex five_hour" in only.stdout


@pytest.mark.parametrize("broken", ["cut short", "not an object", "another version"])
def test_a_broken_analysis_never_fails_the_editor(env: Env, broken: str) -> None:
    """The hook reads latest.json, the report analyze wrote, through the loader every
    reading command shares: one that is damaged or of another version is no analysis, and
    the hook is silent (exit 0), whatever the checkpoint beside it says."""
    env.use_fixed_tools(claude=(0.95, 0.5))
    env.vars["CCTRACK_SOURCES"] = "claude"
    assert env.run("run").returncode == 0
    path = env.data_dir / "latest.json"
    assert "claude five_hour limit: 5 % left" in run_hook(env).stdout
    good = path.read_text()
    path.write_text(
        {
            "cut short": good[: len(good) // 2],
            "not an object": "[1, 2]",
            "another version": good.replace('"version": 1', '"version": 2'),
        }[broken]
    )
    done = run_hook(env)
    assert (done.returncode, done.stdout) == (0, "")


def test_the_hook_as_claude_code_runs_it(env: Env) -> None:
    """A real process, stdin written and closed as Claude Code does, stdout read as context."""
    env.use_fixed_tools(claude=(0.95, 0.5))
    env.vars["CCTRACK_SOURCES"] = "claude"
    assert env.run("run").returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "cctrack", "hook"],
        input=json.dumps(CLAUDE_CODE_HOOK_INPUT),
        env=env.vars,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("cctrack (usage limits): claude five_hour limit: 5 % left")


@pytest.mark.parametrize("broken", ["truncated", "directory", "not an object"])
def test_the_hook_warns_whatever_state_its_memory_is_in(env: Env, broken: str) -> None:
    """A window at 95 % is told even when hook.json was cut short by a crash, became a
    directory or holds something else: the memory only remembers resets."""
    env.use_fixed_tools(claude=(0.95, 0.5))
    env.vars["CCTRACK_SOURCES"] = "claude"
    assert env.run("run").returncode == 0
    memory = env.data_dir / "hook.json"
    if broken == "truncated":
        memory.write_text('{"claude/five_hour": "2026-')
    elif broken == "directory":
        memory.mkdir()
    else:
        memory.write_text("[1, 2]")
    done = run_hook(env)
    assert done.returncode == 0
    assert "claude five_hour limit: 5 % left" in done.stdout, done.stderr
    if broken != "not an object":
        assert f"cctrack hook: its memory {memory}" in done.stderr


DEFAULT_RULES = HookRules()


def tell(report: Report, rules: HookRules = DEFAULT_RULES) -> list[str]:
    return notices(report, rules, AT, {})[0]


def test_the_words_of_each_notice_at_their_edges(utc_clock: None) -> None:
    # A reset exactly now has happened: rolled over, nothing to say.
    assert tell(latest({"five_hour": (0.97, AT, None)})) == []
    # No reset known.
    assert tell(latest({"five_hour": (0.95, None, None)})) == [
        "codex five_hour limit: 5 % left, reset unknown"
    ]
    # Stale numbers: their age to the minute.
    old = latest({"five_hour": (0.3, AT + HOURS, None)}, observed=AT - timedelta(seconds=7290))
    assert tell(old) == ["codex's numbers are 2 h 01 m old (cctrack is not capturing)"]
    # Runs out before its reset: how early, to the minute.
    early = latest({"five_hour": (0.6, AT + 2 * HOURS, AT + timedelta(minutes=29, seconds=30))})
    assert tell(early) == [
        "codex five_hour limit runs out in ~29 m at the current rate, 1 h 30 m before it "
        "resets in 2 h 00 m (40 % left)"
    ]
    # Use it or lose it, at its two edges exactly.
    rules = HookRules(use_it_minutes=60, use_it_left=0.5)
    assert tell(latest({"weekly": (0.5, AT + HOURS, None)}), rules) == [
        "codex weekly limit resets in 1 h 00 m with 50 % left: room for larger work"
    ]
    assert tell(latest({"weekly": (0.5, AT + HOURS + timedelta(seconds=30), None)}), rules) == []
    # Under an hour, still to the minute (a line for an agent, not a stopwatch).
    late = latest({"five_hour": (0.3, AT + HOURS, None)}, observed=AT - timedelta(seconds=1830))
    assert tell(late) == ["codex's numbers are 30 m old (cctrack is not capturing)"]
    soon = latest({"five_hour": (0.8, AT + HOURS, AT + timedelta(minutes=19, seconds=30))})
    assert tell(soon) == [
        "codex five_hour limit runs out in ~19 m at the current rate, 40 m before it "
        "resets in 1 h 00 m (20 % left)"
    ]


def analysed(
    data_dir: Path,
    windows: dict[str, tuple[float, datetime | None]],
    observed: datetime = AT - timedelta(minutes=2),
) -> None:
    """latest.json as analyze leaves it, analysed at `observed`: codex's last capture."""
    status = Status(
        "codex",
        observed,
        "test",
        tuple(Window(name, used, 18000, resets) for name, (used, resets) in windows.items()),
    )
    success = Record(1, observed, "h", "codex", True, status)
    state = State(tools={("default", "codex"): ToolState(ok_count=1, last_success=success)})
    report = build_report(state, observed, ("codex",))
    (data_dir / LATEST_FILE).write_text(json.dumps(latest_json(report)))


def test_the_hooks_memory_carries_a_used_up_window_to_its_reset(env: Env, utc_clock: None) -> None:
    """Through hook_line, latest.json and the memory's file: used up, then reset (to an
    unknown reset as well). hook.py's equivalent mutant: the memory's key order
    (sort_keys)."""
    from cctrack.views.hook import MEMORY_FILE, PREFIX, hook_line

    env.data_dir.mkdir(parents=True)
    analysed(env.data_dir, {"five_hour": (1.0, AT + HOURS)})
    line, problem = hook_line(env.data_dir, ("codex",), "default", HookRules(), AT)
    assert problem is None and line == (
        f"{PREFIX} codex five_hour limit: 0 % left, resets in 1 h 00 m. {ADVICE}"
    )
    remembered = json.loads((env.data_dir / MEMORY_FILE).read_text())
    assert remembered == {"codex/five_hour": (AT + HOURS).isoformat()}
    # Use that falls back below 100 % before the same reset is no reset.
    analysed(env.data_dir, {"five_hour": (0.97, AT + HOURS)})
    line, _ = hook_line(env.data_dir, ("codex",), "default", HookRules(), AT)
    assert "has reset" not in line and line.startswith(f"{PREFIX} codex five_hour limit: 3 %")
    analysed(env.data_dir, {"five_hour": (0.9, None), "weekly": (0.2, None)})
    line, _ = hook_line(env.data_dir, ("codex",), "default", HookRules(), AT)
    assert line == (
        f"{PREFIX} codex five_hour limit has reset after it was used up: 10 % left now; "
        f"codex five_hour limit: 10 % left, reset unknown. {ADVICE}"
    )
    assert json.loads((env.data_dir / MEMORY_FILE).read_text()) == {}
    # A notice that asks nothing of the agent comes without the advice.
    analysed(env.data_dir, {"five_hour": (0.1, AT + HOURS)}, AT - 3 * HOURS)
    line, _ = hook_line(env.data_dir, ("codex",), "default", HookRules(), AT)
    assert line == f"{PREFIX} codex's numbers are 3 h 00 m old (cctrack is not capturing)."
    # Only the tools and the profile asked for are read.
    assert hook_line(env.data_dir, ("claude",), "default", HookRules(), AT)[0] == ""
    assert hook_line(env.data_dir, ("codex",), "work", HookRules(), AT)[0] == ""
