"""`python -m cctrack.sources SOURCE`: a built-in status tool as a process of its own, for
platforms where capture does not fork (macOS). Its settings come from the environment the
parent set (SourceParams.to_env), never from the config file."""

from __future__ import annotations

import os
import sys

from cctrack.errors import EXIT_USAGE, CctrackError
from cctrack.sources.builtin import run_builtin
from cctrack.sources.params import SourceParams
from cctrack.status import SOURCE_TOOLS


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SOURCE_TOOLS:
        print(f"usage: python -m cctrack.sources {{{','.join(SOURCE_TOOLS)}}}", file=sys.stderr)
        return EXIT_USAGE
    try:
        params = SourceParams.from_env(os.environ)
    except CctrackError as exc:
        print(f"cctrack-{argv[0]}-status: {exc}", file=sys.stderr)
        return exc.exit_code
    return run_builtin(argv[0], params)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
