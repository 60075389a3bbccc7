"""The patterns that check a name, a version or a time taken from outside (a status tool's
output, a file name, a vendor's log): each takes the whole text and only ASCII digits.

In Python, `$` also matches before a final newline ("five_hour\\n" passed as a window name,
a series of its own beside five_hour), and `\\d` takes any script's digits ("٢٠٢٦"), where
ccusage's JavaScript patterns and the file names cctrack writes have only 0-9."""

from __future__ import annotations

import importlib
import re

import pytest
from test_layout import PACKAGE, module_name

from cctrack import status
from cctrack.settings import valid_profile_name
from cctrack.store import day_end
from cctrack.tokens.rules import claude_entry, epoch_ms


def anchored_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Every module-level pattern of the package that checks a whole text (`^` first,
    not line by line)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            text = value.pattern if isinstance(value, re.Pattern) else None
            if isinstance(text, str) and text.startswith("^") and not value.flags & re.MULTILINE:
                found.append((f"{name}.{attribute}", value))
    return found


def test_there_are_patterns_to_check() -> None:
    names = [name for name, _ in anchored_patterns()]
    assert "cctrack.status._WINDOW_NAME" in names and "cctrack.store.DAY_FILE" in names


@pytest.mark.parametrize(("name", "pattern"), anchored_patterns())
def test_a_pattern_takes_the_whole_text_and_ascii_digits(
    name: str, pattern: re.Pattern[str]
) -> None:
    assert not pattern.pattern.endswith("$"), f"{name}: `$` takes a final newline; end with \\Z"
    if "\\d" in pattern.pattern:
        assert pattern.flags & re.ASCII, f"{name}: \\d takes any script's digits"


def test_a_name_with_a_final_newline_is_no_name() -> None:
    window = {"used_ratio": 0.5, "window_seconds": 18000}
    with pytest.raises(ValueError, match="bad window name"):
        status.Window.from_json("five_hour\n", window)
    assert status.Window.from_json("five_hour", window).name == "five_hour"
    assert not status.valid_tool("codex\n") and status.valid_tool("codex")
    assert not valid_profile_name("work\n") and valid_profile_name("work")
    assert day_end("usage-20261205.jsonl\n") is None
    assert day_end("usage-20261205.jsonl") is not None


def test_other_scripts_digits_are_no_digits() -> None:
    # Arabic-Indic digits: 2026-12-05 to Python's int(), not to ccusage or a day file.
    assert day_end("usage-\u0662\u0660\u0662\u0666\u0661\u0662\u0660\u0665.jsonl") is None
    assert epoch_ms("2026-11-20T10:00:00.\u0661\u0662\u0663Z") is None
    assert epoch_ms("2026-11-20T10:00:00.123Z") == 1795168800123
    line = (
        '{"type":"assistant","timestamp":"2026-11-20T10:00:00.000Z","version":"\u0662.0.1",'
        '"message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":1,'
        '"output_tokens":1}},"requestId":"r"}'
    ).encode()
    assert claude_entry(line) is None
    assert claude_entry(line.replace("\u0662".encode(), b"2")) is not None
