"""prices.py and the `[prices.MODEL]` setting: what counted tokens would cost on the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_settings import settings

from cctrack.errors import CctrackError
from cctrack.tokens.prices import Price, cost_usd, price_of, price_table


def test_a_dated_snapshot_takes_its_base_price_and_nothing_looser_matches() -> None:
    table = price_table()
    assert price_of("claude-sonnet-4-5-20250929", table) == table["claude-sonnet-4-5"]
    assert price_of("claude-opus-4-5-20251101", table) == table["claude-opus-4-5"]
    assert price_of("gpt-5.1-codex", table) == table["gpt-5.1-codex"]
    # gpt-5's price is not a guess for any gpt-5-something.
    assert price_of("gpt-5.2-codex", table) is None
    assert price_of("claude-sonnet-4-5-fast", table) is None
    assert price_of("unknown", table) is None


def test_costs_per_type() -> None:
    claude = Price("c", input=3.0, output=15.0, cache_write=3.75, cache_read=0.3)
    counts = {"input": 1_000_000, "output": 100_000, "cache_creation": 200_000, "cache_read": 0}
    assert cost_usd("claude", claude, counts) == pytest.approx(3.0 + 1.5 + 0.75)
    codex = Price("x", input=1.25, output=10.0, cache_read=0.125)
    # Codex's input is already net of the cached part; reasoning is inside output.
    counts = {"input": 1_000_000, "cached_input": 1_000_000, "output": 0, "reasoning_output": 9}
    assert cost_usd("codex", codex, counts) == pytest.approx(1.25 + 0.125)


def test_config_prices_extend_and_override(tmp_path: Path) -> None:
    config = (
        '[prices."gpt-5.2-codex"]\ninput = 1.75\noutput = 14\ncache_read = 0.175\n'
        '[prices."gpt-5.1"]\ninput = 9\noutput = 9\n'
    )
    table = price_table(settings(config=config, tmp=tmp_path).prices)
    assert price_of("gpt-5.2-codex", table) == Price("gpt-5.2-codex", 1.75, 14.0, 0.0, 0.175)
    assert table["gpt-5.1"].input == 9


@pytest.mark.parametrize(
    "config",
    [
        "prices = 3\n",
        '[prices."m"]\ninput = 1\n',
        '[prices."m"]\ninput = 1\noutput = -2\n',
        '[prices."m"]\ninput = 1\noutput = 2\ncache_writes = 3\n',
        '[prices."m"]\ninput = true\noutput = 2\n',
        '[prices."a b"]\ninput = 1\noutput = 2\n',
    ],
)
def test_bad_prices_are_refused_with_what_is_expected(config: str, tmp_path: Path) -> None:
    with pytest.raises(CctrackError, match="prices"):
        settings(config=config, tmp=tmp_path)
