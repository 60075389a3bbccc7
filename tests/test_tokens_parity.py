"""The token counters against the real ccusage 20.0.24 (scripts/test installs it under
.ccusage/): the same generated homes, the same timezone, equal to the token per day and
model, before and after the logs grow."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Env, unavailable
from homes import (
    claude_turn,
    codex_subagent_session,
    compact,
    midnight_session,
    write_claude_home,
    write_codex_home,
)
from test_system_pipeline import sample

from cctrack.records import TOKEN_TYPES

ROOT = Path(__file__).resolve().parent.parent
CCUSAGE = ROOT / ".ccusage/node_modules/.bin/ccusage"
# Half an hour off UTC: a day boundary no whole-hour bucket would get right.
TIMEZONE = "Asia/Kolkata"
Table = dict[tuple[str, str, str], list[int]]


def ccusage() -> Path:
    """The peer: the checkout's pinned copy (scripts/test installs it), else a ccusage on
    PATH of the same version."""
    if CCUSAGE.exists() and shutil.which("node") is not None:
        return CCUSAGE
    found = shutil.which("ccusage")
    if found:
        version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=60)
        if "20.0.24" in version.stdout:
            return Path(found)
    message = "ccusage 20.0.24 is not installed (scripts/test installs it with npm)"
    unavailable(message)


def ccusage_days(env: Env, claude_home: bool = True) -> Table:
    """(tool, day, model) -> our types' counts, from `ccusage claude daily --json` and
    `ccusage codex daily --json` (whose inputTokens is input without its cached part);
    without claude_home, ccusage finds the transcripts where it looks by default (under
    HOME and the test's XDG_CONFIG_HOME)."""
    base = {"PATH": os.environ["PATH"], "HOME": env.vars["HOME"], "TZ": TIMEZONE}
    table: Table = {}

    def run(*args: str, **extra: str) -> dict:
        done = subprocess.run(
            [str(ccusage()), *args, "--json", "--offline"],
            env={**base, **extra},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return json.loads(done.stdout)

    where = {"CLAUDE_CONFIG_DIR": str(env.claude_home)} if claude_home else {}
    if not claude_home:
        where["XDG_CONFIG_HOME"] = env.vars["XDG_CONFIG_HOME"]
    claude = run("claude", "daily", **where)
    for day in claude["daily"]:
        # Entries without a model (<synthetic>) are in the day's totals only.
        table[("claude", day["date"], "(day)")] = [
            day["inputTokens"],
            day["outputTokens"],
            day["cacheCreationTokens"],
            day["cacheReadTokens"],
        ]
        for m in day["modelBreakdowns"]:
            table[("claude", day["date"], m["modelName"])] = [
                m["inputTokens"],
                m["outputTokens"],
                m["cacheCreationTokens"],
                m["cacheReadTokens"],
            ]
    codex = run("codex", "daily", CODEX_HOME=str(env.codex_home))
    for day in codex["daily"]:
        for name, m in day["models"].items():
            # inputTokens is input without its cached part and without its cache writes
            # (cacheCreationTokens, Codex >= 0.145's cache_write_input_tokens).
            table[("codex", day["date"], name)] = [
                m["inputTokens"],
                m["cacheReadTokens"],
                m["outputTokens"],
                m["reasoningOutputTokens"],
                m["cacheCreationTokens"],
            ]
    return table


def cctrack_days(env: Env) -> Table:
    done = env.run("tokens", "--json", TZ=TIMEZONE)
    assert done.returncode == 0, done.stderr
    table: Table = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        counts = list(row["tokens"].values())
        if row["tool"] == "claude":
            day = table.setdefault(("claude", row["date"], "(day)"), [0, 0, 0, 0])
            day[:] = [a + b for a, b in zip(day, counts, strict=True)]
        if row["model"] != "unknown":
            table[(row["tool"], row["date"], row["model"])] = counts
    return table


def odd_claude_lines(folder: Path, now: datetime) -> None:
    """Lines ccusage treats specially: a `<synthetic>` model (counted, under no model), no
    request id (never a duplicate), fast speed (its own model name), a null id (skipped),
    an empty session id (skipped), a subagent's progress line (counted)."""
    rng = random.Random(3)
    lines = []
    for i, change in enumerate(
        [
            {"message.model": "<synthetic>"},
            {"requestId": None},
            {"speed": "fast"},
            {"message.id": None},
            {"sessionId": ""},
        ]
    ):
        obj = json.loads(claude_turn(rng, "s-odd", now + timedelta(minutes=i), "x", 30)[-1])
        obj["message"]["model"] = "claude-opus-4-5-20251101"
        for key, value in change.items():
            if key == "requestId" and value is None:
                del obj["requestId"]
            elif key == "speed":
                obj["message"]["usage"]["speed"] = value
            elif key.startswith("message."):
                obj["message"][key.split(".")[1]] = value
            else:
                obj[key] = value
        lines.append(compact(obj))
    inner = json.loads(claude_turn(rng, "s-odd", now + timedelta(minutes=9), "x", 30)[-1])
    inner["message"]["model"] = "claude-haiku-4-5"
    progress = {
        "type": "progress",
        "sessionId": "s-odd",
        "timestamp": inner["timestamp"],
        "data": {"message": inner},
    }
    lines.append(compact(progress))
    # What only Python would read: a line not written as Claude Code writes it ("usage":
    # {, with a space), a version and a time in another script's digits. ccusage skips all.
    for i, change in enumerate(["spaced", "version", "millis"]):
        obj = json.loads(claude_turn(rng, "s-odd", now + timedelta(minutes=20 + i), "x", 30)[-1])
        obj["message"]["model"] = "claude-opus-4-5-20251101"
        if change == "version":
            obj["version"] = "\u0662.0.30"
        elif change == "millis":
            obj["timestamp"] = obj["timestamp"][:20] + "\u0661\u0662\u0663Z"
        lines.append(json.dumps(obj, ensure_ascii=False) if change == "spaced" else compact(obj))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "odd.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def odd_codex_rollout(home: Path, now: datetime) -> None:
    """A rollout with lines not written as Codex writes them: a turn_context and a
    token_count event with a space after each colon, which ccusage skips (the events after
    that turn are the session's fallback model's); and one event written as Codex does."""
    day = home / "sessions" / f"{now:%Y/%m/%d}"
    day.mkdir(parents=True, exist_ok=True)
    usage = {
        "input_tokens": 700,
        "cached_input_tokens": 100,
        "output_tokens": 70,
        "reasoning_output_tokens": 7,
        "total_tokens": 770,
    }

    def event(minute: int) -> dict:
        info = {"last_token_usage": usage, "total_token_usage": usage}
        return {
            "timestamp": f"{now + timedelta(minutes=minute):%Y-%m-%dT%H:%M:%S.000Z}",
            "type": "event_msg",
            "payload": {"type": "token_count", "info": info},
        }

    context = {
        "timestamp": f"{now:%Y-%m-%dT%H:%M:%S.000Z}",
        "type": "turn_context",
        "payload": {"cwd": "/home/u/odd", "model": "gpt-5.1-codex-mini"},
    }
    lines = [json.dumps(context), json.dumps(event(1)), compact(event(2))]
    (day / "rollout-odd.jsonl").write_text("\n".join(lines) + "\n")


def grow(env: Env, now: datetime) -> None:
    """More of everything: a live session grows (its last line first half-written, then
    finished), a new session resumes an old one, a rollout is archived as a copy."""
    rng = random.Random(11)
    live = sorted((env.claude_home / "projects").rglob("*.jsonl"))[-1]
    earlier = [line for line in live.read_text().splitlines() if '"type":"assistant"' in line]
    more = claude_turn(rng, "s-live", now - timedelta(minutes=3), "claude-sonnet-4-5", 50)
    with live.open("a") as handle:
        handle.write("\n".join(more) + "\n")
    resumed = env.claude_home / "projects/-home-u-resumed/resumed.jsonl"
    resumed.parent.mkdir(parents=True, exist_ok=True)
    turn = claude_turn(rng, "s-new", now - timedelta(minutes=2), "claude-haiku-4-5", 40)
    resumed.write_text("\n".join([*earlier, *turn]) + "\n")
    rollout = sorted((env.codex_home / "sessions").rglob("*.jsonl"))[0]
    archived = env.codex_home / "archived_sessions" / rollout.name
    archived.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(rollout, archived)
    write_codex_home(env.codex_home, now - timedelta(minutes=30), now, 50 << 10, rng)


@pytest.mark.component
def test_token_counts_equal_ccusage_per_day_and_model_as_the_logs_grow(env: Env) -> None:
    ccusage()
    env.use_fixed_tools()
    now = datetime.now(timezone.utc)
    # The days are anchored to local noons, so which days hold entries never depends on
    # the hour the suite runs at: sessions from noon three days back, and a session over
    # the midnight that ends the day before yesterday.
    noon = now.astimezone(ZoneInfo(TIMEZONE)).replace(hour=12, minute=0, second=0, microsecond=0)
    rng = random.Random(5)
    write_claude_home(env.claude_home, noon - timedelta(days=3), now, 600 << 10, rng)
    write_codex_home(env.codex_home, noon - timedelta(days=3), now, 600 << 10, rng)
    midnight_session(env.root / "midnight", noon - timedelta(days=2), rng)
    for tool, home in (("claude", env.claude_home), ("codex", env.codex_home)):
        shutil.copytree(env.root / "midnight" / tool, home, dirs_exist_ok=True)
    odd_claude_lines(env.claude_home / "projects/-home-u-odd", now - timedelta(hours=5))
    odd_codex_rollout(env.codex_home, now - timedelta(hours=4))
    # A sub-agent spawned from a session: its replay of the parent's history counts once.
    parent = sorted((env.codex_home / "sessions").rglob("*.jsonl"))[-1]
    spawn = now - timedelta(hours=2)
    subagent = parent.with_name(f"rollout-subagent-{parent.name[8:]}")
    subagent.write_text(codex_subagent_session(parent.read_text(), spawn, now, 20 << 10, rng))

    assert env.run("capture", TZ=TIMEZONE).returncode == 0
    first = cctrack_days(env)
    assert first == ccusage_days(env)
    assert {tool for tool, _, _ in first} == {"claude", "codex"}
    assert len({model for tool, _, model in first if tool == "claude"}) >= 4
    days = {day for _, day, _ in first}
    assert {f"{noon - timedelta(days=back):%Y-%m-%d}" for back in (3, 2, 1)} <= days
    assert any(model.endswith("-fast") for _, _, model in first)

    grow(env, now)
    assert env.run("capture", TZ=TIMEZONE).returncode == 0
    second = cctrack_days(env)
    assert second == ccusage_days(env)
    assert second != first

    # The counters are the days' sums.
    assert env.run("analyze").returncode == 0
    text = env.textfile.read_text()
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    for (tool, _, model), counts in second.items():
        if model == "(day)":
            continue
        for kind, count in zip(TOKEN_TYPES[tool], counts, strict=True):
            sums[(tool, model, kind)] += count
    for (tool, model, kind), total in sums.items():
        found = sample(text, f"cctrack_{tool}_tokens_total", model=model, type=kind)
        # A type a model never used has no series yet (the odd rollout's writes none).
        assert found == total or (total == 0 and found is None), (tool, model, kind)


@pytest.mark.component
def test_without_a_configured_home_both_default_places_are_read_as_ccusage_does(
    env: Env,
) -> None:
    ccusage()
    env.use_fixed_tools()
    home = Path(env.vars["HOME"])
    del env.vars["CLAUDE_CONFIG_DIR"]
    now = datetime.now(timezone.utc)
    write_claude_home(home / ".claude", now - timedelta(days=2), now, 200 << 10, random.Random(1))
    # XDG_CONFIG_HOME moved elsewhere: both tools follow it, and neither reads ~/.config.
    env.vars["XDG_CONFIG_HOME"] = str(env.root / "xdg")
    xdg = env.root / "xdg/claude"
    write_claude_home(
        home / ".config/claude", now - timedelta(hours=1), now, 20 << 10, random.Random(3)
    )
    write_claude_home(xdg, now - timedelta(days=1), now, 200 << 10, random.Random(2))
    # A session copied from one place to the other counts once.
    copied = sorted((home / ".claude/projects").rglob("*.jsonl"))[0]
    shutil.copy(copied, xdg / "projects" / copied.parent.name / "copy.jsonl")
    assert env.run("capture").returncode == 0
    ours = {key: value for key, value in cctrack_days(env).items() if key[0] == "claude"}
    theirs = {k: v for k, v in ccusage_days(env, claude_home=False).items() if k[0] == "claude"}
    assert ours == theirs
    assert len({day for _, day, _ in ours}) >= 2


def copies_ccusage_counts_per_session(projects: Path, day: datetime) -> int:
    """Copies of one message that ccusage 20.0.24 counts again (PRs #1661, #1765: lines
    without a requestId stay per session, and per timestamp in `daily`; a sidechain replay
    matches only within its own session), in the shapes Claude Code writes: a message
    without requestId copied into a resumed session, one message's two content-block lines
    without requestId, and a sidechain replay of a message in another session. Each
    happened once. Returns the input tokens ccusage counts beyond that."""
    first, second = "3f1c2a4e-0b9d-4c1e-8a7f-1d2e3f4a5b6c", "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"

    def line(
        session: str, at: timedelta, message: str, request: str | None, **extra: object
    ) -> str:
        obj: dict = {
            "parentUuid": "p",
            "isSidechain": extra.get("sidechain", False),
            "userType": "external",
            "cwd": "/w",
            "sessionId": session,
            "version": "2.0.30",
            "gitBranch": "main",
            "message": {
                "id": message,
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": "x"}],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": extra.get("tokens", 100),
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 10,
                    "service_tier": "standard",
                },
            },
            "type": "assistant",
            "uuid": f"u-{session}-{at.total_seconds()}",
            "timestamp": (day + at).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        if request:
            obj["requestId"] = request
        return compact(obj)

    folder = projects / "-w"
    folder.mkdir(parents=True)
    (folder / f"{first}.jsonl").write_text(
        "\n".join(
            [
                line(first, timedelta(0), "msg_01A", None),
                line(first, timedelta(minutes=1), "msg_01B", None, tokens=200),
                line(first, timedelta(minutes=1, seconds=2), "msg_01B", None, tokens=200),
                line(first, timedelta(minutes=2), "msg_01C", "req_011C", tokens=300),
            ]
        )
        + "\n"
    )
    (folder / f"{second}.jsonl").write_text(
        "\n".join(
            [
                line(second, timedelta(0), "msg_01A", None),
                line(
                    second, timedelta(minutes=2), "msg_01C", "req_011C2", sidechain=True, tokens=300
                ),
            ]
        )
        + "\n"
    )
    return 100 + 200 + 300


@pytest.mark.component
def test_copies_that_ccusage_counts_per_session_count_once_here(env: Env) -> None:
    """The documented difference (docs/tokens.md): cctrack counts each of these messages
    once, ccusage 20.0.24 once per session (or per line). Pinned, so that a change on
    either side shows."""
    ccusage()
    env.use_fixed_tools()
    noon = datetime.now(timezone.utc).astimezone(ZoneInfo(TIMEZONE)).replace(
        hour=12, minute=0, second=0, microsecond=0
    ) - timedelta(days=1)
    extra = copies_ccusage_counts_per_session(env.claude_home / "projects", noon)
    assert env.run("capture", TZ=TIMEZONE).returncode == 0
    ours, theirs = cctrack_days(env), ccusage_days(env)
    key = ("claude", f"{noon:%Y-%m-%d}", "claude-sonnet-4-5-20250929")
    assert ours[key][0] == 600  # 100 + 200 + 300: each message once
    assert theirs[key][0] == ours[key][0] + extra
    assert theirs[key][1] == ours[key][1] + 30  # their output, likewise, three copies more
