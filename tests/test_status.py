"""status.py at its edges: every rule of the status object (docs/records.md) on the value
that decides it, and the message a refusal gives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cctrack import status
from cctrack.status import MAX_COUNT, MAX_WINDOW_SECONDS, Bucket, Extras, SpendLimit, Status, Window

UTC = timezone.utc
T0 = datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_counts_saturate_at_the_bound_both_ways() -> None:
    assert status.bounded(MAX_COUNT) == MAX_COUNT
    assert status.bounded(MAX_COUNT + 1) == MAX_COUNT
    assert status.bounded(-MAX_COUNT - 1) == -MAX_COUNT
    assert status.bounded(-5) == -5


def test_names_and_labels_taken_from_a_tool() -> None:
    assert status.qualified("default", "codex") == "codex"
    assert status.qualified("work", "codex") == "work/codex"
    assert status.plan_label(" Pro ") == "pro"
    assert status.plan_label("a" * 32) == "a" * 32
    assert status.plan_label("a" * 33) is None
    assert status.plan_label("pro max") is None
    assert status.plan_label(5) is None
    assert status.limit_reason(" Rate_Limit.Weekly ") == "rate_limit.weekly"
    assert status.limit_reason("a" * 65) is None
    assert status.limit_reason("a b") is None
    assert status.limit_reason(None) is None


def test_numbers_are_json_numbers_finite_and_ratios_in_range() -> None:
    assert status.is_number(1) and status.is_number(0.5)
    assert not status.is_number(True) and not status.is_number("1")
    with pytest.raises(ValueError, match=r"^x is not a number: 'a'$"):
        status.finite_number("a", "x")
    with pytest.raises(ValueError, match=r"^x is not finite$"):
        status.finite_number(float("inf"), "x")
    assert status.checked_ratio(0, "r") == 0.0
    assert status.checked_ratio(1 + status.USED_RATIO_TOLERANCE, "r") == 1.0
    assert status.checked_ratio(0.25, "r") == 0.25
    with pytest.raises(ValueError, match=r"^r 1.06 is outside 0..1$"):
        status.checked_ratio(1.06, "r")
    with pytest.raises(ValueError, match=r"^r -0.001 is outside 0..1$"):
        status.checked_ratio(-0.001, "r")
    with pytest.raises(ValueError):
        status.strict_loads("NaN")
    assert type(status.strict_loads(str(1 << 64))) is float


def test_a_window_rolls_over_only_at_a_reset_after_its_numbers_were_observed() -> None:
    window = Window("five_hour", 0.4, 18000, T0 + timedelta(hours=1))
    rolled = Window("five_hour", 0.0, 18000, None)
    assert window.as_of(T0 + timedelta(hours=1), T0) == rolled  # at the reset exactly
    assert window.as_of(T0 + timedelta(hours=2), T0) == rolled
    assert window.as_of(T0 + timedelta(minutes=59), T0) == window
    # Observed at or past its own reset: the vendor's current numbers.
    assert window.as_of(T0 + timedelta(hours=3), T0 + timedelta(hours=1)) == window
    unknown = Window("five_hour", 0.4, 18000, None)
    assert unknown.as_of(T0 + timedelta(days=9), T0) == unknown


def window_json(**fields: Any) -> dict[str, Any]:
    return {"used_ratio": 0.5, "window_seconds": 18000, "resets_at": None, **fields}


def test_a_window_from_json_at_its_edges() -> None:
    assert Window.from_json("a" * 40, window_json()).name == "a" * 40
    for name in ("a" * 41, "Five", "", 5):
        with pytest.raises(ValueError, match=rf"^bad window name {status.quote(name)}$"):
            Window.from_json(name, window_json())
    with pytest.raises(ValueError, match=r"^window w is not an object$"):
        Window.from_json("w", [])
    assert Window.from_json("w", window_json(window_seconds=None)).window_seconds is None
    assert Window.from_json("w", window_json(window_seconds=18000.9)).window_seconds == 18000
    assert Window.from_json("w", window_json(window_seconds=1)).window_seconds == 1
    at_bound = window_json(window_seconds=MAX_WINDOW_SECONDS)
    assert Window.from_json("w", at_bound).window_seconds == MAX_WINDOW_SECONDS
    past = window_json(window_seconds=MAX_WINDOW_SECONDS + 1)
    assert Window.from_json("w", past).window_seconds is None
    for seconds in (0, -1):
        with pytest.raises(ValueError, match=r"^window w window_seconds must be positive$"):
            Window.from_json("w", window_json(window_seconds=seconds))
    with pytest.raises(ValueError, match=r"^window w window_seconds is not a number"):
        Window.from_json("w", window_json(window_seconds="5h"))
    with pytest.raises(ValueError, match=r"^window w used_ratio is not a number"):
        Window.from_json("w", window_json(used_ratio=None))
    with pytest.raises(ValueError, match=r"^window w resets_at 'soon': not an RFC 3339 time$"):
        Window.from_json("w", window_json(resets_at="soon"))
    resets = Window.from_json("w", window_json(resets_at="2026-12-05T13:00:00.250+01:00"))
    assert resets.resets_at == datetime(2026, 12, 5, 12, 0, 0, 250000, tzinfo=UTC)
    assert resets.to_json() == {
        "used_ratio": 0.5,
        "window_seconds": 18000,
        "resets_at": "2026-12-05T12:00:00.250000Z",
    }
    assert Window("w", 0.5, None, None).to_json()["resets_at"] is None


def test_a_bucket_is_a_named_window() -> None:
    obj = {"bucket": "opus", "window": "seven_day", **window_json()}
    bucket = Bucket.from_json(obj)
    assert bucket == Bucket("opus", Window("seven_day", 0.5, 18000, None))
    assert bucket.to_json() == obj
    with pytest.raises(ValueError, match=r"^bucket is not an object$"):
        Bucket.from_json([])
    for name in ("Opus", "a" * 33, None):
        with pytest.raises(ValueError, match=rf"^bad bucket name {status.quote(name)}$"):
            Bucket.from_json({**obj, "bucket": name})


def spend_json(**fields: Any) -> dict[str, Any]:
    return {"limit": "individual", "used_ratio": 0.5, "resets_at": None, **fields}


def test_a_spend_limit_may_pass_100_percent_but_not_its_bound() -> None:
    for ratio in (0, 1.7, status.MAX_SPEND_RATIO):
        assert SpendLimit.from_json(spend_json(used_ratio=ratio)).used_ratio == ratio
    for ratio in (-0.01, status.MAX_SPEND_RATIO + 0.01):
        with pytest.raises(ValueError, match=r"^spend individual used_ratio .* is out of range$"):
            SpendLimit.from_json(spend_json(used_ratio=ratio))
    with pytest.raises(ValueError, match=r"^spend limit is not an object$"):
        SpendLimit.from_json(None)
    with pytest.raises(ValueError, match=r"^bad spend limit name 'Group'$"):
        SpendLimit.from_json(spend_json(limit="Group"))
    with pytest.raises(ValueError, match=r"^spend individual resets_at"):
        SpendLimit.from_json(spend_json(resets_at="later"))
    with pytest.raises(ValueError, match=r"^used is not a number"):
        SpendLimit.from_json(spend_json(used="5"))
    with pytest.raises(ValueError, match=r"^amount is not a number"):
        SpendLimit.from_json(spend_json(amount="5"))
    with pytest.raises(ValueError, match=r"^spend individual used_ratio is not a number"):
        SpendLimit.from_json(spend_json(used_ratio="5"))
    full = spend_json(used=12.5, amount=25, unit="USD", resets_at="2026-12-06T00:00:00Z")
    limit = SpendLimit.from_json(full)
    assert limit == SpendLimit(
        "individual", 0.5, datetime(2026, 12, 6, tzinfo=UTC), 12.5, 25, "USD"
    )
    assert limit.to_json() == full
    assert SpendLimit.from_json(spend_json()).to_json() == spend_json()
    assert SpendLimit.from_json(spend_json(unit="ABCDEFGHI")).unit is None
    assert SpendLimit.from_json(spend_json(unit="US D")).unit is None
    assert SpendLimit.from_json(spend_json(unit="credits")).unit == "credits"


def test_a_spend_limit_of_a_group_and_the_one_that_binds() -> None:
    shared = spend_json(limit="group_shared", group="Platform  team", binding=True)
    limit = SpendLimit.from_json(shared)
    assert (limit.group, limit.binding, limit.title) == (
        "Platform team",
        True,
        "spend group_shared (Platform team)",
    )
    assert limit.to_json() == {**shared, "group": "Platform team"}
    assert SpendLimit.from_json(spend_json()).title == "spend individual"
    for name in ("", " ", "x" * (status.MAX_GROUP_NAME + 1), "a\x1bb", 5):
        assert SpendLimit.from_json(spend_json(group=name)).group is None, name
    assert status.group_name("y" * status.MAX_GROUP_NAME) == "y" * status.MAX_GROUP_NAME
    with pytest.raises(ValueError, match=r"^binding is not true or false$"):
        SpendLimit.from_json(spend_json(binding="yes"))


def test_a_spend_limit_rolls_over_with_its_amount() -> None:
    limit = SpendLimit("individual", 0.5, T0 + timedelta(hours=1), 12.5, 25, "USD")
    rolled = limit.as_of(T0 + timedelta(hours=1), T0)
    assert rolled == SpendLimit("individual", 0.0, None, 0.0, 25, "USD")
    no_amount = SpendLimit("individual", 0.5, T0 + timedelta(hours=1))
    assert no_amount.as_of(T0 + timedelta(hours=1), T0).used is None
    assert limit.as_of(T0 + timedelta(minutes=59), T0) == limit
    assert limit.as_of(T0 + timedelta(hours=2), T0 + timedelta(hours=1)) == limit


def test_extras_each_field_checked_for_its_kind() -> None:
    full = {
        "extra_usage_enabled": True,
        "extra_usage_used_ratio": 0,
        "extra_usage_monthly_limit": 50,
        "extra_usage_spent": 12.5,
        "currency": "EUR",
        "has_credits": False,
        "credits_unlimited": False,
        "credits_balance": 3.5,
        "limit_reached": "rate_limit",
        "reset_credits_available": 0,
    }
    assert Extras.from_json(full).to_json() == full
    assert Extras.from_json({}).to_json() == {}
    with pytest.raises(ValueError, match=r"^extras is not an object$"):
        Extras.from_json("x")
    with pytest.raises(ValueError, match=r"^extra_usage_used_ratio is negative$"):
        Extras.from_json({"extra_usage_used_ratio": -0.01})
    with pytest.raises(ValueError, match=r"^has_credits is not true or false$"):
        Extras.from_json({"has_credits": 1})
    for count in (True, -1, 1.5, "2"):
        with pytest.raises(ValueError, match=r"^reset_credits_available is not a count$"):
            Extras.from_json({"reset_credits_available": count})
    for key in (
        "credits_balance",
        "extra_usage_used_ratio",
        "extra_usage_monthly_limit",
        "extra_usage_spent",
    ):
        with pytest.raises(ValueError, match=rf"^{key} is not a number"):
            Extras.from_json({key: "1"})
    for key in ("has_credits", "credits_unlimited", "extra_usage_enabled"):
        with pytest.raises(ValueError, match=rf"^{key} is not true or false$"):
            Extras.from_json({key: "yes"})
    dropped = Extras.from_json({"currency": "EURO1", "limit_reached": "Rate Limit"})
    assert dropped.currency is None and dropped.limit_reached is None
    assert Extras.from_json({"currency": "ABCDEFGHI"}).currency is None


def status_json(**fields: Any) -> dict[str, Any]:
    return {
        "source_tool": "codex",
        "observed_at": "2026-12-05T12:00:00Z",
        "origin": "app-server",
        "windows": {"weekly": window_json(window_seconds=604800), "five_hour": window_json()},
        **fields,
    }


def test_a_status_object_is_refused_with_what_is_wrong() -> None:
    refusals = {
        "status is not a JSON object": [],
        "source_tool 'Gemini' is not a tool's name": status_json(source_tool="Gemini"),
        "confidence 'guess' is not one of official, estimated": status_json(confidence="guess"),
        "bad origin 'app server'": status_json(origin="app server"),
        "local_activity_at 'soon': not an RFC 3339 time": status_json(local_activity_at="soon"),
        "plan is not a string": status_json(plan=5),
        "status has no windows": status_json(windows={}),
        "spend is not a list": status_json(spend={}),
        "buckets is not a list": status_json(buckets={}),
        "observed_at None: expected a time string": status_json(observed_at=None),
    }
    for message, obj in refusals.items():
        with pytest.raises(ValueError, match=rf"^{message}"):
            Status.from_json(obj)
    with pytest.raises(ValueError, match=r"^status has no windows$"):
        Status.from_json(status_json(windows=[]))
    with pytest.raises(ValueError, match=r"^status is for codex, expected claude$"):
        Status.from_json(status_json(), "claude")
    assert Status.from_json(status_json(), "codex").source_tool == "codex"
    assert Status.from_json(status_json(origin="a" * 40)).origin == "a" * 40
    with pytest.raises(ValueError, match=r"^bad origin"):
        Status.from_json(status_json(origin="a" * 41))


def test_a_status_object_keeps_what_is_plain_and_drops_what_is_not() -> None:
    status = Status.from_json(
        status_json(
            plan="Pro Max",
            account="Not-A-Pseudonym",
            local_activity_at="2026-12-05T11:00:00Z",
            extras={},
        )
    )
    assert status.plan is None and status.account is None and status.extras == Extras()
    assert [w.name for w in status.windows] == ["five_hour", "weekly"]  # sorted
    assert status.local_activity_at == T0 - timedelta(hours=1)
    assert Status.from_json(status_json(plan="")).plan is None
    assert Status.from_json(status_json(plan="Plus")).plan == "plus"
    assert Status.from_json(status_json(account="acct-1")).account == "acct-1"
    assert Status.from_json(status_json(local_activity_at="")).local_activity_at is None
    # A spend-controlled account without any plan window.
    spend_only = Status.from_json(status_json(windows={}, spend=[spend_json()]))
    assert spend_only.windows == () and spend_only.spend[0].name == "individual"


def test_a_status_object_round_trips_and_rolls_over_whole() -> None:
    obj = status_json(
        plan="pro",
        account="acct-1",
        buckets=[{"bucket": "spark", "window": "five_hour", **window_json()}],
        extras={"has_credits": True},
        spend=[spend_json(used=1.0)],
        local_activity_at="2026-12-05T11:00:00Z",
    )
    status = Status.from_json(obj)
    again = status.to_json()
    assert again == {**obj, "windows": dict(sorted(obj["windows"].items()))}
    assert list(again) == [
        "source_tool",
        "observed_at",
        "origin",
        "plan",
        "account",
        "windows",
        "buckets",
        "extras",
        "spend",
        "local_activity_at",
    ]
    bare = Status.from_json(status_json(extras={}))
    assert set(bare.to_json()) == {"source_tool", "observed_at", "origin", "windows"}
    reset = T0 + timedelta(hours=1)
    due = Status(
        "codex",
        T0,
        "app-server",
        (Window("five_hour", 0.5, 18000, reset),),
        buckets=(Bucket("spark", Window("five_hour", 0.5, 18000, reset)),),
        spend=(SpendLimit("individual", 0.5, reset),),
    ).as_of(reset)
    assert due.windows[0].used_ratio == 0.0
    assert due.buckets[0].window.used_ratio == 0.0
    assert due.spend[0].used_ratio == 0.0


def test_an_estimate_is_said_so_through_json_and_official_needs_no_word() -> None:
    estimated = Status.from_json(status_json(confidence="estimated"))
    assert estimated.confidence == "estimated"
    assert estimated.to_json()["confidence"] == "estimated"
    assert Status.from_json(estimated.to_json()).confidence == "estimated"
    official = Status.from_json(status_json())
    assert official.confidence == "official" and "confidence" not in official.to_json()


def test_a_status_tools_output_is_refused_with_what_is_wrong() -> None:
    import json

    assert status.parse_status_output(json.dumps(status_json()).encode(), "codex").windows
    with pytest.raises(ValueError, match=r"^output is not UTF-8$"):
        status.parse_status_output(b"\xff{}", "codex")
    with pytest.raises(ValueError, match=r"^output is not JSON \(.* at line 1\)$"):
        status.parse_status_output("{", "codex")
    with pytest.raises(ValueError, match=r"^status is for codex, expected claude$"):
        status.parse_status_output(json.dumps(status_json()), "claude")


def test_a_bucket_and_extras_keep_their_own_time_through_json() -> None:
    seen = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    obj = {
        "bucket": "opus",
        "window": "weekly",
        **window_json(),
        "observed_at": "2026-12-02T09:30:00Z",
    }
    bucket = Bucket.from_json(obj)
    assert bucket.observed_at == seen and bucket.to_json() == obj
    assert "observed_at" not in Bucket("opus", Window("weekly", 0.5, None, None)).to_json()
    with pytest.raises(ValueError, match=r"^bucket opus observed_at 'then': not an RFC 3339 time$"):
        Bucket.from_json({**obj, "observed_at": "then"})
    extras = Extras.from_json({"has_credits": True, "observed_at": "2026-12-02T09:30:00Z"})
    assert extras.observed_at == seen
    assert extras.to_json() == {"has_credits": True, "observed_at": "2026-12-02T09:30:00Z"}
    assert Extras.from_json({"has_credits": True}).observed_at is None
    with pytest.raises(ValueError, match=r"^extras observed_at 5: "):
        Extras.from_json({"has_credits": True, "observed_at": 5})
