"""Upgrades and downgrades against the real earlier releases: wheels built from this
repository's history write a data directory with a retention that removes day files,
then this checkout takes over, the release again, this checkout again. No exported
counter falls at any step, and the rollup is what a rebuild makes.

A new release is one more line in RELEASES: the head of each release's last stop."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from itertools import groupby
from pathlib import Path

import pytest
from builders import working_days
from conftest import Env, unavailable
from durable import build_release
from homes import claude_turn, codex_session, write_claude_home, write_codex_home
from test_base import RETENTION, assert_none_fell, counters, held
from test_scan import totals

from cctrack.tokens.scan import scan_tokens

ROOT = Path(__file__).resolve().parent.parent
RELEASES = {
    # Before the rollup: its checkpoint has none, and it never heard of the base.
    "acf71c1": "acf71c1",
    # The rollup, no base.
    "428db59": "428db59",
    # The base and the one read model; project labels chosen when exported.
    "d84d551": "d84d551",
    # Project labels fixed at fold time; the scan's marks a SHA-256 of every byte read.
    "b67e407": "b67e407",
}
DAYS = 30


def released(commit: str, into: Path) -> Path:
    """The release's wheel, built and installed as benchmarks/durable.py builds it."""
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True
    )
    if known.returncode != 0:
        message = f"commit {commit} is not in this clone's history"
        unavailable(message)
    return build_release(commit, into)


class Versions:
    """Runs analyze as a release (from its installed wheel) or as this checkout."""

    def __init__(self, env: Env, site: Path) -> None:
        self.env, self.site = env, site

    def analyze(self, release: bool) -> None:
        self.run(release, "analyze")

    def run(self, release: bool, *args: str) -> str:
        """The command's output (stdout and stderr); it must succeed."""
        if not release:
            done = self.env.run(*args)
        else:
            done = subprocess.run(
                [sys.executable, "-c", "import cctrack.cli as c; c.main()", *args],
                env={**self.env.vars, "PYTHONPATH": str(self.site)},
                cwd=self.site,
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    def which(self) -> str:
        return subprocess.run(
            [sys.executable, "-c", "import cctrack; print(cctrack.__file__)"],
            env={**self.env.vars, "PYTHONPATH": str(self.site)},
            cwd=self.site,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_no_counter_falls_from_a_release_to_this_one_back_and_again(
    env: Env, tmp_path: Path, release: str
) -> None:
    site = released(RELEASES[release], tmp_path / "release")
    versions = Versions(env, site)
    assert versions.which().startswith(str(site))  # the release's code, not this checkout's
    env.vars["CCTRACK_RETENTION_DAYS"] = RETENTION
    lines = sorted(working_days(env.root, DAYS), key=lambda item: item[0])
    days = [(name, list(day)) for name, day in groupby(lines, key=lambda item: item[0])]
    # Who analyzes each day: the release, this checkout, the release, this checkout.
    plan = [True] * 15 + [False] * 5 + [True] * 4 + [False] * (len(days) - 24)
    last: dict = {}
    steps = []
    for (name, day), by_release in zip(days, plan, strict=True):
        env.data_dir.mkdir(mode=0o700, exist_ok=True)
        with open(env.data_dir / name, "ab") as out:
            out.write(b"".join(line for _, line in day))
        versions.analyze(by_release)
        now = counters(env.textfile)
        who = release if by_release else "this checkout"
        assert_none_fell(last, now, f"{name} analyzed by {who}")
        last = now
        steps.append(by_release)
    assert steps.count(False) >= 10 and len(list(env.data_dir.glob("usage-*.jsonl"))) <= 9
    stepwise = held(env)
    done = env.run("analyze", "--rebuild")
    assert done.returncode == 0
    assert counters(env.textfile) == last
    assert held(env) == stepwise
    # And the checkpoint lost after all that: the base holds what the day files do not.
    (env.data_dir / "analyze-state.json").unlink()
    assert env.run("analyze").returncode == 0
    assert counters(env.textfile) == last
    os.sync()


def test_project_series_from_a_release_that_labelled_them_when_exported(
    env: Env, tmp_path: Path
) -> None:
    """The release before project labels were fixed at fold time counted projects for two
    months (the largest two so far named, the rest other). This checkout takes over: it
    exports what the release did, nothing falls or jumps; then, month by month, the two
    largest of the month before keep series, at most two plus other and unattributed per
    model and type; the release again, this checkout again, --rebuild: nothing falls."""
    site = released(RELEASES["d84d551"], tmp_path / "release")
    versions = Versions(env, site)
    env.vars["CCTRACK_TOKEN_PROJECTS"] = "2"
    projects = tuple(f"/home/u/src/p{n}" for n in range(6))
    lines = sorted(working_days(env.root, 75, projects=projects), key=lambda item: item[0])
    days = [(name, list(day)) for name, day in groupby(lines, key=lambda item: item[0])]
    plan = [True] * 45 + [False] * 20 + [True] * 3 + [False] * (len(days) - 68)
    last: dict = {}
    for step, ((name, day), by_release) in enumerate(zip(days, plan, strict=True)):
        if step and not by_release and plan[step - 1]:
            # The upgrade alone, before the day's records: what the release exported.
            versions.analyze(False)
            assert counters(env.textfile) == last, f"{name}: the upgrade changed the counters"
        env.data_dir.mkdir(mode=0o700, exist_ok=True)
        with open(env.data_dir / name, "ab") as out:
            out.write(b"".join(line for _, line in day))
        versions.analyze(by_release)
        now = counters(env.textfile)
        who = "d84d551" if by_release else "this checkout"
        # The release drops a project's series whenever it leaves the largest two so far;
        # this checkout only in a month's first days, when the places are chosen again.
        ended = {key for key in last if key not in now}
        assert_none_fell({k: v for k, v in last.items() if k not in ended}, now, f"{name}, {who}")
        if not by_release:
            assert not ended or int(name[-8:-6]) <= 7, (name, ended)
            assert all(metric.endswith("tokens_total") for metric, _ in ended)
            assert max(project_series(now).values()) <= 2 + 2, name
        last = now
    assert any(dict(labels).get("project") == "other" for _, labels in last)
    # A rebuild labels the release's months as this version would have: some project series
    # end, none that goes on falls.
    done = env.run("analyze", "--rebuild")
    assert done.returncode == 0, done.stderr
    rebuilt = counters(env.textfile)
    assert_none_fell({k: v for k, v in last.items() if k in rebuilt}, rebuilt, "--rebuild")
    assert {k for k in last if k not in rebuilt} == {
        k for k in last if k not in rebuilt and "project" in dict(k[1])
    }
    assert max(project_series(rebuilt).values()) <= 2 + 2


def project_series(found: dict) -> dict[tuple, int]:
    """How many project values each token counter has, by its other labels."""
    values: dict[tuple, set[str]] = {}
    for metric, labels in found:
        named = dict(labels)
        if metric.endswith("tokens_total") and "project" in named:
            project = named.pop("project")
            values.setdefault((metric, *sorted(named.items())), set()).add(project)
    return {key: len(projects) for key, projects in values.items()}


@pytest.mark.parametrize("release", ["d84d551", "b67e407"])
def test_a_releases_token_scan_store_is_taken_over_without_reading_the_logs_again(
    env: Env, tmp_path: Path, release: str
) -> None:
    """The release's marks hash every byte its scans read; this checkout's, where a log
    starts and where the scan stopped (tokens.scan.Fingerprint). Taking over the release's
    store reads only what the logs grew; back to the release, which knows no fingerprint,
    the logs that grew are read from the start and nothing is counted twice; then this
    checkout again. At every step no counter falls and the token totals are what a new
    store counts of the same logs."""
    site = released(RELEASES[release], tmp_path / "release")
    versions = Versions(env, site)
    env.use_fixed_tools()
    rng = random.Random(8)
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    end = start + timedelta(hours=2)
    # The release reads everything, then the two logs that grew, whole.
    whole = {
        "claude": write_claude_home(env.claude_home, start, end, 3 << 20, rng) / 1e6,
        "codex": write_codex_home(env.codex_home, start, end, 3 << 20, rng) / 1e6,
    }
    last: dict = {}
    for step, by_release in enumerate([True, False, True, False]):
        if step:
            whole = grow(env, rng)
        who = release if by_release else "this checkout"
        read = megabytes_read(versions.run(by_release, "capture"))
        if by_release:
            assert all(read[tool] >= whole[tool] - 0.15 for tool in read), (who, whole, read)
        else:
            assert read == {"claude": 0.0, "codex": 0.0}, (who, read)
        versions.analyze(by_release)
        now = counters(env.textfile)
        assert_none_fell(last, now, f"capture {step + 1}, by {who}")
        assert totals(env.data_dir) == counted_anew(env, tmp_path / f"fresh-{step}")
        last = now


def grow(env: Env, rng: random.Random) -> dict[str, float]:
    """A minute's work: one more turn in the newest transcript and rollout. Their sizes in
    MB."""
    now = datetime.now(timezone.utc)
    transcript = max(env.claude_home.rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    with transcript.open("a") as handle:
        handle.write("\n".join(claude_turn(rng, "s", now, "claude-sonnet-4-5", 200)) + "\n")
    rollout = max(env.codex_home.rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    with rollout.open("a") as handle:
        lines = codex_session(rng, now - timedelta(seconds=60), now, 4000, False).splitlines()
        handle.write("\n".join(lines[3:]) + "\n")
    return {"claude": transcript.stat().st_size / 1e6, "codex": rollout.stat().st_size / 1e6}


def megabytes_read(output: str) -> dict[str, float]:
    """capture's "tokens read: claude 2.1 MB in 3 logs, codex ..." as {tool: MB}, 0 for none."""
    read = {"claude": 0.0, "codex": 0.0}
    for tool, size in re.findall(r"\b(claude|codex) ([0-9.]+) MB in", output):
        read[tool] = float(size)
    return read


def counted_anew(env: Env, data_dir: Path) -> dict:
    homes = {"claude": (env.claude_home,), "codex": (env.codex_home,)}
    scan_tokens(data_dir, "default", homes, "box", datetime.now(timezone.utc))
    return totals(data_dir)
