"""Claude Code's login on macOS: not in `.credentials.json` but in the login keychain, as a
generic password whose secret is the same JSON. `security find-generic-password -w` prints
it; the secret stays in this process's memory and goes nowhere else."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cctrack import process
from cctrack.errors import CctrackError
from cctrack.status import strict_loads

SERVICE = "Claude Code-credentials"
TIMEOUT = 10.0
# security(1)'s exit codes: errSecItemNotFound, errSecInteractionNotAllowed / AuthFailed.
NOT_FOUND = 44
LOCKED = (36, 51, 128)


def service_name(claude_home: Path, env: Mapping[str, str]) -> str:
    """The default home's item is "Claude Code-credentials"; another CLAUDE_CONFIG_DIR's has
    "-" and the first 8 hex digits of the SHA-256 of that directory's path appended."""
    default = Path(env.get("HOME") or Path.home()) / ".claude"
    if claude_home == default:
        return SERVICE
    return f"{SERVICE}-{hashlib.sha256(str(claude_home).encode()).hexdigest()[:8]}"


def keychain_login(claude_home: Path, env: Mapping[str, str]) -> tuple[Any, str] | None:
    """The login JSON from the keychain and where it came from; None where there is no
    `security` command (not macOS). CctrackError says what went wrong otherwise."""
    security = shutil.which("security", path=env.get("PATH"))
    if security is None:
        return None
    name = service_name(claude_home, env)
    job = process.Job(
        "security",
        env,
        TIMEOUT,
        argv=(security, "find-generic-password", "-s", name, "-w"),
        retry_exit=None,
    )
    (result,) = process.run_jobs([job])
    where = f"the keychain item {name!r}"
    if isinstance(result, process.ProcessFailure):
        raise CctrackError(f"cannot read {where}: {result}")
    if result.returncode == NOT_FOUND:
        raise CctrackError(
            f"no Claude Code login in {claude_home / '.credentials.json'} nor in {where}; "
            "log in with Claude Code"
        )
    locked = b"interaction is not allowed" in result.stderr.lower()
    if result.returncode in LOCKED or locked:
        raise CctrackError(
            f"the login keychain is locked, so {where} cannot be read; unlock it "
            "(security unlock-keychain) or run cctrack in your logged-in session"
        )
    if result.returncode != 0:
        raise CctrackError(f"security could not read {where} (exit {result.returncode})")
    try:
        return strict_loads(result.stdout.strip()), where
    except ValueError:
        raise CctrackError(f"{where} holds no Claude Code login (not JSON)") from None
