"""Limits on spend, beside the usage windows: Codex's spend controls on usage-based
Business/Enterprise plans (rollouts and `codex app-server`) and Claude Code's gateway
`spend_limit` in the status line. Shapes as the vendors write them:

- rollout `rate_limits.individual_limit {limit, used, remaining_percent, resets_at}` and
  `spend_control_reached` (codex-rs/protocol RateLimitSnapshot, SpendControlLimitSnapshot;
  Codex >= 0.149, openai/codex edb4efe);
- app-server v2 `spendControl {reached, reachedLimitType, individualLimit {limit, remaining,
  remainingPercent, resetAfterSeconds, resetAt, used, usedPercent}, groupDefaultLimit}`
  (codex-rs/app-server-protocol/schema/json/v2);
- status line `rate_limits.spend_limit {used_percentage, resets_at}`, the shape of
  `five_hour`, past 100 % when overrun (Claude Code 2.1.251 CHANGELOG).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from builders import fake_app_server, nested_2026, token_count, write_rollout
from conftest import Env, sample

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
MONTH_END = NOW + timedelta(days=12)


def spend_line(
    moment: datetime, remaining: int, reached: bool | None, windows: bool = False
) -> str:
    limits = nested_2026(
        (30.0, 300, NOW + timedelta(hours=2)) if windows else None,
        None,
        plan="self_serve_business_usage_based",
    )
    limits["individual_limit"] = {
        "limit": "25000",
        "used": str(25000 * (100 - remaining) // 100),
        "remaining_percent": remaining,
        "resets_at": int(MONTH_END.timestamp()),
    }
    limits["spend_control_reached"] = reached
    return token_count(moment, limits)


def codex_run(env: Env, lines: list[str]) -> tuple[int, str, str]:
    write_rollout(env.codex_home, NOW - timedelta(hours=1), lines, mtime=NOW - timedelta(minutes=1))
    env.vars["CCTRACK_SOURCES"] = "codex"
    done = env.run("run")
    return done.returncode, done.stderr, env.textfile.read_text()


def test_a_spend_controlled_codex_account_without_windows_reports_its_spend_limit(
    env: Env,
) -> None:
    # The TUI says "Monthly credit limit … 8,000 of 25,000 credits used".
    code, stderr, text = codex_run(env, [spend_line(NOW - timedelta(minutes=1), 68, False)])
    assert code == 0, stderr
    assert sample(text, "cctrack_codex_up") == 1
    assert sample(text, "cctrack_codex_spend_usage_ratio", limit="individual") == 0.32
    assert sample(text, "cctrack_codex_spend_used", limit="individual", unit="credits") == 8000
    assert sample(text, "cctrack_codex_spend_limit", limit="individual", unit="credits") == 25000
    assert (
        sample(text, "cctrack_codex_spend_reset_timestamp_seconds", limit="individual")
        == MONTH_END.timestamp()
    )
    shown = json.loads(env.run("show", "--json").stdout)
    assert shown["tools"]["codex"]["up"] is True
    assert shown["tools"]["codex"]["spend"]["individual"] == {
        "used_ratio": 0.32,
        "resets_at": MONTH_END.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "used": 8000.0,
        "limit": 25000.0,
        "unit": "credits",
    }
    # What the TUI shows as "8,000 of 25,000 credits used".
    text = env.run("show").stdout
    assert "spend individual  32.0% used  8,000 of 25,000 credits  resets in 11d23h" in text or (
        "spend individual  32.0% used  8,000 of 25,000 credits  resets in 12d0h" in text
    ), text


def test_a_newest_line_saying_the_spend_limit_is_reached_is_never_passed_over(env: Env) -> None:
    lines = [
        spend_line(NOW - timedelta(minutes=30), 10, False, windows=True),
        spend_line(NOW - timedelta(minutes=1), 0, True),
    ]
    code, stderr, text = codex_run(env, lines)
    assert code == 0, stderr
    # Not the older line's 30 % as current: the newest line's spend limit, reached.
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") is None
    assert sample(text, "cctrack_codex_spend_usage_ratio", limit="individual") == 1.0
    assert sample(text, "cctrack_codex_limit_reached_info", reason="spend_control_reached") == 1


def test_a_reached_spend_control_without_numbers_is_said_not_replaced(env: Env) -> None:
    limits = nested_2026((30.0, 300, NOW + timedelta(hours=2)), None)
    older = token_count(NOW - timedelta(minutes=30), limits)
    blocked = nested_2026(None, None)
    blocked["spend_control_reached"] = True
    code, stderr, text = codex_run(env, [older, token_count(NOW - timedelta(minutes=1), blocked)])
    assert code == 1
    assert "spend limit is reached (spend_control_reached)" in stderr
    assert sample(text, "cctrack_codex_up") == 0
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") is None


def test_codex_app_server_spend_control(env: Env) -> None:
    answer = {
        "rateLimits": {
            "limitId": "codex",
            "planType": "enterprise_cbp_usage_based",
            "primary": None,
            "secondary": None,
            "spendControl": {
                "reached": False,
                "reachedLimitType": None,
                "individualLimit": {
                    "limit": "25000",
                    "remaining": "17000",
                    "remainingPercent": 68,
                    "resetAfterSeconds": 1036800,
                    "resetAt": int(MONTH_END.timestamp()),
                    "used": "8000",
                    "usedPercent": 32,
                },
                "groupDefaultLimit": {
                    "limit": "100000",
                    "used": "50000",
                    "usedPercent": 50,
                    "remainingPercent": 50,
                    "resetAt": int(MONTH_END.timestamp()),
                },
            },
        }
    }
    bin_dir = env.root / "bin"
    fake_app_server(bin_dir, answer)
    env.vars.update(
        PATH=f"{bin_dir}:{env.vars['PATH']}", CCTRACK_CODEX_APP_SERVER="on", CCTRACK_SOURCES="codex"
    )
    env.codex_home.mkdir()
    done = env.run("run")
    assert done.returncode == 0, done.stderr
    text = env.textfile.read_text()
    assert sample(text, "cctrack_codex_spend_usage_ratio", limit="individual") == 0.32
    assert sample(text, "cctrack_codex_spend_usage_ratio", limit="group") == 0.5
    assert sample(text, "cctrack_codex_spend_limit", limit="group", unit="credits") == 100000
