"""How far analyze has read: a mark per day file, kept with the folded state in one file.

A mark is the offset read up to, the file's inode and mtime, and a hash of every byte read,
so a file that was truncated, rewritten in place or swapped is noticed and replayed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cctrack.files import CLOEXEC, MAX_LINE, NOFOLLOW, read_blocks, read_json, write_atomic
from cctrack.records import MAX_SEQ
from cctrack.state import State
from cctrack.store import list_day_files

STATE_FILE = "analyze-state.json"
STATE_VERSION = 1
_HEX = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class FileMark:
    offset: int
    inode: int
    mtime_ns: int
    fingerprint: str

    def to_json(self) -> list[Any]:
        return [self.offset, self.inode, self.mtime_ns, self.fingerprint]

    @classmethod
    def from_json(cls, obj: Any) -> FileMark:
        offset, inode, mtime_ns, fingerprint = obj
        numbers = (offset, inode, mtime_ns)
        if not all(type(n) is int and 0 <= n <= MAX_SEQ for n in numbers):
            raise ValueError("bad file mark")
        if not isinstance(fingerprint, str) or not _HEX.match(fingerprint):
            raise ValueError("bad file mark")
        return cls(offset, inode, mtime_ns, fingerprint)


@dataclass
class Checkpoint:
    """The folded state and the marks it was folded up to: one file, written last."""

    state: State = field(default_factory=State)
    marks: dict[str, FileMark] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            **self.state.to_json(),
            "marks": {name: mark.to_json() for name, mark in sorted(self.marks.items())},
        }

    @classmethod
    def from_json(cls, obj: Any) -> Checkpoint:
        if not isinstance(obj, dict) or obj.get("v") != STATE_VERSION:
            raise ValueError("not a state file of this version")
        return cls(
            State.from_json(obj),
            {name: FileMark.from_json(mark) for name, mark in obj["marks"].items()},
        )


def load(data_dir: Path) -> tuple[Checkpoint, str | None]:
    """The stored checkpoint, or an empty one and why every record must be replayed."""
    try:
        obj = read_json(data_dir / STATE_FILE)
    except (OSError, ValueError) as exc:
        return Checkpoint(), f"state file unreadable ({exc.__class__.__name__})"
    if obj is None:
        return Checkpoint(), "no checkpoint yet"
    try:
        return Checkpoint.from_json(obj), None
    except (ValueError, KeyError, TypeError, AttributeError):
        return Checkpoint(), "checkpoint corrupt"


def save(data_dir: Path, checkpoint: Checkpoint) -> None:
    data = orjson.dumps(checkpoint.to_json())
    write_atomic(data_dir / STATE_FILE, data)


class RewrittenBelowCheckpoint(Exception):
    """A day file shrank or changed in the part already read: only a full re-read is right."""


def _hash_prefix(fd: int, length: int) -> Any:
    digest = hashlib.blake2b(digest_size=16)
    for block in read_blocks(fd, 0, length):
        digest.update(block)
    return digest


@dataclass(frozen=True)
class ReadResult:
    marks: dict[str, FileMark]
    unreadable: tuple[str, ...]


def read_new_lines(
    data_dir: Path, marks: dict[str, FileMark], on_lines: Callable[[list[bytes]], None]
) -> ReadResult:
    """Feed the lines written after the marks to on_lines, in blocks, file by file; return
    the new marks, and the entries named like day files that could not be read (skipped).

    Call with the store lock held: a last line without its newline can then only be a
    crash's fragment, and it is passed on for the line parser to count. A file whose inode,
    size and mtime are as marked is not opened; one that changed has the part already read
    hashed again, and RewrittenBelowCheckpoint is raised when that part is not what it was.
    """
    listing = list_day_files(data_dir)
    unreadable = list(listing.unreadable)
    new_marks: dict[str, FileMark] = {}
    for name in listing.names:
        path = data_dir / name
        try:
            fd = os.open(path, os.O_RDONLY | NOFOLLOW | CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError:
            unreadable.append(name)
            continue
        try:
            st = os.fstat(fd)
            mark = marks.get(name)
            if mark and (mark.inode, mark.offset, mark.mtime_ns) == (
                st.st_ino,
                st.st_size,
                st.st_mtime_ns,
            ):
                new_marks[name] = mark
                continue
            offset = mark.offset if mark else 0
            if mark and (mark.inode != st.st_ino or st.st_size < offset):
                raise RewrittenBelowCheckpoint(name)
            digest = _hash_prefix(fd, offset)
            if mark and digest.hexdigest() != mark.fingerprint:
                raise RewrittenBelowCheckpoint(name)
            offset = _feed_lines(fd, offset, st.st_size, on_lines, digest)
        except OSError:
            unreadable.append(name)
            continue
        finally:
            os.close(fd)
        new_marks[name] = FileMark(offset, st.st_ino, st.st_mtime_ns, digest.hexdigest())
    return ReadResult(new_marks, tuple(sorted(unreadable)))


def _feed_lines(
    fd: int, offset: int, size: int, on_lines: Callable[[list[bytes]], None], digest: Any
) -> int:
    pending, skipping = b"", False
    for block in read_blocks(fd, offset, size):
        digest.update(block)
        offset += len(block)
        start = 0
        if skipping:
            start = block.find(b"\n") + 1
            if start == 0:
                continue
            skipping = False
        lines = (pending + block[start:]).split(b"\n")
        pending = lines.pop()
        if len(pending) > MAX_LINE:
            # No record is this long: a piece of it is passed on to be counted once, and the
            # rest is dropped as it comes instead of being gathered.
            lines.append(pending[:64])
            pending, skipping = b"", True
        on_lines([line for line in lines if line])
    if pending:
        on_lines([pending])
    return offset
