"""wording.py: one way of saying a window's numbers, at its edges."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cctrack.report import RunOut, WindowReport
from cctrack.status import Extras
from cctrack.timefmt import NEAR, clock
from cctrack.views import wording

UTC = timezone.utc
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_spans_as_a_person_reads_them() -> None:
    assert wording.span(0) == "0 s"
    assert wording.span(59.9) == "59 s"
    assert wording.span(60) == "1 m"
    assert wording.span(3599) == "59 m"
    assert wording.span(3600) == "1 h 00 m"
    assert wording.span(7740) == "2 h 09 m"
    assert wording.span(86399) == "23 h 59 m"
    assert wording.span(86400) == "1 d 0 h"
    assert wording.span(2 * 86400 + 3 * 3600 + 59) == "2 d 3 h"
    assert wording.span(-5) == "0 s"


def test_what_is_left_never_below_nothing() -> None:
    assert wording.left(0.38) == "62 % left"
    assert wording.left(0.9) == "10 % left"  # 0.9 is 9.999… % left in floats
    assert wording.left(0) == "100 % left"
    assert wording.left(1.03) == "0 % left"


def test_a_reset_near_counts_down_and_far_is_a_day_and_time() -> None:
    assert wording.reset(NOW + timedelta(hours=2, minutes=9), NOW) == "resets in 2 h 09 m"
    assert wording.reset(NOW + NEAR - timedelta(seconds=1), NOW) == "resets in 23 h 59 m"
    assert wording.reset(NOW + NEAR, NOW) == f"resets {clock(NOW + NEAR, NOW)}"
    assert wording.reset(None, NOW) == "reset unknown"
    # Observed after its own reset: Codex counts on past it.
    assert wording.reset(NOW, NOW) == "reset overdue"
    assert wording.reset(NOW - timedelta(minutes=3), NOW) == "reset overdue"


def test_pace_in_words_with_a_point_or_two_either_way_on_pace() -> None:
    assert wording.pace(0.4, None) is None
    assert wording.pace(0.5, 0.5) == "on pace"
    assert wording.pace(0.519, 0.5) == "on pace"
    assert wording.pace(0.52, 0.5) == "2 % in deficit"
    assert wording.pace(0.42, 0.5) == "8 % in reserve"
    assert wording.pace(0.62, 0.5) == "12 % in deficit"


def test_a_run_out_near_far_and_already_past() -> None:
    assert wording.runs_out(NOW + timedelta(minutes=100), NOW) == "runs out in ~1 h 40 m"
    far = NOW + timedelta(days=2)
    assert wording.runs_out(far, NOW) == f"runs out {clock(far, NOW)}"
    assert wording.runs_out(NOW, NOW) == "may have run out already"
    assert wording.ago(NOW - timedelta(minutes=3), NOW) == "3 m ago"
    assert wording.ago(None, NOW) == "never"


def test_a_windows_answer_in_the_order_a_person_asks() -> None:
    window = WindowReport(
        "five_hour",
        0.62,
        1.24,
        18000,
        NOW + timedelta(hours=2),
        RunOut(NOW + timedelta(minutes=100), "recent"),
        0.5,
    )
    assert wording.answer(window, NOW) == [
        "38 % left",
        "resets in 2 h 00 m",
        "12 % in deficit",
        "runs out in ~1 h 40 m",
    ]
    calm = WindowReport("weekly", 0.3, 0.75, 604800, NOW + timedelta(days=3), None, 0.4)
    assert wording.answer(calm, NOW) == [
        "70 % left",
        f"resets {clock(NOW + timedelta(days=3), NOW)}",
        "10 % in reserve",
    ]
    # Brief (a status line): a pace that needs no action is left out.
    assert wording.answer(calm, NOW, brief=True) == wording.answer(calm, NOW)[:2]
    assert "12 % in deficit" in wording.answer(window, NOW, brief=True)
    unknown = WindowReport("fortnight", 0.1, None, None, None)
    assert wording.answer(unknown, NOW) == ["90 % left", "reset unknown"]


@pytest.mark.parametrize(
    "extras,said",
    [
        (Extras(credits_balance=112.4), ["112.40 credits left"]),
        (Extras(credits_balance=5.0, credits_unlimited=True), ["credits unlimited"]),
        (Extras(extra_usage_enabled=False, extra_usage_spent=3.0), ["extra usage off"]),
        (
            Extras(
                extra_usage_enabled=True,
                extra_usage_spent=8,
                extra_usage_monthly_limit=20,
                currency="USD",
            ),
            ["extra usage 8.00 of 20.00 USD spent"],
        ),
        (
            Extras(extra_usage_spent=8, extra_usage_monthly_limit=20),
            ["extra usage 8.00 of 20.00 spent"],
        ),
        (Extras(extra_usage_used_ratio=0.404), ["extra usage 40 % spent"]),
        (
            Extras(reset_credits_available=2, limit_reached="rate_limit_reached"),
            ["2 banked resets", "limit reached (rate_limit_reached)"],
        ),
        (Extras(reset_credits_available=0, has_credits=True), []),
        (Extras(extra_usage_enabled=True), ["extra usage on"]),
    ],
)
def test_what_the_vendor_reports_besides_limits_said_once_for_show_and_the_report(
    extras: Extras, said: list[str]
) -> None:
    assert wording.extras(extras) == said
