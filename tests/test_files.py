"""files.py on its own: directories made ready, stale temporary files."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from conftest import Env

from cctrack import files
from cctrack.errors import CctrackError


def test_a_private_directory_is_created_0700_and_an_open_one_tightened(tmp_path: Path) -> None:
    made = files.private_dir(tmp_path / "new" / "data")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    wide = tmp_path / "wide"
    wide.mkdir()
    wide.chmod(0o755)
    files.private_dir(wide)
    assert stat.S_IMODE(wide.stat().st_mode) == 0o700


def test_a_missing_directory_that_must_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CctrackError, match="does not exist; create it"):
        files.ready_dir(
            tmp_path / "typo",
            mode=0o755,
            create=False,
            what="textfile directory",
            missing_hint="; create it",
        )


@pytest.mark.parametrize("create", [True, False])
def test_a_file_where_a_directory_should_be_is_named_as_such(tmp_path: Path, create: bool) -> None:
    (tmp_path / "data").write_text("")
    with pytest.raises(CctrackError, match=r"^data directory .*/data is not a directory "):
        files.ready_dir(tmp_path / "data", mode=0o700, create=create, what="data directory")


def test_write_atomic_sets_the_mode_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        files.write_atomic(tmp_path / "private", b"x")
        files.write_atomic(tmp_path / "public", b"x", mode=0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "public").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_a_cache_is_replaced_as_atomically_but_never_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file is replaced in one rename, mode and all; only a durable one is synced to
    disk, with its directory (the status line's snapshot is not: it is saved on every
    render, and a damaged one reads as none)."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    target = tmp_path / "state.json"
    target.symlink_to(tmp_path / "elsewhere")
    files.write_atomic(target, b"kept", durable=False)
    assert synced == []
    assert not target.is_symlink() and target.read_bytes() == b"kept"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not (tmp_path / "elsewhere").exists()
    files.write_atomic(target, b"durable")
    assert len(synced) == 2  # the file, then its directory
    assert target.read_bytes() == b"durable"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_only_our_own_old_plain_temp_files_are_removed(tmp_path: Path) -> None:
    old = time.time() - 3600
    stale = tmp_path / ".cctrack-u.prom.tmp-0123456789abcdef"
    stale.write_text("")
    link = tmp_path / ".other.tmp-0123456789abcdef"
    link.symlink_to(tmp_path / "target")
    young = tmp_path / ".young.tmp-0123456789abcdef"
    young.write_text("")
    os.utime(stale, (old, old))
    assert files.remove_stale_temps(tmp_path, time.time()) == 1
    assert not stale.exists() and link.is_symlink() and young.exists()


def test_try_locked_never_waits(tmp_path: Path) -> None:
    with files.try_locked(tmp_path / "lock") as first:
        assert first
        pid = os.fork()
        if pid == 0:
            with files.try_locked(tmp_path / "lock") as second:
                os._exit(0 if second is False else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0


def test_a_path_the_user_named_is_replaced_only_when_a_file(tmp_path: Path) -> None:
    """A FIFO, a directory (and a device: renamed over as root, /dev/null became a plain
    file once, in this project's own benchmark) are never replaced; a link is refused where
    the user named the path, else replaced, never its target."""
    fifo, folder, target, link = (tmp_path / n for n in ("fifo", "dir", "target", "link"))
    os.mkfifo(fifo)
    folder.mkdir()
    target.write_text("theirs")
    link.symlink_to(target)
    for path in (fifo, folder):
        with pytest.raises(CctrackError, match=f"{path} is not a regular file"):
            files.replaceable(path)
    with pytest.raises(CctrackError, match=f"{link} is a link"):
        files.replaceable(link, links=False)
    files.replaceable(link)
    files.replaceable(target)
    files.replaceable(tmp_path / "nothing")
    files.write_atomic(link, b"ours")
    assert link.read_text() == "ours" and not link.is_symlink() and target.read_text() == "theirs"


def test_the_report_is_never_written_over_a_device_or_through_a_link(env: Env) -> None:
    fifo, link = env.root / "fifo", env.root / "out.html"
    os.mkfifo(fifo)
    link.symlink_to(env.root / "elsewhere.html")
    for path in (fifo, link):
        done = env.run("report", "--html", "-o", str(path))
        assert done.returncode == 1 and f"{path} is " in done.stderr, done.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
    assert not (env.root / "elsewhere.html").exists()
    # The page analyze keeps up to date, likewise: analyze says why and goes on.
    env.use_fixed_tools()
    done = env.run("run", CCTRACK_HTML_REPORT=str(fifo))
    assert done.returncode == 0 and f"{fifo} is not a regular file" in done.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
