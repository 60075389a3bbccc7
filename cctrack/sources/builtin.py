"""Run a built-in status tool: one status object (docs/records.md) on stdout, or one line on
stderr and a non-zero exit. Capture runs it in a forked child (no second interpreter),
bounded like any user-supplied tool; `python -m cctrack.sources SOURCE` as its own process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone

from cctrack.errors import CctrackError
from cctrack.sources.account import account_memory, claude_account, codex_account
from cctrack.sources.activity import claude_activity
from cctrack.sources.claude.combined import claude_status
from cctrack.sources.codex import codex_status_for
from cctrack.sources.params import SourceParams
from cctrack.status import Status


def produce(source: str, params: SourceParams, env: Mapping[str, str], now: datetime) -> Status:
    """One status from the built-in tool for source."""
    if source == "claude":
        memory = account_memory(params.data_dir, params.profile)
        account = claude_account(params.claude_home, memory)
        status = claude_status(params, env, now, account)
        activity = claude_activity(params.claude_home, now)
        return replace(status, account=account, local_activity_at=activity)
    # Codex's status carries its local activity already (the same rollout listing).
    status = codex_status_for(params, env, now)
    return replace(status, account=codex_account(params.codex_home))


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
