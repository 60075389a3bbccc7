"""records.py at its edges: every rule of the records (docs/records.md) on the value that
decides it, and the message a refusal gives."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from test_status import status_json

from cctrack import records, status
from cctrack.records import MAX_SEQ, Record, TokenRecord
from cctrack.status import MAX_COUNT, Status, Window

UTC = timezone.utc
T0 = datetime(2026, 12, 5, 12, tzinfo=UTC)
STORE = "0123456789abcdef"


def test_the_labels_and_numbers_a_record_keeps() -> None:
    assert records.model_label("gpt-5.5@2026/x:y+z") == "gpt-5.5@2026/x:y+z"
    assert records.model_label("a b") is None
    assert records.model_label("m" * 101) is None
    assert records.record_profile({"profile": "work"}) == "work"
    assert records.record_profile({"profile": 3}) == "default"
    assert records.record_profile({}) == "default"
    assert not records.has_record_envelope(status.strict_loads(b'{"seq_no": %d}' % (1 << 64)))


def envelope(**fields: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "seq_no": 7,
        "timestamp": "2026-12-05T12:00:00.123Z",
        "hostname": "h",
        "source_tool": "codex",
        "ok": False,
        "error": "down",
        **fields,
    }


def test_the_envelope_every_record_has() -> None:
    assert records.has_record_envelope(envelope())
    assert records.has_record_envelope(envelope(seq_no=1))
    assert records.has_record_envelope(envelope(seq_no=MAX_SEQ))
    assert records.has_record_envelope(envelope(profile="work"))
    assert records.has_record_envelope(envelope(ok=True, error=None))
    for broken in (
        envelope(v=2),
        envelope(v=True),
        envelope(seq_no=0),
        envelope(seq_no=MAX_SEQ + 1),
        envelope(seq_no=1.0),
        envelope(source_tool="Gemini"),
        envelope(ok=1),
        envelope(timestamp=5),
        envelope(hostname=None),
        envelope(error=None),
        envelope(profile="Work"),
        envelope(profile=7),
        [envelope()],
    ):
        assert not records.has_record_envelope(broken), broken
    missing = envelope()
    del missing["v"]
    assert not records.has_record_envelope(missing)


def test_a_record_through_its_line_and_back() -> None:
    failed = Record.from_json(envelope(profile="work"))
    assert failed == Record(
        7, T0.replace(microsecond=123000), "h", "codex", False, None, "down", "work"
    )
    assert failed.to_line() == (
        b'{"v":1,"seq_no":7,"timestamp":"2026-12-05T12:00:00.123Z","hostname":"h",'
        b'"source_tool":"codex","ok":false,"profile":"work","error":"down"}\n'
    )
    default = Record.from_json(envelope())
    assert "profile" not in default.to_json() and default.profile == "default"
    good = Record.from_json({**status_json(), **envelope(ok=True, error=None)})
    assert good.status is not None and good.to_json()["windows"]
    # A record made in code is written only with finite numbers (JSON has no NaN).
    nan = Status("codex", T0, "app-server", (Window("five_hour", float("nan"), None, None),))
    with pytest.raises(ValueError):
        Record(1, T0, "h", "codex", True, nan).to_line()
    with pytest.raises(ValueError, match=r"^error is not a string$"):
        Record.from_json(envelope(ok=True, error=5))
    with pytest.raises(ValueError, match=r"^not a cctrack record of this version$"):
        Record.from_json(envelope(v=2))


def token_json(**fields: Any) -> dict[str, Any]:
    return {
        **envelope(ok=True, error=None),
        "kind": "tokens",
        "scan": [STORE, 3, 0],
        "tokens": [[29000000, "gpt-5.5", 10, 2, 3, 1, 0]],
        **fields,
    }


def test_a_token_record_at_its_edges() -> None:
    record = TokenRecord.from_json(token_json())
    assert record.rows == ((29000000, "gpt-5.5", 10, 2, 3, 1, 0),)
    assert record.profile == "default"
    assert TokenRecord.from_json(token_json(profile="work")).profile == "work"
    assert TokenRecord.from_json(token_json(tokens=[[0, "m", 1, 2, 3, 4, 5]])).rows[0][0] == 0
    assert (record.store, record.scan, record.part, record.seq_no) == (STORE, 3, 0, 7)
    assert TokenRecord.from_json(record.to_json()) == record
    # Rows written before cache_write was counted apart: four counts, the fifth is 0.
    old = TokenRecord.from_json(token_json(tokens=[[5, "gpt-5.5", 10, 2, 3, 1]]))
    assert old.rows == ((5, "gpt-5.5", 10, 2, 3, 1, 0),)
    claude = token_json(source_tool="claude", tokens=[[5, "claude-opus-4-5", 1, 2, 3, 4]])
    assert TokenRecord.from_json(claude).rows == ((5, "claude-opus-4-5", 1, 2, 3, 4),)
    with pytest.raises(ValueError, match=r"^bad token row$"):
        TokenRecord.from_json({**claude, "tokens": [[5, "claude-opus-4-5", 1, 2, 3]]})
    # A count past the bound costs its row alone.
    rows = [[5, "gpt-5.5", MAX_COUNT + 1, 0, 0, 0, 0], [6, "gpt-5.5", -MAX_COUNT, 0, 0, 0, 0]]
    assert TokenRecord.from_json(token_json(tokens=rows)).rows == (
        (6, "gpt-5.5", -MAX_COUNT, 0, 0, 0, 0),
    )
    refusals = {
        "not a token record": [
            token_json(kind="status"),
            token_json(seq_no=0),
            {**token_json(), "v": 2},
        ],
        "bad scan store id": [token_json(scan=["0123", 3, 0]), token_json(scan=[5, 3, 0])],
        "bad scan number": [
            token_json(scan=[STORE, -1, 0]),
            token_json(scan=[STORE, 0, MAX_SEQ + 1]),
            token_json(scan=[STORE, True, 0]),
        ],
        "bad token row": [
            token_json(tokens=[[True, "gpt-5.5", 1, 2, 3, 4, 5]]),
            token_json(tokens=[[1 << 40, "gpt-5.5", 1, 2, 3, 4, 5]]),
            token_json(tokens=[[-1, "gpt-5.5", 1, 2, 3, 4, 5]]),
            token_json(tokens=[[5, "gpt-5.5", 1, 2, 3, 4, 5, 6]]),
        ],
        "bad model name": [
            token_json(tokens=[[5, "gpt 5", 1, 2, 3, 4, 5]]),
            token_json(tokens=[[5, 5, 1, 2, 3, 4, 5]]),
        ],
    }
    for message, objs in refusals.items():
        for obj in objs:
            with pytest.raises(ValueError, match=rf"^{message}$"):
                TokenRecord.from_json(obj)
    edge = token_json(tokens=[[(1 << 40) - 1, "gpt-5.5", 1, 2, 3, 4, 5]], scan=[STORE, MAX_SEQ, 0])
    assert TokenRecord.from_json(edge).scan == MAX_SEQ


def test_a_token_record_not_yet_numbered_and_its_projects() -> None:
    waiting = TokenRecord.from_json(token_json(seq_no=0), numbered=False)
    assert waiting.seq_no == 0
    with pytest.raises(ValueError, match=r"^not a token record$"):
        TokenRecord.from_json(token_json(seq_no=0))
    project = "/home/me/" + "p" * (records.MAX_PROJECT - 9)
    rows = [[5, project, "gpt-5.5", 1, 2, 3, 4, 5], [5, "/x", "gpt-5.5", MAX_COUNT + 1, 0, 0, 0, 0]]
    counted = TokenRecord.from_json(token_json(projects=rows))
    assert counted.projects == ((5, project, "gpt-5.5", 1, 2, 3, 4, 5),)
    assert TokenRecord.from_json(counted.to_json()) == counted
    assert "projects" not in TokenRecord.from_json(token_json()).to_json()
    for bad in ([5, project + "p", "gpt-5.5", 1, 2, 3, 4, 5], [5, 9, "gpt-5.5", 1, 2, 3, 4, 5]):
        with pytest.raises(ValueError, match=r"^bad project$"):
            TokenRecord.from_json(token_json(projects=[bad]))
