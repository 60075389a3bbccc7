"""docs/status.schema.json, the status object published for any agent's status tool, held
to the validator capture runs (status.Status.from_json): each example is accepted by both
or refused by both, and what cctrack's own tools print is valid by the schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cctrack.status import Status

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "status.schema.json").read_text())

BASE: dict[str, Any] = {
    "source_tool": "gemini",
    "observed_at": "2026-12-05T18:00:00Z",
    "origin": "codexbar:oauth",
    "windows": {
        "five_hour": {
            "used_ratio": 0.42,
            "window_seconds": 18000,
            "resets_at": "2026-12-05T20:00:00Z",
        },
        "weekly": {"used_ratio": 0.13, "window_seconds": None, "resets_at": None},
    },
}


def changed(**fields: Any) -> dict[str, Any]:
    status = copy.deepcopy(BASE)
    for key, value in fields.items():
        if value is None:
            status.pop(key, None)
        else:
            status[key] = value
    return status


REQUESTS = {
    "limit": "premium_requests",
    "used_ratio": 1.2,
    "used": 360,
    "amount": 300,
    "unit": "requests",
    "resets_at": "2026-12-31T00:00:00+01:00",
}
VALID = {
    "the least": BASE,
    "an estimate": changed(confidence="estimated"),
    "the vendor's own": changed(confidence="official", plan="Pro", account="0123456789ab"),
    "requests past 100 %": changed(windows={}, spend=[REQUESTS]),
    "a bucket": changed(
        buckets=[{"bucket": "opus", "window": "weekly", "used_ratio": 0.8, "resets_at": None}]
    ),
    "credits": changed(extras={"credits_balance": 112.4, "observed_at": "2026-12-05T17:00:00Z"}),
    "rounding past 100 %": changed(windows={"daily": {"used_ratio": 1.04}}),
    "claude": changed(source_tool="claude", origin="statusline"),
    "fractional seconds": changed(observed_at="2026-12-05T18:00:00.123456Z"),
    "fields it does not know": changed(vendor_note="hello"),
}
INVALID = {
    "no origin": changed(origin=None),
    "an origin that is no label": changed(origin="my tool"),
    "a name that is no tool's": changed(source_tool="Gemini"),
    "a name too long": changed(source_tool="g" * 33),
    "no window and no spend": changed(windows={}),
    "used past rounding": changed(windows={"daily": {"used_ratio": 1.2}}),
    "used negative": changed(windows={"daily": {"used_ratio": -0.1}}),
    "a percentage": changed(windows={"daily": {"used_ratio": "42%"}}),
    "a window named in capitals": changed(windows={"Daily": {"used_ratio": 0.1}}),
    "a window of no length": changed(windows={"daily": {"used_ratio": 0.1, "window_seconds": 0}}),
    "a time without its offset": changed(observed_at="2026-12-05T18:00:00"),
    "a confidence of another kind": changed(confidence="guess"),
    "spend past 100 times": changed(spend=[{**REQUESTS, "used_ratio": 101}]),
    "a bucket without its name": changed(buckets=[{"window": "weekly", "used_ratio": 0.1}]),
    "a negative count": changed(extras={"reset_credits_available": -1}),
    "not an object": [BASE],
}


def accepted_by_capture(status: Any) -> bool:
    try:
        Status.from_json(status)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


def test_the_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(VALID))
def test_what_the_schema_accepts_capture_accepts(name: str) -> None:
    jsonschema.validate(VALID[name], SCHEMA, cls=jsonschema.Draft202012Validator)
    assert accepted_by_capture(VALID[name])


@pytest.mark.parametrize("name", sorted(INVALID))
def test_what_the_schema_refuses_capture_refuses(name: str) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert not validator.is_valid(INVALID[name])
    assert not accepted_by_capture(INVALID[name])


def test_what_cctracks_own_tools_print_is_valid(tmp_path: Path) -> None:
    """The built-ins' statuses with every field they may carry, and the CodexBar adapter's."""
    import subprocess
    from datetime import datetime, timezone

    from builders import fixed_tool
    from test_agents import codexbar_payload

    from cctrack.sources.codexbar import status_from_codexbar

    validator = jsonschema.Draft202012Validator(SCHEMA)
    for source in ("claude", "codex"):
        tool = fixed_tool(tmp_path / source, source, 0.5, 0.2, details=True)
        printed = json.loads(subprocess.run([tool], capture_output=True, check=True).stdout)
        assert validator.is_valid(printed), list(validator.iter_errors(printed))
    payload = json.loads(
        json.dumps(codexbar_payload())
        .replace("$now", "2026-12-05T17:59:00Z")
        .replace("$five", "2026-12-05T20:00:00Z")
        .replace("$week", "2026-12-09T00:00:00Z")
    )
    moment = datetime(2026, 12, 5, 18, tzinfo=timezone.utc)
    adapted = status_from_codexbar(payload, "gemini", "gemini", moment).to_json()
    assert validator.is_valid(adapted), list(validator.iter_errors(adapted))


EXAMPLE = Path(__file__).parent.parent / "deploy" / "agents" / "quota-file-status"


@pytest.mark.parametrize(
    "quota,windows,ratio",
    [
        # Requests past their monthly allowance: the spend limit says 120 %, the window 100 %.
        (
            {
                "used": 360,
                "limit": 300,
                "unit": "requests",
                "window_minutes": 43200,
                "resets_at": "2026-12-31T00:00:00Z",
                "estimated": True,
            },
            {"monthly": 1.0},
            1.2,
        ),
        ({"used": 42, "limit": 300}, {}, 0.14),
    ],
)
def test_the_example_status_script_prints_a_valid_status(
    tmp_path: Path, quota: dict[str, Any], windows: dict[str, float], ratio: float
) -> None:
    import subprocess

    path = tmp_path / "quota.json"
    path.write_text(json.dumps(quota))
    done = subprocess.run(
        [EXAMPLE, str(path)], capture_output=True, text=True, env={"CCTRACK_AGENT": "myagent"}
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    jsonschema.validate(printed, SCHEMA, cls=jsonschema.Draft202012Validator)
    status = Status.from_json(printed, "myagent")
    assert {w.name: w.used_ratio for w in status.windows} == windows
    assert status.spend[0].used_ratio == pytest.approx(ratio)
    assert status.confidence == ("estimated" if quota.get("estimated") else "official")


def test_the_example_status_script_fails_with_one_line(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "quota.json").write_text('{"used": 1}')
    done = subprocess.run([EXAMPLE, str(tmp_path / "quota.json")], capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == ""
    assert (
        done.stderr.startswith("quota-file-status: cannot read ") and done.stderr.count("\n") == 1
    )
