"""Retention's rules at their edges: the data's clock, the cutoff, which day files and
months go, and which day files the base folds in before they go."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cctrack import retention
from cctrack.store import FileMark

UTC = timezone.utc
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_the_data_clock_is_the_earliest_of_now_the_newest_day_and_a_day_past_the_last_run() -> None:
    files = ["usage-20261205.jsonl", "usage-20271205.jsonl", "analyze-state.json"]
    wrong = NOW + timedelta(days=800)
    # A day file from a clock a year ahead: only "a day past the previous run" decides.
    assert retention.data_clock(wrong, files, NOW) == NOW + timedelta(days=1)
    # Without a previous run, the end of the newest day file's date.
    assert retention.data_clock(wrong, files, None) == datetime(2027, 12, 6, tzinfo=UTC)
    # A clock that is right decides itself, whatever came before.
    assert retention.data_clock(NOW, files, NOW - timedelta(hours=1)) == NOW
    # Only day files count as days: no names, or none of a day, leave now.
    assert retention.data_clock(NOW, [], None) == NOW
    assert retention.data_clock(NOW, ["usage-2026120.jsonl", "notes.txt"], None) == NOW
    # Nor names of days that are not (a checkpoint's marks may name anything).
    impossible = ["usage-20261399.jsonl", "usage-00000000.jsonl"]
    assert retention.data_clock(wrong, impossible, None) == wrong
    assert retention.data_clock(wrong, [*impossible, *files], None) == datetime(
        2027, 12, 6, tzinfo=UTC
    )
    # The last day there is: its end is the end of time, past any clock.
    assert retention.data_clock(wrong, ["usage-99991231.jsonl"], None) == wrong
    # The newest day, not the first listed or the oldest.
    older = ["usage-20261206.jsonl", "usage-20261201.jsonl"]
    assert retention.data_clock(wrong, older, None) == datetime(2026, 12, 7, tzinfo=UTC)
    # Exactly at the edges: a day past the previous run, the end of the newest day.
    assert retention.data_clock(NOW + timedelta(days=1), [], NOW) == NOW + timedelta(days=1)
    end = datetime(2026, 12, 6, tzinfo=UTC)
    assert retention.data_clock(end, ["usage-20261205.jsonl"], None) == end


def test_a_cutoff_is_the_retention_before_the_clock_and_0_days_keeps_everything() -> None:
    assert retention.cutoff(NOW, 30) == NOW - timedelta(days=30)
    assert retention.cutoff(NOW, 1) == NOW - timedelta(days=1)
    assert retention.cutoff(NOW, 0) is None
    assert retention.cutoff(NOW, -3) is None


def test_a_day_file_goes_only_when_its_whole_day_is_before_the_cutoff() -> None:
    before = datetime(2026, 11, 5, 0, 30, tzinfo=UTC)
    assert retention.day_file_expired("usage-20261104.jsonl", before)
    assert not retention.day_file_expired("usage-20261105.jsonl", before)  # the cutoff's day
    assert not retention.day_file_expired("usage-20261106.jsonl", before)
    assert not retention.day_file_expired("usage-20261104.jsonl", None)
    # Only day files: a rollup month, a temporary file, a name that only looks like one.
    assert not retention.day_file_expired("rollup-202601.jsonl", before)
    assert not retention.day_file_expired("usage-20261104.jsonl.tmp", before)
    assert not retention.day_file_expired("xusage-20261104.jsonl", before)
    assert not retention.day_file_expired("usage-20261399.jsonl", before)
    assert not retention.day_file_expired("usage-00000000.jsonl", before)
    # Exactly at the cutoff: a day that ends at it is past.
    midnight = datetime(2026, 11, 5, tzinfo=UTC)
    assert retention.day_file_expired("usage-20261104.jsonl", midnight)
    assert not retention.day_file_expired("usage-20261105.jsonl", midnight)
    # The day is the UTC day: 00:30 UTC is still the 4th in New York.
    new_york = before.astimezone(timezone(timedelta(hours=-5)))
    assert not retention.day_file_expired("usage-20261105.jsonl", new_york)
    assert retention.day_file_expired("usage-20261104.jsonl", new_york)


def test_a_month_is_kept_while_any_of_its_days_is_on_or_after_the_cutoff() -> None:
    before = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    assert retention.month_kept("202611", before)
    assert retention.month_kept("202612", before)
    assert not retention.month_kept("202610", before)
    assert retention.month_kept("200001", None)
    # In UTC: the first of the month in UTC is still October in New York.
    assert not retention.month_kept("202610", before.astimezone(timezone(timedelta(hours=-5))))


def _mark(path: Path, offset: int | None = None) -> FileMark:
    st = os.stat(path)
    return FileMark(st.st_size if offset is None else offset, st.st_ino, st.st_mtime_ns, "0" * 64)


def test_only_day_files_read_to_their_last_byte_retire(tmp_path: Path) -> None:
    """The base folds in a file before it goes; one the checkpoint has not read to its end
    (it grew, or is another file by now) stays for the next run."""
    names = {
        day: tmp_path / f"usage-{day}.jsonl"
        for day in ("20261101", "20261102", "20261103", "20261104", "20261130")
    }
    for path in names.values():
        path.write_text('{"seq_no": 1}\n')
    marks = {path.name: _mark(path) for path in names.values()}
    # Grown since it was read.
    with names["20261102"].open("a") as grown:
        grown.write('{"seq_no": 2}\n')
    # Replaced by another file of the same size (another inode).
    replaced = names["20261103"]
    replaced.rename(tmp_path / "old")
    replaced.write_text('{"seq_no": 1}\n')
    # Gone already; a mark without its file.
    marks["usage-20261031.jsonl"] = marks[names["20261101"].name]
    before = datetime(2026, 11, 20, tzinfo=UTC)
    assert retention.retiring(tmp_path, marks, before) == [
        "usage-20261101.jsonl",
        "usage-20261104.jsonl",
    ]
    assert retention.retiring(tmp_path, marks, None) == []
    # A link in the file's place is not the file read: never followed.
    names["20261104"].unlink()
    names["20261104"].symlink_to(names["20261130"])
    marks["usage-20261104.jsonl"] = _mark(names["20261130"])
    assert retention.retiring(tmp_path, marks, before) == ["usage-20261101.jsonl"]


def test_the_days_and_months_are_utcs_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Day files are named by UTC dates: a machine in New York, where 00:30 UTC on the 1st
    is still the last day of the month before, lets go of the same files."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        before = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
        assert retention.day_file_expired("usage-20261031.jsonl", before)
        assert not retention.day_file_expired("usage-20261101.jsonl", before)
        assert retention.month_kept("202611", before)
        assert not retention.month_kept("202610", before)
    finally:
        monkeypatch.undo()
        time.tzset()
