"""When a tool was last used on this host, from its own logs' newest write: the difference
between quota this machine used and quota that went elsewhere (evidence.py)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from cctrack.sources.codex import HORIZON, rollout_files
from cctrack.timefmt import from_unix


def codex_activity(codex_home: Path, now: datetime) -> datetime | None:
    """The newest rollout write of the last month (Codex appends to one per session)."""
    files = rollout_files(codex_home, now - HORIZON) if codex_home.is_dir() else []
    return from_unix(files[0][0]) if files else None


def claude_activity(claude_home: Path, now: datetime) -> datetime | None:
    """The newest transcript write under projects/ (sub-agents' logs one level deeper)."""
    newest = 0.0
    oldest = (now - timedelta(days=31)).timestamp()
    stack = [(claude_home / "projects", 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < 3:
                        stack.append((Path(entry.path), depth + 1))
                elif entry.name.endswith(".jsonl"):
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                    newest = max(newest, mtime)
            except OSError:
                continue
    return from_unix(newest) if newest > oldest else None
