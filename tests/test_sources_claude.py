"""The built-in Claude status tool: the status line snapshot and the OAuth usage endpoint,
the endpoint played by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import statusline_payload, write_credentials, z
from conftest import Env, FakeUsageAPI, sample

from cctrack.sources.claude.oauth import OAUTH_CACHE_FILE, parse_usage
from cctrack.sources.claude.statusline import STATUSLINE_FILE, statusline_windows

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
TOKEN = "sk-ant-oat01-SECRET-c0ffee-do-not-leak-7f3a"


def claude_status(env: Env, **extra: str) -> dict:
    result = env.run("claude-status", **extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def feed_statusline(env: Env, payload: object, *args: str) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    result = env.run("statusline", *args, input=raw)
    assert result.returncode == 0, result.stderr
    return result.stdout


def use_oauth(env: Env, api: FakeUsageAPI) -> None:
    env.vars.update(CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=api.url)
    write_credentials(env.claude_home, TOKEN, NOW + timedelta(hours=8))


FLAT_ANSWER = {
    "five_hour": {"utilization": 24.0, "resets_at": "2099-01-08T06:59:59.600974+00:00"},
    "seven_day": {"utilization": 61.5, "resets_at": "2099-01-10T00:00:00+00:00"},
    "seven_day_opus": {"utilization": 12.0, "resets_at": None},
    "seven_day_sonnet": None,
    "seven_day_oauth_apps": None,
    "extra_usage": {"is_enabled": False},
}


# ---- the status line ---------------------------------------------------------------------------


def test_statusline_stores_snapshot_and_claude_status_reports_it(env: Env) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    five, week = now + timedelta(hours=2, minutes=5), now + timedelta(days=3)
    out = feed_statusline(env, statusline_payload((37.0, five), (12.5, week)))
    # "12.5" prints as 12 (round half to even); resets count down from when the line ran
    assert re.fullmatch(
        r"claude 5h 63 % left, resets in 2 h 0[45] m · 7d 88 % left, "
        r"resets (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d\n",
        out,
    ), out
    stored = env.data_dir / STATUSLINE_FILE
    assert (
        stat.S_IMODE(stored.stat().st_mode) == 0o600
        and stat.S_IMODE(env.data_dir.stat().st_mode) == 0o700
    )
    obj = claude_status(env)
    assert obj["origin"] == "statusline" and obj["source_tool"] == "claude"
    assert obj["windows"] == {
        "five_hour": {"used_ratio": 0.37, "window_seconds": 18000, "resets_at": z(five)},
        "weekly": {"used_ratio": 0.125, "window_seconds": 604800, "resets_at": z(week)},
    }


def test_statusline_wraps_existing_command_with_same_stdin(env: Env) -> None:
    seen = env.root / "seen.json"
    payload = statusline_payload((50.0, NOW + timedelta(hours=1)), None)
    out = feed_statusline(
        env, payload, "--wrap", f"tee {seen} >/dev/null; echo 'my prompt | main*'"
    )
    first, second = out.splitlines()
    assert first == "my prompt | main*" and second.startswith("claude 5h 50 % left, resets in 59 m")
    assert json.loads(seen.read_text()) == payload


def test_statusline_never_fails_the_editor(env: Env) -> None:
    assert "no Claude usage yet" in feed_statusline(env, b"this is not json")
    assert "no Claude usage yet" in feed_statusline(
        env, {"session_id": "x"}
    )  # free tier: no rate_limits
    out = feed_statusline(env, {"rate_limits": {}}, "--wrap", "exit 7")
    assert "no Claude usage yet" in out
    assert not (env.data_dir / STATUSLINE_FILE).exists()


def test_epoch_as_percent_is_garbage_and_just_over_100_is_rounding() -> None:
    resets = NOW + timedelta(hours=1)
    payload = statusline_payload((1795500000.0, resets), (100.4, resets))
    windows = statusline_windows(payload)
    assert [(w.name, w.used_ratio) for w in windows] == [("weekly", 1.0)]
    assert statusline_windows({"rate_limits": {"five_hour": {"used_percentage": -1}}}) == ()


def test_statusline_garbage_keeps_previous_good_window(env: Env) -> None:
    feed_statusline(
        env, statusline_payload((20.0, NOW + timedelta(hours=1)), (30.0, NOW + timedelta(days=1)))
    )
    out = feed_statusline(env, statusline_payload((1795500000.0, NOW + timedelta(hours=1)), None))
    assert "no Claude usage yet" not in out
    assert claude_status(env)["windows"]["five_hour"]["used_ratio"] == 0.2


# ---- the OAuth usage endpoint -------------------------------------------------------------------


def test_oauth_flat_answer_and_polite_polling(env: Env, usage_api: FakeUsageAPI) -> None:
    use_oauth(env, usage_api)
    usage_api.answer(200, FLAT_ANSWER)
    obj = claude_status(env)
    assert obj["origin"] == "oauth-api" and obj["plan"] == "max"
    assert {n: w["used_ratio"] for n, w in obj["windows"].items()} == {
        "five_hour": 0.24,
        "weekly": 0.615,
    }
    # Opus's own weekly limit is a bucket; the null sonnet one is left out (issue 13).
    assert [(b["bucket"], b["window"], b["used_ratio"]) for b in obj["buckets"]] == [
        ("opus", "weekly", 0.12)
    ]
    assert obj["extras"] == {"extra_usage_enabled": False}
    # The endpoint's fractional seconds are kept (issue 15).
    assert obj["windows"]["five_hour"]["resets_at"] == "2099-01-08T06:59:59.600974Z"
    (request,) = usage_api.requests
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["anthropic-beta"] == "oauth-2025-04-20"
    # Asked again a moment later, it answers from its cache instead of polling.
    again = claude_status(env)
    assert again["windows"]["weekly"]["used_ratio"] == 0.615 and again["plan"] == "max"
    assert len(usage_api.requests) == 1
    assert stat.S_IMODE((env.data_dir / OAUTH_CACHE_FILE).stat().st_mode) == 0o600


def test_oauth_limits_array_fallback(env: Env, usage_api: FakeUsageAPI) -> None:
    use_oauth(env, usage_api)
    usage_api.answer(
        200,
        {
            "five_hour": None,
            "seven_day": None,
            "limits": [
                {
                    "kind": "session",
                    "percent": 8.0,
                    "resets_at": "2099-01-01T05:00:00Z",
                    "scope": None,
                },
                {
                    "kind": "weekly_all",
                    "percent": 40.0,
                    "resets_at": "2099-01-05T00:00:00Z",
                    "scope": None,
                },
                {
                    "kind": "weekly_scoped",
                    "percent": 55.0,
                    "resets_at": None,
                    "scope": "claude-sonnet-4",
                },
            ],
        },
    )
    got = {n: w["used_ratio"] for n, w in claude_status(env)["windows"].items()}
    assert got == {"five_hour": 0.08, "weekly": 0.4}
    # A model's own weekly limit is a bucket, apart from the plan's windows (issue 13).
    (bucket,) = claude_status(env)["buckets"]
    assert (bucket["bucket"], bucket["window"], bucket["used_ratio"]) == ("sonnet", "weekly", 0.55)


def _age_cache(env: Env, minutes: int) -> None:
    path = env.data_dir / OAUTH_CACHE_FILE
    cache = json.loads(path.read_text())
    cache["snapshot"]["observed_at"] = z(NOW - timedelta(minutes=minutes))
    path.write_text(json.dumps(cache))


def test_oauth_429_serves_last_answer_with_its_age_and_backs_off(
    env: Env, usage_api: FakeUsageAPI
) -> None:
    use_oauth(env, usage_api)
    usage_api.answer(200, FLAT_ANSWER)
    claude_status(env)
    _age_cache(env, 10)
    usage_api.answer(429, {"error": "rate_limited"}, {"Retry-After": "0"})
    obj = claude_status(env)
    assert obj["observed_at"] == z(NOW - timedelta(minutes=10))  # its age shows
    assert obj["windows"]["five_hour"]["used_ratio"] == 0.24
    assert len(usage_api.requests) == 2
    claude_status(env)  # "Retry-After: 0" still backs off a few minutes
    assert len(usage_api.requests) == 2


def test_oauth_429_without_cache(env: Env, usage_api: FakeUsageAPI) -> None:
    use_oauth(env, usage_api)
    usage_api.answer(429, {}, {"Retry-After": "120"})
    result = env.run("claude-status")
    assert result.returncode == 1 and "rate limiting (429)" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "code,words", [(401, "log in to Claude Code again"), (403, "user:profile"), (500, "HTTP 500")]
)
def test_oauth_refusals_are_plain(env: Env, usage_api: FakeUsageAPI, code: int, words: str) -> None:
    use_oauth(env, usage_api)
    usage_api.answer(code, {"error": {"message": f"echo {TOKEN}"}})
    result = env.run("claude-status")
    assert result.returncode == (75 if code >= 500 else 1)
    assert words in result.stderr and "statusline" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_expired_token_is_not_used_nor_refreshed(env: Env, usage_api: FakeUsageAPI) -> None:
    use_oauth(env, usage_api)
    creds = write_credentials(env.claude_home, TOKEN, NOW - timedelta(minutes=1))
    before = creds.read_bytes()
    result = env.run("claude-status")
    assert (
        result.returncode == 1 and "expired" in result.stderr and "never refreshes" in result.stderr
    )
    assert usage_api.requests == [] and creds.read_bytes() == before


def test_token_from_environment(env: Env, usage_api: FakeUsageAPI) -> None:
    env.vars.update(
        CCTRACK_CLAUDE_OAUTH="on",
        CCTRACK_CLAUDE_USAGE_URL=usage_api.url,
        CLAUDE_CODE_OAUTH_TOKEN=TOKEN,
    )
    usage_api.answer(200, FLAT_ANSWER)
    assert claude_status(env)["origin"] == "oauth-api"
    assert usage_api.requests[0]["authorization"] == f"Bearer {TOKEN}"


def test_unreachable_endpoint_is_transient(env: Env) -> None:
    from conftest import free_port

    env.vars.update(
        CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=f"http://127.0.0.1:{free_port()}/usage"
    )
    write_credentials(env.claude_home, TOKEN, NOW + timedelta(hours=1))
    result = env.run("claude-status")
    assert result.returncode == 75 and "unreachable" in result.stderr


def test_oauth_off_means_no_network_and_says_how_to_enable(
    env: Env, usage_api: FakeUsageAPI
) -> None:
    env.vars.update(
        CCTRACK_CLAUDE_USAGE_URL=usage_api.url
    )  # CCTRACK_CLAUDE_OAUTH=off from the fixture
    write_credentials(env.claude_home, TOKEN, NOW + timedelta(hours=1))
    result = env.run("claude-status")
    assert result.returncode == 1
    assert "cctrack statusline" in result.stderr and "OAuth" in result.stderr
    assert usage_api.requests == []


def test_stale_statusline_yields_to_oauth_and_back(env: Env, usage_api: FakeUsageAPI) -> None:
    use_oauth(env, usage_api)
    feed_statusline(env, statusline_payload((90.0, NOW + timedelta(hours=1)), None))
    path = env.data_dir / STATUSLINE_FILE
    snap = json.loads(path.read_text())
    snap["observed_at"] = z(NOW - timedelta(minutes=30))
    path.write_text(json.dumps(snap))
    usage_api.answer(200, FLAT_ANSWER)
    assert claude_status(env)["origin"] == "oauth-api"
    (env.data_dir / OAUTH_CACHE_FILE).unlink()
    usage_api.answer(401, {})
    fallback = claude_status(
        env
    )  # the endpoint refuses: the old snapshot, with its age, beats nothing
    assert fallback["origin"] == "statusline" and fallback["observed_at"] == z(
        NOW - timedelta(minutes=30)
    )


def test_token_never_leaves_the_credentials_file(env: Env, usage_api: FakeUsageAPI) -> None:
    use_oauth(env, usage_api)
    env.use_fixed_tools()
    env.vars.pop("CLAUDE_STATUS_PATH")  # the built-in Claude tool, with the OAuth source
    outputs = []
    for code, body in ((401, {"detail": TOKEN}), (200, FLAT_ANSWER)):
        usage_api.answer(code, body)
        for command in ("run", "show"):
            result = env.run(command)
            outputs += [result.stdout, result.stderr]
    assert sample(env.textfile.read_text(), "cctrack_claude_usage_ratio", window="weekly") == 0.615
    written = [
        p.read_bytes()
        for p in Path(env.root).rglob("*")
        if p.is_file() and p.name != ".credentials.json"
    ]
    assert written and all(TOKEN.encode() not in blob for blob in written)
    assert all(TOKEN not in text for text in outputs)


def test_parse_usage_ignores_unknown_and_bad_entries() -> None:
    assert (
        parse_usage(
            {"five_hour": {"utilization": "high"}, "seven_day": {"utilization": 5e9}}
        ).windows
        == ()
    )
    assert parse_usage([1, 2]).windows == ()
    usage = parse_usage(
        {
            "seven_day_Opus 4.5": {"utilization": 1, "resets_at": "garbage"},
            "seven_day_Frontier X": {"utilization": 3, "resets_at": None},
            "seven_day_sonnet": {"utilization": 0, "resets_at": None},
        }
    )
    # Named after the model family, else a safe form of the name; 0 % with no reset is a
    # placeholder, not a reading.
    assert [(b.name, b.window.used_ratio) for b in usage.buckets] == [
        ("opus", 0.01),
        ("frontier_x", 0.03),
    ]
