"""sources/account.py: the account a home is logged in to, remembered beside what
`.claude.json` was, so that the status line reads that file (megabytes) only when it
changed, and never shows numbers under an account that is no longer the one logged in."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cctrack.sources import account
from cctrack.sources.account import account_memory, claude_account, pseudonym

UUID = "9d8c7b6a-0000-4000-8000-123456789abc"
OTHER = "11111111-2222-3333-4444-555555555555"


def login(home: Path, uuid: str) -> Path:
    """`.claude.json` as Claude Code leaves it after a /login, written in place."""
    path = home / ".claude.json"
    path.write_text(json.dumps({"oauthAccount": {"accountUuid": uuid, "emailAddress": "me@x"}}))
    return path


@pytest.fixture
def logged_in(tmp_path: Path) -> tuple[Path, Path]:
    """A Claude home logged in to UUID, and where its account is remembered."""
    home = tmp_path / "claude"
    home.mkdir()
    login(home, UUID)
    return home, tmp_path / "claude-account.json"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The `.claude.json` files read, in order."""
    seen: list[Path] = []
    read_json = account.read_json

    def counted(path: Path) -> object:
        if path.name == ".claude.json":
            seen.append(path)
        return read_json(path)

    monkeypatch.setattr(account, "read_json", counted)
    return seen


def test_the_account_is_read_once_while_the_file_stays_as_it_was(
    tmp_path: Path, reads: list[Path]
) -> None:
    home, remembered = tmp_path / "claude", tmp_path / "data" / "claude-account.json"
    home.mkdir()
    login(home, UUID)
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert len(reads) == 1
    for _ in range(3):
        assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert len(reads) == 1
    # Without a file to remember in (the built-in tool's minute), it is read each time.
    assert claude_account(home) == pseudonym("claude", UUID)
    assert len(reads) == 2


def test_what_is_remembered_is_private_and_holds_no_id(tmp_path: Path) -> None:
    home, remembered = tmp_path / "claude", tmp_path / "data" / "claude-account.json"
    home.mkdir()
    login(home, UUID)
    claude_account(home, remembered)
    text = remembered.read_text()
    assert UUID not in text and "me@x" not in text
    assert json.loads(text)["account"] == pseudonym("claude", UUID)
    assert stat.S_IMODE(remembered.stat().st_mode) == 0o600


def test_a_login_to_another_account_is_seen_at_once(tmp_path: Path, reads: list[Path]) -> None:
    home, remembered = tmp_path / "claude", tmp_path / "claude-account.json"
    home.mkdir()
    path = login(home, UUID)
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    # In place, the same size: only the file's times say it changed (set apart from the
    # first write's, which a coarse clock could give again).
    login(home, OTHER)
    os.utime(path, ns=(1, 2))
    assert claude_account(home, remembered) == pseudonym("claude", OTHER)
    # Replaced by a rename, as editors and atomic writers do: another inode.
    fresh = home / "new.json"
    fresh.write_text(json.dumps({"oauthAccount": {"accountUuid": UUID}}))
    fresh.replace(path)
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert len(reads) == 3


def test_a_logout_and_a_login_beside_the_home_are_seen(tmp_path: Path) -> None:
    """The default home ~/.claude keeps its .claude.json in ~: both places count."""
    home = tmp_path / ".claude"
    home.mkdir()
    remembered = tmp_path / "data" / "claude-account.json"
    login(home, UUID).unlink()
    assert claude_account(home, remembered) is None
    login(tmp_path, OTHER)
    assert claude_account(home, remembered) == pseudonym("claude", OTHER)
    (tmp_path / ".claude.json").unlink()
    assert claude_account(home, remembered) is None


@pytest.mark.parametrize(
    "damage",
    [
        b"{not json",
        b"[1, 2]",
        b'{"stamp": "x", "account": "y"}',
        b'{"stamp": [], "account": 7}',
        b"",
    ],
)
def test_a_damaged_memory_is_as_good_as_none(
    logged_in: tuple[Path, Path], reads: list[Path], damage: bytes
) -> None:
    home, remembered = logged_in
    remembered.write_bytes(damage)
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert len(reads) == 1
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert len(reads) == 1  # remembered again, whole


@pytest.mark.parametrize("in_the_way", ["its directory is a file", "it is a directory"])
def test_a_memory_that_cannot_be_written_costs_only_a_read(
    tmp_path: Path, reads: list[Path], in_the_way: str
) -> None:
    home = tmp_path / "claude"
    home.mkdir()
    login(home, UUID)
    if in_the_way == "its directory is a file":
        (tmp_path / "a-file").write_text("")
        remembered = tmp_path / "a-file" / "claude-account.json"
    else:
        remembered = tmp_path / "claude-account.json"
        remembered.mkdir()  # the rename over it fails
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert len(reads) == 2


def test_no_account_is_remembered_too(tmp_path: Path, reads: list[Path]) -> None:
    """A home logged out (or with API keys): no account, read once all the same."""
    home = tmp_path / "claude"
    home.mkdir()
    (home / ".claude.json").write_text('{"numStartups": 3}')
    remembered = tmp_path / "claude-account.json"
    assert claude_account(home, remembered) is None
    assert claude_account(home, remembered) is None
    assert len(reads) == 1


@pytest.mark.parametrize("uuid", [42, "", None, {"id": "x"}, ["x"], True])
def test_an_account_id_that_is_not_text_is_no_account(tmp_path: Path, uuid: object) -> None:
    home = tmp_path / "claude"
    home.mkdir()
    (home / ".claude.json").write_text(json.dumps({"oauthAccount": {"accountUuid": uuid}}))
    assert claude_account(home) is None
    assert claude_account(home, tmp_path / "claude-account.json") is None


@pytest.mark.parametrize(
    "account_value", ["evil\nlabel", "0123456789AB", "0123456789aX", "abc", 12]
)
def test_a_remembered_account_that_is_no_pseudonym_is_read_again(
    logged_in: tuple[Path, Path], reads: list[Path], account_value: object
) -> None:
    """The account is exported as a label: only what `pseudonym` makes is taken back."""
    home, remembered = logged_in
    claude_account(home, remembered)
    kept = json.loads(remembered.read_text())
    remembered.write_text(json.dumps({**kept, "account": account_value}))
    assert claude_account(home, remembered) == pseudonym("claude", UUID)
    assert len(reads) == 2


def test_each_profile_remembers_its_own_account(tmp_path: Path) -> None:
    assert account_memory(tmp_path, "default") == tmp_path / "claude-account.json"
    assert account_memory(tmp_path, "work") == tmp_path / "claude-account-work.json"
