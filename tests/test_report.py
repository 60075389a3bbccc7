"""report.py, and the folding of state.py it reads: what the records mean at a given `now`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cctrack.records import Record
from cctrack.report import RunOut, build_report, pace_ratio, runs_out
from cctrack.state import State
from cctrack.status import Status, Window

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def line(
    seq: int,
    source: str = "codex",
    used: float | None = 0.5,
    at: datetime = T0,
    resets: datetime | None = None,
) -> bytes:
    if used is None:
        return Record(seq, at, "h", source, ok=False, error="boom").to_line()
    window = Window("five_hour", used, 18000, resets or at + timedelta(hours=2))
    return Record(
        seq, at, "h", source, ok=True, status=Status(source, at, "rollout", (window,), "plus")
    ).to_line()


def test_pace_is_measured_when_the_numbers_were_observed() -> None:
    window = Window("five_hour", 0.3, 18000, T0 + timedelta(hours=2))  # 3 of 5 hours gone at T0
    assert pace_ratio(window, T0) == pytest.approx(0.5)
    assert pace_ratio(window, T0 - timedelta(hours=3)) == pytest.approx(
        0.3 / 0.02
    )  # the floor, not infinity


FIVE_HOURS = 18000


@pytest.mark.parametrize(
    "used,resets_in,recent,expected",
    [
        # 3 of 5 hours gone, 60 % used: 0.2 an hour, the rest in 2 h, at the reset: not first.
        (0.6, timedelta(hours=2), (), None),
        # 3 of 5 hours gone, 75 % used: 0.25 an hour, the rest gone in 1 h, before the reset.
        (0.75, timedelta(hours=2), (), RunOut(T0 + timedelta(hours=1), "window")),
        # The last 30 minutes went from 50 to 75 %: 0.5 an hour, gone in 30 minutes.
        (
            0.75,
            timedelta(hours=2),
            ((T0 - timedelta(minutes=30), 0.5), (T0 - timedelta(minutes=10), 0.7)),
            RunOut(T0 + timedelta(minutes=30), "recent"),
        ),
        # Several snapshots old enough: the slope runs from the oldest (25 % fifty minutes
        # ago: 1 % a minute, gone in 25), not from the latest of them (0.5 % a minute).
        (
            0.75,
            timedelta(hours=2),
            ((T0 - timedelta(minutes=50), 0.25), (T0 - timedelta(minutes=20), 0.65)),
            RunOut(T0 + timedelta(minutes=25), "recent"),
        ),
        # Snapshots only 10 minutes apart are too close for a slope: the window's average.
        (
            0.75,
            timedelta(hours=2),
            ((T0 - timedelta(minutes=10), 0.5),),
            RunOut(T0 + timedelta(hours=1), "window"),
        ),
        # Nothing used in the last half hour: at that rate it does not run out.
        (0.75, timedelta(hours=2), ((T0 - timedelta(minutes=30), 0.75),), None),
        # Used up already, or no reset known: nothing to project.
        (1.0, timedelta(hours=2), (), None),
        (0.0, timedelta(hours=2), (), None),
    ],
)
def test_runs_out_from_the_recent_slope_else_the_windows_average(
    used: float,
    resets_in: timedelta,
    recent: tuple[tuple[datetime, float], ...],
    expected: RunOut | None,
) -> None:
    window = Window("five_hour", used, FIVE_HOURS, T0 + resets_in)
    points = [(at.timestamp(), share) for at, share in recent]
    assert runs_out(window, T0, points) == expected
    assert runs_out(Window("five_hour", used, FIVE_HOURS, None), T0, points) is None


def test_the_recent_slope_is_folded_from_the_last_hour_and_starts_over_at_a_reset() -> None:
    resets = T0 + timedelta(hours=2)
    state = State()
    # 0.2 two hours ago (too old), then 0.5 -> 0.75 over the last half hour.
    state.add_lines(
        [
            line(1, used=0.2, at=T0 - timedelta(hours=2), resets=resets),
            line(2, used=0.5, at=T0 - timedelta(minutes=30), resets=resets),
            line(3, used=0.75, at=T0, resets=resets),
        ]
    )
    (codex,) = build_report(state, T0, ("codex",)).tools
    assert codex.windows[0].runs_out == RunOut(T0 + timedelta(minutes=30), "recent")
    assert State.from_json(state.to_json()).to_json() == state.to_json()
    # A reset: the new window's first snapshots are too close for a slope.
    later = T0 + timedelta(hours=2, minutes=10)
    state.add_lines([line(4, used=0.05, at=later, resets=later + timedelta(hours=4, minutes=50))])
    (codex,) = build_report(state, later, ("codex",)).tools
    assert state.recent[("default", "codex", "five_hour", "")].points == [(later.timestamp(), 0.05)]
    # 5 % in the window's first 10 minutes: at that average, the rest goes in 3 h 10 m,
    # before the reset in 4 h 50 m.
    assert codex.windows[0].runs_out == RunOut(later + timedelta(hours=3, minutes=10), "window")


def test_report_rolls_windows_over_at_now() -> None:
    state = State()
    state.add_lines([line(1, used=0.8)])
    before = build_report(state, T0 + timedelta(hours=1))
    after = build_report(state, T0 + timedelta(hours=2, seconds=1))
    codex = {t.tool: t for t in before.tools}["codex"]
    assert codex.windows[0].used_ratio == 0.8 and codex.windows[0].resets_at is not None
    rolled = {t.tool: t for t in after.tools}["codex"].windows[0]
    assert (rolled.used_ratio, rolled.resets_at, rolled.pace_ratio) == (0.0, None, None)
    # The same report read later says the same (Report.as_of, what every reader applies).
    later = before.as_of(T0 + timedelta(hours=2, seconds=1))
    assert later.generated_at == after.generated_at
    assert {t.tool: t for t in later.tools}["codex"].windows[0] == rolled


def test_an_estimate_is_reported_as_one() -> None:
    """An agent's status tool may estimate: its report says so (the confidence label)."""
    moment = T0 + timedelta(minutes=1)
    for confidence in ("estimated", "official"):
        status = Status(
            "gemini", moment, "t", (Window("daily", 0.5, 86400, None),), confidence=confidence
        )
        state = State()
        state.add_lines([Record(1, moment, "h", "gemini", True, status).to_line()])
        (tool,) = build_report(state, moment, ("gemini",)).tools
        assert tool.confidence == confidence


def test_configured_source_without_records_is_down() -> None:
    report = build_report(State(), T0, ("claude", "codex"))
    assert [(t.tool, t.up, t.ok_count) for t in report.tools] == [
        ("claude", False, 0),
        ("codex", False, 0),
    ]


def test_latest_is_by_seq_no_and_failures_make_the_tool_down() -> None:
    state = State()
    state.add_lines([line(1, used=0.1), line(2, used=0.2), line(3, used=None)])
    codex = state.tools[("default", "codex")]
    assert (codex.ok_count, codex.error_count, codex.up, codex.last_error) == (2, 1, False, "boom")
    assert codex.last_success is not None and codex.last_success.seq_no == 2
    state.add_lines([line(4, used=0.4)])
    assert codex.up and codex.last_success.seq_no == 4


def test_incremental_folding_equals_one_replay() -> None:
    lines = [
        line(seq, source, used)
        for seq, source, used in [
            (1, "codex", 0.1),
            (2, "claude", None),
            (3, "codex", 0.3),
            (4, "claude", 0.4),
            (5, "codex", None),
        ]
    ]
    whole, parts = State(), State()
    whole.add_lines(lines)
    for one in lines:
        parts.add_lines([one])
    assert whole.to_json() == parts.to_json()


def test_latest_record_with_a_broken_status_is_invalid_and_the_one_before_wins() -> None:
    broken = line(2, used=0.9).replace(b'"used_ratio":0.9', b'"used_ratio":"lots"')
    state = State()
    state.add_lines([line(1, used=0.1), broken, b'{"v":1,"seq_no"', b'["not", "a", "record"]'])
    codex = state.tools[("default", "codex")]
    assert codex.last_success is not None and codex.last_success.seq_no == 1 and codex.up
    assert (codex.ok_count, state.invalid_lines, state.torn_fragments) == (1, 2, 1)


def test_state_survives_its_own_serialisation() -> None:
    state = State()
    state.add_lines([line(1, used=0.25), line(2, "claude", used=None)])
    state.analyzed_at = T0
    assert State.from_json(state.to_json()).to_json() == state.to_json()


def token_line(
    seq: int, rows: list[list[object]], store: str = "00000000000000aa", scan: int = 1
) -> bytes:
    from cctrack.records import TokenRecord

    record = TokenRecord(seq, T0, "h", "claude", store, scan, 0, tuple(tuple(r) for r in rows))  # type: ignore[misc]
    return record.to_line()


def test_window_tokens_count_from_the_window_start_and_per_percent_from_five_percent() -> None:
    minute = int(T0.timestamp()) // 60
    state = State()
    state.add_lines(
        [
            line(1, "claude", used=0.2, resets=T0 + timedelta(hours=2)),  # began 3 h before T0
            token_line(
                2,
                [
                    [minute - 4 * 60, "claude-sonnet-4-5", 1000, 0, 0, 0],  # before it began
                    [minute - 2 * 60, "claude-sonnet-4-5", 10, 20, 30, 40],
                    [minute - 1, "claude-future-9", 0, 0, 0, 100],
                ],
            ),
        ]
    )
    report = build_report(state, T0, ("claude",), prices={})
    (claude,) = report.tools
    assert claude.tokens is not None
    (window,) = claude.tokens.windows
    assert (window.window, window.tokens) == ("five_hour", 200)
    assert window.per_percent == pytest.approx(200 / 20)
    assert (
        dict(((m, k), n) for m, k, n in claude.tokens.totals)[("claude-sonnet-4-5", "input")]
        == 1010
    )
    assert claude.tokens.unpriced == ("claude-future-9", "claude-sonnet-4-5")

    quiet = State()
    quiet.add_lines([line(1, "claude", used=0.04), token_line(2, [[minute, "m", 1, 0, 0, 0]])])
    (tool,) = build_report(quiet, T0, ("claude",)).tools
    assert tool.tokens is not None and tool.tokens.windows[0].per_percent is None


def test_token_records_fold_once_and_a_new_store_starts_over() -> None:
    minute = int(T0.timestamp()) // 60
    rows = [[minute, "m", 5, 0, 0, 0]]
    state = State()
    state.add_lines([token_line(1, rows), token_line(2, rows), token_line(3, rows, scan=2)])
    assert state.tokens[("default", "claude")].totals == {("m", "input"): 10}
    state.add_lines([token_line(4, rows, store="00000000000000bb")])
    assert state.tokens[("default", "claude")].totals == {("m", "input"): 5}
    again = State.from_json(state.to_json())
    assert again.tokens == state.tokens


def test_the_tokens_between_two_times_whichever_way_they_are_summed() -> None:
    from cctrack.state import TokenState

    counted = TokenState("claude", minutes={m: m % 7 for m in range(1000, 1600)})
    start = datetime.fromtimestamp(1100 * 60 + 30, timezone.utc)
    for minutes in (5, 300, 10080):  # fewer minutes than held, and more
        end = start + timedelta(minutes=minutes)
        assert counted.between(start, end) == counted.since(start) - counted.since(end)


def test_a_tools_report_says_everything_its_records_said() -> None:
    """Every field of a tool's report from a known fold: counts, the latest capture and its
    error, the latest success, where the numbers came from, plan, account, the windows with
    pace and run-out, and the profiles in order."""
    from dataclasses import replace

    from cctrack.report import WindowReport

    state = State()
    window = Window("five_hour", 0.75, 18000, T0 + timedelta(hours=2))
    status = replace(Status("codex", T0, "app-server", (window,), "pro"), account="a1b2c3d4e5f6")
    state.add_lines(
        [
            Record(1, T0, "h", "codex", ok=True, status=status).to_line(),
            Record(2, T0 + timedelta(minutes=5), "h", "codex", ok=False, error="boom").to_line(),
            line(3, source="claude", used=0.2, at=T0),
        ]
    )
    report = build_report(state, T0 + timedelta(minutes=6), ("claude", "codex"))
    assert report.profiles() == ("default",)
    codex = next(t for t in report.tools if t.tool == "codex")
    assert (codex.up, codex.ok_count, codex.error_count) == (False, 1, 1)
    assert codex.last_capture == T0 + timedelta(minutes=5) and codex.last_error == "boom"
    assert codex.last_success == T0 and codex.observed_at == T0
    assert (codex.origin, codex.plan, codex.account) == ("app-server", "pro", "a1b2c3d4e5f6")
    # 3 of 5 hours gone, 75 % used: pace 1.25; gone an hour from now, before the reset.
    assert codex.windows == (
        WindowReport(
            "five_hour",
            0.75,
            pytest.approx(1.25),
            18000,
            T0 + timedelta(hours=2),
            RunOut(T0 + timedelta(hours=1), "window"),
            pytest.approx(0.6),  # three of five hours gone
        ),
    )
    claude = next(t for t in report.tools if t.tool == "claude")
    assert claude.up and claude.plan == "plus" and claude.account is None
    # A source configured without any record: down, and nothing else said of it.
    (lone,) = build_report(State(), T0, ("claude",)).tools
    assert (lone.up, lone.last_success, lone.observed_at, lone.origin) == (False, None, None, None)


def test_the_top_projects_by_tokens_then_name_and_the_rest_as_other() -> None:
    from cctrack.tokens.projects import OTHER, ProjectNaming

    naming = ProjectNaming(2)
    found = naming.top({"/a/zeta": 5, "/b/alpha": 5, "/c/beta": 9, "/d/gamma": 1, "/e/none": 0})
    # By tokens, then by name; the rest (zeta 5, gamma 1) as other; none with 0 left out.
    assert found == (("beta", 9), ("alpha", 5), (OTHER, 6))
    assert ProjectNaming(3).top({"/a/x": 2, "/b/y": 1}) == (("x", 2), ("y", 1))


def test_project_rows_add_up_to_the_totals_with_what_no_project_holds() -> None:
    """Counted before projects were (or by a line without a directory): the difference
    between a type's total and its projects' is a row of its own. A directory kept no more
    has no row (its series ended), and its count goes to no other row."""
    from cctrack.report import totals_by_project
    from cctrack.state import TokenState
    from cctrack.tokens.projects import NO_PROJECT, OTHER_PROJECTS, UNATTRIBUTED, ProjectNaming

    tokens = TokenState("claude")
    tokens.totals = {("opus", "input"): 120, ("opus", "output"): 7}
    tokens.labels = {
        ("opus", "input", "/src/a"): 60,
        ("opus", "input", OTHER_PROJECTS): 30,
        ("opus", "input", "/src/gone"): 15,
        ("opus", "input", NO_PROJECT): 2,
        ("opus", "output", "/src/a"): 7,
    }
    tokens.kept = ["/src/a"]
    rows = totals_by_project(tokens, ProjectNaming(1))
    assert rows == (
        ("opus", "input", "a", 60),
        ("opus", "input", "other", 30),
        ("opus", "input", UNATTRIBUTED, 15),
        ("opus", "output", "a", 7),
    )
    # They add up to the totals but for what the ended series holds.
    assert sum(n for *_, n in rows) == 127 - 15


def test_todays_tokens_start_at_local_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from cctrack.report import token_report
    from cctrack.state import TokenState

    monkeypatch.setenv("TZ", "Europe/Berlin")  # UTC+1 in November
    time.tzset()
    try:
        tokens = TokenState("claude")
        now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
        midnight = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # local midnight
        for moment, n in ((midnight - timedelta(minutes=1), 5), (midnight, 7), (now, 11)):
            tokens.minutes[int(moment.timestamp()) // 60] = n
        assert token_report("claude", tokens, (), {}, now).today == 18
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_report_is_of_the_profiles_and_sources_set_and_carries_what_it_was_given() -> None:
    """Each configured tool of each configured profile, in order, with its own evidence and
    week share, whatever else the state holds; the run's facts passed on as given."""
    from cctrack.cycles import CycleTracker
    from cctrack.evidence import Counts
    from cctrack.sends import PushStatus, SinkHealth

    state = State(analyzed_at=T0 - timedelta(minutes=1))
    state.add_lines([line(1), line(2, "claude")])
    state.cycles[("work", "codex")] = CycleTracker(last_weekly_per_five_hour=0.2)
    state.cycles[("default", "codex")] = CycleTracker(last_weekly_per_five_hour=0.1)
    mine, theirs = Counts(), Counts()
    mine.by_kind["drop"], theirs.by_kind["drop"] = 3, 7
    state.evidence.counts[("work", "codex", "five_hour", "")] = mine
    state.evidence.counts[("default", "codex", "five_hour", "")] = theirs
    health = SinkHealth("cctrack_push", "the Pushgateway", PushStatus())
    report = build_report(
        state, T0, ("codex",), ("usage-x.jsonl",), ("default", "work"), "alice", (health,)
    )
    assert [(t.profile, t.tool) for t in report.tools] == [("default", "codex"), ("work", "codex")]
    default, work = report.tools
    assert default.ok_count == 1 and work.ok_count == 0
    assert (default.weekly_per_five_hour, work.weekly_per_five_hour) == (0.1, 0.2)
    assert [c.by_kind["drop"] for _, _, c in work.evidence] == [3]
    assert [c.by_kind["drop"] for _, _, c in default.evidence] == [7]
    assert report.analyzed_at == T0 - timedelta(minutes=1)
    assert report.unreadable_files == ("usage-x.jsonl",)
    assert report.user == "alice" and report.sinks == (health,)
    assert build_report(State(), T0).user == ""
    # The tool's tokens priced as that tool's: Claude's cache writes at their price.
    from cctrack.records import TokenRecord
    from cctrack.state import TokenState
    from cctrack.tokens.prices import Price

    priced = State()
    priced.tokens[("default", "claude")] = tokens = TokenState("claude")
    tokens.fold(
        TokenRecord(1, T0, "h", "claude", "0123456789abcdef", 1, 0, ((5, "m", 0, 0, 1000, 0),))
    )
    price = Price("m", input=1.0, output=0, cache_write=2.0, cache_read=0)
    claude = build_report(priced, T0, ("claude",), prices={"m": price}).tools[0]
    assert claude.tokens is not None and claude.tokens.costs == (("m", pytest.approx(0.002)),)


def test_the_slope_and_the_pace_at_their_edges() -> None:
    from cctrack.report import MIN_SLOPE_SPAN

    window = Window("five_hour", 0.75, 18000, T0 + timedelta(hours=2))
    # A snapshot exactly MIN_SLOPE_SPAN old is old enough for a slope: 0.25 in 15 minutes,
    # the rest in 15 more.
    oldest = (T0 - MIN_SLOPE_SPAN).timestamp()
    assert runs_out(window, T0, ((oldest, 0.5),)) == RunOut(T0 + MIN_SLOPE_SPAN, "recent")
    # Numbers observed past their own reset (Codex counts on): the whole window has passed.
    late = Window("five_hour", 0.5, 18000, T0 - timedelta(hours=1))
    assert pace_ratio(late, T0) == pytest.approx(0.5)


def test_tokens_per_window_per_percent_and_today_at_their_edges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tokens since each window began (none for a window of unknown length or reset, and
    the windows after it still measured), per percent from 5 % used exactly, today from
    local midnight exactly, the cost priced as the tool's, and what no project holds named
    beside the projects."""
    import time as clock_module

    from cctrack.records import TokenRecord
    from cctrack.report import WindowReport, token_report
    from cctrack.state import TokenState
    from cctrack.tokens.prices import Price
    from cctrack.tokens.projects import ProjectNaming

    monkeypatch.setenv("TZ", "UTC")
    clock_module.tzset()
    midnight = datetime(2026, 11, 24, tzinfo=UTC)
    minute = int(midnight.timestamp()) // 60
    tokens = TokenState("claude")
    record = TokenRecord(
        1,
        T0,
        "h",
        "claude",
        "0123456789abcdef",
        1,
        0,
        (
            (minute - 1, "m", 1, 0, 0, 0),
            (minute, "m", 10, 0, 0, 0),
            (minute + 60, "m", 100, 0, 0, 0),
        ),
        # Tokens counted under no project ("") are named beside the rest no project holds.
        projects=((minute + 60, "/p", "m", 40, 0, 0, 0), (minute + 60, "", "m", 5, 0, 0, 0)),
    )
    tokens.fold(record, 1)
    windows = (
        WindowReport("unknown", 0.5, None, None, None),
        WindowReport("no_reset", 0.5, None, 86400, None),
        WindowReport("no_length", 0.5, None, None, midnight + timedelta(hours=5)),
        WindowReport("five_hour", 0.05, None, 18000, midnight + timedelta(hours=5)),
        WindowReport("weekly", 0.0499, None, 604800, midnight + timedelta(days=7)),
    )
    price = Price("m", input=1.0, output=0, cache_write=2.0, cache_read=0)
    later = T0 + timedelta(minutes=17)
    report = token_report("claude", tokens, windows, {"m": price}, later, ProjectNaming(cap=5))
    assert report.today == 110  # from 00:00 exactly, whatever the minute now
    assert [(w.window, w.tokens, w.per_percent) for w in report.windows] == [
        ("five_hour", 110, 22.0),
        ("weekly", 110, None),
    ]
    assert dict(report.windows[0].projects) == {"p": 40, "unattributed": 70}
    # Counted under no project and held by none: one row, both added.
    assert report.by_project == (("m", "input", "p", 40), ("m", "input", "unattributed", 71))
    assert report.costs == (("m", pytest.approx(111e-6)),)
    # The counters by project add up to the totals: the projects past the cap as "other",
    # what no project holds as "unattributed", every model apart.
    record = TokenRecord(
        2,
        T0,
        "h",
        "claude",
        "0123456789abcdef",
        2,
        0,
        ((minute + 61, "n", 7, 0, 0, 0), (minute + 61, "z", 4, 0, 0, 0)),
        projects=(
            (minute + 61, "/q", "m", 5, 0, 0, 0),
            (minute + 61, "/r", "m", 3, 0, 0, 0),
            (minute + 61, "/q", "n", 7, 0, 0, 0),
        ),
    )
    tokens.fold(record, 1)
    capped = token_report("claude", tokens, (), {}, T0, ProjectNaming(cap=1))
    # /p took the one place first; the later directories, /q the larger, count as other.
    assert capped.by_project == (
        ("m", "input", "other", 8),
        ("m", "input", "p", 40),
        ("m", "input", "unattributed", 63),
        ("n", "input", "other", 7),
        ("z", "input", "unattributed", 4),
    )
    assert token_report("claude", tokens, windows, {}, T0).windows[0].projects == ()
    # Claude's cache writes at Claude's price for them.
    writes = TokenState("claude")
    writes.fold(
        TokenRecord(1, T0, "h", "claude", "0123456789abcdef", 1, 0, ((minute, "m", 0, 0, 1000, 0),))
    )
    assert token_report("claude", writes, (), {"m": price}, T0).costs == (
        ("m", pytest.approx(0.002)),
    )
    monkeypatch.undo()
    clock_module.tzset()


def test_numbers_with_their_own_time_are_current_for_an_hour_exactly() -> None:
    from dataclasses import replace

    from cctrack.report import FIELD_TRUST
    from cctrack.status import Bucket, Extras

    def status(extras_seen: datetime) -> Status:
        weekly = Window("weekly", 0.5, 604800, T0 + timedelta(days=3))
        return replace(
            Status(
                "claude", T0, "statusline+claude-json", (Window("five_hour", 0.2, 18000, None),)
            ),
            buckets=(
                Bucket("opus", weekly, T0 - FIELD_TRUST),
                Bucket("sonnet", weekly, T0 - FIELD_TRUST - timedelta(seconds=1)),
                Bucket("haiku", weekly),
            ),
            extras=Extras(extra_usage_enabled=True, observed_at=extras_seen),
        )

    def report_of(extras_seen: datetime):  # type: ignore[no-untyped-def]
        state = State()
        state.add_lines(
            [Record(1, T0, "h", "claude", ok=True, status=status(extras_seen)).to_line()]
        )
        return build_report(state, T0, ("claude",)).tools[0]

    tool = report_of(T0 - FIELD_TRUST)
    assert [b.name for b in tool.buckets] == ["opus", "haiku"]
    assert [b.name for b in tool.old_buckets] == ["sonnet"]
    assert tool.extras is not None and tool.old_extras is None
    old = report_of(T0 - FIELD_TRUST - timedelta(seconds=1))
    assert old.extras is None and old.old_extras is not None
    assert old.old_extras.extra_usage_enabled is True
