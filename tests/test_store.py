"""store.py on its own: day files listed and the last seq_no found past any junk."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from cctrack.files import MAX_LINE
from cctrack.records import Record
from cctrack.store import last_seq, last_seq_in_file, list_day_files

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def record_line(seq: int) -> bytes:
    return Record(seq, NOW, "h", "codex", ok=False, error="down").to_line()


def test_the_last_record_is_found_behind_a_long_junk_line(tmp_path: Path) -> None:
    path = tmp_path / "usage-20261124.jsonl"
    path.write_bytes(record_line(7) + b"j" * (3 * MAX_LINE) + b"\n" + b"\0" * 1000)
    assert last_seq_in_file(path) == 7


def test_entries_that_are_not_day_files_are_listed_apart(tmp_path: Path) -> None:
    (tmp_path / "usage-20261124.jsonl").write_bytes(record_line(1))
    (tmp_path / "usage-20261125.jsonl").mkdir()
    (tmp_path / "notes.txt").write_text("")
    listing = list_day_files(tmp_path)
    assert listing.names == ("usage-20261124.jsonl",)
    assert listing.unreadable == ("usage-20261125.jsonl",)


def test_without_a_counter_every_day_file_is_asked(tmp_path: Path) -> None:
    (tmp_path / "usage-20990101.jsonl").write_bytes(b"")  # clock skew: empty, future-dated
    (tmp_path / "usage-20261124.jsonl").write_bytes(record_line(41))
    (tmp_path / "usage-20200101.jsonl").write_bytes(record_line(3))
    assert last_seq(tmp_path) == 41
    (tmp_path / "seq").write_text(f"{2**64}\n")  # out of range: as good as none
    assert last_seq(tmp_path) == 41
