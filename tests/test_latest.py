"""views/latest.py: the one loader. Every reading command reads latest.json, the report
analyze wrote, at its own `now`; what each view says from it is what it would say from the
state itself (report.build_report at that `now`), before and after each kind of reset,
for every detail a vendor reports; and what is not latest.json is no analysis."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import Env

from cctrack import checkpoint
from cctrack.report import Report, build_report
from cctrack.settings import HookRules
from cctrack.timefmt import parse_time
from cctrack.tokens.projects import ProjectNaming
from cctrack.views import desk, hook, show
from cctrack.views.latest import LATEST_FILE, latest_report, report_json

UTC = timezone.utc
SOURCES = ("claude", "codex", "gemini")


def views(report: Report, now: datetime) -> list[str]:
    """Everything the reading commands say of a report: show (text and JSON), each bar
    format, the guard of each window, the hook's notices."""
    said = [show.format_report(report, report.analyzed_at)]
    said.append(json.dumps(report_json(report, report.analyzed_at), sort_keys=True))
    said += [desk.bar(report, now, SOURCES, fmt, "default") for fmt in desk.FORMATS]
    for tool in report.tools:
        for window in ("five_hour", "weekly"):
            said.append(desk.guard(report, now, tool.tool, window, 10.0, None, False).message)
    said.append(repr(hook.notices(report, HookRules(use_it_minutes=600), now, {})))
    return said


@pytest.mark.parametrize(
    "later",
    [
        timedelta(0),
        timedelta(minutes=30),  # later, before any reset: ages, countdowns, pace words
        timedelta(hours=2, minutes=1),  # past the five-hour resets; buckets over an hour old
        timedelta(days=3, minutes=1),  # past the weekly ones' and the spend limits'
        timedelta(days=1),  # another local day: no tokens counted today yet
    ],
)
def test_every_view_says_from_latest_json_what_it_says_from_the_state(
    env: Env, later: timedelta
) -> None:
    env.use_fixed_tools(details=True)
    env.use_agent()
    env.write_token_logs()
    env.vars.update(CCTRACK_TOKEN_PROJECTS="3", CCTRACK_SOURCES=",".join(SOURCES))
    assert env.run("run").returncode == 0
    analysed = json.loads((env.data_dir / LATEST_FILE).read_text())
    now = datetime.fromisoformat(analysed["now"].replace("Z", "+00:00")) + later
    stored, missing = checkpoint.load(env.data_dir)
    assert missing is None
    built = build_report(stored.state, now, SOURCES, naming=ProjectNaming(3))
    loaded, why = latest_report(env.data_dir, SOURCES, ("default",), now)
    assert why is None
    if later < timedelta(days=1) or now.astimezone().date() == built.generated_at.date():
        for said, expected in zip(views(loaded, now), views(built, now), strict=True):
            if said.startswith("{") and "analyzed_at" in said:
                # The checkpoint keeps the analysis's time to the millisecond, latest.json
                # to the microsecond: the same analysis.
                said, expected = json.loads(said), json.loads(expected)
                # (A time on a whole second is written without its fraction.)
                moments = (parse_time(d.pop("analyzed_at")) for d in (said, expected))
                assert (
                    len({m.replace(microsecond=m.microsecond // 1000 * 1000) for m in moments}) == 1
                )
                age = said.pop("analysis_age_seconds") - expected.pop("analysis_age_seconds")
                assert abs(age) <= 0.0011
            assert said == expected
    else:
        assert all(t.tokens is None or t.tokens.today == 0 for t in loaded.tools)


@pytest.mark.parametrize(
    "content,why",
    [
        (None, "no analysis yet"),
        ("{not json", "unreadable (JSONDecodeError)"),
        ("[1]", "unreadable (ValueError)"),
        ('{"version": 2}', "unreadable (ValueError)"),
        ('{"version": 1, "now": "2026-12-05T00:00:00Z"}', "unreadable (KeyError)"),
    ],
)
def test_what_is_not_latest_json_is_no_analysis(env: Env, content: str | None, why: str) -> None:
    env.data_dir.mkdir(parents=True)
    if content is not None:
        (env.data_dir / LATEST_FILE).write_text(content)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    report, missing = latest_report(env.data_dir, ("codex",), ("default",), now)
    assert missing is not None and why in missing
    (tool,) = report.tools
    assert (tool.tool, tool.up, tool.windows, tool.last_capture) == ("codex", False, (), None)


def test_two_limits_of_one_kind_both_come_back(env: Env) -> None:
    """Two groups' shared limits: latest.json keeps each (the second under kind/group)."""
    from cctrack.report import ToolReport
    from cctrack.status import SpendLimit
    from cctrack.views.latest import latest_json

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    resets = now + timedelta(days=3)
    spend = (
        SpendLimit("group_shared", 0.4, resets, 400, 1000, "credits", "Platform team", True),
        SpendLimit("group_shared", 0.1, resets, 10, 100, "credits", "Data", False),
        SpendLimit("individual", 0.2, resets),
    )
    tool = ToolReport("codex", True, 1, 0, now, None, now, now, "app-server", None, (), spend=spend)
    env.data_dir.mkdir(parents=True)
    written = latest_json(Report(now, now, (tool,), 0, 0))
    assert list(written["tools"]["codex"]["spend"]) == [
        "group_shared",
        "group_shared/Data",
        "individual",
    ]
    (env.data_dir / LATEST_FILE).write_text(json.dumps(written))
    report, _ = latest_report(env.data_dir, ("codex",), ("default",), now)
    assert report.tools[0].spend == spend
