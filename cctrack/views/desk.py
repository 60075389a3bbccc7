"""The latest analysis, compact, for the desk: status line segments, desktop bars, and the
guard that scripts ask before a long agent run. Offline: nothing here captures anything."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cctrack.errors import EXIT_UNAVAILABLE, CctrackError
from cctrack.model import frozen
from cctrack.redact import redact
from cctrack.report import Report, ToolReport, WindowReport, runs_out, window_elapsed
from cctrack.status import DEFAULT_PROFILE, SOURCE_TOOLS, SpendLimit, Window, strict_loads
from cctrack.timefmt import STALE_AFTER, from_the_future, within
from cctrack.views import wording
from cctrack.views.latest import latest_report, runs_out_json

if TYPE_CHECKING:
    from cctrack.sources.claude.saved import SavedWindows

WRAP_TIMEOUT = 5.0

LABELS = {"five_hour": "5h", "weekly": "7d", "daily": "1d", "monthly": "30d"}
WARN, CRITICAL = 0.8, 0.95
FORMATS = ("plain", "json", "waybar", "tmux", "i3blocks")
COLOURS = {
    "ok": ("green", "#50fa7b"),
    "warn": ("yellow", "#f1fa8c"),
    "critical": ("red", "#ff5555"),
    # Nothing known: no analysis yet.
    "unknown": ("colour244", "#6272a4"),
}
# How much of a down tool's reason fits into a bar.
REASON_CHARS = 60


def reset_text(resets_at: datetime | None, now: datetime) -> str:
    return wording.reset(resets_at, now) if resets_at is not None else ""


# The share left, coloured by its level where the terminal shows colour (Claude Code renders
# a status line's ANSI colours; NO_COLOR turns them off).
ANSI = {"ok": "\x1b[32m", "warn": "\x1b[33m", "critical": "\x1b[31m"}
ANSI_RESET = "\x1b[0m"


def window_text(window: WindowReport, now: datetime, colour: bool) -> str:
    """5h 38 % left, resets in 2 h 09 m, 12 % in deficit, runs out in ~1 h 40 m: the answer
    first, a pace only when it is a deficit, the run-out time only when it comes first."""
    first, *rest = wording.answer(window, now, brief=True)
    if colour:
        first = f"{ANSI[level([window])]}{first}{ANSI_RESET}"
    return ", ".join([f"{LABELS.get(window.name, window.name)} {first}", *rest])


def age_note(observed: datetime | None, now: datetime) -> str:
    """ "" for fresh numbers; how old they are when stale; a word when they claim to be from
    the future (a clock was wrong): never passed off as current."""
    if observed is None or within(observed, now, STALE_AFTER):
        return ""
    if from_the_future(observed, now):
        return " · from the future (clock?)"
    return f" · {wording.span((now - observed).total_seconds())} old"


def spend_text(spend: SpendLimit, now: datetime) -> str:
    """spend individual 32% (resets Tue 14:00), marked when it is the limit that binds."""
    when = reset_text(spend.resets_at, now)
    binds = ", binds" if spend.binding else ""
    tail = f" ({when}{binds})" if when else (" (binds)" if binds else "")
    return f"{spend.title} {spend.used_ratio * 100:.0f}%{tail}"


def tool_segment(tool: ToolReport, now: datetime, prefix: bool, colour: bool = False) -> str:
    texts = [window_text(w, now, colour) for w in tool.windows]
    texts += [spend_text(s, now) for s in tool.spend]
    parts = " · ".join(texts) + age_note(tool.observed_at, now)
    return f"{tool.tool} {parts}" if prefix else parts


def shares(tool: ToolReport) -> list[float]:
    """Every share used the tool reports: its windows' and its spend limits'."""
    return [w.used_ratio for w in tool.windows] + [s.used_ratio for s in tool.spend]


def pick(report: Report, tools: Sequence[str], profile: str = DEFAULT_PROFILE) -> list[ToolReport]:
    """The reports of these tools in this profile that have numbers, in the order asked."""
    by_tool = {t.tool: t for t in report.tools if t.profile == profile and shares(t)}
    return [by_tool[name] for name in tools if name in by_tool]


def down(report: Report, tools: Sequence[str], profile: str = DEFAULT_PROFILE) -> list[ToolReport]:
    """The tools whose latest capture failed, with the reason, in the order asked."""
    by_tool = {t.tool: t for t in report.tools if t.profile == profile and t.last_error}
    return [by_tool[name] for name in tools if name in by_tool]


def down_text(tool: ToolReport, limit: int | None = None) -> str:
    reason = tool.last_error or "no reason recorded"
    if limit is not None and len(reason) > limit:
        reason = reason[: limit - 1] + "…"
    return f"{tool.tool} down: {reason}"


def level(windows: Sequence[WindowReport], spend: Sequence[SpendLimit] = ()) -> str:
    """ok, warn or critical, for colouring: the worst window or spend limit decides."""
    used = max([w.used_ratio for w in windows] + [s.used_ratio for s in spend], default=0.0)
    fast = any(w.pace_ratio is not None and w.pace_ratio > 1 for w in windows)
    if used >= CRITICAL:
        return "critical"
    return "warn" if used >= WARN or fast else "ok"


def bar(report: Report, now: datetime, tools: Sequence[str], fmt: str, profile: str) -> str:
    failing = down(report, tools, profile)
    # A down tool's old numbers are not shown as if current: its reason is.
    chosen = [t for t in pick(report, tools, profile) if t not in failing]
    windows = [w for tool in chosen for w in tool.windows]
    spend = [s for tool in chosen for s in tool.spend]
    text = " | ".join(
        [tool_segment(t, now, prefix=True) for t in chosen]
        + [down_text(t, REASON_CHARS) for t in failing]
    )
    text = text or "cctrack: no data yet (run `cctrack run`)"
    short = " ".join(
        [f"{t.tool} {wording.left(max(shares(t)))}" for t in chosen]
        + [f"{t.tool} down" for t in failing]
    )
    short = short or "cctrack ?"
    state = "critical" if failing else level(windows, spend) if chosen else "unknown"
    percentage = round(max((x for t in chosen for x in shares(t)), default=0.0) * 100)
    if fmt == "plain":
        return text
    if fmt == "tmux":
        return f"#[fg={COLOURS[state][0]}]{text}#[default]"
    if fmt == "i3blocks":
        return f"{text}\n{short}\n{COLOURS[state][1]}"
    if fmt == "waybar":
        # The whole answer per window, one a line: the tooltip has the room.
        tooltip = "\n".join(
            f"{t.tool} {w.name}: {', '.join(wording.answer(w, now))}"
            for t in chosen
            for w in t.windows
        )
        spent = "\n".join(f"{t.tool} {spend_text(s, now)}" for t in chosen for s in t.spend)
        tooltip = "\n".join(filter(None, [tooltip, spent, *(down_text(t) for t in failing)]))
        waybar = {"text": text, "tooltip": tooltip, "class": state, "percentage": percentage}
        return json.dumps(waybar, ensure_ascii=False)
    return json.dumps(
        {
            "version": 1,
            "text": text,
            "class": state,
            "percentage": percentage,
            "tools": {
                **{t.tool: {"up": False, "error": t.last_error} for t in failing},
                **{
                    t.tool: {
                        "up": t.up,
                        "stale": bool(age_note(t.observed_at, now)),
                        "windows": {
                            w.name: {
                                "used_ratio": w.used_ratio,
                                "pace_ratio": w.pace_ratio,
                                **runs_out_json(w.runs_out),
                                "class": level([w]),
                            }
                            for w in t.windows
                        },
                        "spend": {
                            s.name: {
                                "used_ratio": s.used_ratio,
                                "group": s.group,
                                "binding": s.binding,
                                "class": level((), (s,)),
                            }
                            for s in t.spend
                        },
                    }
                    for t in chosen
                },
            },
        },
        ensure_ascii=False,
    )


@frozen
class Verdict:
    """What guard says: its exit status and its one line."""

    code: int
    message: str


def guard(
    report: Report,
    now: datetime,
    tool: str,
    window: str,
    min_left: float,
    max_age: timedelta | None,
    fail_open: bool,
    profile: str = DEFAULT_PROFILE,
) -> Verdict:
    """Exit 0 when at least min_left percent of the window is left, 1 when not, 69 when
    that is unknown or the numbers are older than max_age (0 with fail_open)."""
    verdict = _guard(report, now, tool, window, min_left, max_age, profile)
    if verdict.code == EXIT_UNAVAILABLE and fail_open:
        return Verdict(0, f"{verdict.message}; going ahead (--fail-open)")
    return verdict


def _guard(
    report: Report,
    now: datetime,
    tool: str,
    window: str,
    min_left: float,
    max_age: timedelta | None,
    profile: str,
) -> Verdict:
    found = [t for t in report.tools if t.tool == tool and t.profile == profile]
    if found and found[0].last_error:
        # Its latest capture failed: whatever numbers there are, the reason is what to say.
        return Verdict(EXIT_UNAVAILABLE, down_text(found[0]))
    if not found or found[0].observed_at is None:
        return Verdict(EXIT_UNAVAILABLE, f"{tool}: no usage analysed yet; run `cctrack run`")
    subject = found[0]
    assert subject.observed_at is not None
    age = now - subject.observed_at
    if from_the_future(subject.observed_at, now):
        return Verdict(
            EXIT_UNAVAILABLE,
            f"{tool}: the latest numbers claim to be from {wording.span(-age.total_seconds())} "
            "ahead of this clock; is a clock wrong?",
        )
    if max_age is not None and age > max_age:
        return Verdict(
            EXIT_UNAVAILABLE,
            f"{tool}: the latest numbers are {wording.span(age.total_seconds())} old "
            f"(more than --max-age {wording.span(max_age.total_seconds())})",
        )
    match = [w for w in subject.windows if w.name == window]
    if not match:
        names = ", ".join(w.name for w in subject.windows) or "none"
        return Verdict(EXIT_UNAVAILABLE, f"{tool} reports no {window} window (it has: {names})")
    # Rounded as percentages are: 90 % used leaves 10 % (not 9.999999999999998, which read
    # "only 10 % left (less than 10 %)" at --min-left 10).
    left = round((1 - match[0].used_ratio) * 100, 6)
    resets = reset_text(match[0].resets_at, now)
    tail = f"; {resets}" if resets else ""
    words = wording.left(match[0].used_ratio)
    if left >= min_left:
        return Verdict(0, f"{tool} {window}: {words} (at least {min_left:g} %){tail}")
    return Verdict(1, f"{tool} {window}: only {words} (less than {min_left:g} %){tail}")


def parse_age(text: str) -> timedelta:
    """15m, 2h, 90s, 1d (a bare number is minutes)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    unit = value[-1] if value and value[-1] in units else "m"
    number = value[:-1] if value and value[-1] in units else value
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"not an age: {text!r} (try 15m, 2h, 1d)") from None
    if seconds < 0:
        raise ValueError(f"not an age: {text!r}")
    return timedelta(seconds=seconds)


def _as_report(saved: Window, observed_at: datetime, now: datetime) -> WindowReport:
    """A window the editor piped in, at `now`; its run-out time from the window's average
    rate (the recent slope needs the analysis's history, which a status line does not read)."""
    window = saved.as_of(now, observed_at)
    return WindowReport(
        window.name,
        window.used_ratio,
        None,
        window.window_seconds,
        window.resets_at,
        runs_out(window, observed_at),
        window_elapsed(window, observed_at),
    )


def claude_segment(
    saved: SavedWindows | None, now: datetime, prefix: bool, colour: bool = False
) -> str:
    if saved is None:
        return "cctrack: no Claude usage yet"
    windows = " · ".join(
        window_text(_as_report(w, saved.time_of(w.name), now), now, colour) for w in saved.windows
    ) + age_note(saved.observed_at, now)
    return f"claude {windows}" if prefix else windows


def wrapped(command: str, stdin: bytes) -> str:
    """The output of the user's own statusLine command, run first; "" when it fails."""
    # Only a wrapping status line runs a command: the rest start without the process module.
    from cctrack import process

    try:
        # A shell command line, which Claude Code would itself have run through a shell.
        done = process.run_shell(command, stdin, WRAP_TIMEOUT, "wrapped command")
    except process.TimedOut:
        print(
            f"cctrack statusline: wrapped command did not finish in {WRAP_TIMEOUT:g} s",
            file=sys.stderr,
        )
        return ""
    except process.ProcessFailure as exc:
        print(f"cctrack statusline: wrapped command failed: {redact(str(exc))}", file=sys.stderr)
        return ""
    return done.stdout.decode("utf-8", "replace").rstrip("\n")


def statusline(
    stdin: bytes,
    data_dir: Path,
    wrap: str | None,
    now: datetime,
    tools: Sequence[str] = SOURCE_TOOLS,
    profile: str = DEFAULT_PROFILE,
    account: str | None = None,
    colour: bool = False,
) -> str:
    """What `cctrack statusline` prints: the wrapped command's output, then Claude's segment
    (from what Claude Code just piped in, of `account`, the one logged in now) and the other
    tools' (from the latest analysis).

    Never raises: a status line must not break the editor. Problems go to stderr.
    """
    # Only the status line keeps Claude's snapshot: bar and guard, which share this module,
    # start without it.
    from cctrack.sources.claude.statusline import load_statusline, store_statusline

    lines = [wrapped(wrap, stdin)] if wrap else []
    segments = []
    prefix = len(tools) > 1
    if "claude" in tools:
        saved = None
        try:
            if not stdin.strip():
                raise CctrackError("nothing on stdin (Claude Code gives its status line JSON)")
            try:
                payload = strict_loads(stdin)
            except ValueError:
                raise CctrackError(
                    "stdin is not the JSON Claude Code gives its status line"
                ) from None
            saved = store_statusline(data_dir, payload, now, profile, account)
        except (ValueError, CctrackError, OSError) as exc:
            print(f"cctrack statusline: not stored: {redact(str(exc))}", file=sys.stderr)
        saved = saved or load_statusline(data_dir, profile, account)
        segments.append(claude_segment(saved, now, prefix, colour))
    others = [tool for tool in tools if tool != "claude"]
    if others:
        report, _ = latest_report(data_dir, tuple(others), (profile,), now)
        segments += [tool_segment(t, now, prefix, colour) for t in pick(report, others, profile)]
    lines.append(" | ".join(segments))
    return "\n".join(line for line in lines if line)
