"""Issue 13, part one: every limit the vendors report. Fixtures in the formats each source
writes, through the real command line into the textfile."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from builders import (
    fake_app_server,
    nested_2026,
    token_count,
    write_credentials,
    write_rollout,
)
from conftest import Env, FakeUsageAPI, sample

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


def run_codex(env: Env) -> str:
    env.vars["CCTRACK_SOURCES"] = "codex"
    result = env.run("run")
    assert result.returncode == 0, result.stderr
    return env.textfile.read_text()


def test_codex_per_model_limits_credits_and_reached_reason(env: Env) -> None:
    plan = nested_2026(
        (40.0, 300, NOW + timedelta(hours=2)), (20.0, 10080, NOW + timedelta(days=3))
    )
    plan["credits"] = {"has_credits": True, "unlimited": False, "balance": "12.50"}
    plan["rate_limit_reached_type"] = "workspace_member_credits_depleted"
    spark = nested_2026(
        (88.0, 300, NOW + timedelta(hours=1)),
        None,
        limit_id="codex_bengalfox",
        limit_name="GPT-5.3-Codex-Spark",
    )
    mini = nested_2026(
        (7.0, 1440, NOW + timedelta(hours=9)), None, limit_id="codex_mini_x", limit_name=None
    )
    placeholder = nested_2026((0.0, None, None), None, limit_id="codex_other", limit_name="Other")
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            token_count(NOW - timedelta(minutes=9), spark),
            token_count(NOW - timedelta(minutes=5), plan),
            token_count(NOW - timedelta(minutes=4), mini),
            token_count(NOW - timedelta(minutes=3), placeholder),
        ],
        mtime=NOW - timedelta(minutes=3),
    )
    text = run_codex(env)
    # The plan's dials are the plan's; the buckets are apart.
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.4
    assert (
        sample(text, "cctrack_codex_bucket_usage_ratio", bucket="spark", window="five_hour") == 0.88
    )
    assert sample(text, "cctrack_codex_bucket_usage_ratio", bucket="mini", window="daily") == 0.07
    assert (
        sample(
            text, "cctrack_codex_bucket_reset_timestamp_seconds", bucket="spark", window="five_hour"
        )
        == (NOW + timedelta(hours=1)).timestamp()
    )
    assert 'bucket="other"' not in text  # 0 % with neither length nor reset: a placeholder
    assert sample(text, "cctrack_codex_credits_balance") == 12.5
    assert sample(text, "cctrack_codex_credits_unlimited") == 0
    assert (
        sample(text, "cctrack_codex_limit_reached_info", reason="workspace_member_credits_depleted")
        == 1
    )
    # A reached limit is a reason, not 100 % on every dial.
    assert sample(text, "cctrack_codex_usage_ratio", window="weekly") == 0.2


def test_codex_app_server_buckets_and_banked_resets(env: Env) -> None:
    reset = int((NOW + timedelta(hours=4)).timestamp())
    answer = {
        "rateLimits": {
            "limitId": "codex",
            "planType": "pro",
            "primary": {"usedPercent": 9.0, "windowDurationMins": 300, "resetsAt": reset},
            "secondary": None,
            "credits": {"hasCredits": False, "unlimited": True, "balance": None},
        },
        "rateLimitsByLimitId": {
            "codex_bengalfox": {
                "limitId": "codex_bengalfox",
                "limitName": "Spark",
                "primary": {"usedPercent": 31.0, "windowDurationMins": 300, "resetsAt": reset},
            }
        },
        "rateLimitResetCredits": {"availableCount": 2},
    }
    bin_dir = env.root / "bin"
    fake_app_server(bin_dir, answer)
    env.vars.update(PATH=f"{bin_dir}:{env.vars['PATH']}", CCTRACK_CODEX_APP_SERVER="on")
    text = run_codex(env)
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.09
    assert (
        sample(text, "cctrack_codex_bucket_usage_ratio", bucket="spark", window="five_hour") == 0.31
    )
    assert sample(text, "cctrack_codex_reset_credits_available") == 2
    assert sample(text, "cctrack_codex_credits_unlimited") == 1


def test_claude_buckets_and_extra_usage(env: Env, usage_api: FakeUsageAPI) -> None:
    write_credentials(env.claude_home, "sk-ant-oat01-BUCKETS-0001", NOW + timedelta(hours=8))
    usage_api.answer(
        200,
        {
            "five_hour": {"utilization": 24.0, "resets_at": "2099-01-08T06:59:59+00:00"},
            "seven_day": {"utilization": 61.0, "resets_at": "2099-01-10T00:00:00+00:00"},
            "seven_day_opus": {"utilization": 83.0, "resets_at": "2099-01-10T00:00:00+00:00"},
            "seven_day_sonnet": None,
            "seven_day_oauth_apps": {"utilization": 0, "resets_at": None},
            "limits": [
                {
                    "kind": "weekly_scoped",
                    "percent": 12.0,
                    "resets_at": "2099-01-10T00:00:00Z",
                    "scope": {"model": {"display_name": "Haiku 4.5"}},
                }
            ],
            "extra_usage": {
                "is_enabled": True,
                # Cents, as the endpoint sends them: Claude Code's /usage shows "$12.50 / $50.00".
                "monthly_limit": 5000,
                "used_credits": 1250,
                "utilization": 25.0,
                "currency": "usd",
            },
        },
    )
    env.vars.update(
        CCTRACK_SOURCES="claude", CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=usage_api.url
    )
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_usage_ratio", window="weekly") == 0.61
    assert sample(text, "cctrack_claude_usage_ratio", window="weekly_opus") is None
    assert sample(text, "cctrack_claude_bucket_usage_ratio", bucket="opus", window="weekly") == 0.83
    assert (
        sample(text, "cctrack_claude_bucket_usage_ratio", bucket="haiku", window="weekly") == 0.12
    )
    assert "oauth_apps" not in text and 'bucket="sonnet"' not in text
    assert sample(text, "cctrack_claude_extra_usage_enabled") == 1
    assert sample(text, "cctrack_claude_extra_usage_used_ratio") == 0.25
    assert sample(text, "cctrack_claude_extra_usage_monthly_limit", currency="USD") == 50
    assert sample(text, "cctrack_claude_extra_usage_spent", currency="USD") == 12.5
    shown = json.loads(env.run("show", "--json").stdout)
    assert shown["tools"]["claude"]["windows"].keys() == {"five_hour", "weekly"}


def test_a_codex_bucket_from_an_older_line_keeps_its_own_time(env: Env) -> None:
    """Spark's reading comes from an earlier line of the session, older than the plan's
    snapshot it is reported beside: exported with its own time while under an hour old,
    not exported as current past that, and listed by show with its age either way."""
    from conftest import faketime

    plan = nested_2026((40.0, 300, NOW + timedelta(hours=2)), None)
    spark = nested_2026(
        (88.0, 300, NOW + timedelta(hours=3)),
        None,
        limit_id="codex_bengalfox",
        limit_name="GPT-5.3-Codex-Spark",
    )
    seen = NOW - timedelta(minutes=50)
    lines = [token_count(seen, spark), token_count(NOW - timedelta(minutes=1), plan)]
    write_rollout(env.codex_home, NOW - timedelta(hours=3), lines, mtime=NOW - timedelta(minutes=1))
    where = {"bucket": "spark", "window": "five_hour"}
    text = run_codex(env)
    assert sample(text, "cctrack_codex_bucket_usage_ratio", **where) == 0.88
    observed = sample(text, "cctrack_codex_bucket_observed_timestamp_seconds", **where)
    assert observed == seen.timestamp()
    plan_seen = sample(text, "cctrack_codex_observed_timestamp_seconds")
    assert plan_seen == (NOW - timedelta(minutes=1)).timestamp()
    # Twenty minutes later, with a fresher plan line: Spark's reading is 70 minutes old.
    later = NOW + timedelta(minutes=20)
    lines.append(token_count(later - timedelta(seconds=30), plan))
    write_rollout(env.codex_home, NOW - timedelta(hours=3), lines, mtime=later)
    assert env.run("run", **faketime("+20m")).returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_codex_bucket_usage_ratio", **where) is None
    shown = env.run("show", **faketime("+20m")).stdout
    (line,) = [x for x in shown.splitlines() if "spark (five_hour)" in x]
    assert "12 % left" in line and "1 h 10 m" in line and "not exported" in line


def test_codex_credits_are_kept_from_an_earlier_line_with_their_own_time(env: Env) -> None:
    """Codex's TUI keeps a limit's credits when a newer snapshot of it carries none; so does
    cctrack, with the time they were true, and not a reached reason from that older line."""
    older = nested_2026((30.0, 300, NOW + timedelta(hours=2)), None)
    older["credits"] = {"has_credits": True, "unlimited": False, "balance": "12.50"}
    older["rate_limit_reached_type"] = "rate_limit_reached"
    newer = nested_2026((35.0, 300, NOW + timedelta(hours=2)), None)
    newer["credits"] = None
    seen = NOW - timedelta(minutes=30)
    lines = [token_count(seen, older), token_count(NOW - timedelta(minutes=1), newer)]
    write_rollout(env.codex_home, NOW - timedelta(hours=2), lines, mtime=NOW - timedelta(minutes=1))
    text = run_codex(env)
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.35
    assert sample(text, "cctrack_codex_credits_balance") == 12.5
    assert sample(text, "cctrack_codex_extras_observed_timestamp_seconds") == seen.timestamp()
    assert "cctrack_codex_limit_reached_info{" not in text
