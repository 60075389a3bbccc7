"""What the built-in status tools share: their settings as plain values, and how windows and
percentages are named and read. The tools themselves are `claude/` and `codex.py`;
`builtin.py` runs one.

They get what they need as plain values (SourceParams) from the process that resolved the
settings, and never read the config file. They import only what they need: no typer, no
prometheus_client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cctrack.errors import EXIT_USAGE, CctrackError
from cctrack.records import DEFAULT_PROFILE, checked_ratio, is_number

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
_ON = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SourceParams:
    """What the built-in tools need from the settings, resolved by the parent."""

    data_dir: Path
    claude_home: Path
    codex_home: Path
    claude_oauth: bool
    claude_usage_url: str
    codex_app_server: bool
    timeout: float
    profile: str = DEFAULT_PROFILE

    def to_env(self) -> dict[str, str]:
        return {
            "CCTRACK_DATA_DIR": str(self.data_dir),
            "CCTRACK_CLAUDE_OAUTH": "on" if self.claude_oauth else "off",
            "CCTRACK_CLAUDE_USAGE_URL": self.claude_usage_url,
            "CCTRACK_CODEX_APP_SERVER": "on" if self.codex_app_server else "off",
            "CCTRACK_TIMEOUT": f"{self.timeout:g}",
            "CLAUDE_CONFIG_DIR": str(self.claude_home),
            "CODEX_HOME": str(self.codex_home),
            "CCTRACK_PROFILE": self.profile,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SourceParams:
        """What to_env wrote; a built-in tool started as its own process reads only this."""
        try:
            return cls(
                data_dir=Path(env["CCTRACK_DATA_DIR"]),
                claude_home=Path(env["CLAUDE_CONFIG_DIR"]),
                codex_home=Path(env["CODEX_HOME"]),
                claude_oauth=env["CCTRACK_CLAUDE_OAUTH"].lower() in _ON,
                claude_usage_url=env["CCTRACK_CLAUDE_USAGE_URL"],
                codex_app_server=env["CCTRACK_CODEX_APP_SERVER"].lower() in _ON,
                timeout=float(env["CCTRACK_TIMEOUT"]),
                profile=env.get("CCTRACK_PROFILE") or DEFAULT_PROFILE,
            )
        except (KeyError, ValueError) as exc:
            raise CctrackError(
                f"built-in status tool started without its settings ({exc}); run "
                "`cctrack claude-status` or `cctrack codex-status` instead",
                EXIT_USAGE,
            ) from None


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
