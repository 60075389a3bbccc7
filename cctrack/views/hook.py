"""`cctrack hook`: one line into the agent's context when a limit needs its attention,
nothing otherwise. Claude Code and Codex both run it on UserPromptSubmit: JSON on stdin,
and what a hook prints on exit 0 goes into the model's context.

Fast and offline: it reads the latest analysis through the one loader every reading command
starts from (views.latest.latest_report: windows rolled over at `now`, pace and run-out by
report's rules) and a small memory of the windows it saw used up, never the day files or
the network. The notices are a pure function of those and `now`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from cctrack.files import read_json, write_atomic
from cctrack.report import Report
from cctrack.settings import HookRules
from cctrack.status import qualified
from cctrack.timefmt import STALE_AFTER, within
from cctrack.views import wording
from cctrack.views.latest import latest_report

# Windows seen used up, "tool/window" -> the reset they were waiting for: the reset notice
# comes once, after the window really was exhausted.
MEMORY_FILE = "hook.json"
PREFIX = "cctrack (usage limits):"
ADVICE = (
    "Prefer finishing the current task in small, verifiable steps over starting large new work."
)


def notices(
    report: Report, rules: HookRules, now: datetime, exhausted: Mapping[str, str]
) -> tuple[list[str], dict[str, str], bool]:
    """What to tell the agent of the report's tools, the memory of used-up windows after
    it, and whether any notice asks it to wind down."""
    said: list[str] = []
    memory = dict(exhausted)
    urgent = False
    for tool in report.tools:
        who = qualified(tool.profile, tool.tool)
        observed = tool.observed_at
        if observed is not None and not within(observed, now, STALE_AFTER):
            age = wording.span((now - observed).total_seconds())
            said.append(f"{who}'s numbers are {age} old (cctrack is not capturing)")
        for w in tool.windows:
            key = f"{who}/{w.name}"
            name = f"{who} {w.name} limit"
            was = memory.get(key)
            if w.used_ratio >= 1 and w.resets_at is not None:
                memory[key] = w.resets_at.isoformat()
            elif was is not None and (w.resets_at is None or w.resets_at.isoformat() != was):
                del memory[key]
                said.append(
                    f"{name} has reset after it was used up: {wording.left(w.used_ratio)} now"
                )
            resets = wording.reset(w.resets_at, now)
            if w.used_ratio >= rules.threshold:
                urgent = True
                said.append(f"{name}: {wording.left(w.used_ratio)}, {resets}")
            elif w.runs_out is not None and w.resets_at is not None:
                urgent = True
                early = wording.span((w.resets_at - w.runs_out.at).total_seconds())
                said.append(
                    f"{name} {wording.runs_out(w.runs_out.at, now)} at the current rate, "
                    f"{early} before it {resets} ({wording.left(w.used_ratio)})"
                )
            elif (
                rules.use_it_minutes
                and w.resets_at is not None
                and (w.resets_at - now).total_seconds() <= rules.use_it_minutes * 60
                and 1 - w.used_ratio >= rules.use_it_left
            ):
                said.append(
                    f"{name} {wording.reset(w.resets_at, now)} with "
                    f"{wording.left(w.used_ratio)}: room for larger work"
                )
    return said, memory, urgent


def hook_line(
    data_dir: Path, tools: Sequence[str], profile: str, rules: HookRules, now: datetime
) -> tuple[str, str | None]:
    """The line for the agent ("" for none), and what went wrong with the hook's memory of
    used-up windows, if anything: the memory only remembers "it has reset since", so a
    memory cut short, replaced by a directory or unwritable never silences a warning.
    No analysis yet, or one that cannot be read, is nothing to say."""
    report, _ = latest_report(data_dir, tuple(tools), (profile,), now)
    problem = None
    path = data_dir / MEMORY_FILE
    try:
        before = read_json(path)
    except (OSError, ValueError) as exc:
        before, problem = None, f"its memory {path} could not be read ({exc}); started anew"
    exhausted = {str(k): str(v) for k, v in before.items()} if isinstance(before, dict) else {}
    said, memory, urgent = notices(report, rules, now, exhausted)
    if memory != exhausted or problem:
        try:
            write_atomic(path, json.dumps(memory, sort_keys=True).encode())
        except OSError as exc:
            problem = f"its memory {path} could not be written ({exc.strerror})"
    if not said:
        return "", problem
    line = " ".join([PREFIX, "; ".join(said) + ".", *([ADVICE] if urgent else [])])
    return line, problem
