"""The token scan's store: one SQLite file per profile (`tokens-PROFILE.sqlite`, 0600). Every
SQL statement of the scan lives in `ScanStore`, named by what it does; scan.py says when.

Tables: `meta` (the store's random id, each tool's scan number, when everything was last
checked), `files` (how far each log was read, with a fingerprint of what was read), the
counted Claude messages (`claude_slots`) and Codex events (`codex_seen`), `pending` (the
token records committed but not yet appended to a day file) and `folders` (the folders of
logs as the last scan listed them, listing.py). A release that knows fewer tables leaves
the others as they are.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

SCHEMA = """
create table if not exists meta(name text primary key, value text not null);
create table if not exists files(
    tool text not null, path text not null, inode int not null, size int not null,
    mtime_ns int not null, offset int not null, digest blob not null,
    session text, primary key (tool, path)) without rowid;
create table if not exists claude_slots(
    row integer primary key, message int not null, request int, minute int not null,
    model text not null, a int not null, b int not null, c int not null, d int not null,
    sidechain int not null, speed int not null, project text not null default '');
create index if not exists claude_slots_message on claude_slots(message);
create table if not exists codex_seen(key integer primary key) without rowid;
create table if not exists pending(part integer primary key, record blob not null);
create table if not exists folders(
    tool text not null, path blob not null, mtime_ns int not null, depth int not null,
    newest_ns int not null, primary key (tool, path)) without rowid;
"""
# SQLite's limit on host parameters in one statement is 32766 (999 before 3.32).
IN_BATCH = 900
# A log's mark: inode, size, mtime_ns, offset, digest, Codex session state.
MarkRow = tuple[int, int, int, int, bytes, Any]
# How long a scan waits for another program's lock before it says the store is busy.
BUSY_SECONDS = 5.0


def path_key(path: str) -> str:
    """A log's path as the store keeps it: itself when it is UTF-8 (as nearly every one
    is), else its bytes with the odd ones written as \\xNN, which SQLite can store. A name
    in another encoding must not stop the counting of every other log."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class ScanStore:
    """A scan store, opened by `open` (which raises sqlite3 errors for scan.py to name)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path) -> ScanStore:
        db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        db.execute("pragma journal_mode=wal")
        db.execute("pragma synchronous=full")
        db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("pragma table_info(claude_slots)")}
        if "project" not in columns:
            # A store from before projects were counted: its slots have no project ("").
            db.execute("alter table claude_slots add column project text not null default ''")
        return cls(db)

    def close(self) -> None:
        self.db.close()

    # ---- transactions --------------------------------------------------------------------

    def begin(self) -> None:
        self.db.execute("begin immediate")

    def commit(self) -> None:
        self.db.execute("commit")

    def rollback(self) -> None:
        """Undo what is not committed, if anything is."""
        if self.db.in_transaction:
            self.db.execute("rollback")

    # ---- meta ----------------------------------------------------------------------------

    def meta(self, name: str) -> str | None:
        row = self.db.execute("select value from meta where name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, name: str, value: str) -> None:
        self.db.execute("insert or replace into meta values (?, ?)", (name, value))

    def store_id(self) -> str:
        """A random id the store is given when created: a new store starts the counts anew."""
        found = self.meta("store")
        if found is None:
            found = os.urandom(8).hex()
            self.set_meta("store", found)
        return found

    # ---- records waiting to be appended --------------------------------------------------

    def pending(self) -> list[bytes]:
        return [row[0] for row in self.db.execute("select record from pending order by part")]

    def add_pending(self, records: Iterable[bytes]) -> None:
        # The key is only the order of appending: a scan's tools and commits add to it.
        self.db.executemany("insert into pending values (null, ?)", [(r,) for r in records])

    def forget_pending(self) -> None:
        # Forgetting them need not outlive a power cut (records appended twice are folded
        # once), so this commit does not wait for the disk.
        self.db.execute("pragma synchronous=normal")
        try:
            self.db.execute("delete from pending")
        finally:
            self.db.execute("pragma synchronous=full")

    # ---- logs ----------------------------------------------------------------------------

    def file_stats(
        self, tool: str, paths: Sequence[str] | None = None
    ) -> dict[str, tuple[int, int, int]]:
        """path_key(path) -> (inode, size, mtime_ns) of the logs of the tool read so far:
        every one, or those of paths."""
        query = "select path, inode, size, mtime_ns from files where tool = ?"
        if paths is None:
            return {row[0]: tuple(row[1:]) for row in self.db.execute(query, (tool,))}
        keys = [path_key(path) for path in paths]
        found = {}
        for i in range(0, len(keys), IN_BATCH):
            batch = keys[i : i + IN_BATCH]
            where = f" and path in ({','.join('?' * len(batch))})"
            for row in self.db.execute(query + where, (tool, *batch)):
                found[row[0]] = tuple(row[1:])
        return found

    def mark(self, tool: str, path: str) -> MarkRow:
        row = self.db.execute(
            "select inode, size, mtime_ns, offset, digest, session from files "
            "where tool = ? and path = ?",
            (tool, path_key(path)),
        ).fetchone()
        return tuple(row)

    def save_mark(self, tool: str, path: str, mark: MarkRow) -> None:
        self.db.execute(
            "insert or replace into files values (?, ?, ?, ?, ?, ?, ?, ?)",
            (tool, path_key(path), *mark),
        )

    def folders(self, tool: str) -> list[tuple[str, int, int, int]]:
        """(path, mtime_ns, depth, newest_ns) of the folders the last scan remembered."""
        return [
            (os.fsdecode(row[0]), *row[1:])
            for row in self.db.execute(
                "select path, mtime_ns, depth, newest_ns from folders where tool = ?", (tool,)
            )
        ]

    def save_folders(
        self,
        tool: str,
        rows: Iterable[tuple[str, int, int, int]],
        gone: Iterable[str],
        every_one: bool,
    ) -> None:
        """Remember the folders (path, mtime_ns, depth, newest_ns), their exact bytes kept
        whatever their encoding; forget those gone, or with every_one all others."""
        if every_one:
            self.db.execute("delete from folders where tool = ?", (tool,))
        self.db.executemany(
            "delete from folders where tool = ? and path = ?",
            [(tool, os.fsencode(path)) for path in gone],
        )
        self.db.executemany(
            "insert or replace into folders values (?, ?, ?, ?, ?)",
            [(tool, os.fsencode(path), *rest) for path, *rest in rows],
        )

    # ---- what was counted ----------------------------------------------------------------

    def claude_slots(self, messages: Sequence[int]) -> Iterator[tuple[Any, ...]]:
        """The stored slots of these messages: (row, message, request, minute, model, four
        counts, sidechain, speed, project), in row order per batch."""
        for i in range(0, len(messages), IN_BATCH):
            batch = messages[i : i + IN_BATCH]
            yield from self.db.execute(
                f"select * from claude_slots where message in ({','.join('?' * len(batch))}) "
                "order by row",
                batch,
            )

    def save_claude_slots(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.db.executemany(
            "insert or replace into claude_slots values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            list(rows),
        )

    def codex_seen(self, keys: Sequence[int]) -> set[int]:
        seen: set[int] = set()
        for i in range(0, len(keys), IN_BATCH):
            batch = keys[i : i + IN_BATCH]
            seen.update(
                row[0]
                for row in self.db.execute(
                    f"select key from codex_seen where key in ({','.join('?' * len(batch))})",
                    batch,
                )
            )
        return seen

    def add_codex_seen(self, keys: Iterable[int]) -> None:
        self.db.executemany("insert into codex_seen values (?)", [(k,) for k in sorted(keys)])
