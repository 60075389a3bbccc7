"""cctrack: Claude Code and Codex subscription limits as Prometheus metrics."""

__version__ = "0.1.0"
