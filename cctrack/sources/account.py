"""Which vendor account a home is logged in to, as a short pseudonymous id: enough to put
the same account seen on two machines or in two profiles together, never who it is.

Only the account id is taken from the files that say it; emails, names and tokens in the
same files are never kept.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from cctrack.errors import CctrackError
from cctrack.files import read_json
from cctrack.sources import claude_json_paths
from cctrack.sources.claude.saved import profile_file, save_json


def account_memory(data_dir: Path, profile: str) -> Path:
    """Where a profile's Claude account is remembered (claude_account), by the status line
    and the built-in tool alike."""
    return profile_file(data_dir, "claude-account", profile)


def pseudonym(vendor: str, account_id: str) -> str:
    # Imported here: loading OpenSSL is 3 ms of a status line, which needs it only when
    # .claude.json names an account it has not remembered.
    import hashlib

    return hashlib.sha256(f"cctrack:{vendor}:{account_id}".encode()).hexdigest()[:12]


def _field(path: Path, *keys: str) -> str | None:
    try:
        value: Any = read_json(path)
    except (OSError, ValueError):
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def claude_account(claude_home: Path, remembered: Path | None = None) -> str | None:
    """Claude Code keeps the account in `.claude.json`. That file grows to megabytes (every
    project's history), and the status line needs the account on every render: with
    `remembered` (account_memory), the account is kept there beside what the files were,
    and `.claude.json` is read again only when one of them changed."""
    paths = claude_json_paths(claude_home)
    # Taken before the read: a file changed while it is read is read again next time.
    stamp = [_stamp(path) for path in paths]
    if remembered is not None:
        known = _recall(remembered)
        if known is not None and known[0] == stamp:
            return known[1]
    account = None
    for path in paths:
        uuid = _field(path, "oauthAccount", "accountUuid")
        if uuid:
            account = pseudonym("claude", uuid)
            break
    if remembered is not None:
        # A cache: without it (a data directory that cannot be written), the next render
        # reads .claude.json again, and says why its snapshot was not stored.
        with contextlib.suppress(OSError, CctrackError):
            save_json(remembered, {"stamp": stamp, "account": account}, durable=False)
    return account


def _stamp(path: Path) -> list[int] | None:
    """What a file is now (device, inode, size, modified and changed in ns), as JSON keeps
    it; None when there is none."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _recall(path: Path) -> tuple[list[list[int] | None], str | None] | None:
    """The remembered (stamp, account); None when there is none or it is damaged."""
    try:
        obj = read_json(path)
    except (OSError, ValueError):
        return None
    if not isinstance(obj, dict):
        return None
    stamp, account = obj.get("stamp"), obj.get("account")
    if not isinstance(stamp, list) or not (account is None or _is_pseudonym(account)):
        return None
    return stamp, account


def _is_pseudonym(value: Any) -> bool:
    """What `pseudonym` makes: 12 lowercase hex digits (a label value, exported as is)."""
    return isinstance(value, str) and len(value) == 12 and set(value) <= set("0123456789abcdef")


def codex_account(codex_home: Path) -> str | None:
    """Codex keeps its ChatGPT account id in `auth.json` (absent with the keyring store)."""
    account_id = _field(codex_home / "auth.json", "tokens", "account_id")
    return pseudonym("codex", account_id) if account_id else None
