"""scan.py: only bytes not read before, each message once, whatever happens to the logs and
to the scan itself (docs/tokens.md)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from builders import write_token_logs
from conftest import Env, require_root
from homes import claude_turn, write_claude_home, write_codex_home
from test_base import assert_none_fell, counters
from test_system_pipeline import sample

from cctrack import store
from cctrack.errors import CctrackError
from cctrack.tokens import scan
from cctrack.tokens.scan import scan_tokens
from cctrack.views.history import token_days

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def totals(data_dir: Path) -> dict[tuple[str, str, str], tuple[int, ...]]:
    return {(d.tool, d.date, d.model): d.counts for d in token_days(data_dir, None, None)}


def run_scan(data_dir: Path, root: Path) -> list[scan.ScanResult]:
    homes = {"claude": (root / "claude",), "codex": (root / "codex",)}
    return scan_tokens(data_dir, "default", homes, "box", NOW)


def from_scratch(tmp_path: Path, root: Path) -> dict[tuple[str, str, str], tuple[int, ...]]:
    fresh = tmp_path / f"fresh-{random.random()}"
    run_scan(fresh, root)
    return totals(fresh)


def homes(root: Path, seed: int = 1) -> None:
    rng = random.Random(seed)
    write_claude_home(root / "claude", NOW - timedelta(hours=30), NOW, 120 << 10, rng)
    write_codex_home(root / "codex", NOW - timedelta(hours=30), NOW, 120 << 10, rng)


def test_growing_logs_are_read_once_and_a_half_written_line_waits(tmp_path: Path) -> None:
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    first = run_scan(data, root)
    assert all(result.bytes_read > 0 for result in first)
    assert sum(r.bytes_read for r in run_scan(data, root)) == 0

    log = sorted((root / "claude/projects").rglob("*.jsonl"))[0]
    turn = claude_turn(random.Random(2), "s", NOW - timedelta(minutes=1), "claude-haiku-4-5", 20)
    whole = ("\n".join(turn) + "\n").encode()
    with log.open("ab") as handle:
        handle.write(whole[:-40])  # Claude Code is still writing the last line
    run_scan(data, root)
    # The line still being written is not counted, by this scan or a fresh one.
    torn = totals(data)
    assert torn == from_scratch(tmp_path, root)
    with log.open("ab") as handle:
        handle.write(whole[-40:])
    result = run_scan(data, root)
    assert totals(data) == from_scratch(tmp_path, root)
    assert totals(data) != torn
    assert sum(r.bytes_read for r in result) < 40 + len(whole)


def test_truncated_replaced_and_rewritten_logs_are_read_again_without_double_counting(
    tmp_path: Path,
) -> None:
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    run_scan(data, root)
    claude_logs = sorted((root / "claude/projects").rglob("*.jsonl"))
    codex_logs = sorted((root / "codex/sessions").rglob("*.jsonl"))
    rng = random.Random(3)
    more = "\n".join(claude_turn(rng, "s", NOW, "claude-opus-4-5-20251101", 30)) + "\n"

    # Truncated and written again, with one more turn: same inode, the part read changed.
    text = claude_logs[0].read_text()
    claude_logs[0].write_text("")
    run_scan(data, root)
    claude_logs[0].write_text(text + more)
    # Replaced by another file (another inode), as an editor or a sync tool does.
    replacement = claude_logs[1].with_suffix(".tmp")
    replacement.write_text(claude_logs[1].read_text() + more.replace("msg_01", "msg_02"))
    os.replace(replacement, claude_logs[1])
    # Rewritten in place in the part read, by a line of another length (what a hand edit
    # makes; one of the same length deep inside is not noticed, docs/tokens.md): a
    # message's copy with more output replaces it.
    lines = claude_logs[2].read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if '"usage"' in line)
    obj = json.loads(lines[index])
    obj["message"]["usage"]["output_tokens"] += 1000
    obj["edited"] = True
    lines[index] = json.dumps(obj, separators=(",", ":"))
    claude_logs[2].write_text("\n".join(lines) + "\n")
    # A Codex rollout read again from the start must not count its events twice.
    codex_logs[0].write_text(codex_logs[0].read_text())
    run_scan(data, root)
    assert totals(data) == from_scratch(tmp_path, root)


def test_forked_readers_count_what_one_reader_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "homes"
    homes(root)
    serial = from_scratch(tmp_path, root)
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    assert from_scratch(tmp_path, root) == serial


def test_a_crash_before_the_commit_leaves_nothing_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    real = scan.Scanner.apply
    calls = 0

    def crash_on_third(self: scan.Scanner, read: scan.LogRead) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # the process is killed mid-scan
        real(self, read)

    monkeypatch.setattr(scan.Scanner, "apply", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        run_scan(data, root)
    monkeypatch.setattr(scan.Scanner, "apply", real)
    assert totals(data) == {}
    run_scan(data, root)
    assert totals(data) == from_scratch(tmp_path, root)


def test_records_committed_but_not_appended_are_appended_by_the_next_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    real = store.append_records

    def disk_full(*args: object) -> None:
        raise CctrackError("cannot record captures: No space left on device")

    monkeypatch.setattr(store, "append_records", disk_full)
    with pytest.raises(CctrackError, match="No space left on device"):
        run_scan(data, root)
    monkeypatch.setattr(store, "append_records", real)
    assert totals(data) == {}
    run_scan(data, root)
    assert totals(data) == from_scratch(tmp_path, root)


def test_records_appended_twice_are_folded_once_and_rebuild_agrees(env: Env) -> None:
    env.use_fixed_tools()
    homes(env.root, seed=4)
    shutil.copytree(env.root / "claude", env.claude_home, dirs_exist_ok=True)
    shutil.copytree(env.root / "codex", env.codex_home, dirs_exist_ok=True)
    assert env.run("run").returncode == 0
    once = env.textfile.read_text()
    # A crash between appending and forgetting the records appends them again.
    (day,) = env.data_dir.glob("usage-*.jsonl")
    tokens = [line for line in day.read_text().splitlines() if '"kind":"tokens"' in line]
    with day.open("a") as handle:
        handle.write("\n".join(tokens) + "\n")
    assert env.run("analyze", "--rebuild").returncode == 0
    again = env.textfile.read_text()
    for tool, model, kind in (
        ("claude", "claude-haiku-4-5", "cache_read"),
        ("codex", "gpt-5.1", "input"),
    ):
        metric = f"cctrack_{tool}_tokens_total"
        value = sample(once, metric, model=model, type=kind)
        assert value and value == sample(again, metric, model=model, type=kind)


def test_a_removed_store_counts_the_logs_anew_instead_of_twice(env: Env) -> None:
    env.use_fixed_tools()
    homes(env.root, seed=5)
    shutil.copytree(env.root / "claude", env.claude_home, dirs_exist_ok=True)
    assert env.run("run").returncode == 0
    before = env.textfile.read_text()
    (env.data_dir / "tokens-default.sqlite").unlink()
    assert env.run("run").returncode == 0
    after = env.textfile.read_text()
    value = sample(before, "cctrack_claude_tokens_total", model="claude-haiku-4-5", type="input")
    assert value and value == sample(
        after, "cctrack_claude_tokens_total", model="claude-haiku-4-5", type="input"
    )


def test_a_removed_store_after_the_editor_removed_old_logs_leaves_no_total_lower(
    env: Env,
) -> None:
    """Claude Code removes transcripts older than cleanupPeriodDays: counted again by a new
    store, what is left is less than was counted; the totals keep what they had, and grow
    again from there."""
    env.use_fixed_tools()
    homes(env.root, seed=5)
    shutil.copytree(env.root / "claude", env.claude_home, dirs_exist_ok=True)
    assert env.run("run").returncode == 0
    before = counters(env.textfile)
    logs = sorted(env.claude_home.rglob("*.jsonl"))
    assert len(logs) >= 2
    for path in logs[: len(logs) // 2]:
        path.unlink()
    (env.data_dir / "tokens-default.sqlite").unlink()
    assert env.run("run").returncode == 0
    after = counters(env.textfile)
    assert_none_fell(before, after, "a new store over fewer logs")
    tokens = {k: v for k, v in before.items() if "_tokens_" in k[0] or "_cost_" in k[0]}
    assert tokens and tokens == {k: v for k, v in after.items() if k in tokens}
    # Both files lost as well: the base and the day files give the same.
    (env.data_dir / "analyze-state.json").unlink()
    assert env.run("analyze").returncode == 0
    assert counters(env.textfile) == after


def test_a_store_that_is_not_a_database_is_one_clear_error(env: Env) -> None:
    env.use_fixed_tools()
    env.write_token_logs()
    env.data_dir.mkdir(parents=True, exist_ok=True)
    (env.data_dir / "tokens-default.sqlite").write_bytes(b"not sqlite" * 100)
    result = env.run("capture")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "claude ok" in result.stderr and "is damaged" in result.stderr
    assert "move it away" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_store_is_busy_not_damaged(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from cctrack.tokens import db

    monkeypatch.setattr(db, "BUSY_SECONDS", 0.2)

    env.use_fixed_tools()
    env.write_token_logs()
    assert env.run("capture").returncode == 0
    holder = sqlite3.connect(env.data_dir / "tokens-default.sqlite", isolation_level=None)
    holder.execute("begin exclusive")
    try:
        (env.claude_home / "projects" / "more.jsonl").write_text("")
        result = env.run("capture")
    finally:
        holder.close()
    assert result.returncode == 1 and "is busy" in result.stderr, result.stderr
    assert "move it away" not in result.stderr and "remove" not in result.stderr
    # Nothing lost: the next capture counts on from where the store was.
    assert env.run("capture").returncode == 0


def test_the_store_is_private_and_not_followed_through_a_link(tmp_path: Path) -> None:
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    run_scan(data, root)
    assert (data / "tokens-default.sqlite").stat().st_mode & 0o077 == 0
    other = tmp_path / "other"
    other.mkdir()
    target = tmp_path / "elsewhere.sqlite"
    (other / "tokens-default.sqlite").symlink_to(target)
    with pytest.raises(CctrackError):
        run_scan(other, root)
    assert not target.exists()


def test_token_counters_off_reads_no_logs(env: Env) -> None:
    env.use_fixed_tools()
    env.write_token_logs()
    assert env.run("capture", "--no-token-counters").returncode == 0
    assert env.run("capture", CCTRACK_TOKEN_COUNTERS="off").returncode == 0
    assert env.token_records() == []
    assert not (env.data_dir / "tokens-default.sqlite").exists()
    assert env.run("capture").returncode == 0
    assert env.token_records()
    with sqlite3.connect(env.data_dir / "tokens-default.sqlite") as db:
        assert db.execute("select count(*) from pending").fetchone() == (0,)


def test_finished_sessions_are_looked_at_every_ten_minutes_and_never_lost(tmp_path: Path) -> None:
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    old = sorted((root / "claude/projects").rglob("*.jsonl"))[0]
    finished = (NOW - timedelta(days=3)).timestamp()
    os.utime(old, (finished, finished))
    scan_tokens(data, "default", {"claude": (root / "claude",)}, "box", NOW)
    before = totals(data)
    # The session is resumed in place, a minute later.
    turn = claude_turn(random.Random(8), "s", NOW, "claude-opus-4-5-20251101", 20)
    with old.open("a") as handle:
        handle.write("\n".join(turn) + "\n")
    scan_tokens(data, "default", {"claude": (root / "claude",)}, "box", NOW + timedelta(minutes=1))
    assert totals(data) == before  # a finished session is not stat-ed every minute
    scan_tokens(data, "default", {"claude": (root / "claude",)}, "box", NOW + timedelta(minutes=11))
    assert totals(data) != before
    claude = {
        key: value for key, value in from_scratch(tmp_path, root).items() if key[0] == "claude"
    }
    assert totals(data) == claude


def test_a_minutes_scan_lists_only_the_folders_that_can_hold_something_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between full checks a scan stats the folders it knows and lists only those that
    changed or hold a recent log (tokens/listing.py): a history of old sessions costs no
    listing, and a log added anywhere is counted the minute it appears."""
    from cctrack.tokens import listing

    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    now = datetime.now(timezone.utc)
    old = (now - timedelta(days=3)).timestamp()
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        os.utime(path, (old, old))
    home = {"claude": (root / "claude",), "codex": (root / "codex",)}
    scan_tokens(data, "default", home, "box", now)
    before = totals(data)
    listed: list[str] = []
    real_scandir = os.scandir

    def counted(path: Any) -> Any:
        if str(path).startswith(str(root)):
            listed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(listing.os, "scandir", counted)
    scan_tokens(data, "default", home, "box", now + timedelta(minutes=1))
    assert listed == [] and totals(data) == before
    # A session of an old project resumed as a new log.
    project = sorted((root / "claude/projects").iterdir())[0]
    turn = claude_turn(random.Random(9), "new", now, "claude-opus-4-5-20251101", 20)
    (project / "resumed.jsonl").write_text("\n".join(turn) + "\n")
    scan_tokens(data, "default", home, "box", now + timedelta(minutes=2))
    assert listed == [str(project)]
    assert totals(data) != before and totals(data) == from_scratch(tmp_path, root)


def test_a_minute_without_news_writes_nothing_to_the_store(tmp_path: Path) -> None:
    """Logs being written today keep their folders listed every minute; found as they were,
    nothing is written (a commit is a wait for the disk)."""
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    now = datetime.now(timezone.utc)
    home = {"claude": (root / "claude",), "codex": (root / "codex",)}
    for minute in range(2):  # the second settles the folders made a moment ago
        scan_tokens(data, "default", home, "box", now + timedelta(minutes=minute))
    store = data / "tokens-default.sqlite"
    written = (store.stat().st_mtime_ns, store.stat().st_size)
    scan_tokens(data, "default", home, "box", now + timedelta(minutes=2))
    assert (store.stat().st_mtime_ns, store.stat().st_size) == written


def test_a_scan_already_running_for_the_profile_is_left_to_count(tmp_path: Path) -> None:
    from cctrack.files import locked

    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    data.mkdir()
    with locked(data / ".tokens-default.lock"):  # a long first scan of another capture
        assert run_scan(data, root) == []
    assert totals(data) == {}
    run_scan(data, root)
    assert totals(data) == from_scratch(tmp_path, root)


def test_lines_are_found_by_their_markers_across_any_block_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cutting out the lines that hold a marker gives, for any block size, the lines a split
    of the whole log would give, in order; the fingerprint and offset cover the whole
    lines, as the fingerprint read back from the log there does."""
    rng = random.Random(3)
    markers = scan.MARKERS["codex"]
    pieces = [b"x" * 50, b'{"type":"token_count"}', b'"turn_context" and "token_count"', b""]
    monkeypatch.setattr(scan, "WINDOW", 100)
    for _ in range(60):
        lines = [rng.choice(pieces) + b"y" * rng.randint(0, 90) for _ in range(rng.randint(0, 40))]
        data = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
        data += rng.choice([b"", b'half a "token_count" line'])
        log = tmp_path / "log"
        log.write_bytes(data)
        monkeypatch.setattr(scan, "READ_BLOCK", rng.randint(1, 200))
        fd = os.open(log, os.O_RDONLY)
        read, found, offset = scan.Fingerprint(), [], 0
        for block, end in scan._marked_lines(fd, 0, len(data), markers, read):
            found, offset = found + block, end
        whole = data[: data.rfind(b"\n") + 1]
        assert found == [line for line in whole.split(b"\n") if any(m in line for m in markers)]
        assert offset == len(whole)
        assert (read.head, read.tail, read.length) == (whole[:100], whole[-100:], len(whole))
        assert read.digest() == scan.Fingerprint.of(fd, len(whole)).digest()
        os.close(fd)

    # A line too long to keep is passed over whole, and the lines after it are found.
    monkeypatch.setattr(scan, "MAX_LOG_LINE", 300)
    monkeypatch.setattr(scan, "READ_BLOCK", 64)
    data = b'"token_count"' + b"z" * 1000 + b'\n{"type":"token_count"}\n'
    log.write_bytes(data)
    fd = os.open(log, os.O_RDONLY)
    read = scan.Fingerprint()
    found = [
        line for block, _ in scan._marked_lines(fd, 0, len(data), markers, read) for line in block
    ]
    os.close(fd)
    assert found == [b'{"type":"token_count"}']
    assert read.length == len(data)


def one_transcript(path: Path, megabytes: int) -> None:
    """A transcript of at least this size, of turns a minute apart."""
    rng, text, n = random.Random(4), "", 0
    while len(text) < megabytes << 20:
        when = NOW - timedelta(days=2) + timedelta(minutes=n)
        text += "".join(line + "\n" for line in claude_turn(rng, "s", when, "claude-haiku-4-5", 20))
        n += 1
    path.write_text(text)


def read_again(path: Path, mark: scan.Mark | None) -> tuple[scan.LogRead, int]:
    """The log read from its mark, and how many bytes this process read to do it."""

    def read_chars() -> int:
        io = Path("/proc/self/io").read_text()
        return int(next(line for line in io.splitlines() if line.startswith("rchar:")).split()[1])

    before = read_chars()
    read = scan.read_log(scan.ReadTask("claude", str(path), mark))
    assert read is not None
    return read, read_chars() - before


def test_a_growing_log_costs_what_it_grew_not_what_it_holds(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    one_transcript(log, 4)
    first, _ = read_again(log, None)
    assert first.mark.offset == log.stat().st_size > 3 << 20
    turn = "\n".join(claude_turn(random.Random(5), "s", NOW, "claude-opus-4-5-20251101", 30))
    with log.open("a") as handle:
        handle.write(turn + "\n")
    grown, bytes_read = read_again(log, first.mark)
    assert grown.start == first.mark.offset and grown.mark.offset == log.stat().st_size
    assert {e.model for e in grown.entries} == {"claude-opus-4-5-20251101"}
    # The new turn and the two windows the fingerprint checks, not the 4 MB before them.
    assert bytes_read < len(turn) + 2 * scan.WINDOW + (64 << 10)
    # Read from the start, it holds the same: what was read plus what grew.
    whole = scan.read_log(scan.ReadTask("claude", str(log), None))
    assert whole is not None and whole.mark == grown.mark
    assert len(whole.entries) == len(first.entries) + len(grown.entries)


@pytest.mark.parametrize("where", ["head", "where the scan stopped", "a line longer, midway"])
def test_a_log_changed_where_the_fingerprint_looks_is_read_from_the_start(
    tmp_path: Path, where: str
) -> None:
    """A byte changed in the first or the last window read, or a line that changed length
    anywhere before the mark (which moves the bytes after it), and the log is read again."""
    log = tmp_path / "s.jsonl"
    one_transcript(log, 1)
    first, _ = read_again(log, None)
    data = bytearray(log.read_bytes())
    at = {"head": 1000, "where the scan stopped": len(data) - 1000}.get(where)
    if at is None:
        middle = data.index(b'"output_tokens":', len(data) // 2) + len(b'"output_tokens":')
        data[middle:middle] = b"1"
    else:
        data[at] = ord(b"x") if data[at] != ord(b"x") else ord(b"y")
    data += "\n".join(claude_turn(random.Random(5), "s", NOW, "claude-haiku-4-5", 20)).encode()
    data += b"\n"
    os.truncate(log, 0)  # in place: the same inode
    with log.open("r+b") as handle:
        handle.write(data)
    again, _ = read_again(log, first.mark)
    assert again.start == 0 and again.mark.offset == len(data)


def test_a_releases_mark_is_checked_as_it_was_made_then_a_fingerprint_is_kept(
    tmp_path: Path,
) -> None:
    """Until this release a mark held a SHA-256 of every byte read: an upgrade goes on from
    such a mark when the part read is unchanged (no log is read again), and from the start
    when it is not; either way the new mark is a fingerprint."""
    import hashlib

    log = tmp_path / "s.jsonl"
    one_transcript(log, 1)
    first, _ = read_again(log, None)
    released = first.mark._replace(digest=hashlib.sha256(log.read_bytes()).digest())
    with log.open("a") as handle:
        handle.write("\n".join(claude_turn(random.Random(5), "s", NOW, "claude-haiku-4-5", 20)))
        handle.write("\n")
    grown, _ = read_again(log, released)
    assert grown.start == released.offset
    assert len(grown.mark.digest) == 16 and grown.mark.digest != released.digest
    again, _ = read_again(log, grown.mark)
    assert again.start == grown.mark.offset
    changed = released._replace(digest=hashlib.sha256(b"other bytes").digest())
    assert read_again(log, changed)[0].start == 0


def test_a_first_scan_in_several_commits_counts_what_one_commit_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first scan commits every COMMIT_BYTES (here every batch of one log) and appends
    each commit's records at once; it counts what one commit would and leaves nothing
    pending."""
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    expected = from_scratch(tmp_path, root)
    monkeypatch.setattr(scan, "COMMIT_BYTES", 1)
    monkeypatch.setattr(scan, "BATCH_BYTES", 1)
    results = run_scan(data, root)
    assert all(result.records > 1 for result in results)
    assert totals(data) == expected
    with sqlite3.connect(data / "tokens-default.sqlite") as db:
        assert db.execute("select count(*) from pending").fetchone() == (0,)


def test_a_minutes_scan_writes_both_tools_records_to_the_day_file_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = tmp_path / "homes", tmp_path / "data"
    homes(root)
    run_scan(data, root)
    grow = NOW - timedelta(minutes=1)
    write_claude_home(root / "claude", grow, NOW, 8 << 10, random.Random(8))
    write_codex_home(root / "codex", grow, NOW, 8 << 10, random.Random(8))
    writes: list[set[str]] = []
    real = store.append_records

    def counted(data_dir: Path, records: list[object]) -> object:
        writes.append({r.source_tool for r in records})  # type: ignore[attr-defined]
        return real(data_dir, records)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "append_records", counted)
    run_scan(data, root)
    assert writes == [{"claude", "codex"}]
    assert totals(data) == from_scratch(tmp_path, root)


@pytest.mark.parametrize("replayed", [True, False])
def test_a_subagent_rollout_read_in_pieces_counts_what_one_read_counts(
    tmp_path: Path, replayed: bool
) -> None:
    """A scan that ends between a sub-agent's first two token_count events holds the first
    (in the store) until the second tells whether they replay the parent: skipped when
    they share their second, counted when they do not."""
    from homes import codex_session, codex_subagent_session, stamp

    rng = random.Random(6)
    root, data = tmp_path / "homes", tmp_path / "data"
    parent = codex_session(rng, NOW - timedelta(hours=3), NOW - timedelta(hours=2), 30 << 10, False)
    spawn = NOW - timedelta(hours=1)
    lines = codex_subagent_session(parent, spawn, NOW, 30 << 10, rng).splitlines(keepends=True)
    first, second = [i for i, line in enumerate(lines) if '"token_count"' in line][:2]
    if not replayed:
        lines[second] = lines[second].replace(stamp(spawn), stamp(spawn + timedelta(seconds=1)))
    folder = root / "codex/sessions/2026/11/25"
    folder.mkdir(parents=True)
    (folder / "rollout-parent.jsonl").write_text(parent)
    (root / "claude/projects").mkdir(parents=True)
    run_scan(data, root)
    parent_only = totals(data)
    log = folder / "rollout-subagent.jsonl"
    for cut in (first + 1, second, second + 1, len(lines)):
        log.write_text("".join(lines[:cut]))
        run_scan(data, root)
        if cut <= second:
            assert totals(data) == parent_only  # the first event is held
    assert totals(data) == from_scratch(tmp_path, root)
    assert (totals(data) == parent_only) is False


def test_a_full_disk_under_the_store_says_so_and_keeps_the_store(env: Env) -> None:
    import subprocess

    require_root("mounting a tmpfs")
    env.use_fixed_tools()
    env.write_token_logs()
    env.data_dir.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(env.data_dir)], check=True
    )
    try:
        assert env.run("capture").returncode == 0
        store = env.data_dir / "tokens-default.sqlite"
        before = store.stat().st_size
        with open(env.data_dir / "filler", "wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        # New logs to count, and no room to count them in.
        env.write_token_logs()
        for log in (env.claude_home / "projects").rglob("*.jsonl"):
            log.write_text(log.read_text() * 3)
        result = env.run("capture")
        assert "Traceback" not in result.stderr
        assert "disk is full" in result.stderr or "No space left" in result.stderr, result.stderr
        assert "move it away" not in result.stderr
        assert store.exists() and store.stat().st_size >= before
    finally:
        subprocess.run(["umount", "-l", str(env.data_dir)], check=False)


def test_a_log_whose_name_is_not_utf8_stops_no_counting(env: Env) -> None:
    """A file name in another encoding under the projects folder (an old rsync, a Windows
    share) made every scan fail: 0 tokens counted, well-named logs included."""
    env.use_fixed_tools()
    env.write_token_logs()
    assert env.run("run").returncode == 0
    good = counters(env.textfile)
    folder = min(env.claude_home.rglob("*.jsonl")).parent
    other = env.root / "other"
    write_token_logs(other / "claude", other / "codex", datetime.now(timezone.utc), seed=99)
    some = min((other / "claude").rglob("*.jsonl"))  # other sessions, other messages
    odd = os.path.join(os.fsencode(folder), b"caf\xe9-session.jsonl")
    with open(odd, "wb") as out:
        out.write(some.read_bytes())
    (env.data_dir / "tokens-default.sqlite").unlink()  # counted again from the start
    done = env.run("run")
    assert done.returncode == 0 and "surrogates" not in done.stderr, done.stderr
    after = counters(env.textfile)
    tokens = [k for k in good if k[0] == "cctrack_claude_tokens_total"]
    assert tokens and all(after[k] >= good[k] for k in tokens)
    assert any(after[k] > good[k] for k in tokens)  # the odd one counted as well
