"""Claude's numbers as Claude Code itself shows them, from its sources combined per field:
status line renders merged per window by when they were true, a gateway's spend_limit,
`.claude.json`'s cache of the usage endpoint (per-model weekly limits, extra usage), and the
endpoint itself. Fixtures in the shapes Claude Code writes:

- statusLine stdin: `rate_limits.{five_hour, seven_day, spend_limit}.{used_percentage,
  resets_at}`, `transcript_path`, `session_id` (Claude Code statusline docs; spend_limit
  since 2.1.251);
- `.claude.json` `cachedUsageUtilization {fetchedAtMs, accountUuid, utilization {five_hour,
  seven_day, seven_day_opus, extra_usage}, limits}` beside `oauthAccount.accountUuid`;
- the usage endpoint's `extra_usage` in cents (1540 of 2000 is "$15.40 / $20.00" in /usage).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from builders import statusline_payload, write_credentials
from conftest import Env, FakeUsageAPI, sample

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
FIVE = NOW + timedelta(hours=2)
WEEK = NOW + timedelta(days=3)
ACCOUNT = "0d6f3c2e-8a1b-4c7d-9e2f-5a4b3c2d1e0f"


def render(
    env: Env, payload: dict, transcript: Path | None = None, written: datetime | None = None
) -> str:
    if transcript is not None:
        transcript.parent.mkdir(parents=True, exist_ok=True)
        transcript.touch()
        when = (written or NOW).timestamp()
        os.utime(transcript, (when, when))
        payload = {**payload, "transcript_path": str(transcript)}
    done = env.run("statusline", "--tools", "claude", input=json.dumps(payload).encode())
    assert done.returncode == 0, done.stderr
    return done.stdout


def status(env: Env) -> dict:
    done = env.run("claude-status")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_idle_terminal_never_replaces_newer_numbers(env: Env) -> None:
    busy = env.root / "projects" / "a" / "busy.jsonl"
    idle = env.root / "projects" / "b" / "idle.jsonl"
    render(env, statusline_payload((60.0, FIVE), (30.0, WEEK)), busy, NOW)
    # The other terminal last talked to the API two hours ago: its 40 % is old.
    shown = render(
        env, statusline_payload((40.0, FIVE), (25.0, WEEK)), idle, NOW - timedelta(hours=2)
    )
    assert shown.startswith("5h 40 % left") and "7d 70 % left" in shown
    # An older window period (a terminal idle since before the reset) is never taken either,
    # however fresh its render.
    render(env, statusline_payload((97.0, FIVE - timedelta(hours=5)), None), idle, NOW)
    kept = status(env)["windows"]["five_hour"]
    assert kept["used_ratio"] == 0.6 and kept["resets_at"].startswith(FIVE.strftime("%Y-%m-%dT%H"))
    # A render that leaves a window out keeps it: omitted is not 0 %.
    render(env, statusline_payload((61.0, FIVE), None), busy, NOW + timedelta(seconds=30))
    windows = status(env)["windows"]
    assert windows["five_hour"]["used_ratio"] == 0.61
    assert windows["weekly"]["used_ratio"] == 0.3


def test_renders_that_go_down_and_up_again_are_not_events(env: Env) -> None:
    busy = env.root / "busy.jsonl"
    idle = env.root / "idle.jsonl"
    env.vars["CCTRACK_SOURCES"] = "claude"
    env.claude_home.mkdir()
    for step in range(3):
        render(
            env, statusline_payload((50.0 + step, FIVE), None), busy, NOW + timedelta(seconds=step)
        )
        assert env.run("run").returncode == 0
        render(env, statusline_payload((20.0, FIVE), None), idle, NOW - timedelta(hours=3))
        assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_usage_ratio", window="five_hour") == 0.52
    assert sample(text, "cctrack_claude_usage_drops_total", window="five_hour", bucket="") == 0


def test_a_gateway_spend_limit_past_100_percent_is_reported(env: Env) -> None:
    payload = {
        "session_id": "9a",
        "rate_limits": {
            "spend_limit": {"used_percentage": 130.0, "resets_at": int(WEEK.timestamp())}
        },
    }
    render(env, payload)
    obj = status(env)
    assert obj["windows"] == {}
    assert obj["spend"] == [
        {"limit": "spend", "used_ratio": 1.3, "resets_at": WEEK.strftime("%Y-%m-%dT%H:%M:%SZ")}
    ]
    env.vars["CCTRACK_SOURCES"] = "claude"
    env.claude_home.mkdir()
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_spend_usage_ratio", limit="spend", group="") == 1.3
    assert sample(text, "cctrack_claude_up") == 1


def claude_json(env: Env, fetched: datetime, account: str = ACCOUNT) -> None:
    env.claude_home.mkdir(parents=True, exist_ok=True)
    (env.claude_home / ".claude.json").write_text(
        json.dumps(
            {
                "numStartups": 212,
                "oauthAccount": {"accountUuid": ACCOUNT, "emailAddress": "a@example.com"},
                "cachedUsageUtilization": {
                    "fetchedAtMs": int(fetched.timestamp() * 1000),
                    "accountUuid": account,
                    "utilization": {
                        "five_hour": {"utilization": 55.0, "resets_at": FIVE.isoformat()},
                        "seven_day": {"utilization": 31.0, "resets_at": WEEK.isoformat()},
                        "seven_day_opus": {"utilization": 88.0, "resets_at": WEEK.isoformat()},
                        "extra_usage": {
                            "is_enabled": True,
                            "monthly_limit": 2000,
                            "used_credits": 1540,
                            "utilization": 77.0,
                            "currency": "USD",
                        },
                    },
                    "limits": [],
                },
            }
        )
    )


def test_claude_jsons_cache_adds_the_per_model_limit_beside_the_status_line(env: Env) -> None:
    render(env, statusline_payload((60.0, FIVE), (30.0, WEEK)))
    claude_json(env, NOW - timedelta(minutes=40))
    obj = status(env)
    # The plan's windows from the fresh status line; the rest from Claude Code's cache.
    assert obj["origin"] == "statusline+claude-json"
    assert obj["windows"]["five_hour"]["used_ratio"] == 0.6
    assert obj["buckets"][0]["bucket"] == "opus" and obj["buckets"][0]["used_ratio"] == 0.88
    env.vars["CCTRACK_SOURCES"] = "claude"
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_bucket_usage_ratio", bucket="opus", window="weekly") == 0.88
    # "$15.40 / $20.00", as Claude Code's /usage shows it.
    assert sample(text, "cctrack_claude_extra_usage_spent", currency="USD") == 15.4
    assert sample(text, "cctrack_claude_extra_usage_monthly_limit", currency="USD") == 20


def test_claude_jsons_cache_alone_needs_no_network(env: Env, usage_api: FakeUsageAPI) -> None:
    env.vars.update(CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=usage_api.url)
    write_credentials(env.claude_home, "sk-ant-oat01-CACHED-0001", NOW + timedelta(hours=8))
    claude_json(env, NOW - timedelta(minutes=1))
    obj = status(env)
    assert obj["origin"] == "claude-json" and obj["plan"] == "max"
    assert obj["windows"]["weekly"]["used_ratio"] == 0.31
    assert usage_api.requests == []  # younger than the endpoint's polling interval


def test_the_newer_of_the_cache_and_the_endpoint_wins(env: Env, usage_api: FakeUsageAPI) -> None:
    env.vars.update(CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=usage_api.url)
    write_credentials(env.claude_home, "sk-ant-oat01-CACHED-0002", NOW + timedelta(hours=8))
    claude_json(env, NOW - timedelta(hours=3))
    usage_api.answer(
        200,
        {
            "five_hour": {"utilization": 70.0, "resets_at": FIVE.isoformat()},
            "seven_day": {"utilization": 33.0, "resets_at": WEEK.isoformat()},
            "seven_day_opus": {"utilization": 91.0, "resets_at": WEEK.isoformat()},
        },
    )
    obj = status(env)
    assert obj["origin"] == "oauth-api" and len(usage_api.requests) == 1
    assert obj["buckets"][0]["used_ratio"] == 0.91


def test_another_accounts_cache_is_not_used(env: Env) -> None:
    claude_json(env, NOW - timedelta(minutes=1), account="11111111-2222-3333-4444-555555555555")
    done = env.run("claude-status")
    assert done.returncode != 0 and "no Claude usage" in done.stderr


def login(env: Env, account: str) -> None:
    """Claude Code's `.claude.json` after a `/login` to `account` (no cached usage yet)."""
    env.claude_home.mkdir(parents=True, exist_ok=True)
    (env.claude_home / ".claude.json").write_text(
        json.dumps({"oauthAccount": {"accountUuid": account, "emailAddress": "x@example.com"}})
    )


OTHER = "11111111-2222-3333-4444-555555555555"


def test_after_a_login_to_another_account_its_numbers_win_at_once(env: Env) -> None:
    """A render carries no account: the one logged in when it arrives says whose it is. The
    new account's windows reset earlier than the old one's, which within one account would
    be an idle terminal's older period; here they replace the old numbers at once, and the
    old account's numbers are never exported under the new account's label."""
    from cctrack.sources.account import pseudonym

    env.vars["CCTRACK_SOURCES"] = "claude"
    env.vars["CCTRACK_CLAUDE_OAUTH"] = "off"
    login(env, ACCOUNT)
    assert render(env, statusline_payload((90.0, FIVE), (70.0, WEEK))).startswith("5h 10 % left")
    assert env.run("run").returncode == 0
    first = env.textfile.read_text()
    old = pseudonym("claude", ACCOUNT)
    assert sample(first, "cctrack_claude_usage_ratio", window="five_hour", account=old) == 0.9
    login(env, OTHER)
    # Nothing rendered since the login: the stored numbers are the other account's.
    done = env.run("claude-status")
    assert done.returncode != 0
    assert "the status line's last numbers are another account's" in done.stderr
    assert not env.run("statusline", "--tools", "claude").stdout.startswith("5h 10 % left")
    shown = render(
        env, statusline_payload((5.0, NOW + timedelta(hours=1)), (2.0, NOW + timedelta(days=1)))
    )
    assert shown.startswith("5h 95 % left") and "7d 98 % left" in shown
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    new = pseudonym("claude", OTHER)
    assert sample(text, "cctrack_claude_usage_ratio", window="five_hour", account=new) == 0.05
    assert sample(text, "cctrack_claude_usage_ratio", window="weekly", account=new) == 0.02
    assert sample(text, "cctrack_claude_usage_ratio", window="five_hour", account=old) is None


def test_numbers_from_claude_codes_cache_carry_their_own_age(env: Env) -> None:
    """Beside a fresh status line render, the per-model limit and extra usage from Claude
    Code's cache keep the time they were fetched: exported with it while Claude Code itself
    would still trust the cache (an hour), and past that not exported as current at all,
    while show and latest.json still list them with their age."""
    env.vars.update(CCTRACK_SOURCES="claude", CCTRACK_CLAUDE_OAUTH="off")
    render(env, statusline_payload((60.0, FIVE), (30.0, WEEK)))
    fetched = NOW - timedelta(minutes=40)
    claude_json(env, fetched)
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    where = {"bucket": "opus", "window": "weekly"}
    assert sample(text, "cctrack_claude_bucket_usage_ratio", **where) == 0.88
    seen = sample(text, "cctrack_claude_bucket_observed_timestamp_seconds", **where)
    assert seen == int(fetched.timestamp())
    assert sample(text, "cctrack_claude_extras_observed_timestamp_seconds") == seen
    assert sample(text, "cctrack_claude_observed_timestamp_seconds") > seen  # type: ignore[operator]
    shown = env.run("show").stdout
    (opus,) = [line for line in shown.splitlines() if "opus (weekly)" in line]
    assert "12 % left" in opus and "(as of 40 m" in opus
    # Three days old: Claude Code would not use it; neither does the textfile.
    fetched = NOW - timedelta(days=3)
    claude_json(env, fetched)
    render(env, statusline_payload((61.0, FIVE), (30.0, WEEK)))
    assert env.run("run").returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_claude_bucket_usage_ratio", **where) is None
    assert sample(text, "cctrack_claude_extra_usage_spent", currency="USD") is None
    assert sample(text, "cctrack_claude_usage_ratio", window="five_hour") == 0.61
    shown = env.run("show").stdout
    (opus,) = [line for line in shown.splitlines() if "opus (weekly)" in line]
    assert "3 d 0 h ago: over an hour old, not current; not exported" in opus
    latest = json.loads((env.data_dir / "latest.json").read_text())
    (bucket,) = latest["tools"]["claude"]["buckets"]
    assert bucket["current"] is False
    assert bucket["observed_at"] == fetched.strftime("%Y-%m-%dT%H:%M:%SZ")
    page = env.root / "report.html"
    assert env.run("report", "--html", "-o", str(page)).returncode == 0
    (row,) = [r for r in page.read_text().split("<tr>") if "opus (weekly)" in r]
    assert "(not current)" in row and "3\u00a0d 0\u00a0h ago" in row
