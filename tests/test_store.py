"""store.py on its own: day files listed and the last seq_no found past any junk."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from cctrack.files import MAX_LINE
from cctrack.records import Record
from cctrack.store import day_end, last_seq, last_seq_in_file, list_day_files

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
    # Named for days that are not days: no day file, whatever it holds.
    (tmp_path / "usage-20261399.jsonl").write_bytes(record_line(2))
    (tmp_path / "usage-00000000.jsonl").write_bytes(record_line(3))
    listing = list_day_files(tmp_path)
    assert listing.names == ("usage-20261124.jsonl",)
    assert listing.unreadable == (
        "usage-00000000.jsonl",
        "usage-20261125.jsonl",
        "usage-20261399.jsonl",
    )


@pytest.mark.parametrize(
    ("name", "end"),
    [
        ("usage-20261124.jsonl", datetime(2026, 11, 25, tzinfo=timezone.utc)),
        ("usage-20241231.jsonl", datetime(2025, 1, 1, tzinfo=timezone.utc)),
        ("usage-20240229.jsonl", datetime(2024, 3, 1, tzinfo=timezone.utc)),
        ("usage-00010101.jsonl", datetime(1, 1, 2, tzinfo=timezone.utc)),
        # The last day there is ends where time does.
        ("usage-99991231.jsonl", datetime.max.replace(tzinfo=timezone.utc)),
        ("usage-20230229.jsonl", None),
        ("usage-20261399.jsonl", None),
        ("usage-20261300.jsonl", None),
        ("usage-20261100.jsonl", None),
        ("usage-00000101.jsonl", None),
        ("usage-2026112.jsonl", None),
        ("usage-20261124.jsonl.tmp", None),
        ("rollup-202611.jsonl", None),
    ],
)
def test_a_day_file_ends_at_the_next_midnight_of_a_real_day(
    name: str, end: datetime | None
) -> None:
    assert day_end(name) == end


def test_without_a_counter_every_day_file_is_asked(tmp_path: Path) -> None:
    (tmp_path / "usage-20990101.jsonl").write_bytes(b"")  # clock skew: empty, future-dated
    (tmp_path / "usage-20261124.jsonl").write_bytes(record_line(41))
    (tmp_path / "usage-20200101.jsonl").write_bytes(record_line(3))
    assert last_seq(tmp_path) == 41
    (tmp_path / "seq").write_text(f"{2**64}\n")  # out of range: as good as none
    assert last_seq(tmp_path) == 41
