"""When Claude Code was last used on this host, from its transcripts' newest write: the
difference between quota this machine used and quota that went elsewhere (evidence.py).
Codex's comes with its status (codex.py lists the rollouts once for both)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from cctrack.timefmt import from_unix


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
