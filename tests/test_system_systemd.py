"""The deployments as the README gives them, executed by a real systemd (tests/realsystemd.py)
with the shipped units, their sandbox, their timers (shortened by a drop-in, never by editing
the units) and their journal; cron by the real cron daemon. cctrack is installed as users
install it: a wheel built from this checkout, in a venv made with the system's python3.

Each case asserts what a user would look for: the textfile (promtool-valid, read by the real
node_exporter with node_textfile_scrape_error 0) or the group on the real Pushgateway, and
the jobs' lines in the journal through the README's own journalctl command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import realsystemd
from builders import nested_2026, token_count, write_rollout
from conftest import require_binary, running_node_exporter, sample, unavailable

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
# Timers fire every few seconds in here; the shipped ones every 5 minutes.
FAST_TIMER = "[Timer]\nOnCalendar=\nOnCalendar=*:*:0/4\nRandomizedDelaySec=0\nAccuracySec=1s\n"
# A Claude status command of the user's own. It runs inside capture's sandbox, and tries to
# write into the home it must find read-only there.
STATUS_TOOL = """#!/usr/bin/python3
import datetime, json, os
try:
    open(os.path.expanduser("~/written-by-capture"), "w").close()
except OSError:
    pass
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
z = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({"source_tool": "claude", "observed_at": z(now), "origin": "test",
  "windows": {"five_hour": {"used_ratio": 0.37, "window_seconds": 18000,
                            "resets_at": z(now + datetime.timedelta(hours=2))}}}))
"""

pytestmark = pytest.mark.component


@dataclass
class Host:
    """The machine as the tests see it: a booted systemd, its state, cctrack's wheelhouse."""

    systemd: realsystemd.Systemd
    state: Path
    wheelhouse: Path
    textfile_dir: Path
    users: list[str]

    def add_user(self, name: str) -> Path:
        """A new unix user with a home and a Codex home holding one rollout (90 % used)."""
        user = f"cct{uuid.uuid4().hex[:6]}-{name}"[:32]
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True)
        self.users.append(user)
        home = Path(f"/home/{user}")
        now = datetime.now(timezone.utc)
        write_rollout(
            home / ".codex",
            now - timedelta(minutes=1),
            [token_count(now, nested_2026((90.0, 300, now + timedelta(hours=1)), None))],
        )
        subprocess.run(["chown", "-R", f"{user}:{user}", str(home)], check=True)
        return home

    def as_user(
        self, user: str, *argv: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.systemd.run(*argv, user=user, check=check)

    def install_venv(self, user: str, venv: Path, what: str = "cctrack-exporter") -> Path:
        """cctrack (`what`: with extras) from the wheel into the user's own venv, made with
        the system python3."""
        self.as_user(user, str(SYSTEM_PYTHON), "-m", "venv", str(venv))
        self.as_user(
            user,
            f"{venv}/bin/pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(self.wheelhouse),
            what,
        )
        return venv / "bin" / "cctrack"

    def textfile(self, user: str) -> Path:
        return self.textfile_dir / f"cctrack-{user}.prom"

    def wait_for_sample(
        self, user: str, name: str, value: float, path: Path | None = None, **labels: str
    ) -> str:
        path = path or self.textfile(user)

        def ready() -> bool:
            return path.exists() and sample(path.read_text(), name, **labels) == value

        self.systemd.wait_for(f"{name}={value} in {path}", ready)
        return path.read_text()


@pytest.fixture(scope="session")
def wheelhouse() -> Iterator[Path]:
    """The cctrack wheel built from this checkout, and wheels of what it needs (with the
    HTML report's)."""
    reason = realsystemd.why_unavailable()
    if reason:
        unavailable(reason)
    if not SYSTEM_PYTHON.exists():
        unavailable(f"{SYSTEM_PYTHON} is missing (apt-get install python3-venv)")
    house = realsystemd.STATE_ROOT / f"wheelhouse-{os.getpid()}"
    house.mkdir(parents=True, exist_ok=True)
    house.chmod(0o755)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--disable-pip-version-check",
            "-w",
            str(house),
            f"{ROOT}[report]",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for wheel in house.iterdir():
        wheel.chmod(0o644)
    try:
        yield house
    finally:
        shutil.rmtree(house, ignore_errors=True)


@pytest.fixture
def host(wheelhouse: Path) -> Iterator[Host]:
    state = realsystemd.STATE_ROOT / f"host-{uuid.uuid4().hex[:8]}"
    textfile_dir = state / "textfile"
    var_lib = state / "var-lib-cctrack"
    crontabs = state / "crontabs"
    # What the README's server install writes as root: /opt/cctrack, /usr/local/bin,
    # /etc/systemd/system; here test directories in their places.
    opt, local_bin, etc_units = state / "opt", state / "usr-local-bin", state / "etc-units"
    for directory in (textfile_dir, var_lib, crontabs, opt, local_bin, etc_units):
        directory.mkdir(parents=True)
    # As the README says for several users: sticky and world-writable, like /tmp.
    textfile_dir.chmod(0o1777)
    shutil.chown(crontabs, "root", "crontab" if _group_exists("crontab") else "root")
    crontabs.chmod(0o1730)
    binds = {
        textfile_dir: TEXTFILE_DIR,
        var_lib: "/var/lib/cctrack",
        crontabs: "/var/spool/cron/crontabs",
        opt: "/opt",
        local_bin: "/usr/local/bin",
        etc_units: "/etc/systemd/system",
    }
    systemd = realsystemd.boot(state / "systemd", binds)
    box = Host(systemd, state, wheelhouse, textfile_dir, [])
    try:
        yield box
    finally:
        systemd.stop()
        for user in box.users:
            subprocess.run(["userdel", "-r", user], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


def _group_exists(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def node_exporter_of(host: Host) -> Iterator[str]:
    with running_node_exporter(host.textfile_dir) as url:
        yield f"{url}/metrics"


def scrape(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def with_status_tool(home: Path) -> tuple[Path, Path]:
    """The user's own Claude status command (STATUS_TOOL) in its config file."""
    tool = home / "claude-status"
    tool.write_text(STATUS_TOOL)
    tool.chmod(0o755)
    config = home / ".config" / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'claude_status = "{tool}"\n')
    subprocess.run(["chown", "-R", f"{home.name}:{home.name}", str(home)], check=True)
    return tool, config


def assert_promtool_valid(path: Path) -> None:
    promtool = require_binary("promtool")
    check = subprocess.run(
        [promtool, "check", "metrics"], input=path.read_bytes(), capture_output=True
    )
    assert check.returncode == 0 and check.stdout == b"" and check.stderr == b"", check


def root_venv(host: Host, venv: Path, what: str = "cctrack-exporter") -> Path:
    """cctrack (`what`: with extras) from the wheel into a venv root makes with the system
    python3."""
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            f"{venv}/bin/pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(host.wheelhouse),
            what,
        ],
        check=True,
        capture_output=True,
    )
    return venv / "bin" / "cctrack"


def test_server_users_with_the_system_units_write_their_textfiles(
    host: Host, node_exporter_of: str
) -> None:
    cctrack = root_venv(host, host.state / "opt-cctrack", "cctrack-exporter[report]")
    host.systemd.run(str(cctrack), "deploy", "systemd-system", "--to", "/run/systemd/system")
    host.systemd.drop_in("cctrack-capture@.timer", FAST_TIMER)
    host.systemd.systemctl("daemon-reload")
    alice, bob = host.add_user("alice"), host.add_user("bob")
    for home in (alice, bob):
        host.systemd.systemctl("enable", "--runtime", "--now", f"cctrack-capture@{home.name}.timer")

    # No config: Codex is the one tool these users have, and it is up; Claude is not "down".
    for home in (alice, bob):
        text = host.wait_for_sample(home.name, "cctrack_codex_up", 1.0)
        assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.9
        assert "cctrack_claude_up" not in text
        assert_promtool_valid(host.textfile(home.name))

    # Then alice's own settings, read by the sandboxed units from her home: a Claude status
    # command of her own.
    _, config = with_status_tool(alice)
    text = host.wait_for_sample(alice.name, "cctrack_claude_up", 1.0)
    assert sample(text, "cctrack_claude_usage_ratio", window="five_hour") == 0.37
    assert not (alice / "written-by-capture").exists()

    # And her HTML report, kept by the sandboxed analyze in her state directory: the
    # rollup read in a forked child, the charts drawn in forked workers, matplotlib's cache
    # beside the records (her home is read-only there).
    page = host.state / "var-lib-cctrack" / alice.name / "report.html"
    with config.open("a") as settings:
        settings.write(f'html_report = "/var/lib/cctrack/{alice.name}/report.html"\n')
    host.systemd.wait_for("alice's HTML report", page.exists)
    text = page.read_text()
    assert text.count("<svg") >= 2 and "codex five_hour: " in text
    assert (page.parent / ".matplotlib").is_dir()

    metrics = scrape(node_exporter_of)
    assert sample(metrics, "node_textfile_scrape_error") == 0.0
    for home in (alice, bob):
        assert sample(metrics, "cctrack_codex_up", user=home.name) == 1.0
    # The README's command for the server's log.
    journal = host.systemd.journal("-t", "cctrack")
    for home in (alice, bob):
        assert f"-> /var/lib/prometheus/node-exporter/cctrack-{home.name}.prom" in journal
    assert "cctrack capture:" in journal and "cctrack analyze:" in journal
    assert "the HTML report was not written" not in journal and "Matplotlib" not in journal


def test_the_system_units_refuse_a_cctrack_other_users_cannot_run(host: Host) -> None:
    private = host.state / "private"
    private.mkdir(mode=0o700)
    venv = private / "venv"
    root_venv(host, venv)
    done = subprocess.run(
        [f"{venv}/bin/cctrack", "deploy", "systemd-system", "--to", str(host.state)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert f"the service users could not run {venv}/bin/cctrack: {private}" in done.stderr
    assert "/usr/bin/python3 -m venv /opt/cctrack" in done.stderr
    assert not list(host.state.glob("*.service"))


def start_user_units(host: Host, user: str, cctrack: Path, *setup_args: str) -> str:
    """A logged-in user (its user manager), `cctrack setup --systemd-user` as the README says,
    and a drop-in that makes the user timer fire every few seconds."""
    host.systemd.start_user_manager(user)
    done = host.as_user(
        user, str(cctrack), "setup", "--systemd-user", "--textfile-dir", TEXTFILE_DIR, *setup_args
    )
    drop_in = Path(f"/home/{user}/.config/systemd/user/cctrack-capture.timer.d")
    drop_in.mkdir(parents=True)
    (drop_in / "fast.conf").write_text(FAST_TIMER)
    subprocess.run(["chown", "-R", f"{user}:{user}", f"/home/{user}/.config"], check=True)
    host.as_user(user, "systemctl", "--user", "daemon-reload")
    host.as_user(user, "systemctl", "--user", "restart", "cctrack-capture.timer")
    return done.stdout


def test_a_wheel_install_with_setup_systemd_user_runs_under_the_user_manager(
    host: Host, node_exporter_of: str
) -> None:
    home = host.add_user("carol")
    user = home.name
    tool, config = with_status_tool(home)
    # The README's HTML report: in a directory of its own, which setup makes writable for
    # analyze (the rest of the home stays read-only).
    config.write_text(config.read_text() + 'html_report = "~/cctrack/report.html"\n')
    cctrack = host.install_venv(
        user, home / ".local" / "venvs" / "cctrack", "cctrack-exporter[report]"
    )
    said = start_user_units(host, user, cctrack)
    assert "ran systemctl --user enable --now cctrack-capture.timer" in said
    assert f"created {home}/.local/state/cctrack" in said
    unit = (home / ".config/systemd/user/cctrack-analyze.service").read_text()
    assert f"ExecStart={cctrack} analyze --if-idle" in unit
    assert unit.count(TEXTFILE_DIR) == 1

    host.wait_for_sample(user, "cctrack_codex_up", 1.0)
    host.wait_for_sample(user, "cctrack_claude_up", 1.0)
    assert_promtool_valid(host.textfile(user))
    assert sample(scrape(node_exporter_of), "node_textfile_scrape_error") == 0.0
    # The user manager applied the sandbox (PrivateUsers=yes makes it able to): the status
    # command found the home read-only.
    assert not (home / "written-by-capture").exists()
    host.systemd.wait_for("carol's HTML report", (home / "cctrack/report.html").exists)
    assert "<svg" in (home / "cctrack/report.html").read_text()

    def journal() -> str:
        return host.as_user(user, "journalctl", "--user", "-t", "cctrack", "--no-pager").stdout

    # Analyze says its line once the page is written.
    host.systemd.wait_for("analyze's line", lambda: "cctrack analyze:" in journal())
    assert "cctrack capture:" in journal() and "not written" not in journal()
    # The sandbox holds: capture ran with a read-only home and analyze without a network.
    for unit_name, expected in (
        ("cctrack-capture.service", ("PrivateUsers=yes", "ProtectHome=read-only")),
        ("cctrack-analyze.service", ("PrivateUsers=yes", "PrivateNetwork=yes")),
    ):
        shown = host.as_user(
            user,
            "systemctl",
            "--user",
            "show",
            unit_name,
            "-p",
            "PrivateUsers,ProtectHome,PrivateNetwork",
        ).stdout
        for line in expected:
            assert line in shown, shown
    assert "218/CAPABILITIES" not in host.systemd.journal("-n", "400")

    # Uninstall removes what setup made, the textfile included.
    gone = host.as_user(user, str(cctrack), "setup", "--uninstall").stdout
    assert f"removed {TEXTFILE_DIR}/cctrack-{user}.prom" in gone
    assert not host.textfile(user).exists()
    assert not (home / ".config/systemd/user/cctrack-capture.timer").exists()
    assert (
        config.read_text() == f'claude_status = "{tool}"\nhtml_report = "~/cctrack/report.html"\n'
    )
    timers = host.as_user(user, "systemctl", "--user", "list-timers", "--all", "--no-legend").stdout
    assert "cctrack" not in timers


def test_setup_fails_loudly_without_a_user_manager(host: Host) -> None:
    home = host.add_user("dan")
    cctrack = host.install_venv(home.name, home / ".local" / "venvs" / "cctrack")
    # No user@UID.service: systemctl --user has nothing to talk to.
    done = host.as_user(home.name, str(cctrack), "setup", "--systemd-user", check=False)
    assert done.returncode == 1, done
    assert "systemctl --user daemon-reload failed" in done.stderr


def test_the_team_setup_pushes_from_the_user_units(host: Host, pushgateway: str) -> None:
    home = host.add_user("erin")
    user = home.name
    config = home / ".config" / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'pushgateway_url = "{pushgateway}"\nhostname = "erins-laptop"\n')
    subprocess.run(["chown", "-R", f"{user}:{user}", str(home)], check=True)
    cctrack = host.install_venv(user, home / ".local" / "venvs" / "cctrack")
    start_user_units(host, user, cctrack)

    def pushed() -> bool:
        metrics = scrape(f"{pushgateway}/metrics")
        return (
            sample(metrics, "cctrack_codex_up", job="cctrack", instance="erins-laptop", user=user)
            == 1.0
        )

    host.systemd.wait_for("erin's group on the Pushgateway", pushed)
    metrics = scrape(f"{pushgateway}/metrics")
    assert sample(metrics, "push_time_seconds", job="cctrack", instance="erins-laptop", user=user)
    # The push's own record reaches the textfile, and with it the gateway, one round later.
    host.wait_for_sample(user, "cctrack_push_failures_total", 0.0)
    journal = host.as_user(user, "journalctl", "--user", "-t", "cctrack", "--no-pager").stdout
    assert f"cctrack push: cctrack-{user}.prom -> {pushgateway}" in journal


def test_setup_cron_runs_under_the_real_cron_daemon(host: Host) -> None:
    if not shutil.which("cron") or not shutil.which("crontab"):
        unavailable("cron is not installed (apt-get install cron)")
    home = host.add_user("fay")
    user = home.name
    cctrack = host.install_venv(user, home / ".local" / "venvs" / "cctrack")
    said = host.as_user(
        user, str(cctrack), "setup", "--cron", "--textfile-dir", TEXTFILE_DIR
    ).stdout
    assert "added to your crontab" in said
    table = host.as_user(user, "crontab", "-l").stdout
    (line,) = [x for x in table.splitlines() if x.endswith("# cctrack")]
    assert line.startswith("*/5 * * * * ")
    # Every minute instead of every five, the rest of the line as setup wrote it.
    host.systemd.run(
        "sh",
        "-c",
        f"printf '%s\\n' {json.dumps('* * * * * ' + line[len('*/5 * * * * ') :])} | crontab -u {user} -",
    )
    host.systemd.run("systemd-run", "--unit=test-cron", "/usr/sbin/cron", "-f")
    host.systemd.wait_for("cron's run", lambda: host.textfile(user).exists(), timeout=150)
    log = Path(f"/home/{user}/.local/state/cctrack/cron.log").read_text()
    first = log.splitlines()[0]
    # Each line says when: 2026-11-29T01:02:03+00:00 cctrack capture: ...
    assert datetime.fromisoformat(first.split(" ", 1)[0]).tzinfo is not None, first
    assert "cctrack capture:" in log


def readme_block(marker: str, wheelhouse: Path, doc: str = "README.md") -> str:
    """A command block of the README as a user pastes it; the wheel (`dist/…whl`, as the
    README builds it) and what it needs come from the wheelhouse built from this checkout,
    without an index: nothing here reaches beyond loopback."""
    text = (ROOT / doc).read_text()
    kind = "readme-test" if doc == "README.md" else "guide-test"
    block = text.split(f"<!-- {kind}: {marker} -->\n```sh\n", 1)[1].split("```", 1)[0]
    (wheel,) = re.findall(r"dist/(cctrack_exporter-\S+\.whl)", block)
    built = wheelhouse / wheel
    assert built.is_file(), (
        f"the README names {wheel}; the build made {sorted(wheelhouse.glob('cctrack*'))}"
    )
    offline = f"--no-index --find-links {wheelhouse}"
    return (
        block.replace(f"pipx install dist/{wheel}", f"pipx install --pip-args='{offline}' {built}")
        .replace(f"uv tool install dist/{wheel}", f"uv tool install {offline} {built}")
        .replace(f"pip install dist/{wheel}", f"pip install {offline} {built}")
    )


def test_the_readme_laptop_install_works_as_written_for_a_new_user(host: Host) -> None:
    home = host.add_user("gus")
    user = home.name
    host.systemd.start_user_manager(user)
    block = readme_block("user-install", host.wheelhouse)
    done = host.as_user(user, "bash", "-e", "-c", block)
    assert "cctrack setup: ran systemctl --user enable --now cctrack-capture.timer" in done.stdout
    active = host.as_user(user, "systemctl", "--user", "is-active", "cctrack-capture.timer")
    assert active.stdout.strip() == "active"
    # Instead of waiting five minutes for the timer: what it starts, started now. The
    # textfile is the user's own until they are given node_exporter's directory.
    host.as_user(user, "systemctl", "--user", "start", "cctrack-capture.service")
    own = home / ".local/share/cctrack/textfile" / f"cctrack-{user}.prom"
    host.wait_for_sample(user, "cctrack_codex_up", 1.0, own)
    # docs/laptop.md's block: node_exporter's directory, once root has made it the user's.
    host.systemd.run("setfacl", "-m", f"u:{user}:rwx", TEXTFILE_DIR)
    guide = readme_block("laptop-textfile-dir", host.wheelhouse, "docs/laptop.md")
    moved = host.as_user(user, "bash", "-e", "-c", guide)
    assert f'set textfile_dir = "{TEXTFILE_DIR}"' in moved.stdout
    host.as_user(user, "systemctl", "--user", "start", "cctrack-capture.service")
    host.wait_for_sample(user, "cctrack_codex_up", 1.0)
    journal = host.as_user(user, "journalctl", "--user", "-t", "cctrack", "--since", "today")
    assert "cctrack analyze: codex up" in journal.stdout
    timers = host.as_user(user, "systemctl", "--user", "list-timers", "cctrack*").stdout
    assert "cctrack-capture.timer" in timers


@pytest.mark.parametrize("tool", ["pipx", "uv"])
def test_the_readmes_pipx_and_uv_installs_work_as_written_for_a_new_user(
    host: Host, tool: str
) -> None:
    """The README's other two laptop blocks, as a new user: pipx (Debian's) and uv (the
    wheel's static binary) put cctrack in ~/.local/bin, and setup leaves their link theirs."""
    home = host.add_user(tool)
    user = home.name
    host.systemd.start_user_manager(user)
    found = shutil.which(tool, path=f"/usr/bin:{Path(sys.executable).parent}")
    if found is None:
        unavailable(f"{tool} is not installed (scripts/test installs it)")
    tools = host.state / f"tools-{tool}"
    tools.mkdir(mode=0o755)
    shutil.copy(found, tools / tool)
    block = readme_block(f"{tool}-install", host.wheelhouse)
    done = host.as_user(
        user,
        "env",
        f"PATH={tools}:/usr/bin:/bin",
        "UV_PYTHON_DOWNLOADS=never",
        "UV_NO_CACHE=1",
        "PIP_NO_INDEX=1",
        "bash",
        "-e",
        "-c",
        block,
    )
    link = home / ".local/bin/cctrack"
    assert f"cctrack setup: {link} already runs" in done.stdout
    assert "cctrack setup: ran systemctl --user enable --now cctrack-capture.timer" in done.stdout
    host.as_user(user, "systemctl", "--user", "start", "cctrack-capture.service")
    own = home / ".local/share/cctrack/textfile" / f"cctrack-{user}.prom"
    host.wait_for_sample(user, "cctrack_codex_up", 1.0, own)
    undone = host.as_user(user, str(link), "setup", "--uninstall")
    assert f"left {link} (setup did not make it" in undone.stdout and link.is_symlink()


def test_the_readme_server_install_works_as_written(host: Host) -> None:
    home = host.add_user("hal")
    user = home.name
    block = readme_block("server-install", host.wheelhouse).replace("alice", user)
    host.systemd.run("bash", "-e", "-c", block)
    active = host.systemd.systemctl("is-active", f"cctrack-capture@{user}.timer")
    assert active.strip() == "active"
    host.systemd.systemctl("start", f"cctrack-capture@{user}.service")
    host.wait_for_sample(user, "cctrack_codex_up", 1.0)
    assert f"cctrack-{user}.prom" in host.systemd.journal("-t", "cctrack")
    # The runbook's command, as that user, with cctrack on PATH.
    shown = host.systemd.run(
        "runuser",
        "-u",
        user,
        "--",
        "env",
        f"CCTRACK_DATA_DIR=/var/lib/cctrack/{user}",
        "cctrack",
        "show",
    )
    assert "codex" in shown.stdout and "10 % left" in shown.stdout
