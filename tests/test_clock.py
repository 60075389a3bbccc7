"""Hostile environments, round 2: clocks. One clock policy: nothing is deleted or pruned by a
clock that disagrees with the data, a snapshot from the future is never fresh, and a time at
the calendar's edge is a rejected value, never a traceback. Real processes under a real
wrong clock (libfaketime)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from builders import script, statusline_payload, write_credentials
from conftest import Env, FakeUsageAPI, faketime, sample

UTC = timezone.utc

ANSWER = {
    "five_hour": {"utilization": 24.0, "resets_at": "2099-01-08T06:59:59+00:00"},
    "seven_day": {"utilization": 61.0, "resets_at": "2099-01-10T00:00:00+00:00"},
}


def test_one_analyze_under_a_clock_years_ahead_deletes_and_prunes_nothing(env: Env) -> None:
    env.use_fixed_tools()
    env.write_token_logs()
    assert env.run("run").returncode == 0
    (today,) = env.data_dir.glob("usage-*.jsonl")
    old = env.data_dir / f"usage-{datetime.now(UTC) - timedelta(days=100):%Y%m%d}.jsonl"
    old.write_text(today.read_text().replace('"seq_no":1,', '"seq_no":101,', 1))
    assert env.run("analyze").returncode == 0
    tokens = sample(env.textfile.read_text(), "cctrack_claude_window_tokens", window="weekly")
    assert tokens

    wrong = env.run("analyze", **faketime("+800d"))
    assert wrong.returncode == 0, wrong.stderr
    assert old.exists() and today.exists(), "a clock 800 days ahead deleted day files"
    assert "past the retention" not in wrong.stderr

    right = env.run("analyze")
    assert right.returncode == 0
    # The per-minute token history was not pruned by the wrong clock either.
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_window_tokens", window="weekly") == tokens
    # The data's own clock still lets old files go once they are past the retention.
    assert env.run("analyze", "--retention-days", "30").returncode == 0
    assert not old.exists() and today.exists()


def test_numbers_from_the_future_are_not_fresh(env: Env, usage_api: FakeUsageAPI) -> None:
    env.vars.update(CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=usage_api.url)
    write_credentials(
        env.claude_home, "sk-ant-oat01-CLOCK-0001", datetime.now(UTC) + timedelta(days=3)
    )
    usage_api.answer(200, ANSWER)
    ahead = env.run("claude-status", **faketime("+1d"))
    assert ahead.returncode == 0, ahead.stderr
    # Back on the right clock: the answer stamped a day ahead is not "asked a minute ago".
    usage_api.answer(200, ANSWER)
    now = env.run("claude-status")
    assert now.returncode == 0, now.stderr
    assert len(usage_api.requests) == 2
    # A 429's back-off set under that clock does not hold the endpoint off for a day.
    (env.data_dir / "claude-oauth.json").unlink()
    usage_api.answer(429, {}, {"Retry-After": "0"})
    env.run("claude-status", **faketime("+1d"))
    usage_api.answer(200, ANSWER)
    assert env.run("claude-status").returncode == 0
    assert len(usage_api.requests) == 4


def test_the_guard_and_bars_do_not_take_future_numbers_for_current(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run", **faketime("+2h")).returncode == 0
    guard = env.run("guard", "--tool", "codex", "--min-left", "10")
    assert guard.returncode == 69 and "is a clock wrong?" in guard.stdout
    assert "from the future (clock?)" in env.run("bar").stdout


def test_times_at_the_calendar_edge_are_rejected_values_not_tracebacks(env: Env) -> None:
    tools = env.root / "tools"
    tools.mkdir()
    edge = script(
        tools / "edge",
        'print(\'{"source_tool": "claude", "observed_at": "9999-12-31T23:59:59-01:00", '
        '"origin": "test", "windows": {"five_hour": {"used_ratio": 0.2, '
        '"window_seconds": 1e300, "resets_at": "0001-01-01T00:00:00+01:00"}}}\')',
    )
    env.use_fixed_tools()
    env.vars["CLAUDE_STATUS_PATH"] = str(edge)
    run = env.run("run")
    assert "Traceback" not in run.stderr
    assert run.returncode == 0  # the codex tool succeeded: the edge cost only the claude one
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_up") == 0 and sample(text, "cctrack_codex_up") == 1
    assert (
        "out of range"
        in json.loads(env.run("show", "--json").stdout)["tools"]["claude"]["last_error"]
    )
    again = env.run("analyze")
    assert again.returncode == 0 and "Traceback" not in again.stderr
    # The status line always exits 0, whatever it is fed.
    payload = statusline_payload((12.0, datetime.now(UTC) + timedelta(hours=1)), None)
    payload["rate_limits"]["five_hour"]["resets_at"] = "0001-01-01T00:00:00+01:00"
    payload["rate_limits"]["seven_day"] = {"used_percentage": 5, "resets_at": 1e300}
    done = env.run("statusline", input=json.dumps(payload).encode())
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_a_window_of_1e300_seconds_is_of_unknown_length() -> None:
    from cctrack.status import Window

    window = Window.from_json("five_hour", {"used_ratio": 0.2, "window_seconds": 1e300})
    assert window.window_seconds is None and window.used_ratio == 0.2


def test_token_counts_past_64_bits_cost_one_row_and_never_the_state(env: Env) -> None:
    """A transcript may claim up to 2^53 tokens a line: sums past 64 bits must neither drop a
    record's other rows nor make the state unsaveable."""
    from cctrack.records import TokenRecord
    from cctrack.status import MAX_COUNT

    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    (day,) = env.data_dir.glob("usage-*.jsonl")
    now_minute = int(datetime.now(UTC).timestamp()) // 60
    big = 1 << 53
    lines = []
    for part in range(1, 1100):  # 1099 records of 2^53: past 2^63 in sum
        record = TokenRecord(
            1000 + part,
            datetime.now(UTC),
            "h",
            "claude",
            "00000000aaaaaaaa",
            1,
            part,
            ((now_minute, "claude-opus-4-5", big, 1, 0, 0),),
        )
        lines.append(record.to_line())
    obj = json.loads(lines[0])
    obj["seq_no"], obj["scan"][2] = 5000, 5000
    obj["tokens"].append([now_minute, "claude-haiku-4-5", 1 << 63, 0, 0, 0])
    lines.append(json.dumps(obj).encode() + b"\n")
    with day.open("ab") as handle:
        handle.writelines(lines)
    (env.data_dir / "seq").write_text("6000\n")
    for _ in range(2):
        done = env.run("analyze")
        assert done.returncode == 0 and "Integer exceeds" not in done.stderr, done.stderr
    text = env.textfile.read_text()
    assert (
        sample(text, "cctrack_claude_tokens_total", model="claude-opus-4-5", type="input")
        == MAX_COUNT
    )
    assert (
        sample(text, "cctrack_claude_tokens_total", model="claude-opus-4-5", type="output") == 1100
    )
    assert (
        sample(text, "cctrack_claude_tokens_total", model="claude-haiku-4-5", type="input") is None
    )


def test_a_day_file_from_a_clock_ahead_does_not_let_a_wrong_clock_delete_history(
    env: Env,
) -> None:
    """The data's clock is the earliest of now, the newest day file's end and a day past the
    previous run: with a day file captured a year ahead, only the last rule stops an analyze
    800 days ahead from removing everything as past a 30-day retention."""
    from cctrack.retention import data_clock

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    files = ["usage-20261205.jsonl", "usage-20271205.jsonl"]
    wrong = now + timedelta(days=800)
    assert data_clock(wrong, files, now) == now + timedelta(days=1)
    assert data_clock(wrong, files, None) == datetime(2027, 12, 6, tzinfo=UTC)
    assert data_clock(now + timedelta(hours=2), files, now) == now + timedelta(hours=2)

    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    assert env.run("capture", **faketime("+365d")).returncode == 0  # a clock a year ahead
    days = sorted(env.data_dir.glob("usage-*.jsonl"))
    assert len(days) == 2
    done = env.run("analyze", "--retention-days", "30", **faketime("+800d"))
    assert done.returncode == 0, done.stderr
    assert sorted(env.data_dir.glob("usage-*.jsonl")) == days
