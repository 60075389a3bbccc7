"""redact.py on its own: what a tool's output may not carry into a record or a log."""

from __future__ import annotations

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


def test_a_long_line_is_cut_at_a_word_and_marked() -> None:
    from cctrack.redact import clipped

    text = "word " * 50 + "fix: run this"
    assert clipped(text, 1000) == text
    cut = clipped(text, 40)
    assert len(cut) <= 40 and cut.endswith("word…") and " wor…" not in cut
    assert clipped("x" * 100, 40) == "x" * 39 + "…"  # one long word: cut where it must
