"""What the built-in status tools share: their settings as plain values, and how windows and
percentages are named and read. The tools themselves are `claude/` and `codex.py`;
`builtin.py` runs one.

They get what they need as plain values (params.SourceParams) from the process that
resolved the settings, and never read the config file. They import only what they need: no typer, no
prometheus_client.
"""

from __future__ import annotations

import re
from pathlib import Path

from cctrack.status import checked_ratio, is_number

# Lengths the tools report, in minutes, and the names the docs give them.
KNOWN_WINDOWS = {
    300: "five_hour",
    1440: "daily",
    10080: "weekly",
    43200: "monthly",
    525600: "annual",
}
# Within this share of a known length a window is that window, as Codex's TUI names it
# (codex-rs/tui/src/chatwidget/rate_limits.rs, is_approximate_window: ±5 %, inclusive).
WINDOW_TOLERANCE = 0.05


def claude_json_paths(claude_home: Path) -> list[Path]:
    """Where Claude Code keeps `.claude.json` (the account, its usage cache): inside
    CLAUDE_CONFIG_DIR when that is set, else beside the default `~/.claude` home, in `~`."""
    candidates = [claude_home / ".claude.json"]
    if claude_home.name == ".claude":
        candidates.append(claude_home.parent / ".claude.json")
    return candidates


def window_name(minutes: int) -> str:
    """Name a window by its length, never by its slot, within Codex's own tolerance."""
    for known, name in KNOWN_WINDOWS.items():
        if abs(minutes - known) <= known * WINDOW_TOLERANCE:
            return name
    if minutes % 1440 == 0:
        return f"{minutes // 1440}_day"
    if minutes % 60 == 0:
        return f"{minutes // 60}_hour"
    return f"{minutes}_minute"


# Model families a bucket is named after when its name mentions one ("Claude Opus 4" -> opus).
MODEL_FAMILIES = ("opus", "sonnet", "haiku", "spark", "mini")


def bucket_name(text: str) -> str | None:
    """A vendor's name for a narrower limit as a label value: the model family it names,
    else its words joined by underscores, at most 32 of a-z 0-9 _."""
    lowered = text.lower()
    for family in MODEL_FAMILIES:
        if family in lowered:
            return family
    name = re.sub(r"[^a-z0-9]+", "_", lowered).strip("_")[:32].strip("_")
    return name or None


def percent_to_ratio(value: object) -> float | None:
    """A 0..100 percentage as 0..1; None for what cannot be a percentage (NaN, negative, or
    far above 100, as when a tool has put an epoch in the field). Just above 100 is rounding,
    by the same tolerance capture applies to every status."""
    if not is_number(value):
        return None
    try:
        return checked_ratio(value / 100, "percentage")
    except ValueError:
        return None
