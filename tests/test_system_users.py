"""Several unix users on one server, as the documented system units run them: each writes
its own textfile into the one node_exporter directory, and every series says whose it is.

Real users (useradd, runuser), the real jobs/ scripts with the units' environment, the real
node_exporter. Needs root; Debian's /usr/bin/python3 runs cctrack for the other users,
since the test interpreter may live under a home they cannot enter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import IN_CI, free_port, require_binary, sample, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
USERS = ("cctrack-alice", "cctrack-bob")
# What cctrack needs at run time, copied where the test users can read it.
RUNTIME = (
    "typer",
    "annotated_doc",
    "shellingham",
    "orjson",
    "jsonlines",
    "attr",
    "attrs",
    "prometheus_client",
    "typing_extensions.py",
)
TOOL = """#!/bin/sh
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '{"source_tool":"%s","observed_at":"%s","origin":"test","windows":{"five_hour":{"used_ratio":%s,"window_seconds":18000}}}\\n' "$1" "$now" "$2"
"""


def unit_environment(unit: str, user: str, mapping: dict[str, str]) -> dict[str, str]:
    """The Environment= lines of a system unit for user, paths moved into the test's tree."""
    text = (ROOT / "deploy/systemd/system" / unit).read_text()
    env = {}
    for key, value in re.findall(r"^Environment=(\w+)=(.*)$", text, re.M):
        value = value.replace("%i", user)
        for real, test in mapping.items():
            value = value.replace(real, test)
        env[key] = value
    return env


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        message = "needs root, useradd and runuser"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    python = Path("/usr/bin/python3")
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"/usr/bin/python3 is {version}, the test interpreter {sys.version_info[:2]}")
    base = Path(tempfile.mkdtemp(prefix="cctrack-users-", dir="/tmp"))
    base.chmod(0o755)
    try:
        lib = base / "lib"
        shutil.copytree(
            ROOT / "cctrack", lib / "cctrack", ignore=shutil.ignore_patterns("__pycache__")
        )
        site = Path(next(p for p in sys.path if p.endswith("site-packages")))
        for name in RUNTIME:
            source = site / name
            if source.is_dir():
                shutil.copytree(source, lib / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy(source, lib / name)
        shutil.copytree(ROOT / "jobs", base / "opt-cctrack" / "jobs")
        (base / "bin").mkdir()
        wrapper = base / "bin" / "cctrack"
        wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={lib} exec {python} -m cctrack "$@"\n')
        tool = base / "bin" / "status"
        tool.write_text(TOOL)
        for script in (wrapper, tool):
            script.chmod(0o755)
        for path in [base, *base.rglob("*")]:
            path.chmod(
                path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444
            )
        for user in USERS:
            home = base / f"home-{user}"
            if subprocess.run(["id", user], capture_output=True).returncode != 0:
                subprocess.run(
                    ["useradd", "--home-dir", str(home), "--shell", "/bin/sh", user], check=True
                )
            home.mkdir()
            shutil.chown(home, user, user)
        yield base
    finally:
        for user in USERS:
            subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.component
def test_two_users_documented_units_write_two_files_and_distinct_series(shared: Path) -> None:
    node_exporter = require_binary("prometheus-node-exporter")
    textfile_dir = shared / "node-exporter"
    textfile_dir.mkdir()
    textfile_dir.chmod(0o1777)  # shared and sticky, like /tmp: nobody replaces another's file
    (shared / "state").mkdir(mode=0o755)
    mapping = {
        "/var/lib/prometheus/node-exporter": str(textfile_dir),
        "/var/lib/cctrack": str(shared / "state"),
    }
    usage = {"cctrack-alice": "0.25", "cctrack-bob": "0.75"}
    for user in USERS:
        # StateDirectory= would create this, owned by the user, mode 0700.
        data = shared / "state" / user
        data.mkdir(mode=0o700)
        shutil.chown(data, user, user)
        for unit, job in (
            ("cctrack-capture@.service", "capture"),
            ("cctrack-analyze@.service", "analyze"),
        ):
            env = {
                "HOME": str(shared / f"home-{user}"),
                "PATH": "/usr/bin:/bin",
                "CCTRACK_BIN": str(shared / "bin" / "cctrack"),
                "CLAUDE_STATUS_PATH": f"{shared / 'bin' / 'status'} claude {usage[user]}",
                "CODEX_STATUS_PATH": f"{shared / 'bin' / 'status'} codex {usage[user]}",
                **unit_environment(unit, user, mapping),
            }
            done = subprocess.run(
                [
                    "runuser",
                    "-u",
                    user,
                    "--",
                    "env",
                    "-i",
                    *(f"{k}={v}" for k, v in env.items()),
                    str(shared / "opt-cctrack" / "jobs" / job),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in textfile_dir.glob("*.prom")) == [
        f"cctrack-{u}.prom" for u in USERS
    ]
    port = free_port()
    process = subprocess.Popen(
        [
            node_exporter,
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={textfile_dir}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        import urllib.request

        wait_for_http(f"http://127.0.0.1:{port}/metrics", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            scraped = response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert sample(scraped, "node_textfile_scrape_error") == 0
    for user in USERS:
        assert sample(
            scraped, "cctrack_claude_usage_ratio", window="five_hour", user=user
        ) == float(usage[user])
        assert sample(scraped, "cctrack_codex_up", user=user) == 1
