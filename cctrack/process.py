"""The one place that starts processes: status tools, built-in sources, `codex app-server`,
and the status line command a user wraps.

Every process runs in a session of its own, so its whole process group can be killed. A
tool's result is decided when the tool exits, not when its pipes close: a background
child still holding stdout cannot turn a good answer into a timeout. When the tools are
done, whatever they left running is killed, including children that left the group.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any, TypeVar

from cctrack.errors import Interrupted
from cctrack.model import frozen, mutable
from cctrack.redact import clipped

T = TypeVar("T")

# A status object is a few hundred bytes; a tool printing megabytes is broken, not verbose.
MAX_STDOUT = 1 << 20
STDERR_TAIL = 8192
# Exit code 75 (EX_TEMPFAIL) asks for another try, with this backoff between attempts.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 5.0
# Without pidfds (macOS), how often a running process is checked for its exit.
EXIT_POLL = 0.01
# Marks every process a run starts, so that what a tool leaves behind can be found again.
RUN_MARK = "CCTRACK_RUN_MARK"


class ProcessFailure(Exception):
    """A process gave no result; the message says why in one line."""


class StartFailed(ProcessFailure):
    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class TimedOut(ProcessFailure):
    """The process did not exit in its time; it and its children were killed."""


class OutputTooLarge(ProcessFailure):
    """The process printed more than MAX_STDOUT; it was killed."""


class Stopped(ProcessFailure):
    """cctrack itself was asked to stop while the process ran; it was killed."""


class JobsInterrupted(Interrupted):
    """A signal stopped run_jobs: the results so far (Stopped for what was still running),
    for the caller to record before it lets the interruption go on."""

    def __init__(self, signum: int, results: list[Result]) -> None:
        super().__init__(signum)
        self.results = results


@frozen
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


@frozen
class Job:
    """What to run: an argv (never through a shell), or a function run in a forked child
    (a built-in source: no second interpreter) that prints its result and returns an exit
    code. Exit `retry_exit` is retried within the timeout, up to `attempts` times."""

    label: str
    env: Mapping[str, str]
    timeout: float
    argv: tuple[str, ...] = ()
    function: Callable[[], int] | None = None
    stdin: bytes = b""
    attempts: int = 3
    retry_exit: int | None = 75


Result = Finished | ProcessFailure


@mutable
class _Run:
    job: Job
    deadline: float
    attempt: int = 0
    next_start: float = 0.0
    pid: int = 0
    pidfd: int | None = None
    fds: dict[int, bytearray] = field(default_factory=dict)
    stdin_fd: int | None = None
    stdin_left: bytes = b""
    stdout_fd: int = -1
    result: Result | None = None


def _spawn_argv(job: Job, env: dict[str, str]) -> tuple[int, int, int, int | None]:
    try:
        proc = subprocess.Popen(
            list(job.argv),
            stdin=subprocess.PIPE if job.stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise StartFailed(
            f"{job.label} not found: {job.argv[0]}; install it or set its status command", False
        ) from None
    except PermissionError:
        raise StartFailed(f"{job.label} is not executable: {job.argv[0]}", False) from None
    except OSError as exc:
        raise StartFailed(f"{job.label} could not start: {exc.strerror}", True) from None
    assert proc.stdout is not None and proc.stderr is not None
    # The descriptors are ours from here on; the Popen object only started the process.
    stdin_fd = os.dup(proc.stdin.fileno()) if proc.stdin else None
    out, err = os.dup(proc.stdout.fileno()), os.dup(proc.stderr.fileno())
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    proc.returncode = 0  # reaped below by waitpid, not by Popen
    return proc.pid, out, err, stdin_fd


def _spawn_function(function: Callable[[], int], env: dict[str, str]) -> tuple[int, int, int]:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            # The parent's stop handlers are the parent's: a forked job just ends on a signal.
            for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(signum, signal.SIG_DFL)
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (null, out_r, out_w, err_r, err_w):
                os.close(fd)
            # Whatever sys.stdout was in the parent (a capture, say), the child writes to the pipe.
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            os.environ.clear()
            os.environ.update(env)
            code = function()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - the child must end in os._exit, whatever happened
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
        os._exit(code)
    os.close(out_w)
    os.close(err_w)
    return pid, out_r, err_r


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _exited(run: _Run) -> bool:
    """Has the process exited? Asked without reaping it, so its group can still be killed."""
    try:
        info = os.waitid(os.P_PID, run.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None and info.si_pid == run.pid


class _Runner:
    def __init__(self, jobs: Sequence[Job], mark: str) -> None:
        now = time.monotonic()
        self.runs = [_Run(job, deadline=now + job.timeout, next_start=now) for job in jobs]
        self.selector = selectors.DefaultSelector()
        self.mark = mark

    def start(self, run: _Run) -> None:
        run.attempt += 1
        env = {**run.job.env, RUN_MARK: self.mark}
        stdin_fd = None
        if run.job.function is not None:
            run.pid, out, err = _spawn_function(run.job.function, env)
        else:
            run.pid, out, err, stdin_fd = _spawn_argv(run.job, env)
        run.fds = {out: bytearray(), err: bytearray()}
        run.stdout_fd = out
        for fd in (out, err):
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ, run)
        if stdin_fd is not None:
            os.set_blocking(stdin_fd, False)
            run.stdin_fd, run.stdin_left = stdin_fd, run.job.stdin
            self.selector.register(stdin_fd, selectors.EVENT_WRITE, run)
        run.pidfd = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                run.pidfd = os.pidfd_open(run.pid)
                self.selector.register(run.pidfd, selectors.EVENT_READ, run)

    def _read(self, run: _Run, fd: int) -> bool:
        """Read what fd has now; False once stdout has grown past its cap."""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return True
            if not chunk:
                self._close(fd)
                return True
            buffer = run.fds[fd]
            buffer += chunk
            if fd == run.stdout_fd and len(buffer) > MAX_STDOUT:
                return False
            if fd != run.stdout_fd and len(buffer) > STDERR_TAIL:
                del buffer[:-STDERR_TAIL]

    def _write(self, run: _Run) -> None:
        assert run.stdin_fd is not None
        try:
            written = os.write(run.stdin_fd, run.stdin_left)
            run.stdin_left = run.stdin_left[written:]
        except BlockingIOError:
            return
        except BrokenPipeError:
            run.stdin_left = b""
        if not run.stdin_left:
            self._close(run.stdin_fd)
            run.stdin_fd = None

    def _close(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(fd)
        with contextlib.suppress(OSError):
            os.close(fd)

    def finish(self, run: _Run, failure: ProcessFailure | None = None) -> None:
        """The process exited or must go: kill its group, keep what it had printed, reap it."""
        _kill_group(run.pid)
        for fd in list(run.fds):
            if fd in self._open_fds():
                if not self._read(run, fd) and failure is None:
                    failure = self.too_large(run)
                self._close(fd)
        if run.stdin_fd is not None:
            self._close(run.stdin_fd)
            run.stdin_fd = None
        if run.pidfd is not None:
            self._close(run.pidfd)
            run.pidfd = None
        try:
            _, status = os.waitpid(run.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = -signal.SIGKILL
        if failure is not None:
            run.result = failure
            return
        stdout = bytes(run.fds[run.stdout_fd])
        stderr = b"".join(bytes(buf) for fd, buf in run.fds.items() if fd != run.stdout_fd)
        retry = run.job.retry_exit is not None and code == run.job.retry_exit
        if retry and self.schedule_retry(run):
            return
        run.result = Finished(code, stdout, stderr)

    @staticmethod
    def too_large(run: _Run) -> OutputTooLarge:
        return OutputTooLarge(
            f"{run.job.label} printed more than {MAX_STDOUT >> 20} MiB; it is not a status tool"
        )

    def schedule_retry(self, run: _Run) -> bool:
        if run.attempt >= run.job.attempts:
            return False
        wait = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (run.attempt - 1))
        if time.monotonic() + wait >= run.deadline:
            return False
        run.next_start = time.monotonic() + wait
        run.pid = 0
        return True

    def _open_fds(self) -> set[int]:
        return {key.fd for key in self.selector.get_map().values()}

    def run(
        self, early: int = 0, on_early: Callable[[list[Result]], None] | None = None
    ) -> list[Result]:
        stopped: Interrupted | None = None
        try:
            while True:
                if on_early is not None and all(r.result is not None for r in self.runs[:early]):
                    on_early([r.result for r in self.runs[:early] if r.result is not None])
                    on_early = None
                pending = [run for run in self.runs if run.result is None]
                if not pending:
                    break
                now = time.monotonic()
                for run in pending:
                    if run.pid == 0 and run.next_start <= now:
                        try:
                            self.start(run)
                        except StartFailed as exc:
                            if not (exc.transient and self.schedule_retry(run)):
                                run.result = exc
                for run in pending:
                    if run.pid and run.result is None and now >= run.deadline:
                        self.finish(run, TimedOut(run.job.label))
                waits = [
                    (r.deadline if r.pid else r.next_start) - now
                    for r in pending
                    if r.result is None
                ]
                if not waits:
                    continue
                timeout = max(0.0, min(waits))
                if any(r.pid and r.pidfd is None for r in pending):
                    timeout = min(timeout, EXIT_POLL)
                for key, events in self.selector.select(timeout):
                    run = key.data
                    if run.result is not None or not run.pid:
                        continue
                    if events & selectors.EVENT_WRITE:
                        self._write(run)
                    elif key.fd in run.fds and not self._read(run, key.fd):
                        self.finish(run, self.too_large(run))
                for run in pending:
                    if run.pid and run.result is None and _exited(run):
                        self.finish(run)
        except Interrupted as exc:
            stopped = exc
        finally:
            for run in self.runs:
                if run.result is None:
                    why = (
                        Stopped(f"{run.job.label} was stopped: cctrack got signal {stopped.signum}")
                        if stopped
                        else TimedOut(run.job.label)
                    )
                    if run.pid:
                        self.finish(run, why)
                    else:
                        run.result = why
            self.selector.close()
            kill_marked(self.mark)
        results = [run.result for run in self.runs if run.result is not None]
        if stopped is not None:
            raise JobsInterrupted(stopped.signum, results)
        return results


def run_jobs(
    jobs: Sequence[Job],
    early: int = 0,
    on_early: Callable[[list[Result]], None] | None = None,
) -> list[Result]:
    """Run the jobs at once, each bounded by its timeout; one result per job, in order.
    on_early gets the results of the first `early` jobs as soon as they are all in, while
    the others (a long token scan) still run. A signal raises JobsInterrupted."""
    return _Runner(jobs, os.urandom(8).hex()).run(early, on_early)


def kill_marked(mark: str) -> int:
    """Kill every process of this user that carries the run's mark in its environment: what
    the tools left behind, even children that started a session of their own. Linux only
    (/proc); elsewhere the process groups were already killed."""
    proc = Path("/proc")
    if not (proc / "self" / "environ").exists():
        return 0
    needle = f"{RUN_MARK}={mark}".encode()
    killed = 0
    for _ in range(5):  # killing a parent can orphan children that were mid-fork: look again
        found = []
        for entry in os.scandir(proc):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if entry.stat().st_uid != os.geteuid():
                    continue
                with open(os.path.join(entry.path, "environ"), "rb") as handle:
                    if needle in handle.read().split(b"\0"):
                        found.append(int(entry.name))
            except OSError:
                continue
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed += len(found)
        if not found:
            break
        time.sleep(0.01)
    return killed


def run_command(argv: Sequence[str], stdin: bytes, timeout: float, label: str) -> Finished:
    """One command, bounded, without a shell; ProcessFailure when it gave no result."""
    job = Job(label, os.environ, timeout, argv=tuple(argv), stdin=stdin, retry_exit=None)
    result = run_jobs([job])[0]
    if isinstance(result, ProcessFailure):
        raise result
    return result


def run_shell(command: str, stdin: bytes, timeout: float, label: str) -> Finished:
    """A user's own shell command line (their previous statusLine command), bounded."""
    return run_command(("/bin/sh", "-c", command), stdin, timeout, label)


class JsonRpcSession:
    """A JSON-RPC peer over stdio, one message per line (`codex app-server`), bounded by a
    deadline and killed with its process group when closed."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.buffer = bytearray()
        try:
            self.proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=dict(env),
                start_new_session=True,
            )
        except OSError as exc:
            raise StartFailed(f"cannot start {' '.join(argv)}: {exc.strerror}", False) from None

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages).encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise ProcessFailure("exited without answering") from None

    def reply(self, want: int) -> Any:
        """Read lines until the response with id `want`; notifications are skipped. An error
        response raises ProcessFailure with the peer's message."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" not in self.buffer:
                remaining = self.deadline - time.monotonic()
                with selectors.DefaultSelector() as selector:
                    selector.register(fd, selectors.EVENT_READ)
                    if remaining <= 0 or not selector.select(remaining):
                        raise TimedOut("did not answer in time")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ProcessFailure("exited without answering")
                self.buffer += chunk
                if len(self.buffer) > MAX_STDOUT:
                    raise OutputTooLarge("answered more than 1 MiB")
            line, _, rest = bytes(self.buffer).partition(b"\n")
            self.buffer[:] = rest
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("id") == want:
                if "error" in message:
                    error = message["error"]
                    reason = error.get("message") if isinstance(error, dict) else error
                    raise ProcessFailure(f"refused: {clipped(str(reason), 500)}")
                return message.get("result")

    def close(self) -> None:
        _kill_group(self.proc.pid)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> JsonRpcSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def forked(function: Callable[..., T], *args: Any) -> Iterator[Callable[[], T]]:
    """function(*args) in a forked child while the caller goes on; what is given waits for
    its result (or raises what it raised). Where forking is not safe (not Linux), it runs
    here first."""
    if not sys.platform.startswith("linux"):
        result = function(*args)
        yield lambda: result
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool.submit(function, *args).result


def map_forked(
    function: Callable[[Any], Any], items: Sequence[Any], workers: int, ahead: int = 2
) -> Iterator[Any]:
    """function over items in forked workers, results in order. At most `ahead` results per
    worker wait for the caller, so a slow caller bounds the memory, not the item count.
    Forking only where it is safe (Linux) and worth it; otherwise in this process."""
    if workers < 2 or len(items) < 2 or not sys.platform.startswith("linux"):
        yield from map(function, items)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        waiting: deque[Future[Any]] = deque()
        queue = iter(items)
        for item in queue:
            waiting.append(pool.submit(function, item))
            if len(waiting) >= workers * ahead:
                break
        while waiting:
            result = waiting.popleft().result()
            for item in queue:
                waiting.append(pool.submit(function, item))
                break
            yield result
