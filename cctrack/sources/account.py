"""Which vendor account a home is logged in to, as a short pseudonymous id: enough to put
the same account seen on two machines or in two profiles together, never who it is.

Only the account id is taken from the files that say it; emails, names and tokens in the
same files are never kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cctrack.files import read_json
from cctrack.sources import claude_json_paths


def pseudonym(vendor: str, account_id: str) -> str:
    # Imported here: loading OpenSSL is 3 ms of a status line, which needs it only when
    # .claude.json names an account.
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


def claude_account(claude_home: Path) -> str | None:
    """Claude Code keeps the account in `.claude.json`."""
    for path in claude_json_paths(claude_home):
        uuid = _field(path, "oauthAccount", "accountUuid")
        if uuid:
            return pseudonym("claude", uuid)
    return None


def codex_account(codex_home: Path) -> str | None:
    """Codex keeps its ChatGPT account id in `auth.json` (absent with the keyring store)."""
    account_id = _field(codex_home / "auth.json", "tokens", "account_id")
    return pseudonym("codex", account_id) if account_id else None
