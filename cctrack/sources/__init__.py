"""The built-in status tools: each produces one status object (docs/records.md) or fails
with a reason. Capture runs them in a forked child (no second interpreter), bounded like
any user-supplied tool; `python -m cctrack.sources SOURCE` runs one as its own process.

They get what they need as plain values (SourceParams) from the process that resolved the
settings, and never read the config file. They import only what they need: no typer, no
prometheus_client.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cctrack.errors import EXIT_USAGE, CctrackError
from cctrack.records import Status, checked_ratio

# Lengths the tools report, in minutes, and the names the docs give them.
KNOWN_WINDOWS = {300: "five_hour", 1440: "daily", 10080: "weekly", 43200: "monthly"}
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

    def to_env(self) -> dict[str, str]:
        return {
            "CCTRACK_DATA_DIR": str(self.data_dir),
            "CCTRACK_CLAUDE_OAUTH": "on" if self.claude_oauth else "off",
            "CCTRACK_CLAUDE_USAGE_URL": self.claude_usage_url,
            "CCTRACK_CODEX_APP_SERVER": "on" if self.codex_app_server else "off",
            "CCTRACK_TIMEOUT": f"{self.timeout:g}",
            "CLAUDE_CONFIG_DIR": str(self.claude_home),
            "CODEX_HOME": str(self.codex_home),
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
            )
        except (KeyError, ValueError) as exc:
            raise CctrackError(
                f"built-in status tool started without its settings ({exc}); run "
                "`cctrack claude-status` or `cctrack codex-status` instead",
                EXIT_USAGE,
            ) from None


def window_name(minutes: int) -> str:
    """Name a window by its length, never by its slot; tools round, so match within ~1 %."""
    for known, name in KNOWN_WINDOWS.items():
        if abs(minutes - known) <= max(3, known // 100):
            return name
    if minutes % 1440 == 0:
        return f"{minutes // 1440}_day"
    if minutes % 60 == 0:
        return f"{minutes // 60}_hour"
    return f"{minutes}_minute"


def percent_to_ratio(value: object) -> float | None:
    """A 0..100 percentage as 0..1; None for what cannot be a percentage (NaN, negative, or
    far above 100, as when a tool has put an epoch in the field). Just above 100 is rounding,
    by the same tolerance capture applies to every status."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return checked_ratio(value / 100, "percentage")
    except ValueError:
        return None


def produce(source: str, params: SourceParams, env: Mapping[str, str], now: datetime) -> Status:
    """One status from the built-in tool for source."""
    if source == "claude":
        from cctrack.sources.claude import claude_status

        return claude_status(params, env, now)
    from cctrack.sources.codex import codex_status_for

    return codex_status_for(params, env, now)


def emit_status(name: str, make: Callable[[datetime], Status]) -> int:
    """Print what make() returns as JSON and return 0; on failure one stderr line and its
    exit code."""
    try:
        status = make(datetime.now(timezone.utc))
    except CctrackError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(status.to_json(), separators=(",", ":")))
    return 0


def run_builtin(source: str, params: SourceParams) -> int:
    """The built-in tool for source, as capture runs it: output on stdout/stderr, exit code."""
    return emit_status(
        f"cctrack-{source}-status", lambda now: produce(source, params, os.environ, now)
    )
