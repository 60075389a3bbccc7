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
import subprocess
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
    assert sample(text, "cctrack_codex_spend_usage_ratio", limit="individual", group="") == 0.32
    assert (
        sample(text, "cctrack_codex_spend_used", limit="individual", group="", unit="credits")
        == 8000
    )
    assert (
        sample(text, "cctrack_codex_spend_limit", limit="individual", group="", unit="credits")
        == 25000
    )
    assert (
        sample(text, "cctrack_codex_spend_reset_timestamp_seconds", limit="individual", group="")
        == MONTH_END.timestamp()
    )
    shown = json.loads(env.run("show", "--json").stdout)
    assert shown["tools"]["codex"]["up"] is True
    assert shown["tools"]["codex"]["spend"]["individual"] == {
        "kind": "individual",
        "used_ratio": 0.32,
        "resets_at": MONTH_END.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "used": 8000.0,
        "limit": 25000.0,
        "unit": "credits",
        # A rollout names no group and does not say which limit binds.
        "group": None,
        "binding": None,
    }
    # What the TUI shows as "8,000 of 25,000 credits used".
    text = env.run("show").stdout
    assert "spend individual 68 % left · 8,000 of 25,000 credits used · resets " in text, text


def test_a_newest_line_saying_the_spend_limit_is_reached_is_never_passed_over(env: Env) -> None:
    lines = [
        spend_line(NOW - timedelta(minutes=30), 10, False, windows=True),
        spend_line(NOW - timedelta(minutes=1), 0, True),
    ]
    code, stderr, text = codex_run(env, lines)
    assert code == 0, stderr
    # Not the older line's 30 % as current: the newest line's spend limit, reached.
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") is None
    assert sample(text, "cctrack_codex_spend_usage_ratio", limit="individual", group="") == 1.0
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


def limit_snapshot(limit: int, used: int, reset: datetime) -> dict:
    """A v2 SpendControlLimitSnapshot: amounts as strings of credits."""
    return {
        "limit": str(limit),
        "used": str(used),
        "remaining": str(limit - used),
        "usedPercent": used * 100 / limit,
        "remainingPercent": (limit - used) * 100 / limit,
        "resetAfterSeconds": int((reset - NOW).total_seconds()),
        "resetAt": int(reset.timestamp()),
    }


def spend_answer(**control: object) -> dict:
    """`account/rateLimits/read` for a usage-based plan: no plan windows, a spend control."""
    return {
        "rateLimits": {
            "limitId": "codex",
            "planType": "enterprise_cbp_usage_based",
            "primary": None,
            "secondary": None,
            "spendControl": {
                "reached": False,
                "reachedLimitType": None,
                "individualLimit": None,
                "groupDefaultLimit": None,
                "workspaceDefaultLimit": None,
                "roleBudgetLimit": None,
                "groupSharedLimit": None,
                "workspaceSharedLimit": None,
                **control,
            },
        }
    }


def app_server_run(env: Env, answer: dict) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = env.root / "bin"
    fake_app_server(bin_dir, answer)
    env.vars.update(
        PATH=f"{bin_dir}:{env.vars['PATH']}", CCTRACK_CODEX_APP_SERVER="on", CCTRACK_SOURCES="codex"
    )
    env.codex_home.mkdir(exist_ok=True)
    done = env.run("run")
    return done, env.textfile.read_text() if env.textfile.exists() else ""


def test_codex_app_server_spend_control_in_its_whole_shape(env: Env) -> None:
    """Every limit the answer carries, each its own series with its kind (and its group's
    name), the binding one marked: here a group's shared budget binds, with no plan window
    at all, and the account is up (a usage-based plan, not a missing login)."""
    month = NOW + timedelta(days=12)
    week = NOW + timedelta(days=3)
    answer = spend_answer(
        reached=True,
        reachedLimitType="group_shared",
        individualLimit=limit_snapshot(25000, 8000, month),
        groupDefaultLimit={
            "groupId": "g-1",
            "groupName": "Platform team",
            "details": limit_snapshot(40000, 10000, month),
        },
        groupSharedLimit={
            "groupId": "g-1",
            "groupName": "Platform team",
            "details": limit_snapshot(200000, 200000, week),
        },
        workspaceDefaultLimit=limit_snapshot(30000, 3000, month),
        workspaceSharedLimit=limit_snapshot(1000000, 400000, month),
        roleBudgetLimit=limit_snapshot(50000, 5000, month),
    )
    done, text = app_server_run(env, answer)
    assert done.returncode == 0, done.stderr
    assert sample(text, "cctrack_codex_up") == 1
    expected = {
        ("individual", ""): (0.32, 25000, 0),
        ("group_default", "Platform team"): (0.25, 40000, 0),
        ("group_shared", "Platform team"): (1.0, 200000, 1),
        ("workspace_default", ""): (0.1, 30000, 0),
        ("workspace_shared", ""): (0.4, 1000000, 0),
        ("role_budget", ""): (0.1, 50000, 0),
    }
    for (kind, group), (ratio, limit, binding) in expected.items():
        where = {"limit": kind, "group": group}
        assert sample(text, "cctrack_codex_spend_usage_ratio", **where) == ratio, kind
        assert sample(text, "cctrack_codex_spend_limit", unit="credits", **where) == limit
        assert sample(text, "cctrack_codex_spend_binding", **where) == binding, kind
    resets = sample(
        text,
        "cctrack_codex_spend_reset_timestamp_seconds",
        limit="group_shared",
        group="Platform team",
    )
    assert resets == int(week.timestamp())
    assert sample(text, "cctrack_codex_limit_reached_info", reason="group_shared") == 1
    # show and latest.json say the same, the binding one marked.
    shown = env.run("show").stdout
    assert "spend group_shared (Platform team)" in shown and "0 % left" in shown
    (binding_line,) = [line for line in shown.splitlines() if "binds" in line]
    assert "group_shared" in binding_line
    spends = json.loads((env.data_dir / "latest.json").read_text())["tools"]["codex"]["spend"]
    assert spends["group_shared"]["group"] == "Platform team"
    assert spends["group_shared"]["binding"] is True
    assert spends["individual"]["group"] is None and spends["individual"]["binding"] is False
    assert len(spends) == 6
    # The bar and the status line name them too: a usage-based plan has no window to show.
    bar = env.run("bar").stdout
    assert "spend group_shared (Platform team) 100% (resets " in bar and ", binds)" in bar
    assert "spend individual 32%" in bar
    full = json.loads(env.run("bar", "--format", "json").stdout)
    assert full["class"] == "critical" and full["percentage"] == 100
    page = env.root / "report.html"
    assert env.run("report", "--html", "-o", str(page)).returncode == 0
    assert "spend group_shared (Platform team) (binds)" in page.read_text()
    shared = full["tools"]["codex"]["spend"]["group_shared"]
    assert shared == {
        "used_ratio": 1.0,
        "group": "Platform team",
        "binding": True,
        "class": "critical",
    }


def test_a_usage_based_plan_whose_answer_names_no_numbers_is_not_a_missing_login(
    env: Env,
) -> None:
    done, _ = app_server_run(env, spend_answer(reached=True, reachedLimitType="workspace_shared"))
    assert done.returncode != 0
    assert "spend-controlled (usage-based) plan answered without any limit's numbers" in done.stderr
    assert "logged in" not in done.stderr
    # A group limit alone is numbers enough.
    group = {
        "groupId": "g",
        "groupName": "Ops",
        "details": limit_snapshot(100, 50, NOW + timedelta(days=2)),
    }
    done, text = app_server_run(env, spend_answer(groupDefaultLimit=group))
    assert done.returncode == 0, done.stderr
    assert (
        sample(text, "cctrack_codex_spend_usage_ratio", limit="group_default", group="Ops") == 0.5
    )
