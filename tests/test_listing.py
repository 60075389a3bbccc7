"""tokens/listing.py: a minute's scan lists only the folders that can hold something new,
and finds every log a full listing finds there (docs/tokens.md)."""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from conftest import Env

from cctrack.errors import CctrackError
from cctrack.tokens import listing
from cctrack.tokens.listing import Folder, Listing

HOUR = 3600 * 10**9
NOW = 1_800_000_000 * 10**9
COLD = NOW - 24 * HOUR


def at(path: Path, ns: int) -> None:
    os.utime(path, ns=(ns, ns))


def log(path: Path, ns: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}\n")
    at(path, ns)
    return path


def year_of_codex(home: Path) -> dict[str, Path]:
    """Rollouts of three old days and of today, every folder's mtime as the tool left it."""
    sessions = home / "sessions"
    logs = {
        name: log(sessions / day / f"rollout-{name}.jsonl", ns)
        for name, day, ns in [
            ("jan", "2026/01/05", NOW - 300 * 24 * HOUR),
            ("feb", "2026/02/07", NOW - 270 * 24 * HOUR),
            ("feb2", "2026/02/07", NOW - 270 * 24 * HOUR),
            ("today", "2027/01/15", NOW - HOUR),
        ]
    }
    for folder in sorted(sessions.rglob("*"), key=lambda p: -len(p.parts)):
        if folder.is_dir():
            at(folder, NOW - 24 * HOUR * (2 if "2027" in str(folder) else 300))
    at(sessions, NOW - 300 * 24 * HOUR)
    return logs


def remembered(found: Listing) -> dict[str, Folder]:
    """What the scan saves: each listed folder, with its logs' newest mtime."""
    for path in found.logs():
        found.saw(path, os.stat(path).st_mtime_ns)
    return {folder.path: folder for folder in found.folders()}


def test_a_minutes_listing_lists_only_the_folders_that_changed_or_hold_a_recent_log(
    tmp_path: Path,
) -> None:
    home = tmp_path / "codex"
    logs = year_of_codex(home)
    full = Listing("codex", (home,), None, COLD, NOW)
    assert full.logs() == sorted(str(p) for p in logs.values())
    known = remembered(full)
    assert len(known) == 1 + 2 + 3 + 3  # sessions/, its years, their months, their days
    # Nothing new: only today's folder, whose log is recent, is listed again.
    steady = Listing("codex", (home,), known, COLD, NOW)
    assert set(steady.listed) == {str(logs["today"].parent)}
    assert steady.logs() == [str(logs["today"])]
    assert steady.gone() == []

    # A log added to an old day's folder (its mtime moves), and a new day's folder with
    # one, three levels below folders that are known.
    added = log(logs["jan"].parent / "rollout-resumed.jsonl", NOW - 300 * 24 * HOUR)
    new_day = log(home / "sessions/2027/01/16/rollout-new.jsonl", NOW)
    steady = Listing("codex", (home,), known, COLD, NOW + 60 * 10**9)
    assert str(added) in steady.logs() and str(new_day) in steady.logs()
    assert str(logs["feb"]) not in steady.logs()
    assert str(home / "sessions/2027/01/16") in steady.listed
    # Every log a full listing finds in the folders listed.
    complete = Listing("codex", (home,), None, COLD, NOW + 60 * 10**9).logs()
    listed = set(steady.listed)
    assert steady.logs() == [p for p in complete if os.path.dirname(p) in listed]


def test_a_folder_is_kept_only_when_every_log_in_it_is_older_than_a_day(tmp_path: Path) -> None:
    """Its newest log decides, whatever the order they are seen in; a log exactly a day old
    is not older than a day, as the scan's rule for a log says."""
    home = tmp_path / "codex"
    logs = year_of_codex(home)
    today = logs["today"].parent
    log(today / "rollout-z-copied.jsonl", NOW - 300 * 24 * HOUR)  # old, and seen last
    at(today, NOW - 2 * 24 * HOUR)
    known = remembered(Listing("codex", (home,), None, COLD, NOW))
    assert known[str(today)].newest_ns == NOW - HOUR
    assert str(today) in Listing("codex", (home,), known, COLD, NOW).listed
    old_day = str(logs["jan"].parent)
    on_the_day = {**known, old_day: replace(known[old_day], newest_ns=COLD)}
    assert old_day in Listing("codex", (home,), on_the_day, COLD, NOW).listed
    before_the_day = {**known, old_day: replace(known[old_day], newest_ns=COLD - 1)}
    assert old_day not in Listing("codex", (home,), before_the_day, COLD, NOW).listed


def test_only_jsonl_files_are_logs_and_no_link_below_a_root_is_followed(tmp_path: Path) -> None:
    projects = tmp_path / "claude/projects"
    real = log(projects / "-p/s.jsonl", NOW)
    (projects / "-p/notes.txt").write_text("{}\n")
    elsewhere = log(tmp_path / "elsewhere/x.jsonl", NOW)
    (projects / "-p/linked.jsonl").symlink_to(elsewhere)
    (projects / "-linked").symlink_to(elsewhere.parent)
    assert Listing("claude", (tmp_path / "claude",), None, COLD, NOW).logs() == [str(real)]


def test_a_folder_that_changed_within_the_clocks_tick_is_listed_again(tmp_path: Path) -> None:
    """A log added in the same tick as the listing need not move the folder's mtime: a
    folder changed in the last SETTLING_NS is remembered as unsettled, and listed again."""
    home = tmp_path / "codex"
    logs = year_of_codex(home)
    folder = logs["feb"].parent
    at(folder, NOW - listing.SETTLING_NS)  # exactly as long ago: still settling
    known = remembered(Listing("codex", (home,), None, COLD, NOW))
    assert known[str(folder)].mtime_ns == -1
    at(folder, NOW - listing.SETTLING_NS // 2)  # a log added, the mtime as it was
    assert str(folder) in Listing("codex", (home,), known, COLD, NOW + 60 * 10**9).listed
    # Once settled, it is kept.
    at(folder, NOW - listing.SETTLING_NS - 1)
    known = remembered(Listing("codex", (home,), None, COLD, NOW))
    assert str(folder) not in Listing("codex", (home,), known, COLD, NOW).listed


def test_folders_removed_or_no_longer_under_a_root_are_forgotten(tmp_path: Path) -> None:
    home, other = tmp_path / "codex", tmp_path / "other"
    logs = year_of_codex(home)
    known = remembered(Listing("codex", (home,), None, COLD, NOW))
    for path in logs["jan"].parent.iterdir():
        path.unlink()
    logs["jan"].parent.rmdir()
    steady = Listing("codex", (home,), known, COLD, NOW)
    assert steady.gone() == [str(logs["jan"].parent)]
    # Another home: its folders are listed whole, this one's are gone.
    year_of_codex(other)
    moved = Listing("codex", (other,), known, COLD, NOW)
    assert set(moved.gone()) == set(known) and len(moved.logs()) == 4
    # A folder of a home no longer scanned, remembered first, stops nothing after it.
    both = {**remembered(Listing("codex", (other,), None, COLD, NOW)), **known}
    again = Listing("codex", (home,), both, COLD, NOW)
    assert again.logs() == [str(logs["today"])]


def test_logs_come_in_ccusages_order_whatever_the_order_of_the_listing(tmp_path: Path) -> None:
    """Claude's logs of every home sorted together; each Codex home's sessions, then its
    archived sessions."""
    first, second = tmp_path / "a", tmp_path / "b"
    for home in (first, second):
        log(home / "projects/-p/z.jsonl", NOW)
        log(home / "projects/-q/a.jsonl", NOW)
        log(home / "sessions/2027/01/01/rollout-2.jsonl", NOW)
        log(home / "archived_sessions/rollout-1.jsonl", NOW)
    claude = Listing("claude", (second, first), None, COLD, NOW).logs()
    assert claude == sorted(claude) and len(claude) == 4
    codex = Listing("codex", (second, first), None, COLD, NOW).logs()
    assert [Path(p).relative_to(tmp_path).parts[:2] for p in codex] == [
        ("b", "sessions"),
        ("b", "archived_sessions"),
        ("a", "sessions"),
        ("a", "archived_sessions"),
    ]


def test_a_tree_deeper_than_claude_code_writes_stops_no_count(tmp_path: Path) -> None:
    """Thousands of levels: no recursion to run out of; logs deeper than MAX_DEPTH are not
    Claude Code's and are left out, the others found."""
    projects = tmp_path / "claude/projects"
    shallow = log(projects / "-p/s.jsonl", NOW)
    deep = projects / "-deep"
    for _ in range(listing.MAX_DEPTH - 1):  # -deep is a level itself
        deep = deep / "d"
    deepest = log(deep / "x.jsonl", NOW)
    log(deep / "d/too-deep.jsonl", NOW)
    abyss = deep / "/".join(["d"] * 1500)
    subprocess.run(["mkdir", "-p", str(abyss)], check=True)
    try:
        log(abyss / "far-too-deep.jsonl", NOW)
        found = Listing("claude", (tmp_path / "claude",), None, COLD, NOW).logs()
        assert found == sorted([str(shallow), str(deepest)])
    finally:  # deeper than shutil.rmtree, and pytest's clean-up with it, can go
        subprocess.run(["rm", "-rf", str(deep / "d")], check=True)


def test_a_projects_folder_kept_elsewhere_behind_a_link_is_followed_and_watched(
    tmp_path: Path,
) -> None:
    """A root may be a link (the tools follow it): its target's mtime is the one that moves
    when a project is added. A folder below a root that becomes a link is not followed."""
    target = tmp_path / "elsewhere"
    log(target / "-p/s.jsonl", NOW - 300 * 24 * HOUR)
    at(target / "-p", NOW - 300 * 24 * HOUR)
    at(target, NOW - 300 * 24 * HOUR)
    home = tmp_path / "claude"
    home.mkdir()
    (home / "projects").symlink_to(target)
    known = remembered(Listing("claude", (home,), None, COLD, NOW))
    assert Listing("claude", (home,), known, COLD, NOW).listed == {}
    added = log(target / "-q/new.jsonl", NOW)
    assert Listing("claude", (home,), known, COLD, NOW).logs() == [
        str(home / "projects/-q/new.jsonl")
    ]
    assert added.exists()
    # A known project folder swapped for a link to another tree is not read through.
    other = tmp_path / "other"
    log(other / "planted.jsonl", NOW)
    for path in (target / "-p").iterdir():
        path.unlink()
    (target / "-p").rmdir()
    (target / "-p").symlink_to(other)
    swapped = Listing("claude", (home,), known, COLD, NOW)
    assert swapped.logs() == [str(home / "projects/-q/new.jsonl")]
    assert str(home / "projects/-p") in swapped.gone()


def as_user(user: str, work: Callable[[], Any]) -> Any:
    """work's result, or its error's text, run with the user's permissions (root's are not
    a user's): this process takes her effective ids for the call, and root's back after."""
    entry = pwd.getpwnam(user)
    groups = os.getgroups()
    os.setgroups([])
    os.setegid(entry.pw_gid)
    os.seteuid(entry.pw_uid)
    try:
        return {"value": work()}
    except CctrackError as exc:
        return {"error": str(exc)}
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)


def test_a_root_that_cannot_be_read_is_an_error_and_a_folder_below_it_is_passed_over(
    alice: tuple[str, Env],
) -> None:
    """Counting nothing without a word would look like no use at all: a projects folder
    the user cannot read stops the scan with its name; a folder in it that she cannot read
    is passed over, and every other is listed."""
    user, env = alice
    projects = env.root / "tree/claude/projects"
    readable = [log(projects / f"-p{n}/s.jsonl", NOW) for n in range(3)]
    log(projects / "-secret/s.jsonl", NOW)
    (projects / "-secret").chmod(0o300)
    home = (env.root / "tree/claude",)
    # Every folder known and changed; the unreadable one is listed before the others.
    known = {
        str(folder): Folder(str(folder), -1, 1)
        for folder in [*(p.parent for p in readable), projects / "-secret"]
    }
    known[str(projects)] = Folder(str(projects), -1, 0)
    found = as_user(user, lambda: Listing("claude", home, known, COLD, NOW).logs())
    assert found == {"value": [str(p) for p in readable]}
    found = as_user(user, lambda: Listing("claude", home, None, COLD, NOW).logs())
    assert found == {"value": [str(p) for p in readable]}
    projects.chmod(0o300)
    try:
        found = as_user(user, lambda: Listing("claude", home, None, COLD, NOW).logs())
        assert found == {"error": f"cannot read {projects}: permission denied"}
    finally:
        projects.chmod(0o755)
