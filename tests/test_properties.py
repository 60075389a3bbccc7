"""Property tests: the parsers never crash or misread, the arithmetic never yields NaN or infinity."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from cctrack.records import Record
from cctrack.report import MIN_ELAPSED_SHARE, elapsed_share, pace_ratio
from cctrack.sources.codex import read_rate_limits, snapshot_from_line
from cctrack.state import State
from cctrack.status import Status, Window, strict_loads

UTC = timezone.utc
moments = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)
seconds = moments.map(lambda m: m.replace(microsecond=0))
millis = moments.map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000))
ratios = st.floats(min_value=0, max_value=1, allow_nan=False)
names = st.sampled_from(
    ["five_hour", "weekly", "weekly_opus", "weekly_sonnet", "daily", "90_minute"]
)
windows = st.builds(
    Window,
    name=names,
    used_ratio=ratios,
    window_seconds=st.none() | st.integers(1, 10**7),
    resets_at=st.none() | seconds,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def records(draw: st.DrawFn) -> Record:
    source = draw(st.sampled_from(["claude", "codex"]))
    ok = draw(st.booleans())
    status = None
    if ok:
        ws = draw(st.lists(windows, min_size=1, max_size=4, unique_by=lambda w: w.name))
        status = Status(
            source,
            draw(seconds),
            draw(st.sampled_from(["rollout", "statusline", "oauth-api"])),
            tuple(sorted(ws, key=lambda w: w.name)),
            draw(st.none() | st.sampled_from(["plus", "pro", "max"])),
        )
    return Record(
        draw(st.integers(1, 2**53)),
        draw(millis),
        draw(st.text(max_size=30)),
        source,
        ok,
        status,
        None if ok else draw(st.text(min_size=1, max_size=80)),
    )


@given(records())
def test_record_round_trips_through_its_line(record: Record) -> None:
    line = record.to_line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one record, one line
    assert Record.from_json(strict_loads(line)) == record


@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_line_is_a_record_or_counted_never_a_crash(line: bytes) -> None:
    state = State()
    state.add_lines([line])
    folded = sum(t.ok_count + t.error_count for t in state.tools.values())
    assert folded + state.torn_fragments + state.invalid_lines == 1


@given(
    records(),
    st.sampled_from(["seq_no", "timestamp", "ok", "source_tool", "v", "windows", "error"]),
    json_values,
)
def test_damaged_record_is_refused_with_value_error_or_still_valid(
    record: Record, key: str, value: object
) -> None:
    obj = record.to_json()
    obj[key] = value
    try:
        parsed = Record.from_json(obj)
    except ValueError:
        return
    assert parsed.seq_no >= 1 and parsed.source_tool in ("claude", "codex")


window_specs = st.fixed_dictionaries(
    {},
    optional={
        "used_percent": st.none() | st.floats() | st.integers(-10, 10**10) | st.text(max_size=3),
        "window_minutes": st.none() | st.integers(-5, 50000) | st.floats() | st.booleans(),
        "resets_at": st.none()
        | st.integers(0, 4 * 10**9)
        | st.floats(allow_nan=False, min_value=0, max_value=4e9),
        "resets_in_seconds": st.none() | st.integers(-(10**6), 10**7),
    },
)
rate_limits = st.fixed_dictionaries(
    {},
    optional={
        "limit_id": st.none() | st.sampled_from(["codex", "codex_bengalfox", ""]),
        "primary": st.none() | window_specs,
        "secondary": st.none() | window_specs,
        "primary_used_percent": st.none() | st.floats() | st.integers(-5, 500),
        "secondary_used_percent": st.none() | st.floats(),
        "weekly_used_percent": st.none() | st.floats(),
        "primary_window_minutes": st.none() | st.integers(-5, 20000),
        "secondary_window_minutes": st.none() | st.integers(-5, 20000),
        "plan_type": st.none() | st.text(max_size=8),
    },
)


@settings(max_examples=300)
@given(rate_limits, seconds)
def test_codex_rate_limits_yield_only_sane_windows(limits: dict, line_time: datetime) -> None:
    result = read_rate_limits(limits, line_time)[0]
    assert len({w.name for w in result}) == len(result)
    for window in result:
        # A window without a length is kept, named by its slot as Codex names it.
        assert 0 <= window.used_ratio <= 1 and (
            window.window_seconds is None or window.window_seconds > 0
        )
    if limits.get("limit_id") not in (None, "codex"):
        assert result == ()


@given(
    st.binary(max_size=400)
    | st.builds(
        lambda ts, limits, kind: json.dumps(
            {
                "timestamp": ts,
                "type": kind,
                "payload": {"type": "token_count", "rate_limits": limits},
            }
        ).encode(),
        st.text(max_size=30) | millis.map(lambda m: m.isoformat()),
        json_values | rate_limits,
        st.sampled_from(["event_msg", "response_item"]),
    )
)
def test_codex_line_parser_never_crashes(line: bytes) -> None:
    snapshot = snapshot_from_line(line)
    if snapshot is not None:
        # Nothing usable in the newest line is said, never dropped in silence.
        assert snapshot.windows or snapshot.problem
        assert all(0 <= w.used_ratio <= 1 for w in snapshot.windows)


@given(ratios, st.integers(1, 10**7), seconds, st.integers(-(10**9), 10**9))
def test_pace_is_finite_and_exact_once_enough_has_elapsed(
    used: float, length: int, resets: datetime, offset: int
) -> None:
    at = resets + timedelta(seconds=offset)
    pace = pace_ratio(Window("w", used, length, resets), at)
    assert pace is not None and math.isfinite(pace) and 0 <= pace <= used / MIN_ELAPSED_SHARE
    share = elapsed_share(length, resets, at)
    assert 0 <= share <= 1
    if share >= MIN_ELAPSED_SHARE:
        assert math.isclose(pace * share, used, rel_tol=1e-9, abs_tol=1e-12)


@given(windows, seconds)
def test_pace_unknown_without_reset_or_length(window: Window, at: datetime) -> None:
    if window.resets_at is None or not window.window_seconds:
        assert pace_ratio(window, at) is None


@given(st.lists(windows, min_size=1, max_size=4), seconds, seconds)
def test_a_window_rolls_over_only_when_its_reset_passed_after_it_was_observed(
    ws: list[Window], observed: datetime, now: datetime
) -> None:
    status = Status("codex", observed, "rollout", tuple(ws)).as_of(now)
    for before, after in zip(ws, status.windows, strict=True):
        if before.resets_at is not None and observed < before.resets_at <= now:
            assert after.used_ratio == 0 and after.resets_at is None
        else:
            # Not reset yet, or observed after its own reset time: the vendor's own numbers.
            assert after == before
