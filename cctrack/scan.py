"""The token scan: read the bytes of the tools' logs that no scan has read, count each
message once, and append what was found as token records for analyze to fold.

What a scan knows lives in one SQLite file per profile in the data directory (the scan
store): how far each log was read, the messages already counted (bounded on disk, not in
memory: a year of transcripts holds about a million) and the records of the last scan
until they are appended. One transaction takes a scan from one state to the next, so a
crash loses nothing and counts nothing twice: records not yet appended are appended by the
next scan, and analyze folds a record appended twice once (records.TokenRecord).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from cctrack import store
from cctrack.errors import CctrackError
from cctrack.files import CLOEXEC, NOFOLLOW, private_dir
from cctrack.process import map_forked
from cctrack.records import TokenRecord, TokenRow
from cctrack.tokens import (
    ClaudeEntry,
    CodexEntry,
    CodexSession,
    Deduplicator,
    Slot,
    claude_entry,
)

STORE_NAME = "tokens-{profile}.sqlite"
# Rows per record: a first scan of years of logs becomes many records of bounded size.
ROWS_PER_RECORD = 4000
READ_BLOCK = 8 << 20
# A line this long is no message anyone wrote; it is skipped instead of being gathered.
MAX_LOG_LINE = 256 << 20
FINGERPRINT_BYTES = 4096
# New bytes worth forking readers for: a first scan, not a minute's growth.
PARALLEL_BYTES = 32 << 20
# SQLite's limit on host parameters in one statement is 32766 (999 before 3.32).
IN_BATCH = 900
SCHEMA = """
create table if not exists meta(name text primary key, value text not null);
create table if not exists files(
    tool text not null, path text not null, inode int not null, size int not null,
    mtime_ns int not null, offset int not null, head blob not null, tail blob not null,
    session text, primary key (tool, path));
create table if not exists claude_slots(
    row integer primary key, message text not null, request text, minute int not null,
    model text not null, a int not null, b int not null, c int not null, d int not null,
    sidechain int not null, speed int not null);
create index if not exists claude_slots_message on claude_slots(message);
create table if not exists codex_seen(key integer primary key) without rowid;
create table if not exists pending(part integer primary key, record blob not null);
"""

Rows = dict[tuple[int, str], list[int]]


@dataclass(frozen=True)
class ScanResult:
    tool: str
    profile: str
    files_read: int
    bytes_read: int
    records: tuple[TokenRecord, ...]


def log_files(tool: str, home: Path) -> list[Path]:
    """The logs ccusage reads: Claude's projects/**/*.jsonl; Codex's sessions/ and
    archived_sessions/. Sorted by path, as ccusage takes them, since of two equal copies of
    a message the first one read counts."""
    roots = ["projects"] if tool == "claude" else ["sessions", "archived_sessions"]
    found: list[Path] = []
    for root in roots:
        found += sorted(_walk(home / root))
    return found


def _walk(directory: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(Path(entry.path))
            elif entry.name.endswith(".jsonl") and entry.is_file(follow_symlinks=False):
                yield Path(entry.path)
        except OSError:
            continue


def open_store(data_dir: Path, profile: str) -> sqlite3.Connection:
    """The profile's scan store, created owner-only; never through a link."""
    private_dir(data_dir)
    path = data_dir / STORE_NAME.format(profile=profile)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, 0o600))
        st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise CctrackError(f"{path} is not a regular file; move it away")
    try:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("pragma journal_mode=wal")
        db.execute("pragma synchronous=full")
        db.executescript(SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise CctrackError(
            f"the token scan store {path} is unreadable ({exc}); remove it and the next "
            f"capture counts the logs again from the start"
        ) from None
    return db


def _meta(db: sqlite3.Connection, name: str) -> str | None:
    row = db.execute("select value from meta where name = ?", (name,)).fetchone()
    return str(row[0]) if row else None


def store_id(db: sqlite3.Connection) -> str:
    """A random id the store is given when created: a new store starts the counts anew."""
    found = _meta(db, "store")
    if found is None:
        found = secrets.token_hex(8)
        db.execute("insert into meta values ('store', ?)", (found,))
    return found


def append_pending(db: sqlite3.Connection, data_dir: Path) -> list[TokenRecord]:
    """Append the records a scan committed and remove them from the store. After a crash
    between the two they are appended again, and analyze folds them once."""
    rows = db.execute("select record from pending order by part").fetchall()
    if not rows:
        return []
    records = [TokenRecord.from_json(orjson.loads(row[0]), numbered=False) for row in rows]
    appended = store.append_records(data_dir, records)
    db.execute("delete from pending")
    return appended


def _fingerprint(fd: int, offset: int) -> tuple[bytes, bytes]:
    """Hashes of the first and the last few kilobytes read: a log rewritten or swapped in
    the part already read is noticed without hashing all of it on every scan."""
    head = os.pread(fd, min(FINGERPRINT_BYTES, offset), 0)
    start = max(0, offset - FINGERPRINT_BYTES)
    tail = os.pread(fd, offset - start, start)
    return (
        hashlib.blake2b(head, digest_size=16).digest(),
        hashlib.blake2b(tail, digest_size=16).digest(),
    )


def _new_lines(fd: int, offset: int, size: int) -> Iterator[tuple[list[bytes], int]]:
    """Whole lines from offset to size, in blocks, each block with the offset after its last
    whole line: a line still being written is left for the next scan."""
    pending, skipping = b"", False
    while offset < size:
        block = os.pread(fd, min(READ_BLOCK, size - offset), offset + len(pending))
        if not block:
            return
        data = pending + block
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) > MAX_LOG_LINE:
                offset, pending, skipping = offset + len(data), b"", True
            else:
                pending = data
            continue
        lines = data[:end].split(b"\n")
        if skipping:
            lines.pop(0)
            skipping = False
        offset += end + 1
        pending = data[end + 1 :]
        yield lines, offset


@dataclass(frozen=True)
class ReadTask:
    tool: str
    path: str
    # (inode, size, mtime_ns, offset, head, tail, session) of the last scan, if any.
    mark: tuple[Any, ...] | None


@dataclass(frozen=True)
class LogRead:
    """What one log held past its mark: the entries of its whole new lines and its new mark."""

    path: str
    inode: int
    size: int
    mtime_ns: int
    start: int
    offset: int
    head: bytes
    tail: bytes
    session: str | None
    entries: list[Any]


def _unchanged(task: ReadTask, st: os.stat_result) -> bool:
    mark = task.mark
    return bool(mark) and mark[:3] == (st.st_ino, st.st_size, st.st_mtime_ns)  # type: ignore[index]


def read_log(task: ReadTask) -> LogRead | None:
    """The new entries of one log; None when it is unchanged or cannot be read. Read from
    the mark when the log is the one marked and its read part is as it was; from the start
    otherwise (rewritten, truncated, replaced: the duplicate rule keeps that exact)."""
    try:
        fd = os.open(task.path, os.O_RDONLY | NOFOLLOW | CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if _unchanged(task, st):
            return None
        mark = task.mark
        start, session = 0, CodexSession()
        if (
            mark
            and mark[0] == st.st_ino
            and st.st_size >= mark[3]
            and _fingerprint(fd, mark[3]) == (mark[4], mark[5])
        ):
            start = mark[3]
            if mark[6]:
                session = CodexSession.from_json(orjson.loads(mark[6]))
        offset, entries = start, []
        parse = claude_entry if task.tool == "claude" else session.feed
        for lines, end in _new_lines(fd, start, st.st_size):
            entries += [e for e in map(parse, lines) if e is not None]
            offset = end
        head, tail = _fingerprint(fd, offset)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return LogRead(
        task.path,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        start,
        offset,
        head,
        tail,
        orjson.dumps(session.to_json()).decode() if task.tool == "codex" else None,
        entries,
    )


class Scanner:
    """One scan of one tool's logs for one profile, inside one transaction."""

    def __init__(self, db: sqlite3.Connection, tool: str, workers: int) -> None:
        self.db, self.tool, self.workers = db, tool, workers
        self.rows: Rows = {}
        self.parts: list[tuple[TokenRow, ...]] = []
        self.files_read = self.bytes_read = 0

    def add(self, minute: int, model: str, counts: tuple[int, ...], sign: int = 1) -> None:
        row = self.rows.get((minute, model))
        if row is None:
            row = self.rows[(minute, model)] = [0, 0, 0, 0]
            if len(self.rows) >= ROWS_PER_RECORD:
                self.flush()
                row = self.rows[(minute, model)] = [0, 0, 0, 0]
        row[0] += sign * counts[0]
        row[1] += sign * counts[1]
        row[2] += sign * counts[2]
        row[3] += sign * counts[3]

    def flush(self) -> None:
        rows = tuple(
            (minute, model, *counts)
            for (minute, model), counts in sorted(self.rows.items())
            if any(counts)
        )
        if rows:
            self.parts.append(rows)  # type: ignore[arg-type]
        self.rows = {}

    def scan(self, home: Path) -> None:
        marks = {
            row[0]: row[1:]
            for row in self.db.execute(
                "select path, inode, size, mtime_ns, offset, head, tail, session from files "
                "where tool = ?",
                (self.tool,),
            )
        }
        tasks, new_bytes = [], 0
        for path in log_files(self.tool, home):
            task = ReadTask(self.tool, str(path), marks.get(str(path)))
            try:
                st = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            if not _unchanged(task, st):
                tasks.append(task)
                new_bytes += st.st_size - (task.mark[3] if task.mark else 0)
        workers = self.workers if new_bytes >= PARALLEL_BYTES else 1
        for read in map_forked(read_log, tasks, workers):
            if read is not None:
                self.apply(read)

    def apply(self, read: LogRead) -> None:
        if self.tool == "claude":
            self.claude_entries(read.entries)
        else:
            self.codex_entries(read.entries)
        self.files_read += 1
        self.bytes_read += read.offset - read.start
        self.db.execute(
            "insert or replace into files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.tool,
                read.path,
                read.inode,
                read.size,
                read.mtime_ns,
                read.offset,
                read.head,
                read.tail,
                read.session,
            ),
        )

    def claude_entries(self, entries: list[ClaudeEntry]) -> None:
        dedup = Deduplicator()
        messages = sorted({e.message for e in entries if e.message is not None})
        for i in range(0, len(messages), IN_BATCH):
            batch = messages[i : i + IN_BATCH]
            for row in self.db.execute(
                f"select * from claude_slots where message in ({','.join('?' * len(batch))}) "
                "order by row",
                batch,
            ):
                number, message, request, minute, model, a, b, c, d, side, speed = row
                entry = ClaudeEntry(
                    message, request, minute, model, (a, b, c, d), bool(side), bool(speed)
                )
                dedup.load(message, Slot(entry, number, changed=False))
        for entry in entries:
            old, new = dedup.feed(entry)
            if old is not None:
                self.add(old.minute, old.model, old.counts, -1)
            if new is not None:
                self.add(new.minute, new.model, new.counts)
        self.db.executemany(
            "insert or replace into claude_slots values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (s.row, e.message, e.request, e.minute, e.model, *e.counts, e.sidechain, e.speed)
                for s in dedup.changed()
                for e in (s.entry,)
                if e.message is not None
            ],
        )

    def codex_entries(self, entries: list[CodexEntry]) -> None:
        keys = sorted({e.key for e in entries})
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
        fresh = []
        for entry in entries:
            if entry.key in seen:
                continue
            seen.add(entry.key)
            fresh.append((entry.key,))
            self.add(entry.minute, entry.model, entry.counts)
        self.db.executemany("insert into codex_seen values (?)", sorted(fresh))


def scan_tokens(
    data_dir: Path, profile: str, homes: dict[str, Path], hostname: str, now: datetime
) -> list[ScanResult]:
    """Scan each tool's logs for the profile and append the token records found."""
    db = open_store(data_dir, profile)
    results = []
    try:
        append_pending(db, data_dir)
        for tool, home in homes.items():
            db.execute("begin immediate")
            try:
                identity = store_id(db)
                scanner = Scanner(db, tool, os.cpu_count() or 1)
                scanner.scan(home)
                scanner.flush()
                name = f"scan_{tool}"
                number = int(_meta(db, name) or 0) + 1
                if scanner.parts:
                    db.execute("insert or replace into meta values (?, ?)", (name, str(number)))
                for part, rows in enumerate(scanner.parts):
                    record = TokenRecord(
                        0, now, hostname, tool, identity, number, part, rows, profile
                    )
                    db.execute(
                        "insert into pending values (?, ?)", (part, orjson.dumps(record.to_json()))
                    )
                db.execute("commit")
            except BaseException:
                db.execute("rollback")
                raise
            appended = append_pending(db, data_dir)
            results.append(
                ScanResult(
                    tool,
                    profile,
                    scanner.files_read,
                    scanner.bytes_read,
                    tuple(appended),
                )
            )
    except sqlite3.DatabaseError as exc:
        raise CctrackError(
            f"token scan store for profile {profile} failed: {exc}; remove "
            f"{data_dir / STORE_NAME.format(profile=profile)} to count again from the start"
        ) from None
    finally:
        db.close()
    return results
