"""Which checkout a benchmark's process imports: a measurement beside another checkout is
worth nothing if both sides run the same code (a `git worktree add` that failed, the
working directory first on the path, an editable install taking over)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def check_imports(checkout: Path, env: dict[str, str], cwd: Path) -> None:
    """Exit unless `python -c 'import cctrack'` with this environment, in this directory,
    imports the package of `checkout`."""
    found = subprocess.run(
        [sys.executable, "-c", "import cctrack; print(cctrack.__file__)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not found.startswith(str(checkout.resolve()) + "/"):
        raise SystemExit(f"{checkout}: python imports {found} instead")
