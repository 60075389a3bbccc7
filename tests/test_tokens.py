"""tokens.py: which log lines count, and how often (docs/tokens.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cctrack.tokens.rules import (
    UNKNOWN_MODEL,
    ClaudeEntry,
    CodexSession,
    Deduplicator,
    claude_entry,
    epoch_ms,
    key64,
    window_measure,
)

STAMP = "2026-11-20T10:00:30.250Z"
# The key of one Codex event (test_codex_turns_...), as every release since keys were kept.
PINNED_KEY = -8293967945891511523
MINUTE = 1_795_168_800 // 60


def written(obj: Any) -> bytes:
    """A line as Claude Code and Codex write it: compact JSON."""
    return json.dumps(obj, separators=(",", ":")).encode()


def assistant(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": False,
        "cwd": "/w",
        "sessionId": "s1",
        "version": "2.0.30",
        "message": {
            "id": "msg_1",
            "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": None,
            "usage": {
                "input_tokens": 10,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 1000,
                "output_tokens": 5,
            },
        },
        "requestId": "req_1",
        "type": "assistant",
        "timestamp": STAMP,
    }
    for key, value in changes.items():
        target, _, name = key.rpartition(".")
        where = line
        for part in filter(None, target.split(".")):
            where = where[part]
        if value is KeyError:
            del where[name]
        else:
            where[name] = value
    return line


def entry(**changes: Any) -> ClaudeEntry | None:
    return claude_entry(written(assistant(**changes)))


def test_an_assistant_line_counts_its_four_types_at_its_minute() -> None:
    found = entry()
    assert found is not None
    assert found.counts == (10, 5, 100, 1000)
    assert found.model == "claude-sonnet-4-5-20250929"
    assert (found.message, found.request) == (key64("msg_1"), key64("req_1"))
    assert found.minute * 60 == epoch_ms(STAMP) // 60000 * 60  # type: ignore[operator]


def test_cache_write_breakdown_wins_over_the_total_field() -> None:
    breakdown = {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 7}
    found = entry(**{"message.usage.cache_creation": breakdown})
    assert found is not None and found.counts[2] == 37


@pytest.mark.parametrize(
    "changes",
    [
        {"message.id": None},
        {"message.model": None},
        {"requestId": None},
        {"cwd": None},
        {"message.usage.cache_read_input_tokens": None},
        {"message.id": ""},
        {"sessionId": ""},
        {"version": "dev"},
        {"message.usage.input_tokens": 1.5},
        {"message.usage.output_tokens": -1},
        {"message.usage.output_tokens": KeyError},
        {"message.usage.speed": "warp"},
        {"timestamp": "2026-11-20T10:00:30"},
        {"isSidechain": "yes"},
    ],
)
def test_lines_ccusage_skips_are_skipped(changes: dict[str, Any]) -> None:
    assert entry(**changes) is None


def test_model_names_synthetic_fast_and_odd() -> None:
    assert entry(**{"message.model": "<synthetic>"}).model == UNKNOWN_MODEL  # type: ignore[union-attr]
    assert entry(**{"message.model": KeyError}).model == UNKNOWN_MODEL  # type: ignore[union-attr]
    fast = entry(**{"message.usage.speed": "fast"})
    assert fast is not None and fast.model.endswith("-fast") and fast.speed
    assert entry(**{"message.model": 'a"b{c}'}).model == UNKNOWN_MODEL  # type: ignore[union-attr]


def test_other_lines_and_junk_count_nothing() -> None:
    assert claude_entry(b'{"type":"user","message":{"role":"user","content":"usage"}}') is None
    assert claude_entry(b'{"usage":') is None
    assert claude_entry(b"[1,2]") is None
    # A usage object where no assistant message is: a tool's result, a progress line
    # without its message.
    tool_result = b'{"type":"user","toolUseResult":{"usage":{"input_tokens":5,"output_tokens":1}}}'
    assert claude_entry(tool_result) is None
    assert claude_entry(b'{"type":"progress","data":{"usage":{"input_tokens":5}}}') is None
    assert claude_entry(b'{"type":"progress","data":{"message":{"usage":{}}}}') is None


def test_a_subagent_progress_line_counts_its_inner_message() -> None:
    inner = assistant()
    line = {"type": "progress", "timestamp": STAMP, "data": {"message": inner}}
    found = claude_entry(written(line))
    assert found is not None and found.counts == (10, 5, 100, 1000)


def e(message: str | None, request: str | None, total: int, sidechain: bool = False) -> ClaudeEntry:
    return ClaudeEntry(message, request, 1, "m", (total, 0, 0, 0), sidechain, False)


def test_copies_of_one_message_count_once_and_the_larger_copy_wins() -> None:
    dedup = Deduplicator()
    assert dedup.feed(e("m1", "r1", 10)) == (None, e("m1", "r1", 10))
    assert dedup.feed(e("m1", "r1", 10)) == (None, None)
    # A later, larger copy (the last content block's output) replaces the one counted.
    assert dedup.feed(e("m1", "r1", 12)) == (e("m1", "r1", 10), e("m1", "r1", 12))
    assert dedup.feed(e("m1", "r1", 11)) == (None, None)
    # Another request of the same message is another message, unless a sidechain copy.
    assert dedup.feed(e("m1", "r2", 5)) == (None, e("m1", "r2", 5))
    assert dedup.feed(e("m1", "r3", 50, sidechain=True)) == (None, None)
    # No message id: never a duplicate.
    assert dedup.feed(e(None, None, 3)) == (None, e(None, None, 3))
    assert dedup.feed(e(None, None, 3)) == (None, e(None, None, 3))


def test_the_main_chain_copy_replaces_a_sidechain_copy_read_first() -> None:
    dedup = Deduplicator()
    side = e("m1", "r9", 99, sidechain=True)
    assert dedup.feed(side) == (None, side)
    assert dedup.feed(e("m1", "r1", 10)) == (side, e("m1", "r1", 10))


def codex(kind: str, payload: dict[str, Any], stamp: str = STAMP) -> bytes:
    return written({"timestamp": stamp, "type": kind, "payload": payload})


def usage(input_tokens: int, cached: int, output: int, reasoning: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "output_tokens": output,
        "reasoning_output_tokens": reasoning,
        "total_tokens": input_tokens + output,
    }


def count(info: Any) -> bytes:
    return codex("event_msg", {"type": "token_count", "info": info, "rate_limits": None})


def test_codex_counts_last_usage_with_input_net_of_cache() -> None:
    session = CodexSession()
    assert session.feed(codex("turn_context", {"model": "gpt-5.1-codex"})) == []
    (found,) = session.feed(
        count({"total_token_usage": usage(100, 40, 9, 3), "last_token_usage": usage(100, 40, 9, 3)})
    )
    assert (found.model, found.counts) == ("gpt-5.1-codex", (60, 40, 9, 3, 0))
    assert window_measure("codex", found.counts) == 109


def test_lines_not_written_as_the_tools_write_them_are_skipped_as_ccusage_skips_them() -> None:
    """ccusage 20 reads a line only when it holds `"usage":{`, `"type":"event_msg"` or
    `"type":"token_count"`, or `"type":"turn_context"`, compact (checked against it in
    test_tokens_parity.py)."""
    assert entry() is not None
    assert claude_entry(json.dumps(assistant()).encode()) is None  # "usage": {
    spaced_usage = written(assistant()).replace(b'"usage":{', b'"usage": {')
    assert claude_entry(spaced_usage) is None
    event = count({"last_token_usage": usage(100, 40, 9, 3)})
    both = event.replace(b'"type":"event_msg"', b'"type": "event_msg"').replace(
        b'"type":"token_count"', b'"type": "token_count"'
    )
    assert CodexSession(model="m").feed(both) == []
    # Either one written as Codex writes it is enough.
    for one in (b'"type":"event_msg"', b'"type":"token_count"'):
        spaced = event.replace(one, one.replace(b":", b": "))
        assert len(CodexSession(model="m").feed(spaced)) == 1
    session = CodexSession()
    context = codex("turn_context", {"model": "gpt-5.1-codex"})
    session.feed(context.replace(b'"type":"turn_context"', b'"type": "turn_context"'))
    assert [e.model for e in session.feed(event)] == ["gpt-5"]  # the fallback: no model read
    session.feed(context)
    assert [e.model for e in session.feed(count({"last_token_usage": usage(1, 0, 1, 0)}))] == [
        "gpt-5.1-codex"
    ]


def test_codex_cumulative_only_events_count_their_growth() -> None:
    session = CodexSession()
    (first,) = session.feed(count({"total_token_usage": usage(100, 40, 9, 3)}))
    (second,) = session.feed(count({"total_token_usage": usage(150, 50, 20, 3)}))
    assert first.counts == (60, 40, 9, 3, 0)
    assert second.counts == (40, 10, 11, 0, 0)
    # A session that never names its model was gpt-5's; the state survives a round trip.
    assert second.model == "gpt-5"
    again = CodexSession.from_json(json.loads(json.dumps(session.to_json())))
    assert again == session


def test_codex_skips_empty_and_zero_events_and_caps_cached_at_input() -> None:
    session = CodexSession(model="gpt-5.1")
    assert session.feed(count(None)) == []
    assert session.feed(count({"last_token_usage": usage(0, 0, 0, 0)})) == []
    (capped,) = session.feed(count({"last_token_usage": usage(10, 25, 1, 0)}))
    assert capped.counts == (0, 10, 1, 0, 0)
    assert session.feed(b'{"type":"response_item","payload":{}}') == []


def test_codex_cache_writes_are_their_own_type_taken_out_of_input() -> None:
    # Codex >= 0.145 writes cache_write_input_tokens, a part of input_tokens; ccusage 20.0.24
    # reports it as cacheCreationTokens and takes it out of inputTokens (checked against the
    # real ccusage in test_tokens_parity.py).
    session = CodexSession(model="gpt-5.5")
    written = {**usage(3000, 1300, 150, 40), "cache_write_input_tokens": 700}
    (found,) = session.feed(count({"last_token_usage": written, "total_token_usage": written}))
    assert found.counts == (1000, 1300, 150, 40, 700)
    assert window_measure("codex", found.counts) == 3150  # ccusage's totalTokens
    # Cumulative-only events count the growth of the writes too.
    grown = {**usage(4000, 1800, 200, 40), "cache_write_input_tokens": 900}
    (later,) = session.feed(count({"total_token_usage": grown}))
    assert later.counts == (300, 500, 50, 0, 200)
    # State kept by a version that read no writes still loads.
    old = CodexSession.from_json([[3000, 1300, 150, 40, 3150], "gpt-5.5"])
    assert old.previous == (3000, 1300, 150, 40, 3150, 0)


def test_the_same_codex_event_has_the_same_key_in_any_file() -> None:
    line = count({"last_token_usage": usage(10, 2, 1, 0)})
    (one,) = CodexSession(model="gpt-5.1").feed(line)
    (two,) = CodexSession(model="gpt-5.1").feed(line)
    (other,) = CodexSession(model="gpt-5.1-codex").feed(line)
    assert one.key == two.key != other.key


def test_times_with_offsets_and_without() -> None:
    assert epoch_ms("2026-11-20T10:00:30.250Z") == epoch_ms("2026-11-20T15:30:30.250+05:30")
    assert epoch_ms("2026-11-20T10:00:30.250Z") % 1000 == 250  # type: ignore[operator]
    assert epoch_ms("2026-11-20T10:00:30Z") == epoch_ms("2026-11-20T10:00:30.000Z")
    assert epoch_ms("2026-11-20T10:00:30") is None
    assert epoch_ms(1_700_000_000) is None
    # Only the forms ccusage takes: not microseconds, not a date alone, not 24:00.
    assert epoch_ms("2026-11-20T10:00:30.250000Z") is None
    assert epoch_ms("2026-11-20") is None
    assert epoch_ms("2026-11-20T24:00:00Z") is None


def test_collapsing_a_files_copies_changes_nothing_the_deduplicator_ends_with() -> None:
    import random

    from cctrack.tokens.rules import collapse

    rng = random.Random(4)
    for _ in range(200):
        files = [
            [
                e(
                    rng.choice(["m1", "m2", "m3", None]),
                    rng.choice(["r1", "r2", None]),
                    rng.randint(1, 4),
                    sidechain=rng.random() < 0.3,
                )
                for _ in range(rng.randint(1, 6))
            ]
            for _ in range(3)
        ]
        totals = []
        for prepare in (lambda f: f, collapse):
            dedup, total = Deduplicator(), 0
            for file in files:
                for entry in prepare(file):
                    old, new = dedup.feed(entry)
                    total += (new.total() if new else 0) - (old.total() if old else 0)
            totals.append(total)
        assert totals[0] == totals[1]


def test_codex_times_as_numbers_are_seconds_or_milliseconds() -> None:
    info = {"last_token_usage": usage(10, 0, 1, 0)}
    line = {"type": "event_msg", "payload": {"type": "token_count", "info": info}}
    at = epoch_ms(STAMP) // 1000  # type: ignore[operator]
    (seconds,) = CodexSession(model="m").feed(written({**line, "timestamp": at}))
    (millis,) = CodexSession(model="m").feed(written({**line, "timestamp": at * 1000}))
    assert seconds.minute == millis.minute == at // 60


def test_codex_usage_under_the_usual_names_equals_the_search_by_names() -> None:
    """The shortcut for the names current builds write gives what the search through
    every name Codex builds have used gives, odd values and missing names included."""
    import random

    from cctrack.tokens.rules import _CODEX_NAMES, _codex_usage, _codex_usage_by_names

    names = [name for group in _CODEX_NAMES for name in group]
    names += ["total_tokens", "cache_write_input_tokens"]
    values: list[Any] = [0, 0, 1, 7, 120, -1, 1.5, True, None, "3", 1 << 53]
    rng = random.Random(9)
    for _ in range(3000):
        obj = {name: rng.choice(values) for name in names if rng.random() < 0.8}
        assert _codex_usage(obj) == _codex_usage_by_names(obj), obj
    assert _codex_usage(
        {
            "input_tokens": 5,
            "cached_input_tokens": 0,
            "output_tokens": 2,
            "reasoning_output_tokens": 1,
            "total_tokens": 0,
        }
    ) == (5, 0, 2, 1, 8, 0)


SPAWN = "2026-05-12T08:03:00.000Z"


def subagent_lines(cumulative: bool = False) -> list[bytes]:
    """ccusage's own fixture: a sub-agent's rollout replays its parent's two events at the
    second it was spawned, then counts its own."""

    def event(stamp: str, last: tuple[int, ...], total: tuple[int, ...]) -> bytes:
        info: dict[str, Any] = {"total_token_usage": usage(*total)}
        if not cumulative:
            info["last_token_usage"] = usage(*last)
        return codex("event_msg", {"type": "token_count", "info": info}, stamp)

    return [
        codex("turn_context", {"model": "gpt-5.2"}, SPAWN),
        event(SPAWN, (1000, 100, 200, 0), (1000, 100, 200, 0)),
        event(SPAWN, (500, 50, 100, 0), (1500, 150, 300, 0)),
        event("2026-05-12T08:04:00.000Z", (100, 10, 20, 0), (1600, 160, 320, 0)),
        event("2026-05-12T08:05:00.000Z", (50, 5, 10, 0), (1650, 165, 330, 0)),
    ]


@pytest.mark.parametrize("cumulative", [False, True])
def test_a_subagents_replay_of_its_parents_history_is_not_counted(cumulative: bool) -> None:
    lines = subagent_lines(cumulative)
    session = CodexSession(deciding=True)
    found = [entry for line in lines for entry in session.feed(line)]
    assert [e.counts for e in found] == [(90, 10, 20, 0, 0), (45, 5, 10, 0, 0)]
    # Not a sub-agent (no thread_spawn at its head): everything counts.
    plain = [entry for line in lines for entry in CodexSession().feed(line)]
    assert len(plain) == 4


def test_a_subagent_session_without_a_replay_counts_all_once_its_second_event_is_read() -> None:
    lines = subagent_lines()
    lines[2] = lines[2].replace(b"08:03:00", b"08:03:01")
    session = CodexSession(deciding=True)
    assert session.feed(lines[0]) == [] and session.feed(lines[1]) == []
    # A scan may end here: the held line survives the store, and the next scan decides.
    session = CodexSession.from_json(json.loads(json.dumps(session.to_json())))
    released = session.feed(lines[2])
    assert [e.counts for e in released] == [(900, 100, 200, 0, 0), (450, 50, 100, 0, 0)]
    assert [e.model for e in released] == ["gpt-5.2", "gpt-5.2"]
    assert len(session.feed(lines[3])) == 1
    assert session.to_json() == CodexSession(session.previous, session.model).to_json()


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("2026-11-20T10:00:00.123Z", 1_795_168_800_123),  # the tools' own form (fast path)
        ("2026-11-20T10:00:00Z", 1_795_168_800_000),
        ("2026-11-20T11:00:00.500+01:00", 1_795_168_800_500),
        # Milliseconds or nothing, as ccusage's pattern takes them.
        ("2026-11-20T11:00:00.5+01:00", None),
        ("2026-11-20T10:00:00.123456+00:00", None),
        ("2026-11-20T10:00:00.12aZ", None),
        ("2026-13-20T10:00:00.123Z", None),
        ("2026-11-20 10:00:00Z", None),
        ("yesterday", None),
        (1_795_168_800, None),
    ],
)
def test_a_time_as_ccusage_takes_it(text: object, millis: int | None) -> None:
    """(The fast path's own conditions are an optimisation: a mutant of them falls through
    to the full parse, which gives the same answer, and `/` for `//` is exact on whole
    milliseconds; those mutants are equivalent.)"""
    from cctrack.tokens.rules import epoch_ms

    assert epoch_ms(text) == millis


@pytest.mark.parametrize(
    ("value", "stamp"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_795_168_800, "2026-11-20T10:00:00.000Z"),  # seconds
        (1_795_168_800_123, "2026-11-20T10:00:00.123Z"),  # milliseconds past 10^10
        (-1, None),
        (True, None),
        ("  2026-11-20T10:00:00Z ", "2026-11-20T10:00:00Z"),
        ("   ", None),
        (None, None),
    ],
)
def test_a_codex_lines_time_as_ccusage_compares_it(value: object, stamp: str | None) -> None:
    from cctrack.tokens.rules import _session_stamp

    assert _session_stamp(value) == stamp


@pytest.mark.parametrize(
    ("obj", "model"),
    [
        ({"model": "gpt-5", "model_name": "other"}, "gpt-5"),
        ({"model": "", "model_name": "gpt-5-codex"}, "gpt-5-codex"),
        ({"metadata": {"model": "o3"}}, "o3"),
        ({"metadata": {"model": ""}}, None),
        ({"metadata": ["o3"]}, None),
        ({"model": 5}, None),
    ],
)
def test_where_a_codex_line_names_its_model(obj: dict[str, Any], model: str | None) -> None:
    from cctrack.tokens.rules import _model_of

    assert _model_of(obj) == model


def test_keys_are_stable_signed_64_bit_numbers() -> None:
    from cctrack.tokens.rules import key64

    assert key64("msg_01/req_01") == key64("msg_01/req_01")
    keys = [key64(f"message {i}") for i in range(200)]
    assert all(-(2**63) <= k < 2**63 for k in keys) and any(k < 0 for k in keys)
    assert key64("") == int.from_bytes(
        __import__("hashlib").blake2b(b"", digest_size=8).digest(), "big", signed=True
    )


def test_a_codex_sessions_state_through_its_json_and_what_it_refuses() -> None:
    """The scan store keeps each rollout's session state between scans: every shape of it
    comes back equal, and one that is not a state is refused, never half read."""
    shapes = [
        CodexSession(),
        CodexSession((1, 2, 3, 4, 5, 6), "gpt-5.5"),
        CodexSession(model="m", cwd="/p"),
        CodexSession(None, "m", True, "2026-05-12T08:03:00", [{"a": 1}], None),
        CodexSession((1, 2, 3, 4, 5, 6), "m", False, None, [], "2026-05-12T08:03:00", "/p"),
    ]
    for session in shapes:
        assert CodexSession.from_json(json.loads(json.dumps(session.to_json()))) == session
    assert [len(s.to_json()) for s in shapes] == [2, 2, 7, 6, 7]
    # Kept before cache writes were read: five numbers, the sixth 0.
    assert CodexSession.from_json([[1, 2, 3, 4, 5], None]).previous == (1, 2, 3, 4, 5, 0)
    refused = [
        [[1, 2, 3, 4], None],
        [[1, 2, 3, 4, 5, -6], None],
        [[1, 2, 3, 4, 5, True], None],
        [[1, 2, 3, 4, 5, 6.0], None],
        [None, 5],
        [None, "m", False, None, [], None, 5],
        [None, "m", "yes", None, [], None],
        [None, "m", True, None, "held", None],
        [None, "m", True, 5, [], None],
        [None, "m", True, None, [], 5],
    ]
    for obj in refused:
        with pytest.raises(ValueError, match=r"^bad Codex session state$"):
            CodexSession.from_json(obj)


def test_a_scan_result_through_its_json() -> None:
    from cctrack.tokens.rules import ScanResult

    result = ScanResult("codex", "work", 3, 4096, 2)
    assert ScanResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_claudes_counts_with_and_without_their_optional_fields() -> None:
    from cctrack.tokens.rules import _claude_counts

    plain = {"input_tokens": 1, "output_tokens": 2}
    assert _claude_counts(plain) == (1, 2, 0, 0)
    assert _claude_counts({**plain, "cache_creation": {"ephemeral_5m_input_tokens": 3}}) == (
        1,
        2,
        3,
        0,
    )
    assert _claude_counts({**plain, "cache_creation": {"ephemeral_1h_input_tokens": 4}}) == (
        1,
        2,
        4,
        0,
    )
    both_wrong = {"ephemeral_5m_input_tokens": -1, "ephemeral_1h_input_tokens": 4}
    assert _claude_counts({**plain, "cache_creation": both_wrong}) is None


def test_a_claude_line_with_its_project_side_chain_and_model_as_ccusage_reads_them() -> None:
    from cctrack.tokens.rules import ClaudeEntry

    line = written(assistant(isSidechain=True))
    found = claude_entry(line)
    assert found is not None and found.project == "" and found.sidechain is True
    assert claude_entry(line, projects=True).project == "/w"  # type: ignore[union-attr]
    odd_cwd = written(assistant(cwd=5))
    assert claude_entry(odd_cwd, projects=True).project == ""  # type: ignore[union-attr]
    assert entry().sidechain is False  # type: ignore[union-attr]
    assert entry(**{"message.model": "<synthetic>"}).model == UNKNOWN_MODEL  # type: ignore[union-attr]
    assert entry(**{"message.usage.speed": "standard"}).speed is True  # type: ignore[union-attr]
    assert entry(**{"message.usage.speed": "turbo"}) is None
    for changes in ({"message.model": ""}, {"requestId": ""}):
        assert entry(**changes) is None, changes
    anonymous = entry(**{"message.id": KeyError, "requestId": KeyError})
    assert isinstance(anonymous, ClaudeEntry)
    assert anonymous.message is None and anonymous.request is None


def test_copies_at_their_edges_collapse_as_the_deduplicator_ends() -> None:
    from cctrack.tokens.rules import collapse, replaces

    first, larger, other = e("m1", "r1", 10), e("m1", "r1", 12), e("m1", "r2", 5)
    assert collapse([first, other, larger, e(None, None, 1)]) == [larger, other, e(None, None, 1)]
    # Equal totals: the first copy stays, unless only the later one names its speed.
    assert not replaces(e("m1", "r1", 10), first)
    speedy = ClaudeEntry("m1", "r1", 1, "m", (10, 0, 0, 0), False, True)
    assert replaces(speedy, first) and not replaces(speedy, speedy)
    # A copy stored by an earlier scan, replaced: to be stored again.
    from cctrack.tokens.rules import Slot

    dedup = Deduplicator()
    dedup.slots["m1"] = [Slot(first, row=7, changed=False)]  # type: ignore[index]
    assert list(dedup.changed()) == []
    dedup.feed(larger)
    assert [slot.entry for slot in dedup.changed()] == [larger]
    assert window_measure("claude", (1, 2, 3, 4)) == 10
    assert window_measure("codex", (1, 2, 3, 4, 5)) == 11


def test_codex_times_and_counts_at_their_edges() -> None:
    from cctrack.tokens.rules import MAX_TOKENS, _codex_time, _codex_usage, _is_count, _usage_event

    assert _codex_time(0) == 0
    assert _codex_time(10_000_000_000) == 10_000_000_000_000  # seconds up to 10^10
    assert _codex_time(10_000_000_001) == 10_000_000_001  # milliseconds past it
    assert _codex_time(" 2026-11-20T10:00:30.250Z ") == epoch_ms(STAMP)
    assert _codex_time(None) is None and _codex_time(-1) is None
    assert type(epoch_ms("2026-11-20T15:30:30+05:30")) is int
    assert _is_count(MAX_TOKENS - 1) and not _is_count(MAX_TOKENS)
    # A total of 0 beside counts that are not: the counts' sum, as ccusage makes it.
    by_names = {"prompt_tokens": 0, "completion_tokens": 3, "reasoning_tokens": 3}
    assert _codex_usage({**by_names, "total_tokens": 0})[4] == 6  # type: ignore[index]
    usages = {
        "last": {"last_token_usage": usage(1, 0, 1, 0)},
        "total": {"total_token_usage": usage(1, 0, 1, 0)},
    }
    for info in usages.values():
        assert _usage_event(json.loads(count(info)))
    assert not _usage_event(json.loads(count({"rate": {}})))
    other = {
        "timestamp": STAMP,
        "type": "event_msg",
        "payload": {"type": "agent_message", "info": usages["last"]},
    }
    assert _usage_event({**other, "payload": {"type": "token_count", "info": usages["last"]}})
    assert not _usage_event(other)


def test_codex_turns_name_the_project_and_the_model_of_the_events_after_them() -> None:
    session = CodexSession()
    session.feed(codex("turn_context", {"model": "gpt-5.5", "cwd": "/p"}))
    (found,) = session.feed(count({"last_token_usage": usage(10, 2, 1, 0)}))
    assert (found.model, found.project) == ("gpt-5.5", "/p")
    session.feed(codex("turn_context", {"cwd": 5}))
    (kept,) = session.feed(count({"last_token_usage": usage(10, 2, 1, 0)}))
    assert kept.project == "/p"
    # A model named by the event's info, not its turn, is the session's from then on.
    (named,) = session.feed(count({"last_token_usage": usage(3, 0, 1, 0), "model": "o5"}))
    assert named.model == "o5" and session.model == "o5"
    # Only a total that moved: nothing to count.
    empty = usage(0, 0, 0, 0) | {"total_tokens": 5}
    assert session.feed(count({"last_token_usage": empty})) == []
    # Cache writes are at most the input not read from the cache.
    writes = usage(100, 40, 1, 0) | {"cache_write_input_tokens": 80}
    (capped,) = CodexSession(model="m").feed(count({"last_token_usage": writes}))
    assert capped.counts == (0, 40, 1, 0, 60)
    # The key of an event is stable across releases: a scan store keeps it.
    (pinned,) = CodexSession(model="gpt-5.1").feed(count({"last_token_usage": usage(10, 2, 1, 0)}))
    assert pinned.key == PINNED_KEY
    # Two events that differ only in their cache writes are two events.
    plus = usage(10, 2, 1, 0) | {"cache_write_input_tokens": 3}
    (other,) = CodexSession(model="gpt-5.1").feed(count({"last_token_usage": plus}))
    assert other.key != pinned.key
    # A payload that is not an object is no event.
    assert CodexSession().feed(b'{"type":"event_msg","payload":"token_count"}') == []


def test_a_subagent_session_at_its_edges() -> None:
    # A deciding session may be fed a token_count without a time: it waits, unbroken.
    session = CodexSession(deciding=True)
    timeless = written(
        {
            "type": "event_msg",
            "payload": {"type": "token_count", "info": {"last_token_usage": usage(1, 0, 1, 0)}},
        }
    )
    session.feed(timeless)
    # Not a replay (the second events differ): an event later in the second event's own
    # second still counts.
    lines = subagent_lines()
    lines[2] = lines[2].replace(b"08:03:00", b"08:03:01")
    lines[3] = lines[3].replace(b"08:04:00.000", b"08:03:01.500")
    session = CodexSession(deciding=True)
    found = [entry for line in lines for entry in session.feed(line)]
    assert len(found) == 4
