"""What the counted tokens would cost at API prices: a table shipped with the package, which
the config file's `[prices.MODEL]` tables extend or override. Pure.

A subscription is not billed by the token; the cost says what the same use would cost on
the API, which is how people compare plans. A model not in the table is not priced at all
(analyze names it once), never priced as zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from cctrack.model import frozen

# USD per million tokens. Source: the vendors' price pages (docs.claude.com/en/docs/about-
# claude/pricing, openai.com/api/pricing), standard tier, prompts up to 200k tokens, 5-minute
# cache writes. As of:
PRICES_AS_OF = "2026-11-01"
_SNAPSHOT = re.compile(r"^-[0-9]{8}\Z")


@frozen
class Price:
    """USD per million tokens. Claude's cache writes are cache_write and its cache reads
    cache_read; Codex's cached input is priced as cache_read and its reasoning output is
    part of output."""

    model: str
    input: float
    output: float
    cache_write: float = 0.0
    cache_read: float = 0.0


BUILTIN_PRICES = (
    Price("claude-opus-4-5", 5.0, 25.0, 6.25, 0.50),
    Price("claude-opus-4-1", 15.0, 75.0, 18.75, 1.50),
    Price("claude-opus-4", 15.0, 75.0, 18.75, 1.50),
    Price("claude-sonnet-4-5", 3.0, 15.0, 3.75, 0.30),
    Price("claude-sonnet-4", 3.0, 15.0, 3.75, 0.30),
    Price("claude-3-7-sonnet", 3.0, 15.0, 3.75, 0.30),
    Price("claude-haiku-4-5", 1.0, 5.0, 1.25, 0.10),
    Price("claude-3-5-haiku", 0.80, 4.0, 1.0, 0.08),
    Price("gpt-5", 1.25, 10.0, 0.0, 0.125),
    Price("gpt-5-codex", 1.25, 10.0, 0.0, 0.125),
    Price("gpt-5.1", 1.25, 10.0, 0.0, 0.125),
    Price("gpt-5.1-codex", 1.25, 10.0, 0.0, 0.125),
    Price("gpt-5.1-codex-max", 1.25, 10.0, 0.0, 0.125),
    Price("gpt-5-mini", 0.25, 2.0, 0.0, 0.025),
    Price("gpt-5.1-codex-mini", 0.25, 2.0, 0.0, 0.025),
    Price("gpt-5-nano", 0.05, 0.40, 0.0, 0.005),
)


def price_table(overrides: Iterable[Price] = ()) -> dict[str, Price]:
    table = {price.model: price for price in BUILTIN_PRICES}
    table.update({price.model: price for price in overrides})
    return table


def price_of(model: str, table: Mapping[str, Price]) -> Price | None:
    """The model's price: by its name, or by the name without a dated snapshot suffix
    (claude-sonnet-4-5-20250929 is claude-sonnet-4-5). Nothing looser: gpt-5's price is not
    gpt-5-mini's."""
    if model in table:
        return table[model]
    base, dash, _ = model.rpartition("-")
    if dash and _SNAPSHOT.match(model[len(base) :]):
        return table.get(base)
    return None


def cost_usd(tool: str, price: Price, counts: Mapping[str, int]) -> float:
    """The API cost of a model's token counts (by type, tokens.TOKEN_TYPES)."""
    if tool == "claude":
        total = (
            counts.get("input", 0) * price.input
            + counts.get("output", 0) * price.output
            + counts.get("cache_creation", 0) * price.cache_write
            + counts.get("cache_read", 0) * price.cache_read
        )
    else:
        # OpenAI bills a cache write as the input it is (no write surcharge).
        total = (
            (counts.get("input", 0) + counts.get("cache_write", 0)) * price.input
            + counts.get("cached_input", 0) * price.cache_read
            + counts.get("output", 0) * price.output
        )
    return total / 1_000_000
