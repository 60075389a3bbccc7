"""What the built-in status tools need from the settings (SourceParams): resolved by the
parent, passed to a tool started as its own process in its environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cctrack.errors import EXIT_USAGE, CctrackError
from cctrack.model import frozen
from cctrack.status import DEFAULT_PROFILE

_ON = {"1", "true", "yes", "on"}


@frozen
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
