"""Issue 15: the numbers at the edges. Rollouts in the formats Codex writes; each case
failed on the main before the fix (an older, lower reading was exported)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from builders import nested_2026, statusline_payload, token_count, write_rollout
from conftest import Env, sample

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


def codex_textfile(env: Env, lines: list[str]) -> str:
    write_rollout(env.codex_home, NOW - timedelta(hours=1), lines, mtime=NOW - timedelta(minutes=1))
    env.vars["CCTRACK_SOURCES"] = "codex"
    result = env.run("run")
    assert "Traceback" not in result.stderr
    return env.textfile.read_text()


def test_over_the_limit_newest_line_is_exported_as_exhausted(env: Env) -> None:
    reset = NOW + timedelta(hours=2)
    text = codex_textfile(
        env,
        [
            token_count(
                NOW - timedelta(minutes=15), nested_2026((60.0, 300, reset), (40.0, 10080, None))
            ),
            token_count(
                NOW - timedelta(minutes=1), nested_2026((112.0, 300, reset), (41.0, 10080, None))
            ),
        ],
    )
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 1.0
    assert sample(text, "cctrack_codex_usage_ratio", window="weekly") == 0.41
    assert sample(text, "cctrack_codex_up") == 1


def test_windows_without_a_length_are_named_as_codex_names_them(env: Env) -> None:
    # codex-rs/tui/src/chatwidget/rate_limits.rs (openai/codex 4598532): a window without a
    # length is the "usage" limit, or "secondary usage".
    reset = NOW + timedelta(hours=3)
    text = codex_textfile(
        env,
        [
            token_count(
                NOW - timedelta(minutes=20), nested_2026((10.0, 300, reset), (5.0, 10080, None))
            ),
            token_count(
                NOW - timedelta(minutes=1), nested_2026((30.0, None, reset), (7.0, None, None))
            ),
        ],
    )
    assert sample(text, "cctrack_codex_usage_ratio", window="usage") == 0.3
    assert sample(text, "cctrack_codex_usage_ratio", window="secondary_usage") == 0.07
    # The length is unknown: no window length, no pace; the reset is still known.
    assert sample(text, "cctrack_codex_window_seconds", window="usage") is None
    assert sample(text, "cctrack_codex_pace_ratio", window="usage") is None
    assert (
        sample(text, "cctrack_codex_reset_timestamp_seconds", window="usage") == reset.timestamp()
    )


@pytest.mark.parametrize(
    ("minutes", "name"),
    [
        (285, "five_hour"),  # 5 % short of 300: Codex's TUI still says "5h"
        (315, "five_hour"),
        (284, "284_minute"),
        (1380, "daily"),
        (9576, "weekly"),
        (10584, "weekly"),
        (10585, "10585_minute"),
        (43200, "monthly"),
        (525600, "annual"),
        (120, "2_hour"),
    ],
)
def test_windows_are_named_by_length_within_codexs_tolerance(minutes: int, name: str) -> None:
    from cctrack.sources import window_name

    assert window_name(minutes) == name


def test_a_zero_placeholder_without_length_or_reset_is_not_a_reading(env: Env) -> None:
    text = codex_textfile(
        env,
        [
            token_count(
                NOW - timedelta(minutes=1), nested_2026((0.0, None, None), (12.0, 10080, None))
            ),
        ],
    )
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") is None
    assert sample(text, "cctrack_codex_usage_ratio", window="weekly") == 0.12


def test_newest_line_with_nothing_usable_fails_instead_of_falling_back(env: Env) -> None:
    reset = NOW + timedelta(hours=2)
    good = nested_2026((25.0, 300, reset), None)
    broken = nested_2026((float("nan"), 300, reset), None)
    broken_line = token_count(NOW - timedelta(minutes=1), broken).replace("NaN", '"lots"')
    text = codex_textfile(env, [token_count(NOW - timedelta(minutes=30), good), broken_line])
    assert sample(text, "cctrack_codex_up") == 0
    (record,) = env.records()
    assert not record["ok"] and "newest Codex rate-limit snapshot" in record["error"]
    assert "not a percentage" in record["error"]


def test_epoch_sized_codex_percentage_is_not_a_percentage(env: Env) -> None:
    text = codex_textfile(
        env,
        [
            token_count(
                NOW - timedelta(minutes=1),
                nested_2026((1772470800.0, 300, None), (12.0, 10080, None)),
            ),
        ],
    )
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") is None
    assert sample(text, "cctrack_codex_usage_ratio", window="weekly") == 0.12


def test_statusline_reset_as_an_iso_string_is_read(env: Env) -> None:
    reset = NOW + timedelta(hours=2)
    payload = statusline_payload((37.0, reset), None)
    payload["rate_limits"]["five_hour"]["resets_at"] = reset.isoformat()
    result = env.run("statusline", input=json.dumps(payload).encode())
    assert result.returncode == 0 and "resets in" in result.stdout
    stored = json.loads((env.data_dir / "claude-statusline.json").read_text())
    assert stored["windows"]["five_hour"]["resets_at"] == reset.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_codex_line_written_after_its_own_reset_time_is_current(env: Env) -> None:
    # Codex kept counting past resets_at (openai/codex issues of 2026: windows "kept
    # accumulating usage to 100 % instead of rolling over"); /status prints the line's
    # used_percent as it stands. A minute-old line saying 94 % is 94 %, not a reset.
    now = datetime.now(UTC).replace(microsecond=0)
    passed = now - timedelta(minutes=10)
    write_rollout(
        env.codex_home,
        now - timedelta(hours=1),
        [
            token_count(now - timedelta(minutes=30), nested_2026((90.0, 300, passed), None)),
            token_count(now - timedelta(minutes=1), nested_2026((94.0, 300, passed), None)),
        ],
        mtime=now - timedelta(minutes=1),
    )
    env.vars["CCTRACK_SOURCES"] = "codex"
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.94
    assert sample(text, "cctrack_codex_window_resets_total", window="five_hour", bucket="") == 0
    guard = env.run("guard", "--tool", "codex", "--min-left", "10")
    assert guard.returncode == 1 and "only 6 % left" in guard.stdout
    # Codex then moves the reset later: still no reset, and the move is evidence.
    later = now + timedelta(minutes=30)
    write_rollout(
        env.codex_home,
        now - timedelta(minutes=30),
        [token_count(now, nested_2026((96.0, 300, later), None))],
        mtime=now,
        session="0199a8f2-7e41-4c1e-9d7a-5e2f3b1c0a12",
    )
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.96
    assert sample(text, "cctrack_codex_window_resets_total", window="five_hour", bucket="") == 0
    assert sample(text, "cctrack_codex_reset_moves_total", window="five_hour", bucket="") == 1


def test_a_line_observed_before_its_reset_rolls_over_after_it(env: Env) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    text = codex_textfile(
        env,
        [
            token_count(
                now - timedelta(minutes=20),
                nested_2026((88.0, 300, now - timedelta(minutes=5)), None),
            )
        ],
    )
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.0
