"""Projects (token_projects): how a working directory is named, and which have token series
of their own. Pure.

The counters' project labels are fixed when tokens are folded (state.TokenState.label): a
directory has a series of its own while it is among the kept, which are chosen once a
month by the month before's tokens (`chosen`), a free place going to the next new
directory meanwhile. So each labelled counter only rises, and a user's series are at
most `token_projects` + 2 per model and type whatever the projects do (docs/tokens.md).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import NamedTuple

from cctrack.status import bounded

# A project's name for tokens counted before projects were, or from a line without a
# working directory; and for the projects past the cap.
UNATTRIBUTED, OTHER = "unattributed", "other"
# As the fold labels tokens: those of a project without a series of its own, and those
# without a working directory.
OTHER_PROJECTS, NO_PROJECT = "\0other", ""


class ProjectNaming(NamedTuple):
    """How projects are named and how many are (settings token_projects, project_names)."""

    cap: int = 0
    names: tuple[tuple[str, str], ...] = ()

    def name(self, cwd: str) -> str:
        if not cwd:
            return UNATTRIBUTED
        name = _names(self.names).get(cwd) or PurePosixPath(cwd).name or cwd
        # A directory called `other` is not the rest: its series would add to theirs and
        # take its count back out of it when it loses its place.
        return cwd if name in (OTHER, UNATTRIBUTED) else name

    def top(self, by_cwd: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
        """The `cap` largest projects by name (directories of one name add up), largest
        first, and the rest as `other`."""
        named: dict[str, int] = {}
        for cwd, count in by_cwd.items():
            name = self.name(cwd)
            named[name] = bounded(named.get(name, 0) + count)
        ranked = sorted(((n, c) for n, c in named.items() if c), key=lambda nc: (-nc[1], nc[0]))
        rest = bounded(sum(count for _, count in ranked[self.cap :]))
        return tuple(ranked[: self.cap]) + (((OTHER, rest),) if rest else ())

    def grouped(self, by_cwd: Mapping[str, int]) -> dict[str, str]:
        """Each working directory's label: its name if that is among the `cap` largest
        (top), else `other`."""
        kept = {name for name, _ in self.top(by_cwd)} - {OTHER}
        return {cwd: name if (name := self.name(cwd)) in kept else OTHER for cwd in by_cwd}


NO_PROJECTS = ProjectNaming()


@functools.cache
def _names(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """project_names as a lookup, made once per table, not once per project named."""
    return dict(pairs)


def chosen(kept: list[str], use: Mapping[str, int], slots: int) -> list[str]:
    """The directories with series of their own for a new month, from the month before's
    tokens (`use`): those that had a place keep it while among the 2 x `slots` largest (so
    that two projects of about the same size do not swap places every month), and the
    largest of the rest take the places left."""
    ranked = [cwd for cwd, n in sorted(use.items(), key=lambda item: (-item[1], item[0])) if n]
    near = set(ranked[: 2 * slots])
    stay = [cwd for cwd in kept if cwd in near][:slots]
    return stay + [cwd for cwd in ranked if cwd not in stay][: slots - len(stay)]


def month_of(minute: int) -> int:
    """The calendar month (UTC) that holds a minute since the epoch, as months since year 0."""
    moment = datetime.fromtimestamp(minute * 60, timezone.utc)
    return moment.year * 12 + moment.month - 1


def month_start(month: int) -> int:
    """The first minute of a month_of."""
    first = datetime(month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
    return int(first.timestamp()) // 60
