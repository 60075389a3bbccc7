"""notify.tool_events and desk.guard as tables: pure functions, in process, no subprocess."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cctrack.errors import EXIT_UNAVAILABLE
from cctrack.notify import tool_events
from cctrack.report import Report, ToolReport, WindowReport
from cctrack.state import ToolMemory, WindowMemory
from cctrack.views.desk import guard

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
RESET = T0 + timedelta(hours=1)


def tool(
    used: float,
    resets: datetime | None = RESET,
    up: bool = True,
    pace: float = 0.5,
    observed: datetime | None = T0,
    error: str | None = None,
) -> ToolReport:
    window = WindowReport("five_hour", used, pace, 18000, resets)
    return ToolReport("codex", up, 1, 0, T0, error, T0, observed, "rollout", "pro", (window,))


def memory(used: float, resets: datetime | None = RESET, up: bool = True) -> ToolMemory:
    return ToolMemory(up, {"five_hour": WindowMemory(used, False, resets)})


@pytest.mark.parametrize(
    ("before", "now", "after", "kinds"),
    [
        (None, T0, tool(0.5), []),
        (memory(0.5), T0, tool(0.85), ["threshold"]),
        (memory(0.5), T0, tool(0.97), ["threshold", "threshold"]),
        (memory(0.85), T0, tool(0.9), []),  # crossed before: told once
        (memory(0.5), T0, tool(0.5, pace=1.4), ["pace"]),
        # Past the reset with less used: quota is back.
        (
            memory(0.9),
            RESET + timedelta(minutes=1),
            tool(0.05, resets=RESET + timedelta(hours=5)),
            ["reset"],
        ),
        # Past the announced reset, still counting up (Codex moves it later): no reset.
        (
            memory(0.9),
            RESET + timedelta(minutes=1),
            tool(0.94, resets=RESET + timedelta(hours=1)),
            [],
        ),
        (memory(0.5), T0, tool(0.5, up=False, error="no snapshot"), ["down"]),
        (memory(0.5, up=False), T0, tool(0.5), ["up"]),
    ],
)
def test_notification_edges(
    before: ToolMemory | None, now: datetime, after: ToolReport, kinds: list[str]
) -> None:
    assert [e.kind for e in tool_events(before, after, (0.8, 0.95), now)] == kinds


def report(*tools: ToolReport) -> Report:
    return Report(T0, T0, tools, 0, 0)


@pytest.mark.parametrize(
    ("subject", "min_left", "max_age", "code", "words"),
    [
        (tool(0.42), 10, None, 0, "58 % left"),
        (tool(0.95), 10, None, 1, "only 5 % left"),
        (
            tool(0.42, observed=T0 - timedelta(hours=1)),
            10,
            timedelta(minutes=15),
            EXIT_UNAVAILABLE,
            "more than --max-age",
        ),
        (
            tool(0.42, observed=T0 + timedelta(hours=2)),
            10,
            None,
            EXIT_UNAVAILABLE,
            "is a clock wrong?",
        ),
        (
            tool(0.42, up=False, error="codex home not found"),
            10,
            None,
            EXIT_UNAVAILABLE,
            "codex down: codex home not found",
        ),
        (tool(0.42, observed=None), 10, None, EXIT_UNAVAILABLE, "no usage analysed yet"),
    ],
)
def test_guard_table(
    subject: ToolReport, min_left: float, max_age: timedelta | None, code: int, words: str
) -> None:
    verdict = guard(report(subject), T0, "codex", "five_hour", min_left, max_age, False)
    assert verdict.code == code and words in verdict.message
    if code == EXIT_UNAVAILABLE:
        assert guard(report(subject), T0, "codex", "five_hour", min_left, max_age, True).code == 0
