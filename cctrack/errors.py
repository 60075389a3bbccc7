"""The one exception type cctrack raises for failures a user can act on."""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2
# sysexits.h EX_UNAVAILABLE: `guard` cannot tell (unknown, down, stale numbers).
EXIT_UNAVAILABLE = 69
# sysexits.h EX_TEMPFAIL: a status tool says "try again shortly"; capture retries only this.
EXIT_TEMPFAIL = 75


class Interrupted(BaseException):
    """A signal asked cctrack to stop (SIGTERM from systemd, `timeout` or `kill`; SIGHUP;
    SIGINT). Raised where the program is, so that everything unwinds: children are killed,
    locks released, what was captured recorded. main() turns it into exit 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum


# The name to install cctrack by (pip, pipx, uv); `cctrack` on the index is another project.
DISTRIBUTION = "cctrack-exporter"


class CctrackError(Exception):
    """A failure with a one-line message that says what failed and what to do.

    The CLI prints the message as a single stderr line and exits with exit_code.
    """

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(" ".join(message.split()))
        self.exit_code = exit_code


def needs_extra(what: str, extra: str) -> CctrackError:
    """What to do when an optional part's packages are missing: add them to the environment
    cctrack runs in (whatever installed it), or install cctrack again with the extra."""
    import sys
    from importlib import metadata

    try:
        wanted = [
            req.split(";")[0].strip()
            for req in metadata.requires(DISTRIBUTION) or []
            if f'extra == "{extra}"' in req
        ]
    except metadata.PackageNotFoundError:
        wanted = []
    packages = " ".join(f"'{req}'" for req in wanted) or f"the {extra} extra's packages"
    return CctrackError(
        f"{what} needs the {extra} extra: `{sys.executable} -m pip install {packages}` adds it "
        f"to cctrack's environment (pipx: `pipx inject {DISTRIBUTION} {packages}`), or install "
        f"'{DISTRIBUTION}[{extra}]' from your wheel or checkout"
    )
