"""redact.py on its own: what a tool's output may not carry into a record or a log."""

from __future__ import annotations

import pytest

from cctrack.redact import quote, redact


def test_ordinary_errors_pass_unchanged() -> None:
    for text in (
        "exit 3: backend said no",
        "token expired at 12:00; log in",
        "no rollout in 31 days",
    ):
        assert redact(text) == text


def test_secret_labelled_values_are_hidden_and_their_labels_kept() -> None:
    assert (
        redact("GITHUB_TOKEN=abc123 MY_API_KEY: hunter2")
        == "GITHUB_TOKEN=[redacted] MY_API_KEY: [redacted]"
    )
    assert redact('{"refresh_token": "r1"}') == '{"refresh_token": "[redacted]"}'


def test_quote_shows_only_short_plain_values() -> None:
    assert quote("plus") == "'plus'"
    assert quote("Bearer sk-ant-aaaaaaaaaaaaaaaaaaaa") == "a string of 34 characters"
    assert quote(12.5) == "12.5" and quote({"a": 1}) == "a dict"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("alpha beta gamma delta", 22, "alpha beta gamma delta"),  # fits exactly: as it is
        ("alpha beta gamma delta", 15, "alpha beta…"),  # at the last word that fits
        ("alpha beta gamma delta", 17, "alpha beta…"),  # the mark counts: never over limit
        ("  alpha beta gamma", 15, "  alpha beta…"),  # the start kept as it is
        ("abcdefghij klmnopqrstuvwxyz", 20, "abcdefghij klmnopqr…"),  # a word at half: cut in it
        ("abcdefgh ijklmnopqrstuvw", 20, "abcdefgh ijklmnopqr…"),  # likewise below half
        ("x" * 100, 40, "x" * 39 + "…"),  # one long word: cut where it must
    ],
)
def test_a_long_line_is_cut_at_a_word_and_marked(text: str, limit: int, expected: str) -> None:
    """Equivalent mutants: rfind from 1 (a space at 0 is never past half), `/ 2` for `// 2`
    (the same for whole numbers), limit - 2 (the space there is stripped either way)."""
    from cctrack.redact import clipped

    assert clipped(text, limit) == expected
    assert len(clipped(text, limit)) <= limit


def test_control_bytes_are_written_out_and_plain_text_is_not_quoted_whole() -> None:
    assert redact("a\x1b[31mb\x00") == "a\\x1b[31mb\\x00"
    # Not secret, but not plain either: described, never quoted.
    assert quote("a/b") == "a string of 3 characters"
