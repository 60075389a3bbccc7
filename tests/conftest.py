from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import pwd
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest
import typer.main
import typer.testing
from builders import fixed_tool, write_token_logs

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Files of tests that start real services or wait on real deadlines: marked `system`.
SYSTEM_FILES = ("test_system_", "test_deadlines")


@pytest.fixture(autouse=True)
def fresh_now(request: pytest.FixtureRequest) -> None:
    """A test module's NOW is the time its test starts, not the time the module was
    imported: a long suite must not push a "one minute ago" past a 15-minute threshold."""
    from datetime import datetime, timezone

    module = request.module
    if isinstance(getattr(module, "NOW", None), datetime):
        module.NOW = datetime.now(timezone.utc).replace(microsecond=0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.startswith(SYSTEM_FILES):
            item.add_marker(pytest.mark.system)


def unavailable(message: str) -> NoReturn:
    """A real component missing: a failure in CI, which must have them all, and a skip on
    a developer's machine."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_binary(name: str) -> str:
    """A real component: missing is a failure in CI, a skip on a developer's machine."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {'prometheus' if name in ('promtool', 'prometheus') else 'prometheus-node-exporter' if 'exporter' in name else 'systemd'})"
        unavailable(message)
    return path


def require_root(why: str) -> None:
    """A real fault that only root can make here (a mount, another unix user): a failure
    in CI, which runs as root, a skip on a developer's machine."""
    if os.geteuid() != 0:
        message = f"{why} needs root"
        unavailable(message)


LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def faketime(offset: str) -> dict[str, str]:
    """Environment that runs a real process under libfaketime's clock, `offset` from now
    ("+800d", "-2h"); the monotonic clock is left alone, so timeouts still work."""
    if not LIBFAKETIME.exists():
        message = "libfaketime is not installed (apt-get install faketime)"
        unavailable(message)
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": offset,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


# typer builds the click command from the functions' signatures on every CliRunner.invoke
# (≈6 ms, a sixth of the fast layer's time); the command holds no state between
# invocations (defaults are resolved from the settings table at run time), so build it once.
typer.testing._get_command = functools.cache(typer.main.get_command)  # type: ignore[attr-defined]


def in_process(
    args: tuple[str, ...], env: dict[str, str], stdin: bytes | None
) -> subprocess.CompletedProcess[str]:
    """One command in this process through typer's CliRunner, the environment replaced as a
    new process would have it (what is not in env is removed for the call), the app built
    as main() builds it."""
    from typer.testing import CliRunner

    from cctrack.cli import app_for

    environment: dict[str, str | None] = dict.fromkeys(os.environ)
    environment.update(env)
    # The app main() runs: typer given only the command that runs.
    result = CliRunner().invoke(app_for(list(args)), list(args), input=stdin, env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["cctrack", *args], result.exit_code, result.stdout, result.stderr
    )


@dataclass
class Env:
    """A sandboxed user: its own HOME, data and textfile directories, no real Claude or Codex."""

    root: Path
    vars: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.vars["CCTRACK_DATA_DIR"])

    @property
    def textfile_dir(self) -> Path:
        return Path(self.vars["CCTRACK_TEXTFILE_DIR"])

    @property
    def textfile(self) -> Path:
        return self.textfile_dir / f"cctrack-{pwd.getpwuid(os.geteuid()).pw_name}.prom"

    @property
    def codex_home(self) -> Path:
        return Path(self.vars["CODEX_HOME"])

    @property
    def claude_home(self) -> Path:
        return Path(self.vars["CLAUDE_CONFIG_DIR"])

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        timeout: float = 120,
        file_size_limit: int | None = None,
        **extra: str,
    ) -> subprocess.CompletedProcess[str]:
        """cctrack through its real command line: in this process (typer's CliRunner, with
        exactly this environment) where nothing needs a process of its own, else as a real
        process. file_size_limit makes every larger write fail (EFBIG), a write failure that
        even root cannot get around; a clock (libfaketime) needs a real process too (and the
        status line's bounds on a pipe that never closes, tests/test_trust.py).
        CCTRACK_TEST_PROCESSES=1 runs every call as a process."""
        env = {**self.vars, **extra}
        if (
            file_size_limit is None
            and "LD_PRELOAD" not in env
            and env.get("TZ") == os.environ.get("TZ")  # local time is the process's
            and args
            and not os.environ.get("CCTRACK_TEST_PROCESSES")
        ):
            return in_process(args, env, input)

        def limit() -> None:
            if file_size_limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

        return subprocess.run(
            [sys.executable, "-m", "cctrack", *args],
            env=env,
            input=input.decode() if input else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
        )

    def all_records(self) -> list[dict[str, Any]]:
        lines = []
        for path in sorted(self.data_dir.glob("usage-*.jsonl")):
            lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return lines

    def records(self) -> list[dict[str, Any]]:
        """The status records (token records have a "kind")."""
        return [r for r in self.all_records() if "kind" not in r]

    def token_records(self) -> list[dict[str, Any]]:
        return [r for r in self.all_records() if r.get("kind") == "tokens"]

    def write_config(self, text: str) -> Path:
        """The user's ~/.config/cctrack/config.toml, with this text."""
        path = Path(self.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def write_token_logs(self) -> None:
        from datetime import datetime, timezone

        write_token_logs(self.claude_home, self.codex_home, datetime.now(timezone.utc))

    def use_agent(
        self, name: str = "gemini", usage: tuple[float, float] = (0.75, 0.13), details: bool = True
    ) -> None:
        """An agent beside the two ([agents.NAME] in a config only this user can write),
        its status a fixed one (fixed_tool's, under its own name)."""
        tool = fixed_tool(self.root / f"{name}-status", name, *usage, details=details)
        self.write_config(f'[agents.{name}]\nstatus = "{tool}"\n').chmod(0o600)

    def use_fixed_tools(
        self,
        claude: tuple[float, float] = (0.25, 0.5),
        codex: tuple[float, float] = (0.42, 0.13),
        details: bool = False,
    ) -> None:
        tools = self.root / "tools"
        tools.mkdir(exist_ok=True)
        self.vars["CLAUDE_STATUS_PATH"] = str(
            fixed_tool(tools / "claude-status", "claude", *claude, details=details)
        )
        self.vars["CODEX_STATUS_PATH"] = str(
            fixed_tool(tools / "codex-status", "codex", *codex, details=details)
        )


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return sandbox(tmp_path)


def sandbox(root: Path, owner: pwd.struct_passwd | None = None) -> Env:
    """An Env under root: its own HOME, data and textfile directories (the first two made,
    and given to owner when one is named), no real Claude or Codex."""
    home = root / "home"
    textfile_dir = root / "textfile"
    for path in (home, textfile_dir):
        path.mkdir()
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)
    return Env(
        root,
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".local/state"),
            "CCTRACK_DATA_DIR": str(root / "data"),
            "CCTRACK_TEXTFILE_DIR": str(textfile_dir),
            "CODEX_HOME": str(home / ".codex"),
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "CCTRACK_CLAUDE_OAUTH": "off",
            "CCTRACK_HOSTNAME": "testbox",
            "LANG": "C.UTF-8",
            # The words are what most tests read; test_desk checks the colours themselves.
            "NO_COLOR": "1",
        },
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen[bytes], attempts: int = 200) -> None:
    """Readiness polling, bounded by attempts: nothing is asserted about how long it takes."""
    for _ in range(attempts):
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args[0]} exited with {process.returncode}: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


@dataclass
class NodeExporter:
    url: str

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            return response.read().decode()


@contextlib.contextmanager
def serving(argv: list[str], ready_path: str = "/metrics") -> Iterator[str]:
    """A real server of ours (node_exporter, the Pushgateway) on a free loopback port, given
    its other flags; yields its base URL once it answers, and stops it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [*argv, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}{ready_path}", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def running_node_exporter(textfile_dir: Path) -> contextlib.AbstractContextManager[str]:
    binary = require_binary("prometheus-node-exporter")
    return serving(
        [
            binary,
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={textfile_dir}",
        ]
    )


@pytest.fixture
def node_exporter(env: Env):  # type: ignore[no-untyped-def]
    with running_node_exporter(env.textfile_dir) as url:
        yield NodeExporter(f"{url}/metrics")


@pytest.fixture
def pushgateway() -> Iterator[str]:
    binary = require_binary("prometheus-pushgateway")
    # Debian's build persists to /var/lib/prometheus by default: in memory only here.
    with serving([binary, "--persistence.file="], "/-/ready") as url:
        yield url


# Labels every series carries (who and which login): matched only when a test names them.
IDENTITY_LABELS = {"user", "profile", "account", "instance", "job"}


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a text exposition, or None when absent. The sample's other
    labels must be identity labels, so a window label left out still tells series apart."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if (
                s.name == name
                and all(s.labels.get(k) == v for k, v in labels.items())
                and set(s.labels) - set(labels) <= IDENTITY_LABELS
            ):
                return s.value
    return None


@dataclass
class FakeUsageAPI:
    """A real HTTP server on 127.0.0.1 standing in for the OAuth usage endpoint."""

    url: str
    responses: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.responses.append((status, headers or {}, payload))


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait 50 ms, not half a second: the tests count attempts, not seconds."""
    from cctrack import process

    monkeypatch.setattr(process, "BACKOFF_FIRST", 0.05)


@dataclass
class Receiver:
    """A loopback HTTP server that records each POST and answers 200 (or what it is told)."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def headers(self, index: int = -1) -> dict[str, str]:
        """A request's headers, names in lower case."""
        return {k.lower(): v for k, v in self.requests[index][0].items()}


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """Two Receivers (the second, say, where a redirect would lead)."""
    found, servers = [], []
    for _ in range(2):
        receiver = Receiver("")

        class Handler(http.server.BaseHTTPRequestHandler):
            mine = receiver

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.mine.requests.append((dict(self.headers), body))
                status, headers = self.mine.answers.pop(0) if self.mine.answers else (200, {})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        receiver.url = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        found.append(receiver)
    yield found
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def usage_api():  # type: ignore[no-untyped-def]
    api = FakeUsageAPI(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            api.requests.append(
                {"path": self.path, **{k.lower(): v for k, v in self.headers.items()}}
            )
            status, headers, body = api.responses.pop(0) if api.responses else (500, {}, b"{}")
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_port}/api/oauth/usage"
    # A short poll keeps shutdown() from costing half a second per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture
def alice(tmp_path: Path) -> Iterator[tuple[str, Env]]:
    """A real unix user with an Env of her own, where she can reach it (not under root's
    pytest directory)."""
    require_root("making another user")
    name = "cctrack-alice"
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--no-create-home", "--no-user-group", "--shell", "/bin/false", name],
            check=True,
        )
    entry = pwd.getpwnam(name)
    place = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="cctrack-alice-"))
    place.chmod(0o755)
    env = sandbox(place, entry)
    try:
        yield name, env
    finally:
        shutil.rmtree(place, ignore_errors=True)


def run_as(user: str, env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    """cctrack's command line in a child of this process that has become the user (setgid,
    setuid): a real unix user's permissions, with the code already loaded here."""
    # Loaded before the child drops root: this interpreter's files may be root's alone.
    import cctrack.analyze  # noqa: F401

    datetime.strptime("20261205", "%Y%m%d")

    entry = pwd.getpwnam(user)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            done = in_process(args, {**env.vars, "USER": user}, None)
            result = [done.returncode, done.stdout, done.stderr]
        except BaseException as exc:  # noqa: BLE001  (the child's failure goes to the test)
            result = [99, "", repr(exc)]
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        code, out, err = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return subprocess.CompletedProcess(["cctrack", *args], code, out, err)


@dataclass
class Peer:
    """A raw HTTP peer on 127.0.0.1 that misbehaves: `trickle` sends its answer's head a
    byte every `interval` seconds (`count` of them), `flood` answers 200 with a body without
    end (bounded at 256 MiB). How many bytes of each answer it got to send."""

    url: str = ""
    mode: str = "trickle"
    interval: float = 0.2
    count: int = 60
    sent: list[int] = field(default_factory=list)


@pytest.fixture
def peer() -> Iterator[Peer]:
    found = Peer()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def answer(conn: socket.socket) -> int:
        sent = 0
        conn.recv(1 << 20)
        if found.mode == "trickle":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(found.count):
                if stop.is_set():
                    break
                conn.sendall(b"a")
                sent += 1
                time.sleep(found.interval)
            return sent
        size = 256 << 20
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        block = b"x" * (1 << 16)
        while sent < size and not stop.is_set():
            conn.sendall(block)
            sent += len(block)
        return sent

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    found.sent.append(answer(conn))
                except OSError:
                    found.sent.append(-1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.getsockname()[1]}"
    yield found
    stop.set()
    thread.join(timeout=10)
    server.close()
