"""The token scan: read the bytes of the tools' logs that no scan has read, count each
message once, and append what was found as token records for analyze to fold.

What a scan knows lives in one SQLite file per profile in the data directory (the scan
store): how far each log was read, the messages already counted (bounded on disk, not in
memory: a year of transcripts holds about a million) and the records of the last scan
until they are appended. One transaction takes a scan (or each 256 MB of a first scan)
from one state to the next, so a crash loses nothing and counts nothing twice: records not
yet appended are appended by the next scan, and analyze folds a record appended twice once
(records.TokenRecord).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from cctrack import store
from cctrack.errors import CctrackError
from cctrack.files import CLOEXEC, NOFOLLOW, private_dir, read_blocks, try_locked
from cctrack.model import frozen
from cctrack.process import map_forked
from cctrack.records import ProjectRow, TokenRecord, TokenRow
from cctrack.tokens.db import ScanStore, path_key
from cctrack.tokens.listing import Folder, Listing
from cctrack.tokens.rules import (
    CLAUDE_LINE,
    ClaudeEntry,
    CodexEntry,
    CodexSession,
    Deduplicator,
    ScanResult,
    Slot,
    claude_entry,
    collapse,
)

STORE_NAME = "tokens-{profile}.sqlite"
# Rows per record: a first scan of years of logs becomes many records of bounded size.
ROWS_PER_RECORD = 4000
READ_BLOCK = 8 << 20
# A line this long is a tool's giant output, never an assistant message with usage: it
# is skipped instead of being gathered in memory.
MAX_LOG_LINE = 32 << 20
# How much of a rollout's head may name a sub-agent (tokens.CodexSession), as in ccusage.
SUBAGENT_HEAD = 16 << 10
# What a line must hold to count: every other line is passed over unparsed.
MARKERS = {"claude": (CLAUDE_LINE,), "codex": (b'"token_count"', b'"turn_context"')}
# New bytes worth forking readers for: a first scan, not a minute's growth.
PARALLEL_BYTES = 32 << 20
# New bytes per transaction: a first scan stopped part way keeps what it committed.
COMMIT_BYTES = 256 << 20
BATCH_BYTES = 8 << 20
# Logs not written for a day are finished sessions, looked at every ten minutes.
COLD_SECONDS = 86400
FULL_CHECK_SECONDS = 600

# (minute, model, project) -> counts; the project is "" unless projects are counted.
Rows = dict[tuple[Any, ...], list[int]]


def open_store(data_dir: Path, profile: str) -> ScanStore:
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
        return ScanStore.open(path)
    except sqlite3.DatabaseError as exc:
        raise store_problem(exc, path) from None


def store_problem(exc: sqlite3.DatabaseError, path: Path) -> CctrackError:
    """What went wrong with a scan store, and what to do. Only real damage suggests moving
    the store away (which starts every token counter again): a busy store or a full disk
    passes, and the next capture tries again with the store as it is."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return CctrackError(
            f"the token scan store {path} is busy (another program holds it); the next "
            "capture tries again"
        )
    if "full" in text or "disk i/o" in text or "readonly" in text or "read-only" in text:
        return CctrackError(
            f"cannot write the token scan store {path} ({exc}): the disk is full or failing; "
            "free some space, the next capture tries again (nothing is lost)"
        )
    return CctrackError(
        f"the token scan store {path} is damaged ({exc}); move it away and the next capture "
        "counts the logs again from the start (the counters restart, never double)"
    )


def append_pending(
    db: ScanStore, data_dir: Path, committed: list[TokenRecord] | None = None
) -> list[TokenRecord]:
    """Append the records a scan committed and remove them from the store. After a crash
    between the two they are appended again, and analyze folds them once. `committed` are
    the pending records as this process made them (not read back and checked again)."""
    records = committed
    if records is None:
        records = [TokenRecord.from_json(orjson.loads(r), numbered=False) for r in db.pending()]
    if not records:
        return []
    appended = store.append_records(data_dir, records)
    db.forget_pending()
    return appended


# How much of a log's head, and of the part read last, its mark holds a hash of.
WINDOW = 4 << 10
# A mark's digest of this length is a release's SHA-256 of every byte read before it.
WHOLE_DIGEST = 32


class Fingerprint:
    """What a mark hashes of the bytes read from a log: how many, the first WINDOW and the
    last WINDOW of them. A log that was truncated, replaced, or rewritten in its head or
    where the last scan stopped (where a line that changed length shifts every byte after
    it) fails it and is read again; checking it reads at most 2 * WINDOW bytes whatever the
    log's size, so a growing transcript costs each minute what it grew, not what it holds."""

    def __init__(self, head: bytes = b"", tail: bytes = b"", length: int = 0) -> None:
        self.head, self.tail, self.length = head, tail, length

    @classmethod
    def of(cls, fd: int, length: int) -> Fingerprint:
        """The fingerprint of a log's first length bytes, read from it."""
        window = min(WINDOW, length)
        return cls(os.pread(fd, window, 0), os.pread(fd, window, length - window), length)

    def update(self, data: bytes | memoryview) -> None:
        if len(self.head) < WINDOW:
            self.head += data[: WINDOW - len(self.head)]
        self.tail = (self.tail + data[-WINDOW:])[-WINDOW:]
        self.length += len(data)

    def digest(self) -> bytes:
        digest = hashlib.blake2b(self.length.to_bytes(8, "big"), digest_size=16)
        digest.update(self.head)
        digest.update(self.tail)
        return digest.digest()


def _unchanged_part(fd: int, mark: Mark) -> Fingerprint | None:
    """The fingerprint of the part of the log its mark says was read, if that part is as
    it was then."""
    read = Fingerprint.of(fd, mark.offset)
    if len(mark.digest) != WHOLE_DIGEST:
        return read if read.digest() == mark.digest else None
    # A release's mark is checked as it was made, once: this scan saves a fingerprint, so
    # an upgrade reads no log again.
    digest = hashlib.sha256()
    for block in read_blocks(fd, 0, mark.offset):
        digest.update(block)
    return read if digest.digest() == mark.digest else None


def _marked_lines(
    fd: int, offset: int, size: int, markers: tuple[bytes, ...], read: Fingerprint
) -> Iterator[tuple[list[bytes], int]]:
    """The whole lines from offset to size that hold one of markers, in order, in blocks,
    each block with the offset after its last whole line: a line still being written is
    left for the next scan. Every byte passed over goes into read. Nearly all of a log's
    bytes are lines without a marker (tool results, reasoning): the markers are searched
    for, and only their lines are cut out, so those bytes are never split into lines."""
    pending, skipping = b"", False
    while offset < size:
        block = os.pread(fd, min(READ_BLOCK, size - offset), offset + len(pending))
        if not block:
            return
        data = pending + block
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) > MAX_LOG_LINE:
                read.update(data)
                offset, pending, skipping = offset + len(data), b"", True
            else:
                pending = data
            continue
        read.update(memoryview(data)[: end + 1])
        # The rest of a line too long to keep is not a line of its own.
        first = data.index(b"\n") + 1 if skipping else 0
        skipping = False
        yield _lines_holding(data, first, end, markers), offset + end + 1
        offset += end + 1
        pending = data[end + 1 :]


def _lines_holding(data: bytes, start: int, end: int, markers: tuple[bytes, ...]) -> list[bytes]:
    """The lines of data[start:end] (whole lines, end at a newline) holding a marker."""
    found: dict[int, bytes] = {}
    for marker in markers:
        at = data.find(marker, start, end)
        while at >= 0:
            head = data.rfind(b"\n", start, at) + 1 or start
            tail = data.find(b"\n", at, end)
            tail = end if tail < 0 else tail
            found.setdefault(head, data[head:tail])
            at = data.find(marker, tail, end)
    return [found[head] for head in sorted(found)] if len(markers) > 1 else list(found.values())


class Mark(NamedTuple):
    """How far the last scan read a log (a row of `files`): the log as it was then, the
    offset after its last whole line, the digest of its Fingerprint there, and for a Codex
    rollout the session's state (tokens.CodexSession) at that offset."""

    inode: int
    size: int
    mtime_ns: int
    offset: int
    digest: bytes
    session: str | None


@frozen
class ReadTask:
    tool: str
    path: str
    mark: Mark | None
    # Whether entries keep their project (token_projects).
    projects: bool = False


@frozen
class LogRead:
    """What one log held past its mark: the entries of its whole new lines, read from
    start, and its new mark."""

    path: str
    start: int
    mark: Mark
    # Each message once within the log (tokens.collapse; Codex events by key), and their
    # sum per minute and model: the reader's share of the work. The scanner only corrects
    # the sum for the entries earlier logs already counted.
    entries: list[Any]
    rows: Rows


def read_log(task: ReadTask) -> LogRead | None:
    """The new entries of one log that changed since its mark; None when it cannot be
    read. Read from the mark when the log is the one marked and its read part is as it
    was; from the start otherwise (rewritten, truncated, replaced: the duplicate rule keeps
    that exact)."""
    try:
        # Non-blocking: a FIFO swapped in for a log must not hang the scan.
        fd = os.open(task.path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW | CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        mark = task.mark
        start, session = 0, CodexSession()
        read = Fingerprint()
        if mark and mark.inode == st.st_ino and st.st_size >= mark.offset:
            unchanged = _unchanged_part(fd, mark)
            if unchanged is not None:
                start, read = mark.offset, unchanged
                if mark.session:
                    session = CodexSession.from_json(orjson.loads(mark.session))
        if task.tool == "codex" and start == 0:
            # A sub-agent's rollout names thread_spawn at its head, as ccusage looks for it.
            session.deciding = b"thread_spawn" in os.pread(fd, SUBAGENT_HEAD, 0)
        offset = start
        entries: list[Any] = []
        for lines, end in _marked_lines(fd, start, st.st_size, MARKERS[task.tool], read):
            if task.tool == "claude":
                found = (claude_entry(line, task.projects) for line in lines)
                entries += [e for e in found if e is not None]
            else:
                for line in lines:
                    entries += session.feed(line)
            offset = end
        entries = collapse(entries) if task.tool == "claude" else _unique_events(entries)
        rows: Rows = {}
        for entry in entries:
            project = entry.project if task.projects else ""
            _accumulate(rows, (entry.minute, entry.model, project), entry.counts)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return LogRead(
        task.path,
        start,
        Mark(
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
            offset,
            read.digest(),
            orjson.dumps(session.to_json()).decode() if task.tool == "codex" else None,
        ),
        entries,
        rows,
    )


def _accumulate(rows: Rows, key: tuple[Any, ...], counts: Sequence[int], sign: int = 1) -> None:
    row = rows.get(key)
    if row is None:
        row = rows[key] = [0] * len(counts)
    for i, count in enumerate(counts):
        row[i] += sign * count


def _unique_events(entries: list[CodexEntry]) -> list[CodexEntry]:
    seen: set[int] = set()
    unique = []
    for entry in entries:
        if entry.key not in seen:
            seen.add(entry.key)
            unique.append(entry)
    return unique


def read_logs(tasks: list[ReadTask]) -> list[LogRead | None]:
    return [read_log(task) for task in tasks]


class Scanner:
    """A scan of one tool's logs for one profile: transactions of at most COMMIT_BYTES of
    new log bytes each, so that a first scan of years of logs that is stopped keeps what
    it did."""

    def __init__(
        self,
        db: ScanStore,
        data_dir: Path,
        tool: str,
        profile: str,
        hostname: str,
        now: datetime,
        projects: bool = False,
    ) -> None:
        self.db, self.data_dir, self.tool, self.profile = db, data_dir, tool, profile
        self.hostname, self.now, self.projects = hostname, now, projects
        self.workers = os.cpu_count() or 1
        self.rows: Rows = {}
        self.parts: list[tuple[tuple[TokenRow, ...], tuple[ProjectRow, ...]]] = []
        self.files_read = self.bytes_read = self.uncommitted = self.appended = 0
        # The last commit's records (pending in the store), appended with the other tools'
        # once all are scanned: a minute's scan writes the day file once.
        self.committed: list[TokenRecord] = []

    def run(self, homes: tuple[Path, ...], everything: bool) -> ScanResult:
        self.db.begin()
        try:
            self.scan(homes, everything)
            self.commit()
        except BaseException:
            # What was committed stays, and its records are appended by the next scan.
            self.db.rollback()
            raise
        records = self.appended + len(self.committed)
        return ScanResult(self.tool, self.profile, self.files_read, self.bytes_read, records)

    def commit(self, last: bool = True) -> None:
        """Commit what was read so far with its records (pending until appended). Those of
        a commit part way through a first scan are appended at once, so that memory does
        not grow with the logs' history."""
        self.flush()
        name = f"scan_{self.tool}"
        number = int(self.db.meta(name) or 0) + 1
        identity = self.db.store_id()
        if self.parts:
            self.db.set_meta(name, str(number))
        records = [
            TokenRecord(
                0,
                self.now,
                self.hostname,
                self.tool,
                identity,
                number,
                part,
                rows,
                self.profile,
                projects=projects,
            )
            for part, (rows, projects) in enumerate(self.parts)
        ]
        self.db.add_pending(orjson.dumps(r.to_json()) for r in records)
        self.db.commit()
        self.parts, self.uncommitted = [], 0
        if last:
            self.committed = records
        else:
            self.appended += len(append_pending(self.db, self.data_dir, records))

    def add(self, entry: ClaudeEntry | CodexEntry, sign: int = 1) -> None:
        """An entry's counts added (or, with sign -1, taken back) under its minute, model
        and, when projects are counted, its project."""
        key = (entry.minute, entry.model, entry.project if self.projects else "")
        self.add_row(key, entry.counts, sign)

    def add_row(self, key: tuple[int, str, str], counts: Sequence[int], sign: int = 1) -> None:
        if key not in self.rows and len(self.rows) >= ROWS_PER_RECORD:
            self.flush()
        _accumulate(self.rows, key, counts, sign)

    def flush(self) -> None:
        """The rows so far as one record's part: per minute and model, and with projects
        counted, per minute, project and model too."""
        projects: tuple[ProjectRow, ...] = ()
        if self.projects:
            merged: Rows = {}
            for (minute, model, _), counts in self.rows.items():
                _accumulate(merged, (minute, model), counts)
            projects = tuple(
                (minute, project, model, *counts)
                for (minute, model, project), counts in sorted(self.rows.items())
                if any(counts)
            )
        else:
            # Every key's project is "": the rows are already one per minute and model.
            merged = {(minute, model): counts for (minute, model, _), counts in self.rows.items()}
        rows = tuple(
            (minute, model, *counts)
            for (minute, model), counts in sorted(merged.items())
            if any(counts)
        )
        if rows or projects:
            self.parts.append((rows, projects))
        self.rows = {}

    def scan(self, homes: tuple[Path, ...], everything: bool) -> None:
        """Read what the logs gained. A steady scan finds nearly every log as it was:
        inode, size and mtime are compared first, and the full mark loaded only for the
        logs that changed. Logs untouched for COLD_SECONDS (finished sessions), and the
        folders that hold only such logs and gained none (listing.py), are looked at only
        when `everything`, every FULL_CHECK_SECONDS: a history of thousands of logs then
        costs a stat of each folder a minute, not a listing of each; a finished session
        that is resumed in place is counted at the next full check, never lost."""
        now_ns = int(self.now.timestamp() * 1e9)
        cold_before = now_ns - COLD_SECONDS * 10**9
        known = None
        if not everything:
            known = {row[0]: Folder(*row) for row in self.db.folders(self.tool)}
        listing = Listing(self.tool, homes, known, cold_before, now_ns)
        paths = listing.logs()
        seen = self.db.file_stats(self.tool, None if everything else paths)
        # Logs to read, in batches of about BATCH_BYTES: one hand-over per batch to a reader.
        batches: list[list[ReadTask]] = [[]]
        batch_bytes = new_bytes = 0
        for path in paths:
            known_stat = seen.get(path_key(path))
            if known_stat and not everything and known_stat[2] < cold_before:
                listing.saw(path, known_stat[2])
                continue
            try:
                st = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            listing.saw(path, st.st_mtime_ns)
            if known_stat == (st.st_ino, st.st_size, st.st_mtime_ns):
                continue
            mark = None
            if known_stat:
                mark = Mark(*self.db.mark(self.tool, path))
            if batch_bytes >= BATCH_BYTES:
                batches.append([])
                batch_bytes = 0
            batches[-1].append(ReadTask(self.tool, path, mark, self.projects))
            grown = st.st_size - (mark.offset if mark else 0)
            batch_bytes += grown
            new_bytes += grown
        workers = self.workers if new_bytes >= PARALLEL_BYTES else 1
        for reads in map_forked(read_logs, batches, workers):
            for read in reads:
                if read is not None:
                    self.apply(read)
            if self.uncommitted >= COMMIT_BYTES:
                self.commit(last=False)
                self.db.begin()
        # Remembered with the marks of the logs they hold, in the same transaction.
        self.db.save_folders(
            self.tool,
            [(f.path, f.mtime_ns, f.depth, f.newest_ns) for f in listing.folders()],
            listing.gone(),
            everything,
        )

    def apply(self, read: LogRead) -> None:
        for key, counts in read.rows.items():
            self.add_row(key, counts)
        if self.tool == "claude":
            self.claude_entries(read.entries)
        else:
            self.codex_entries(read.entries)
        self.files_read += 1
        self.bytes_read += read.mark.offset - read.start
        self.uncommitted += read.mark.offset - read.start
        self.db.save_mark(self.tool, read.path, read.mark)

    def claude_entries(self, entries: list[ClaudeEntry]) -> None:
        dedup = Deduplicator()
        messages = sorted({e.message for e in entries if e.message is not None})
        for row in self.db.claude_slots(messages):
            number, message, request, minute, model, a, b, c, d, side, speed, project = row
            entry = ClaudeEntry(
                message, request, minute, model, (a, b, c, d), bool(side), bool(speed), project
            )
            dedup.load(message, Slot(entry, number, changed=False))
        # The log's rows count every entry: take back what is not new.
        for entry in entries:
            old, new = dedup.feed(entry)
            if new is None:
                self.add(entry, -1)
            elif old is not None:
                self.add(old, -1)
        self.db.save_claude_slots(
            (
                s.row,
                e.message,
                e.request,
                e.minute,
                e.model,
                *e.counts,
                e.sidechain,
                e.speed,
                e.project,
            )
            for s in dedup.changed()
            for e in (s.entry,)
            if e.message is not None
        )

    def codex_entries(self, entries: list[CodexEntry]) -> None:
        seen = self.db.codex_seen(sorted({e.key for e in entries}))
        # The log's rows count every entry (each once within the log): take back the ones
        # an earlier log counted.
        fresh = []
        for entry in entries:
            if entry.key in seen:
                self.add(entry, -1)
            else:
                fresh.append(entry.key)
        self.db.add_codex_seen(fresh)


def scan_tokens(
    data_dir: Path,
    profile: str,
    homes: dict[str, tuple[Path, ...]],
    hostname: str,
    now: datetime,
    projects: bool = False,
) -> list[ScanResult]:
    """Scan each tool's logs for the profile and append the token records found. When
    another capture is scanning this profile's logs (a long first scan, a capture started
    by hand beside the timer's), nothing is done: that scan counts them."""
    private_dir(data_dir)
    with try_locked(data_dir / f".tokens-{profile}.lock") as ours:
        if not ours:
            return []
        db = open_store(data_dir, profile)
        scanners = [Scanner(db, data_dir, tool, profile, hostname, now, projects) for tool in homes]
        try:
            append_pending(db, data_dir)
            checked = float(db.meta("checked_all_at") or 0)
            everything = not 0 <= now.timestamp() - checked < FULL_CHECK_SECONDS
            results = [scanner.run(homes[scanner.tool], everything) for scanner in scanners]
            if everything:
                db.set_meta("checked_all_at", str(now.timestamp()))
            # One append for all tools: one write to the day file, not one per tool.
            append_pending(db, data_dir, [r for s in scanners for r in s.committed])
        except sqlite3.DatabaseError as exc:
            raise store_problem(exc, data_dir / STORE_NAME.format(profile=profile)) from None
        finally:
            db.close()
        return results
