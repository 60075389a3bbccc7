"""Which logs a token scan looks at. Every ten minutes, every log of the tools; in the
minutes between, only the logs of the folders that changed (a log was added, removed or
renamed there) or that hold a log written in the last day. A year of history is thousands
of logs in hundreds of folders: a minute's scan stats the folders it knows, and lists the
few that can hold something new, so its cost does not grow with history.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cctrack.errors import CctrackError
from cctrack.model import frozen

# Claude Code nests sub-agent logs a level or two down; a tree deeper than this is not its.
MAX_DEPTH = 32
# A folder that changed this recently can change again within one tick of the file
# system's clock without its mtime moving: it is listed again next time.
SETTLING_NS = 2 * 10**9


@frozen
class Folder:
    """A folder of logs as a scan listed it: its mtime before the listing (-1 when it was
    still settling), its depth below its root, and the newest mtime of the logs in it."""

    path: str
    mtime_ns: int
    depth: int
    newest_ns: int = -1


def roots(tool: str, homes: tuple[Path, ...]) -> list[tuple[str, ...]]:
    """The folders the tool's logs are under, grouped as ccusage takes them: the logs of a
    group sorted together by path (of two equal copies of a message the first one read
    counts). Claude's projects/ of every home is one group; each Codex home's sessions/,
    then its archived_sessions/, is one."""
    if tool == "claude":
        return [tuple(str(home / "projects") for home in homes)]
    return [(str(home / root),) for home in homes for root in ("sessions", "archived_sessions")]


def _mtime(folder: str, depth: int) -> int | None:
    """A folder's mtime; None when it is not one. A root may be a link (a projects folder
    kept elsewhere), as the tools follow it; a folder below it never is."""
    try:
        st = os.stat(folder, follow_symlinks=depth == 0)
    except OSError:
        return None
    return st.st_mtime_ns if stat.S_ISDIR(st.st_mode) else None


class Listing:
    """The logs to look at, and the folders to remember for the next scan. With `known`
    (the folders the last scan listed), a folder whose mtime has not moved and whose logs
    are all older than cold_before is not listed; without it, every folder is."""

    def __init__(
        self,
        tool: str,
        homes: tuple[Path, ...],
        known: dict[str, Folder] | None,
        cold_before: int,
        now_ns: int,
    ) -> None:
        self.groups = roots(tool, homes)
        self.known = known or {}
        self.now_ns = now_ns
        self.kept: set[str] = set()
        self.listed: dict[str, Folder] = {}
        self.newest: dict[str, int] = {}
        self.found: list[tuple[int, str]] = []
        todo = [
            (root, 0, group)
            for group, paths in enumerate(self.groups)
            for root in paths
            if root not in self.known
        ]
        for folder in self.known.values():
            group = self._group_of(folder.path)
            if group is None:
                continue
            mtime_ns = _mtime(folder.path, folder.depth)
            if mtime_ns is None:
                continue
            if mtime_ns == folder.mtime_ns and folder.newest_ns < cold_before:
                self.kept.add(folder.path)
            else:
                todo.append((folder.path, folder.depth, group))
        self._walk(todo)

    def _group_of(self, path: str) -> int | None:
        for group, paths in enumerate(self.groups):
            if any(path == root or path.startswith(root + os.sep) for root in paths):
                return group
        return None

    def _walk(self, todo: list[tuple[str, int, int]]) -> None:
        """List the folders of todo, and every folder under them not known: without
        recursion (a tree thousands of levels deep must not stop the count), at most
        MAX_DEPTH levels down."""
        while todo:
            folder, depth, group = todo.pop()
            mtime_ns = _mtime(folder, depth)
            if mtime_ns is None:
                continue
            try:
                with os.scandir(folder) as listing:
                    entries = list(listing)
            except PermissionError:
                if depth == 0:  # counting nothing without a word would look like no use at all
                    raise CctrackError(f"cannot read {folder}: permission denied") from None
                continue
            except OSError:
                continue
            settled = mtime_ns < self.now_ns - SETTLING_NS
            self.listed[folder] = Folder(folder, mtime_ns if settled else -1, depth)
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if depth < MAX_DEPTH and entry.path not in self.known:
                            todo.append((entry.path, depth + 1, group))
                    elif entry.name.endswith(".jsonl") and entry.is_file(follow_symlinks=False):
                        self.found.append((group, entry.path))
                except OSError:
                    continue

    def logs(self) -> list[str]:
        """The .jsonl files of the folders listed, in the order ccusage reads them."""
        return [path for _, path in sorted(self.found)]

    def saw(self, path: str, mtime_ns: int) -> None:
        """A log's mtime, as the scan knows it: its folder's newest."""
        folder = os.path.dirname(path)
        self.newest[folder] = max(self.newest.get(folder, -1), mtime_ns)

    def folders(self) -> Iterable[Folder]:
        """The folders listed that the next scan must see anew (those kept, or listed and
        found as they were, stay as they are: a minute without news writes nothing)."""
        for folder in self.listed.values():
            newest = self.newest.get(folder.path, -1)
            seen = Folder(folder.path, folder.mtime_ns, folder.depth, newest)
            if self.known.get(folder.path) != seen:
                yield seen

    def gone(self) -> list[str]:
        """Known folders neither kept nor listed: removed, or no longer under a root."""
        return [p for p in self.known if p not in self.kept and p not in self.listed]
