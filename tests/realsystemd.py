"""A real systemd for the system tests: /lib/systemd/systemd as PID 1 of a private pid+mount
namespace, running the shipped units with their sandbox, their timers and their journal.

SAFETY. The namespace shares the host's disk. Inside it /tmp, /var/tmp, /run,
/var/lib/systemd and /var/log/journal are fresh tmpfs mounted BEFORE systemd starts: without
them `systemd-tmpfiles --boot` empties the host's /tmp. The boot script refuses to exec systemd
unless they are tmpfs, and `boot` checks a canary file in the host's /tmp afterwards. Only
basic.target and a target of our own are started; every unit that would reach the host
(kernel settings, clock, udev, network, and the host's own enabled services and timers, which
would run on the host's disk) is masked. Units under test go into /run/systemd/system inside
(gone with the namespace) and are enabled with --runtime. The state directory, and every path
bound into the namespace, lives outside /tmp.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SYSTEMD = Path("/lib/systemd/systemd")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STATE_ROOT = Path("/var/lib/cctrack-tests")
# Never under these: the namespace mounts fresh tmpfs over them.
HIDDEN = (Path("/tmp"), Path("/var/tmp"), Path("/run"))
MASKED = [
    "systemd-sysctl.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "systemd-modules-load.service",
    "kmod-static-nodes.service",
    "systemd-tmpfiles-setup-dev.service",
    "systemd-tmpfiles-clean.timer",
    "systemd-tmpfiles-clean.service",
    "systemd-machine-id-commit.service",
    "systemd-firstboot.service",
    "systemd-repart.service",
    "systemd-sysusers.service",
    "systemd-update-utmp.service",
    "systemd-update-utmp-runlevel.service",
    "systemd-pstore.service",
    "systemd-timesyncd.service",
    "systemd-random-seed.service",
    "systemd-pcrphase.service",
    "systemd-pcrphase-sysinit.service",
    "systemd-remount-fs.service",
    "systemd-fsck-root.service",
    "ldconfig.service",
    "systemd-hwdb-update.service",
    "systemd-journal-catalog-update.service",
    "systemd-udevd.service",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-networkd.service",
    "systemd-resolved.service",
    "systemd-network-generator.service",
    "modprobe@.service",
    "getty@.service",
    "serial-getty@.service",
    "console-getty.service",
]
# What the host enabled (its services and timers) and the distribution's timers; the
# distribution's own sockets and sysinit units (journald, dbus, logind) are what we need.
HOST_WANTS = (
    "/etc/systemd/system/*.wants/*",
    "/lib/systemd/system/timers.target.wants/*",
    "/usr/lib/systemd/system/timers.target.wants/*",
)

BOOT = r"""#!/bin/bash
set -e
state=$1
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var/lib/systemd
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi
for d in /tmp /var/tmp /run /var/lib/systemd; do
  [ "$(stat -f -c %T "$d")" = tmpfs ] || { echo "boot: $d is not a tmpfs; not starting systemd" >&2; exit 1; }
done
# Test directories over the places the shipped units name (/opt/cctrack, /var/lib/cctrack,
# node_exporter's textfile directory): the host's own stay untouched.
while IFS=' ' read -r source target; do
  [ -n "$source" ] || continue
  mount --bind "$source" "$target"
done < "$state/binds"
mkdir -p /run/systemd/system.control /run/systemd/system
while IFS= read -r u; do ln -sf /dev/null "/run/systemd/system.control/$u"; done < "$state/masks"
printf '[Unit]\nDescription=tests\nRequires=basic.target\nAfter=basic.target\n' > /run/systemd/system/tests.target
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  /lib/systemd/systemd --system --log-target=journal --log-level=info --show-status=no --unit=tests.target
"""


class NotAvailable(Exception):
    """This machine cannot boot a real systemd here (not root, no systemd, no namespaces)."""


def why_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "booting systemd in a namespace needs root"
    if not SYSTEMD.exists():
        return f"{SYSTEMD} is missing (apt-get install systemd)"
    for tool in ("unshare", "nsenter", "setsid"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (util-linux)"
    return None


def host_enabled_units() -> list[str]:
    """The host's enabled services, timers and sockets: they must not start in here."""
    import glob

    found = {Path(entry).name for pattern in HOST_WANTS for entry in glob.glob(pattern)}
    return sorted(name for name in found if not name.endswith(".target"))


def outside_tmp(path: Path) -> Path:
    resolved = path.resolve()
    for hidden in HIDDEN:
        if resolved == hidden or hidden in resolved.parents:
            raise ValueError(f"{resolved} is under {hidden}, which the namespace hides")
    return resolved


@dataclass
class Systemd:
    """A booted systemd; every command goes in through nsenter."""

    pid: int
    state: Path
    wrapper: subprocess.Popen[bytes]
    # Mount points made on the host for binds (empty directories), removed by stop().
    made: tuple[Path, ...] = ()

    def run(
        self, *argv: str, check: bool = True, timeout: float = 120, user: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """argv inside the namespace with a clean environment, as root or as a user logged in
        there (its runtime directory and bus, as a login would have them)."""
        base = ["env", "-i", f"PATH={PATH}", "LANG=C.UTF-8"]
        inner = [*base, *argv]
        if user is not None:
            entry = pwd.getpwnam(user)
            inner = [
                "runuser",
                "-u",
                user,
                "--",
                *base,
                f"HOME={entry.pw_dir}",
                f"USER={user}",
                f"LOGNAME={user}",
                f"XDG_RUNTIME_DIR=/run/user/{entry.pw_uid}",
                f"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{entry.pw_uid}/bus",
                *argv,
            ]
        done = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", "--", *inner],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{shlex.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def systemctl(self, *args: str, user: str | None = None, check: bool = True) -> str:
        scope = ["--user"] if user else []
        return self.run("systemctl", *scope, *args, user=user, check=check).stdout

    def install_unit(self, name: str, text: str) -> None:
        """A unit in /run/systemd/system, gone with the namespace."""
        path = f"/run/systemd/system/{name}"
        self.run("sh", "-c", f"cat > {shlex.quote(path)} <<'UNIT'\n{text}UNIT\n")

    def drop_in(self, unit: str, text: str, directory: str = "/run/systemd/system") -> None:
        folder = f"{directory}/{unit}.d"
        self.run(
            "sh", "-c", f"mkdir -p {folder} && cat > {folder}/test.conf <<'UNIT'\n{text}UNIT\n"
        )

    def start_user_manager(self, user: str) -> int:
        uid = pwd.getpwnam(user).pw_uid
        self.systemctl("start", f"user@{uid}.service")
        return uid

    def journal(self, *args: str, user: str | None = None) -> str:
        return self.run("journalctl", "--no-pager", *args, user=user, check=False).stdout

    def wait_for(self, what: str, check: object, timeout: float = 90.0) -> None:
        """Poll check() until true; fails with what after timeout (no timing asserted)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}\n{self.journal('-n', '80')}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        try:
            self.wrapper.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.wrapper.kill()
        for path in reversed(self.made):
            with contextlib.suppress(OSError):
                path.rmdir()


def boot(state: Path, binds: dict[Path, Path]) -> Systemd:
    """Boot systemd with each binds[source] mounted at source's target inside."""
    reason = why_unavailable()
    if reason:
        raise NotAvailable(reason)
    state = outside_tmp(state)
    state.mkdir(parents=True, exist_ok=True)
    lines, made = [], []
    for source, target in binds.items():
        # A missing mount point is made here, and removed again when the namespace stops.
        missing = [p for p in [*reversed(Path(target).parents), Path(target)] if not p.exists()]
        for path in missing:
            path.mkdir()
        made += missing
        lines.append(f"{outside_tmp(source)} {target}")
    (state / "binds").write_text("".join(f"{line}\n" for line in lines))
    (state / "masks").write_text(
        "".join(f"{u}\n" for u in sorted({*MASKED, *host_enabled_units()}))
    )
    script = state / "boot"
    script.write_text(BOOT)
    script.chmod(0o755)
    canary = Path(tempfile.mkstemp(prefix="cctrack-systemd-canary.", dir="/tmp")[1])
    console = open(state / "console.log", "wb")  # noqa: SIM115 - lives as long as the namespace
    wrapper = subprocess.Popen(
        [
            "setsid",
            "unshare",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount",
            "--mount-proc",
            "--propagation",
            "private",
            "--uts",
            "--ipc",
            "/bin/bash",
            str(script),
            str(state),
        ],
        stdin=subprocess.DEVNULL,
        stdout=console,
        stderr=subprocess.STDOUT,
    )
    console.close()
    pid = 0
    for _ in range(200):
        try:
            children = Path(f"/proc/{wrapper.pid}/task/{wrapper.pid}/children").read_text().split()
        except OSError:
            children = []
        if children:
            pid = int(children[0])
            break
        time.sleep(0.05)
    if not pid:
        for path in reversed(made):
            path.rmdir()
        raise NotAvailable(f"the namespace did not start: {(state / 'console.log').read_text()}")
    systemd = Systemd(pid, state, wrapper, tuple(made))
    up = ""
    for _ in range(240):
        if wrapper.poll() is not None:
            break
        up = systemd.run("systemctl", "is-system-running", check=False).stdout.strip()
        if up in ("running", "degraded"):
            break
        time.sleep(0.25)
    if not canary.exists():
        systemd.stop()
        raise RuntimeError("DANGER: the host's /tmp lost its canary; systemd stopped")
    canary.unlink()
    if up not in ("running", "degraded"):
        systemd.stop()
        raise NotAvailable(f"systemd is not up ({up!r}): {(state / 'console.log').read_text()}")
    return systemd
