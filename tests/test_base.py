"""base.py and fold.py: nothing counted is ever uncounted. A history of 30 days kept 7, so
that retention has removed most day files, then every way of losing a file analyze
keeps: no exported counter falls, the totals are what they were, and the rollup is what
a rebuild makes (docs/records.md, "What each file holds")."""

from __future__ import annotations

import json
import os
import pwd
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path

import pytest
from builders import working_days
from conftest import Env, run_as

from cctrack import base, checkpoint, fold
from cctrack.rollup import Rollup
from cctrack.state import FoldRules

RETENTION = "7"
UTC = timezone.utc


def counters(textfile: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every counter sample of a textfile, by name and labels."""
    from prometheus_client.parser import text_string_to_metric_families

    found = {}
    for family in text_string_to_metric_families(textfile.read_text()):
        if family.type == "counter":
            for s in family.samples:
                found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def assert_none_fell(before: dict, after: dict, step: str) -> None:
    fell = {k: (v, after.get(k)) for k, v in before.items() if after.get(k, -1) < v}
    assert not fell, f"{step}: counters fell: {fell}"


def rows(kept: Rollup) -> tuple:
    cycles = sorted(json.dumps(c.to_json(), sort_keys=True) for c in kept.cycles)
    return kept.hours, kept.tokens, cycles


def held(env: Env) -> tuple:
    return rows(fold.replay(env.data_dir, FoldRules())[1])


def day_by_day(env: Env, days: int = 30, lines: list[tuple[str, bytes]] | None = None) -> dict:
    """The history (working_days', unless given) appended a day at a time, analyzed after
    each with the retention; checked on the way that no counter falls. The last counters."""
    lines = working_days(env.root, days) if lines is None else lines
    last: dict = {}
    for name, day in groupby(sorted(lines, key=lambda item: item[0]), key=lambda item: item[0]):
        env.data_dir.mkdir(mode=0o700, exist_ok=True)
        with open(env.data_dir / name, "ab") as out:
            out.write(b"".join(line for _, line in day))
        done = env.run("analyze")
        assert done.returncode == 0, done.stderr
        now = counters(env.textfile)
        assert_none_fell(last, now, name)
        last = now
    assert len(list(env.data_dir.glob("usage-*.jsonl"))) <= int(RETENTION) + 2
    return last


@pytest.fixture
def kept7(env: Env) -> Env:
    env.vars["CCTRACK_RETENTION_DAYS"] = RETENTION
    return env


def test_the_totals_of_removed_day_files_are_kept_whatever_analyze_replays(kept7: Env) -> None:
    env = kept7
    totals = day_by_day(env)
    rollup_before = held(env)
    captures = sum(v for (name, _), v in totals.items() if name.endswith("captures_total"))
    assert captures > 8000  # 30 days of both tools every 5 minutes, most of them removed
    state_file = env.data_dir / checkpoint.STATE_FILE
    good = state_file.read_bytes()
    losses = {
        "deleted": lambda: state_file.unlink(),
        "empty": lambda: state_file.write_bytes(b""),
        "truncated": lambda: state_file.write_bytes(good[: len(good) // 2]),
        "not JSON": lambda: state_file.write_bytes(b"\x00" * 100),
    }
    for what, lose in losses.items():
        lose()
        done = env.run("analyze")
        assert done.returncode == 0, done.stderr
        assert "replayed all records" in done.stderr and "folded from the base" in done.stderr
        assert counters(env.textfile) == totals, what
        assert held(env) == rollup_before, what
    done = env.run("analyze", "--rebuild")
    assert "replayed all records: --rebuild; folded from the base" in done.stderr
    assert counters(env.textfile) == totals
    assert held(env) == rollup_before


def test_a_rollup_file_gone_shorter_or_unreadable_in_part_leaves_the_totals(kept7: Env) -> None:
    env = kept7
    totals = day_by_day(env)
    rollup_before = held(env)
    files = sorted(env.data_dir.glob("rollup-*.jsonl"))
    newest = files[-1]
    newest.write_bytes(newest.read_bytes()[:-300])
    done = env.run("analyze")
    assert "the report's rollup made again" in done.stderr and "replayed" not in done.stderr
    assert counters(env.textfile) == totals
    assert held(env) == rollup_before
    # Gone, each month (the oldest holds only days whose day files are gone): its rows come
    # back from the base and the day files; the totals never move.
    assert len(files) >= 2
    for gone in (newest, files[0]):
        gone.unlink()
        done = env.run("analyze")
        assert f"{gone.name} is gone" in done.stderr
        assert counters(env.textfile) == totals
        assert held(env) == rollup_before
    # A row this version cannot read: the rest is read, analyze goes on, nothing is lost.
    with open(newest, "ab") as out:
        out.write(b'["z", "a kind from a newer version"]\n')
    state = json.loads((env.data_dir / checkpoint.STATE_FILE).read_text())
    state["rollup_files"][newest.name] = newest.stat().st_size
    (env.data_dir / checkpoint.STATE_FILE).write_text(json.dumps(state))
    assert env.run("analyze").returncode == 0
    assert counters(env.textfile) == totals
    kept = fold.replay(env.data_dir, FoldRules())[1]
    assert rows(kept) == rollup_before and len(kept.skipped) == 1
    assert env.run("cycles").returncode == 0


def test_the_base_is_whole_or_not_used_and_is_written_again_from_the_checkpoint(
    kept7: Env,
) -> None:
    env = kept7
    totals = day_by_day(env)
    path = env.data_dir / base.BASE_FILE
    whole = path.read_bytes()
    found, why = base.load(env.data_dir)
    assert found is not None and why is None
    assert found.seq > 0 and found.rows  # the removed days' records and their rows
    # One flipped byte: not whole, never folded on; analyze copies it from the checkpoint.
    damaged = bytearray(whole)
    damaged[len(damaged) // 2] ^= 1
    path.write_bytes(bytes(damaged))
    assert base.load(env.data_dir)[0] is None
    done = env.run("analyze")
    assert "the base was copied from the checkpoint" in done.stderr
    assert base.load(env.data_dir)[0] is not None
    assert counters(env.textfile) == totals
    # Then the checkpoint lost as well: the copy serves as the base did.
    (env.data_dir / checkpoint.STATE_FILE).unlink()
    assert env.run("analyze").returncode == 0
    assert counters(env.textfile) == totals


def test_a_history_whose_removed_records_no_base_holds_gets_one_copied(kept7: Env) -> None:
    """An upgrade from a release without the base, or one that removed day files without
    it: the checkpoint's totals are the only record of them, so the base starts as it."""
    env = kept7
    totals = day_by_day(env)
    (env.data_dir / base.BASE_FILE).unlink()
    done = env.run("analyze")
    assert "the base was copied from the checkpoint: no base yet" in done.stderr
    (env.data_dir / checkpoint.STATE_FILE).unlink()
    assert env.run("analyze").returncode == 0
    assert counters(env.textfile) == totals


def test_a_new_data_directory_starts_with_an_empty_base(env: Env) -> None:
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    found, _ = base.load(env.data_dir)
    assert found is not None and found.seq == 0 and not found.rows
    assert not found.checkpoint.marks and "copied" not in env.run("analyze").stderr


def test_token_totals_past_64_bits_saturate_in_every_file_and_never_fall(env: Env) -> None:
    """Rows of 2^62 tokens (the most one row may claim), in one quarter hour, over several
    analyzes with projects on: the state, the rollup, the base, the textfile and every
    reader keep going, and each total stops at the bound instead of failing or falling."""
    from cctrack.records import TokenRecord
    from cctrack.status import MAX_COUNT

    env.use_fixed_tools()
    env.vars["CCTRACK_TOKEN_PROJECTS"] = "2"
    assert env.run("run").returncode == 0
    now = datetime.now(UTC)
    minute = int(now.timestamp()) // 60
    last: dict = {}
    seq = 1000
    for run in range(4):
        lines = []
        for part in range(1, 4):
            seq += 1
            rows = ((minute, "claude-opus-4-5", MAX_COUNT, MAX_COUNT, MAX_COUNT, MAX_COUNT),)
            record = TokenRecord(
                seq,
                now,
                "h",
                "claude",
                "00000000aaaaaaaa",
                run + 1,
                part,
                rows,
                projects=((minute, f"/src/p{part}", *rows[0][1:]),),
            )
            lines.append(record.to_line())
        day = env.data_dir / f"usage-{now:%Y%m%d}.jsonl"
        with day.open("ab") as handle:
            handle.writelines(lines)
        (env.data_dir / "seq").write_text(f"{seq}\n")
        done = env.run("analyze")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        now_counters = counters(env.textfile)
        assert_none_fell(last, now_counters, f"analyze {run}")
        last = now_counters
    opus = {k: v for k, v in last.items() if ("model", "claude-opus-4-5") in k[1]}
    assert opus and max(opus.values()) == MAX_COUNT
    for command in (("cycles",), ("tokens",), ("tokens", "--json"), ("show",), ("history",)):
        done = env.run(*command)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (command, done.stderr)
    kept = fold.replay(env.data_dir, FoldRules())[1]
    quarters = [n for row in kept.tokens.values() for c in row.models.values() for n in c]
    assert max(quarters) == MAX_COUNT
    (env.data_dir / checkpoint.STATE_FILE).unlink()  # from the base, the same totals
    assert env.run("analyze").returncode == 0
    assert counters(env.textfile) == last


def test_files_another_user_left_are_named_with_the_fix_never_folded_from_less(
    alice: tuple[str, Env],
) -> None:
    """Root running a user's jobs (a `sudo` without `-u`): refused; and the root-owned files
    an earlier release left stop analyze with the command that gives them back, never a
    replay that would make the totals fall."""
    user, env = alice
    env.vars["CCTRACK_RETENTION_DAYS"] = RETENTION
    uid = pwd.getpwnam(user).pw_uid
    lines = working_days(env.root, 12)
    # Her history, kept 7 days: most day files already removed.
    days = groupby(sorted(lines, key=lambda item: item[0]), key=lambda item: item[0])
    env.data_dir.mkdir(mode=0o700)
    os.chown(env.data_dir, uid, -1)
    for name, day in days:
        path = env.data_dir / name
        path.write_bytes(b"".join(line for _, line in day))
        os.chown(path, uid, -1)
        done = run_as(user, env, "analyze")
        assert done.returncode == 0, done.stderr
    textfile = env.textfile_dir / f"cctrack-{user}.prom"
    totals = counters(textfile)
    assert len(list(env.data_dir.glob("usage-*.jsonl"))) < 12
    # Root is refused her data directory, and writes nothing there or beside her textfile.
    before = sorted(p.name for p in env.data_dir.iterdir())
    for job in ("analyze", "capture", "run"):
        done = env.run(job)
        assert done.returncode == 2, done.stderr
        assert f"belongs to {user}" in done.stderr and f"runuser -u {user}" in done.stderr
    assert sorted(p.name for p in env.data_dir.iterdir()) == before
    assert [p.name for p in env.textfile_dir.iterdir()] == [textfile.name]
    # A second copy an earlier release's run as root left: named, to remove.
    copy = env.textfile_dir / "cctrack-root.prom"
    copy.write_bytes(textfile.read_bytes())
    done = env.run("analyze")
    assert done.returncode == 2 and f"remove it: it exports {user}'s records" in done.stderr
    copy.unlink()
    assert all(p.stat().st_uid == uid for p in env.data_dir.iterdir())
    # A checkpoint an earlier root run left, 0600: named, with the fix; nothing folded.
    state_file = env.data_dir / checkpoint.STATE_FILE
    os.chown(state_file, 0, 0)
    done = run_as(user, env, "analyze")
    assert done.returncode == 1
    assert f"it belongs to root, not to {user}" in done.stderr
    assert f"sudo chown -R {user}: {env.data_dir}" in done.stderr
    assert counters(textfile) == totals
    shown = run_as(user, env, "show")
    assert shown.returncode == 0 and "sudo chown" in shown.stdout
    assert run_as(user, env, "bar").returncode == 0
    # One she can read (a day file root appended to, 0644): analyze goes on and says so.
    os.chown(state_file, uid, -1)
    newest = max(env.data_dir.glob("usage-*.jsonl"))
    os.chown(newest, 0, 0)
    newest.chmod(0o644)
    done = run_as(user, env, "analyze")
    assert done.returncode == 0, done.stderr
    assert f"1 file(s) here belong to another user ({newest.name})" in done.stderr
    assert f"`sudo chown -R {user}: {env.data_dir}` gives them back" in done.stderr
    assert counters(textfile) == totals


def test_records_lost_with_no_copy_left_never_lower_an_exported_counter(kept7: Env) -> None:
    """What cannot be counted again (the checkpoint and the base both lost, a day file cut
    short below the checkpoint) is carried from what was exported: the counters hold, and
    the next records add to them as before."""
    env = kept7
    totals = day_by_day(env, days=12)
    (env.data_dir / checkpoint.STATE_FILE).unlink()
    (env.data_dir / base.BASE_FILE).unlink()
    done = env.run("analyze")
    assert "replayed all records" in done.stderr and "from the day files alone" in done.stderr
    assert counters(env.textfile) == totals
    # The fullest day file kept: the newest may hold only the minutes since midnight,
    # whose second half can lack a successful Claude capture to count.
    fullest = max(env.data_dir.glob("usage-*.jsonl"), key=lambda day: day.stat().st_size)
    data = fullest.read_bytes()
    fullest.write_bytes(data[: len(data) // 2])  # cut short below the checkpoint
    done = env.run("analyze")
    assert f"{fullest.name} changed below the checkpoint" in done.stderr
    cut = counters(env.textfile)
    assert_none_fell(totals, cut, "a day file cut short")
    assert {k: v for k, v in cut.items() if "skipped" not in k[0]} == {
        k: v for k, v in totals.items() if "skipped" not in k[0]
    }
    # The carry is the state's: it holds without the textfile, and new records count on top.
    env.textfile.unlink()
    with fullest.open("ab") as out:
        out.write(data[len(data) // 2 :])
    assert env.run("analyze").returncode == 0
    after = counters(env.textfile)
    assert_none_fell(totals, after, "the rest of the day appended again")
    ok = [k for k in totals if k[0] == "cctrack_claude_captures_total" and ("result", "ok") in k[1]]
    assert ok and after[ok[0]] > totals[ok[0]]


def test_a_counter_is_carried_by_what_it_fell_by_and_no_more() -> None:
    from cctrack.exposition import Family, counter_values, keep_rising, render

    def exported(value: float, carried: dict[str, float], before: bytes) -> bytes:
        families = [
            Family("x", "counter", "a counter").add(value, user="a b"),
            Family("g", "gauge", "a gauge").add(value / 10),
        ]
        keep_rising(families, counter_values(before.decode()), carried)
        return render(families)

    carried: dict[str, float] = {}
    first = exported(100, carried, b"")
    assert counter_values(first.decode()) == {'x_total{user="a b"}': 100.0} and not carried
    fell = exported(30, carried, first)  # 70 lost
    assert counter_values(fell.decode()) == {'x_total{user="a b"}': 100.0}
    assert carried == {'x_total{user="a b"}': 70.0} and b"g 3.0" in fell  # gauges fall
    rose = exported(35, carried, fell)
    assert counter_values(rose.decode()) == {'x_total{user="a b"}': 105.0}
    assert carried == {'x_total{user="a b"}': 70.0}


def test_a_day_file_going_that_the_base_read_otherwise_makes_the_checkpoint_the_base(
    kept7: Env,
) -> None:
    """The base read part of a day file (a copy of the checkpoint), then that part changed
    before retention took the file: the checkpoint, which read it whole as it is, becomes
    the base, and the totals stand."""
    env = kept7
    lines = working_days(env.root, 12)
    days = [(name, list(day)) for name, day in groupby(sorted(lines), key=lambda i: i[0])]
    env.data_dir.mkdir(mode=0o700)
    first_name, first = days[0]
    path = env.data_dir / first_name
    # The first record already gone (seq 2 first): the base starts as a copy of the
    # checkpoint, with a mark of the part of this file read so far.
    path.write_bytes(b"".join(line for _, line in first[1:10]))
    done = env.run("analyze")
    assert "the base was copied from the checkpoint" in done.stderr
    data = path.read_bytes()
    assert b'"hostname":"bench"' in data
    rest = b"".join(line for _, line in first[10:])
    path.write_bytes(data.replace(b'"hostname":"bench"', b'"hostname":"bunch"', 1) + rest)
    assert env.run("analyze").returncode == 0
    for name, day in days[1:]:
        with open(env.data_dir / name, "ab") as out:
            out.write(b"".join(line for _, line in day))
        done = env.run("analyze")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert not path.exists()
    totals = counters(env.textfile)
    (env.data_dir / checkpoint.STATE_FILE).unlink()
    assert env.run("analyze").returncode == 0
    assert counters(env.textfile) == totals


def test_a_base_reaches_the_day_files_kept_only_when_no_record_between_is_missing(
    env: Env,
) -> None:
    """The base goes on into the oldest day file kept when it folded that file or the file's
    first record comes right after the base's last; one record missing between them and
    the base is not used."""
    from builders import append_lines

    from cctrack import store

    lines = working_days(env.root, 2)[10:]  # as if retention took the first
    append_lines(env.data_dir, lines)
    names = store.list_day_files(env.data_dir).names
    first = store.first_seq_in_file(env.data_dir / names[0])
    assert first > 2
    assert base.reaches(base.Base(seq=first - 1), env.data_dir, names)
    assert base.reaches(base.Base(seq=first + 5), env.data_dir, names)
    assert not base.reaches(base.Base(seq=first - 2), env.data_dir, names)
    assert not base.reaches(base.Base(), env.data_dir, names)
    folded = base.Base(seq=0)
    folded.checkpoint.marks = {names[0]: store.FileMark(0, 0, 0, "0" * 64)}
    assert base.reaches(folded, env.data_dir, names)
    # Only the oldest file decides: having folded a later one does not bridge a gap.
    later = base.Base(seq=0)
    later.checkpoint.marks = {names[-1]: store.FileMark(0, 0, 0, "0" * 64)}
    assert len(names) > 1 and not base.reaches(later, env.data_dir, names)
    assert base.reaches(base.Base(seq=0), env.data_dir, ())
    # A day file with no record it can read yet (first seq_no 0) leaves nothing between.
    (env.data_dir / "usage-20000101.jsonl").write_bytes(b"")
    assert base.reaches(base.Base(seq=0), env.data_dir, ("usage-20000101.jsonl", *names))


def test_a_base_that_is_not_whole_or_of_another_version_is_not_used_and_says_why(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from cctrack.errors import CctrackError

    env.data_dir.mkdir(mode=0o700)
    path = env.data_dir / base.BASE_FILE
    good = base.Base(seq=5).encode()
    head, body = good.split(b"\n", 1)
    meta = json.loads(head)
    # The checksum is blake2b of 16 bytes, as every release has written it.
    assert meta["blake2b"] == hashlib.blake2b(body[:-1], digest_size=16).hexdigest()
    path.write_bytes(good[:-1])  # without its last newline: still whole
    assert base.load(env.data_dir)[0] == base.Base(seq=5)

    def damaged(data: bytes) -> str | None:
        path.write_bytes(data)
        found, why = base.load(env.data_dir)
        assert found is None
        return why

    def with_head(**changes: object) -> bytes:
        return json.dumps({**meta, **changes}).encode() + b"\n" + body

    def with_body(obj: dict) -> bytes:
        text = json.dumps(obj).encode()
        digest = hashlib.blake2b(text, digest_size=16).hexdigest()
        return json.dumps({"v": 1, "size": len(text), "blake2b": digest}).encode() + b"\n" + text

    name = base.BASE_FILE
    assert damaged(with_head(v=2)) == f"{name} is damaged (not a base of this version)"
    assert damaged(b"[1]\n" + body) == f"{name} is damaged (not a base of this version)"
    assert damaged(with_head(size=meta["size"] + 1)) == f"{name} is damaged (not whole)"
    assert (
        damaged(with_head(blake2b="0" * 32)) == f"{name} is damaged (its checksum does not match)"
    )
    whole = json.loads(body)
    for seq in (-1, "5"):
        assert damaged(with_body({**whole, "seq": seq})) == f"{name} is damaged (bad seq)"
    # One this user may not read: the fix, never a fold from less.
    monkeypatch.setattr(base, "read_small", lambda *_: (_ for _ in ()).throw(PermissionError()))
    with pytest.raises(CctrackError, match=str(path)):
        base.load(env.data_dir)


def test_a_base_folds_in_the_days_going_and_keeps_their_tokens_as_of_the_last_ones_end(
    env: Env,
) -> None:
    """Tokens are pruned as of the end of the newest day going, not of now: a window that
    closes in a day file kept still counts the tokens from before it."""
    from cctrack.state import TOKEN_MINUTES_KEPT, TokenState

    env.data_dir.mkdir(mode=0o700)
    day = "usage-20261101.jsonl"
    (env.data_dir / day).write_bytes(working_days(env.root, 1)[0][1])
    start = base.Base()
    tokens = start.checkpoint.state.tokens[("default", "codex")] = TokenState("codex")
    end = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp()) // 60
    oldest = end - TOKEN_MINUTES_KEPT
    tokens.minutes = {oldest - 1: 1, oldest: 2, oldest + 1439: 3}
    clock = datetime(2026, 12, 5, tzinfo=UTC)
    advanced = base.advance(env.data_dir, start, [day], FoldRules(), clock, None)
    kept = advanced.checkpoint.state.tokens[("default", "codex")].minutes
    assert kept == {oldest: 2, oldest + 1439: 3}
    assert advanced.seq == 1


def test_the_bases_rows_are_the_months_retention_keeps_whichever_way_it_is_written(
    env: Env,
) -> None:
    """Copied from the checkpoint (with every row of the rollup files), folded on with the
    days going, or made the checkpoint when a day going changed below it: the rows of the
    months before the cutoff are not kept."""
    from builders import append_lines

    from cctrack import store

    lines = working_days(env.root, 12)
    append_lines(env.data_dir, lines)
    assert env.run("analyze").returncode == 0
    stored, _ = checkpoint.load(env.data_dir)
    months = {row.month for row in base.copy_of(env.data_dir, stored, None).rows}
    assert len(months) == 2, "the history must span two months"
    newer = max(months)
    before = datetime.strptime(newer, "%Y%m").replace(tzinfo=UTC)
    copied = base.copy_of(env.data_dir, stored, before)
    assert {row.month for row in copied.rows} == {newer}
    # Its seq is that of the day files read to their end, not of one that grew since.
    names = store.list_day_files(env.data_dir).names
    assert copied.seq == store.last_seq_in_file(env.data_dir / names[-1])
    with open(env.data_dir / names[-1], "ab") as grown:
        grown.write(lines[-1][1].replace(b'"seq_no":', b'"seq_no":9', 1))
    assert base.copy_of(env.data_dir, stored, before).seq == copied.seq
    assert base.copy_of(env.data_dir, checkpoint.Checkpoint(), None).seq == 0
    # Written by keep: no base yet and the first record gone (seq 2 first): a copy.
    first = env.data_dir / names[0]
    first.write_bytes(b"".join(first.read_bytes().splitlines(keepends=True)[1:]))
    (env.data_dir / base.BASE_FILE).unlink()
    why = base.keep(env.data_dir, stored, [], FoldRules(), datetime.now(UTC), before)
    assert why == "the base was copied from the checkpoint: no base yet"
    assert {row.month for row in base.load(env.data_dir)[0].rows} == {newer}  # type: ignore[union-attr]
    # A base that does not reach the oldest day file kept: copied again, saying so.
    base.save(env.data_dir, base.Base())
    why = base.keep(env.data_dir, stored, [], FoldRules(), datetime.now(UTC), before)
    assert why == "the base was copied from the checkpoint: it did not reach the oldest day file"
    # The first day going, but it changed below the base: the checkpoint becomes the base.
    why = base.keep(env.data_dir, stored, [names[0]], FoldRules(), datetime.now(UTC), before)
    assert why == f"the base was copied from the checkpoint: {names[0]} changed below the base"
    assert {row.month for row in base.load(env.data_dir)[0].rows} == {newer}  # type: ignore[union-attr]
    # Folded on with the first day going, as analyze does when retention takes it.
    (env.data_dir / base.BASE_FILE).unlink()
    assert env.run("analyze", "--rebuild").returncode == 0
    stored, _ = checkpoint.load(env.data_dir)
    base.keep(env.data_dir, stored, [], FoldRules(), datetime.now(UTC), None)
    why = base.keep(env.data_dir, stored, [names[0]], FoldRules(), datetime.now(UTC), before)
    assert why is None
    assert {row.month for row in base.load(env.data_dir)[0].rows} == {newer}  # type: ignore[union-attr]


def test_an_agents_counters_are_kept_as_claudes_and_codexs_are(kept7: Env) -> None:
    """Codex's status records of a 30-day history as an agent's (gemini): retention removes
    most of them, the checkpoint is lost, and its counters are what they were."""
    lines = [
        (name, line.replace(b'"source_tool":"codex"', b'"source_tool":"gemini"'))
        if b'"kind":"tokens"' not in line
        else (name, line)
        for name, line in working_days(kept7.root, 30)
    ]
    kept7.write_config('[agents.gemini]\nstatus = "/bin/true"\n').chmod(0o600)
    kept7.vars["CCTRACK_SOURCES"] = "claude,gemini"
    totals = day_by_day(kept7, lines=lines)
    agent = {k: v for k, v in totals.items() if k[0].startswith("cctrack_agent_")}
    ok = [
        v
        for (name, labels), v in agent.items()
        if name == "cctrack_agent_captures_total" and ("result", "ok") in labels
    ]
    assert ok and ok[0] > 4000
    (kept7.data_dir / checkpoint.STATE_FILE).unlink()
    done = kept7.run("analyze")
    assert done.returncode == 0 and "folded from the base" in done.stderr, done.stderr
    assert counters(kept7.textfile) == totals
