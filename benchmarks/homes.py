"""Claude Code and Codex homes in the formats the tools really write: compact JSON lines,
one per event, with the fields ccusage and cctrack read and the bulk (message text, tool
results) around them that makes real transcripts large.

Used by benchmarks/generate.py for size and by tests/test_tokens_parity.py for the cases
that matter to token counting: several models, messages written as several lines (one per
content block, output growing), resumed sessions that copy earlier messages into a new
file, sidechain replays, sessions spanning midnight, Codex sessions whose model changes
mid-session and token_count events that carry only cumulative totals.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

UTC = timezone.utc
CLAUDE_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5")
CODEX_MODELS = ("gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5.1")
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def stamp(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


@dataclass
class ClaudeSession:
    """One transcript file being written: its lines, and the assistant lines a later
    session resuming it will copy."""

    path: Path
    session_id: str
    lines: list[str]


def _uuid(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-8{value[17:20]}-{value[20:]}"


def claude_turn(
    rng: random.Random, session_id: str, moment: datetime, model: str, filler: int
) -> list[str]:
    """A user line and the assistant's reply, written as one line per content block with the
    same message id and request id; the last block's output count is the final one."""
    cwd = "/home/u/project"
    common = {
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session_id,
        "version": "2.0.30",
        "gitBranch": "main",
    }
    user = {
        "parentUuid": _uuid(rng),
        **common,
        "type": "user",
        "message": {
            "role": "user",
            "content": [
                {
                    "tool_use_id": f"toolu_{rng.getrandbits(64):016x}",
                    "type": "tool_result",
                    "content": text(rng, filler),
                }
            ],
        },
        "uuid": _uuid(rng),
        "timestamp": stamp(moment),
    }
    message_id = f"msg_01{rng.getrandbits(80):020x}"
    request_id = f"req_011{rng.getrandbits(80):020x}"
    usage = {
        "input_tokens": rng.randint(1, 3000),
        "cache_creation_input_tokens": rng.randint(0, 9000),
        "cache_read_input_tokens": rng.randint(0, 90000),
        "output_tokens": rng.randint(1, 2000),
    }
    blocks = rng.choice((1, 1, 2, 3))
    lines = [compact(user)]
    for block in range(blocks):
        moment += timedelta(milliseconds=rng.randint(50, 4000))
        output = usage["output_tokens"] if block == blocks - 1 else rng.randint(1, 30)
        cache_5m = usage["cache_creation_input_tokens"]
        assistant = {
            "parentUuid": _uuid(rng),
            **common,
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text(rng, filler // 4)}],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": usage["input_tokens"],
                    "cache_creation_input_tokens": cache_5m,
                    "cache_read_input_tokens": usage["cache_read_input_tokens"],
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": cache_5m,
                        "ephemeral_1h_input_tokens": 0,
                    },
                    "output_tokens": output,
                    "service_tier": "standard",
                },
            },
            "requestId": request_id,
            "type": "assistant",
            "uuid": _uuid(rng),
            "timestamp": stamp(moment),
        }
        lines.append(compact(assistant))
    return lines


def write_claude_home(
    home: Path, start: datetime, end: datetime, target_bytes: int, rng: random.Random
) -> int:
    """Sessions from start to end filling about target_bytes; every tenth session resumes an
    earlier one (copying its assistant lines verbatim, as `claude --resume` does), and some
    turns run a sidechain that replays the parent's message. Returns the bytes written."""
    sessions = max(3, target_bytes // (400 << 10))
    per_session = target_bytes // sessions
    span = (end - start).total_seconds()
    written = 0
    earlier: list[list[str]] = []
    for i in range(sessions):
        folder = home / "projects" / f"-home-u-project{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        session_id = _uuid(rng)
        moment = start + timedelta(seconds=span * i / sessions)
        model = CLAUDE_MODELS[i % len(CLAUDE_MODELS)]
        lines: list[str] = []
        if earlier and i % 10 == 9:
            lines += rng.choice(earlier)
        size = sum(map(len, lines))
        own: list[str] = []
        while size < per_session and moment < end:
            moment += timedelta(seconds=rng.randint(5, 120))
            if rng.random() < 0.1:
                model = rng.choice(CLAUDE_MODELS)
            # Tool results (file contents, command output) are most of a transcript's bytes.
            turn = claude_turn(rng, session_id, moment, model, rng.randint(50, 1500))
            if rng.random() < 0.02:
                replay = json.loads(turn[-1])
                replay["isSidechain"] = True
                replay["requestId"] = f"req_011{rng.getrandbits(80):020x}"
                turn.append(compact(replay))
            own += turn
            size += sum(map(len, turn))
        lines += own
        earlier.append([line for line in own if '"type":"assistant"' in line])
        data = "\n".join(lines) + "\n"
        (folder / f"{session_id}.jsonl").write_text(data)
        written += len(data)
    return written


def codex_session(
    rng: random.Random, start: datetime, end: datetime, target_bytes: int, cumulative_only: bool
) -> str:
    moment = start
    model = rng.choice(CODEX_MODELS)
    lines = [
        compact(
            {
                "timestamp": stamp(moment),
                "type": "session_meta",
                "payload": {"id": _uuid(rng), "cwd": "/home/u/project", "cli_version": "0.63.0"},
            }
        ),
        compact(
            {
                "timestamp": stamp(moment),
                "type": "turn_context",
                "payload": {"cwd": "/home/u/project", "model": model, "effort": "medium"},
            }
        ),
        compact(
            {
                "timestamp": stamp(moment),
                "type": "event_msg",
                "payload": {"type": "token_count", "info": None, "rate_limits": None},
            }
        ),
    ]
    size = sum(map(len, lines))
    totals = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0}
    totals["reasoning_output_tokens"] = 0
    # Codex >= 0.145 also writes cache writes, a part of input_tokens; older builds do not.
    writes = rng.random() < 0.5
    if writes:
        totals["cache_write_input_tokens"] = 0
    while size < target_bytes and moment < end:
        moment += timedelta(seconds=rng.randint(5, 90))
        turn = []
        if rng.random() < 0.05:
            model = rng.choice(CODEX_MODELS)
            turn.append(
                compact(
                    {
                        "timestamp": stamp(moment),
                        "type": "turn_context",
                        "payload": {"cwd": "/home/u/project", "model": model, "effort": "high"},
                    }
                )
            )
        # A model call: encrypted reasoning, a tool call's output, a message; then its
        # token count. The first two are most of a rollout's bytes.
        secret = rng.getrandbits(8 * rng.randint(600, 3000))
        items = [
            {"type": "reasoning", "summary": [], "encrypted_content": f"gAAAAA{secret:x}"},
            {
                "type": "function_call_output",
                "call_id": f"call_{rng.getrandbits(64):x}",
                "output": text(rng, rng.randint(30, 1200)),
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text(rng, rng.randint(20, 300))}],
            },
        ]
        turn += [
            compact({"timestamp": stamp(moment), "type": "response_item", "payload": item})
            for item in items
        ]
        input_tokens = rng.randint(1000, 60000)
        last = {
            "input_tokens": input_tokens,
            "cached_input_tokens": rng.randint(0, input_tokens),
            "output_tokens": rng.randint(10, 4000),
            "reasoning_output_tokens": 0,
        }
        last["reasoning_output_tokens"] = rng.randint(0, last["output_tokens"])
        if writes:
            last["cache_write_input_tokens"] = rng.randint(
                0, last["input_tokens"] - last["cached_input_tokens"]
            )
        last["total_tokens"] = last["input_tokens"] + last["output_tokens"]
        for key in totals:
            totals[key] += last[key]
        total = {**totals, "total_tokens": totals["input_tokens"] + totals["output_tokens"]}
        info: dict[str, Any] = {"total_token_usage": total, "model_context_window": 272000}
        if not cumulative_only:
            info["last_token_usage"] = last
        reset = int((moment + timedelta(hours=rng.uniform(0.1, 5))).timestamp())
        turn.append(
            compact(
                {
                    "timestamp": stamp(moment),
                    "type": "event_msg",
                    "payload": {
                        "type": "token_count",
                        "info": info,
                        "rate_limits": {
                            "limit_id": "codex",
                            "limit_name": None,
                            "primary": {
                                "used_percent": round(rng.uniform(0, 100), 1),
                                "window_minutes": 300,
                                "resets_at": reset,
                            },
                            "secondary": {
                                "used_percent": round(rng.uniform(0, 100), 1),
                                "window_minutes": 10080,
                                "resets_at": reset + 86400,
                            },
                            "credits": None,
                            "plan_type": "plus",
                        },
                    },
                }
            )
        )
        lines += turn
        size += sum(map(len, turn))
    return "\n".join(lines) + "\n"


def codex_subagent_session(
    parent: str, spawn: datetime, end: datetime, target_bytes: int, rng: random.Random
) -> str:
    """A sub-agent's rollout as Codex writes one (`thread_spawn`): its parent's token
    history replayed, every event stamped with the second of the spawn, then its own."""
    meta = {"id": _uuid(rng), "source": {"subagent": {"thread_spawn": {"parent_thread_id": "p"}}}}
    lines = [compact({"timestamp": stamp(spawn), "type": "session_meta", "payload": meta})]
    for line in parent.splitlines():
        obj = json.loads(line)
        if obj["type"] == "event_msg" and obj["payload"].get("info"):
            lines.append(compact({**obj, "timestamp": stamp(spawn)}))
    own = codex_session(rng, spawn + timedelta(seconds=1), end, target_bytes, False)
    return "\n".join(lines) + "\n" + own


def write_codex_home(
    home: Path, start: datetime, end: datetime, target_bytes: int, rng: random.Random
) -> int:
    """Rollouts under sessions/YYYY/MM/DD from start to end filling about target_bytes; every
    fifth session writes only cumulative totals (older Codex builds). Returns bytes written."""
    files = max(3, target_bytes // (200 << 10))
    per_file = target_bytes // files
    span = (end - start).total_seconds()
    written = 0
    for i in range(files):
        begin = start + timedelta(seconds=span * i / files)
        local = begin.astimezone()
        folder = home / "sessions" / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"rollout-{local:%Y-%m-%dT%H-%M-%S}-{_uuid(rng)}.jsonl"
        data = codex_session(rng, begin, end, per_file, cumulative_only=i % 5 == 4)
        (folder / name).write_text(data)
        mtime = min(end, begin + timedelta(hours=1)).timestamp()
        os.utime(folder / name, (mtime, mtime))
        written += len(data)
    return written


def midnight_session(home: Path, day: datetime, rng: random.Random) -> None:
    """A Claude session and a Codex session that run from 23:00 on day to 01:00 the next day,
    in day's own timezone (an aware datetime: the zone the counts are compared in)."""
    local_midnight = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start, end = local_midnight - timedelta(hours=1), local_midnight + timedelta(hours=1)
    write_claude_home(home / "claude", start, end, 60 << 10, rng)
    write_codex_home(home / "codex", start, end, 60 << 10, rng)


def now_utc() -> datetime:
    return datetime.now(UTC)
