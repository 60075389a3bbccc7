"""Issue 15: the numbers at the edges. Rollouts in the formats Codex writes; each case
failed on the main before the fix (an older, lower reading was exported)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

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


def test_windows_without_a_length_are_named_by_slot(env: Env) -> None:
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
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.3
    assert sample(text, "cctrack_codex_usage_ratio", window="weekly") == 0.07
    # The length is unknown: no window length, no pace; the reset is still known.
    assert sample(text, "cctrack_codex_window_seconds", window="five_hour") is None
    assert sample(text, "cctrack_codex_pace_ratio", window="five_hour") is None
    assert (
        sample(text, "cctrack_codex_reset_timestamp_seconds", window="five_hour")
        == reset.timestamp()
    )


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
