"""The built-in Codex status tool against rollout files of every era (shared/SOURCES.md)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from builders import (
    codex_line,
    flat_secondary,
    flat_weekly,
    nested_2026,
    nested_oct2025,
    nested_relative,
    token_count,
    write_rollout,
    z,
)
from conftest import Env

from cctrack.sources import window_name
from cctrack.sources.codex import read_rate_limits

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


def status(env: Env, **extra: str) -> dict:
    result = env.run("codex-status", **extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def windows(obj: dict) -> dict[str, tuple]:
    return {
        name: (w["used_ratio"], w["window_seconds"], w["resets_at"])
        for name, w in obj["windows"].items()
    }


def test_2026_shape_with_plan_and_ordinal(env: Env) -> None:
    five, week = NOW + timedelta(hours=2), NOW + timedelta(days=3)
    line_time = NOW - timedelta(minutes=2)
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            codex_line(
                NOW - timedelta(minutes=59), "turn_context", {"model": "gpt-5.1-codex"}, ordinal=1
            ),
            token_count(
                NOW - timedelta(minutes=58), None, info=None
            ),  # the session's first token_count
            token_count(line_time, nested_2026((23.0, 300, five), (41.0, 10080, week), plan="Pro")),
        ],
    )
    obj = status(env)
    assert obj["source_tool"] == "codex" and obj["origin"] == "rollout" and obj["plan"] == "pro"
    assert obj["observed_at"] == z(line_time)
    assert windows(obj) == {"five_hour": (0.23, 18000, z(five)), "weekly": (0.41, 604800, z(week))}


@pytest.mark.parametrize("era", ["flat_weekly", "flat_secondary", "relative", "oct2025"])
def test_older_schema_eras(env: Env, era: str) -> None:
    line_time = NOW - timedelta(minutes=5)
    limits = {
        "flat_weekly": flat_weekly(12.0, 30.0),
        "flat_secondary": flat_secondary(12.0, 30.0),
        "relative": nested_relative((12.0, 300, 3600), (30.0, 10080, 86400)),
        "oct2025": nested_oct2025(
            (12.0, 300, line_time + timedelta(hours=1)),
            (30.0, 10080, line_time + timedelta(days=1)),
        ),
    }[era]
    write_rollout(env.codex_home, NOW - timedelta(hours=1), [token_count(line_time, limits)])
    got = windows(status(env))
    flat = era.startswith("flat")
    assert got == {
        "five_hour": (0.12, 18000, None if flat else z(line_time + timedelta(hours=1))),
        "weekly": (0.30, 604800, None if flat else z(line_time + timedelta(days=1))),
    }


def test_nulls_and_other_limit_ids_are_skipped(env: Env) -> None:
    week = NOW + timedelta(days=2)
    account_time = NOW - timedelta(minutes=10)
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            token_count(
                account_time,
                nested_2026((50.0, 300, NOW + timedelta(hours=1)), (60.0, 10080, week)),
            ),
            # Later lines that must not win: a per-model bucket, all-null windows, null rate_limits.
            token_count(
                NOW - timedelta(minutes=8),
                nested_2026(
                    (3.0, 1440, NOW + timedelta(hours=5)),
                    None,
                    limit_id="codex_bengalfox",
                    limit_name="GPT-5-Codex-Mini",
                ),
            ),
            token_count(NOW - timedelta(minutes=7), nested_2026(None, None)),
            token_count(NOW - timedelta(minutes=6), None),
            token_count(
                NOW - timedelta(minutes=5),
                {"primary": {"used_percent": None, "window_minutes": None, "resets_at": None}},
            ),
            "{not json",
        ],
    )
    obj = status(env)
    assert obj["observed_at"] == z(account_time)
    assert windows(obj)["weekly"][0] == 0.6 and windows(obj)["five_hour"][0] == 0.5


def test_weekly_only_account_reports_primary_as_weekly(env: Env) -> None:
    week = NOW + timedelta(days=4)
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [token_count(NOW - timedelta(minutes=1), nested_2026((17.0, 10080, week), None))],
    )
    assert windows(status(env)) == {"weekly": (0.17, 604800, z(week))}


def test_newest_snapshot_wins_across_active_sessions_not_newest_file_name(env: Env) -> None:
    # A long session started yesterday is still writing; a newer session stopped an hour ago.
    old_session = write_rollout(
        env.codex_home,
        NOW - timedelta(days=1),
        [
            token_count(
                NOW - timedelta(minutes=3), nested_2026((80.0, 300, NOW + timedelta(hours=1)), None)
            ),
        ],
        mtime=NOW - timedelta(minutes=3),
        session="aaaa",
    )
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=2),
        [
            token_count(
                NOW - timedelta(hours=1), nested_2026((20.0, 300, NOW + timedelta(hours=1)), None)
            ),
        ],
        mtime=NOW - timedelta(hours=1),
        session="bbbb",
    )
    assert old_session.exists()
    assert windows(status(env))["five_hour"][0] == 0.8


def test_folders_in_local_time_and_line_times_in_utc(env: Env) -> None:
    """On a machine 14 hours east of UTC the folders carry tomorrow's date; the line timestamps
    (UTC) decide which snapshot is newest and become observed_at unchanged."""
    tz = "Pacific/Kiritimati"
    line_time = NOW - timedelta(minutes=1)
    early = write_rollout(
        env.codex_home,
        NOW - timedelta(hours=3),
        [token_count(line_time, nested_2026((66.0, 300, NOW + timedelta(hours=1)), None))],
        mtime=line_time,
        session="early",
        tz=tz,
    )
    write_rollout(
        env.codex_home,
        NOW - timedelta(minutes=30),
        [
            token_count(
                NOW - timedelta(minutes=20),
                nested_2026((11.0, 300, NOW + timedelta(hours=1)), None),
            )
        ],
        mtime=NOW - timedelta(minutes=20),
        session="late",
        tz=tz,
    )
    local_day = (NOW - timedelta(hours=3)).astimezone(ZoneInfo(tz)).strftime("%d")
    assert early.parent.name == local_day
    obj = status(env, TZ=tz)
    assert obj["observed_at"] == z(line_time)
    assert windows(obj)["five_hour"][0] == 0.66


def test_compressed_rollouts_are_ignored(env: Env) -> None:
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            token_count(
                NOW - timedelta(minutes=30),
                nested_2026((10.0, 300, NOW + timedelta(hours=1)), None),
            )
        ],
    )
    folder = next((env.codex_home / "sessions").rglob("rollout-*.jsonl")).parent
    (folder / "rollout-2099-01-01T00-00-00-zzzz.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfd garbage")
    assert windows(status(env))["five_hour"][0] == 0.1


def test_archived_sessions_are_walked(env: Env) -> None:
    write_rollout(
        env.codex_home,
        NOW - timedelta(days=2),
        [
            token_count(
                NOW - timedelta(days=1), nested_2026(None, (44.0, 10080, NOW + timedelta(days=3)))
            )
        ],
        archived=True,
        mtime=NOW - timedelta(days=1),
    )
    assert windows(status(env))["weekly"][0] == 0.44


def test_rolled_over_window_reports_zero_and_no_reset(env: Env) -> None:
    week = NOW + timedelta(days=1)
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=8),
        [
            token_count(
                NOW - timedelta(hours=6),
                nested_2026((95.0, 300, NOW - timedelta(hours=1)), (70.0, 10080, week)),
            )
        ],
    )
    got = windows(status(env))
    assert got["five_hour"] == (0.0, 18000, None)
    assert got["weekly"] == (0.7, 604800, z(week))


def test_files_last_written_before_the_best_snapshot_are_not_read(env: Env) -> None:
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            token_count(
                NOW - timedelta(minutes=2), nested_2026((30.0, 300, NOW + timedelta(hours=1)), None)
            )
        ],
        mtime=NOW - timedelta(minutes=2),
        session="fresh",
    )
    # An old file claiming a newer line (a copied file, say): its mtime says it cannot hold news.
    write_rollout(
        env.codex_home,
        NOW - timedelta(days=3),
        [token_count(NOW, nested_2026((99.0, 300, NOW + timedelta(hours=1)), None))],
        mtime=NOW - timedelta(days=3),
        session="stale",
    )
    assert windows(status(env))["five_hour"][0] == 0.3


def test_no_home_and_no_snapshot_are_clear_errors(env: Env) -> None:
    missing = env.run("codex-status")
    assert missing.returncode == 1
    assert (
        missing.stderr.count("\n") == 1
        and "Codex home" in missing.stderr
        and "CODEX_HOME" in missing.stderr
    )
    write_rollout(env.codex_home, NOW - timedelta(hours=1), [token_count(NOW, None, info=None)])
    empty = env.run("codex-status")
    assert empty.returncode == 1 and "no rate-limit snapshot" in empty.stderr


def test_installed_console_script_runs(env: Env) -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            token_count(
                NOW - timedelta(minutes=1), nested_2026((5.0, 300, NOW + timedelta(hours=1)), None)
            )
        ],
    )
    tool = shutil.which("cctrack-codex-status") or str(
        Path(sys.executable).parent / "cctrack-codex-status"
    )
    done = subprocess.run([tool], env=env.vars, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["windows"]["five_hour"]["used_ratio"] == 0.05


@pytest.mark.parametrize(
    "minutes,name",
    [
        (300, "five_hour"),
        (299, "five_hour"),
        (10080, "weekly"),
        (10078, "weekly"),
        (1440, "daily"),
        (43200, "monthly"),
        (120, "2_hour"),
        (90, "90_minute"),
        (4320, "3_day"),
    ],
)
def test_windows_are_named_by_length(minutes: int, name: str) -> None:
    assert window_name(minutes) == name


def test_window_lengths_that_round_to_nothing_are_not_windows() -> None:
    for minutes in (0.4, 0.5, float("inf"), float("nan"), 1e12):
        assert (
            read_rate_limits({"primary": {"used_percent": 5.0, "window_minutes": minutes}}, NOW)[0]
            == ()
        )
    assert [
        w.window_seconds
        for w in read_rate_limits({"primary": {"used_percent": 5.0, "window_minutes": 299.6}}, NOW)[
            0
        ]
    ] == [18000]


def test_parse_rate_limits_rejects_garbage_percentages() -> None:
    line_time = NOW
    limits = nested_2026((float("nan"), 300, None), (1772470800.0, 10080, None))
    assert read_rate_limits(limits, line_time)[0] == ()
    assert (
        read_rate_limits(nested_2026((-3.0, 300, None), (100.4, 10080, None)), line_time)[0][
            0
        ].used_ratio
        == 1.0
    )


def test_sessions_started_before_the_horizon_are_skipped_by_name(env: Env) -> None:
    """History older than the longest window is not even listed; its folders are skipped."""
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            token_count(
                NOW - timedelta(minutes=5), nested_2026((21.0, 300, NOW + timedelta(hours=1)), None)
            )
        ],
        mtime=NOW - timedelta(minutes=5),
        session="recent",
    )
    ancient = write_rollout(
        env.codex_home,
        NOW - timedelta(days=60),
        [
            token_count(
                NOW - timedelta(minutes=1), nested_2026((77.0, 300, NOW + timedelta(hours=1)), None)
            )
        ],
        mtime=NOW - timedelta(minutes=1),
        session="ancient",
    )
    assert ancient.exists()
    assert windows(status(env))["five_hour"][0] == 0.21


# ---- the optional app-server route -------------------------------------------------------------

FAKE_CODEX = """
import json, os, sys
mode = {mode!r}
open(os.path.join(os.path.dirname(sys.argv[0]), "asked"), "a").close()
if sys.argv[1:] != ["app-server"]:
    sys.exit("unexpected arguments")
for raw in sys.stdin:
    message = json.loads(raw)
    if mode == "hang":
        continue
    if message.get("method") == "initialize":
        assert message["params"]["clientInfo"]["name"] == "cctrack"
        print(json.dumps({{"id": message["id"], "result": {{"userAgent": "codex-app-server/0.63.0 cctrack"}}}}), flush=True)
    elif message.get("method") == "account/rateLimits/read":
        print(json.dumps({{"method": "account/updated", "params": {{}}}}), flush=True)  # a notification first
        if mode == "logged-out":
            print(json.dumps({{"id": message["id"], "error": {{"code": -32600, "message": "not logged in"}}}}), flush=True)
        else:
            print(json.dumps({{"id": message["id"], "result": {{"rateLimits": {{
                "limitId": "codex", "limitName": None, "planType": "pro",
                "primary": {{"usedPercent": 9.0, "windowDurationMins": 300, "resetsAt": {reset}}},
                "secondary": {{"usedPercent": 55.0, "windowDurationMins": 10080, "resetsAt": {reset} + 86400}},
                "credits": None}}}}}}), flush=True)
"""


def fake_codex(env: Env, mode: str) -> None:
    from builders import script

    bin_dir = env.root / "bin"
    bin_dir.mkdir(exist_ok=True)
    script(
        bin_dir / "codex",
        FAKE_CODEX.format(mode=mode, reset=int((NOW + timedelta(hours=4)).timestamp())),
    )
    env.vars["PATH"] = f"{bin_dir}:{env.vars['PATH']}"
    env.vars["CCTRACK_CODEX_APP_SERVER"] = "on"


def stale_rollout(env: Env) -> None:
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=6),
        [
            token_count(
                NOW - timedelta(hours=5),
                nested_2026((70.0, 300, NOW + timedelta(minutes=30)), None),
            )
        ],
        mtime=NOW - timedelta(hours=5),
    )


def test_app_server_answers_when_the_rollout_snapshot_is_stale(env: Env) -> None:
    stale_rollout(env)
    fake_codex(env, "ok")
    obj = status(env)
    assert obj["origin"] == "app-server" and obj["plan"] == "pro"
    assert windows(obj)["five_hour"][0] == 0.09 and windows(obj)["weekly"][0] == 0.55
    env.vars["CCTRACK_CODEX_APP_SERVER"] = "off"  # off by default: it goes online
    assert status(env)["origin"] == "rollout"


def test_fresh_rollout_snapshot_needs_no_app_server(env: Env) -> None:
    write_rollout(
        env.codex_home,
        NOW - timedelta(hours=1),
        [
            token_count(
                NOW - timedelta(minutes=2), nested_2026((33.0, 300, NOW + timedelta(hours=1)), None)
            )
        ],
    )
    fake_codex(env, "hang")
    assert status(env)["origin"] == "rollout"
    assert not (env.root / "bin" / "asked").exists(), "codex app-server was asked"


@pytest.mark.parametrize(
    "mode,words", [("logged-out", "refused: not logged in"), ("hang", "did not answer in time")]
)
def test_app_server_failure_falls_back_to_the_stale_snapshot(
    env: Env, mode: str, words: str
) -> None:
    fake_codex(env, mode)
    missing = env.run("codex-status", CCTRACK_TIMEOUT="1")
    assert (
        missing.returncode == 1
        and words in missing.stderr
        and "no recent rollout snapshot" in missing.stderr
    )
    stale_rollout(env)
    obj = status(env, CCTRACK_TIMEOUT="1")
    assert obj["origin"] == "rollout" and windows(obj)["five_hour"][0] == 0.7
