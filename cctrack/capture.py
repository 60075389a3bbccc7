"""Capture: run each status tool once, turn each answer (or failure) into a record, append them."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from cctrack import store
from cctrack.errors import EXIT_TEMPFAIL
from cctrack.records import Record, Status, parse_status_output
from cctrack.settings import Settings

# A status object is a few hundred bytes; a tool printing megabytes is broken, not verbose.
MAX_OUTPUT_BYTES = 1 << 20
ATTEMPTS = 3


class ToolFailure(Exception):
    """A status tool gave no usable status; the message becomes the record's error."""


class ToolTimedOut(ToolFailure):
    """The tool did not finish in the time it had; it and its children were killed."""


class TransientToolFailure(ToolFailure):
    """A failure worth one more try: the tool said EX_TEMPFAIL, or could not be started yet."""


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_bounded(argv: Sequence[str], env: Mapping[str, str], timeout: float, label: str) -> Finished:
    """Run argv without a shell in a process group of its own; on timeout or runaway output
    kill the whole group, children included, so nothing outlives the capture."""
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ToolFailure(f"{label} not found: {argv[0]}; install it or set its status command") from None
    except PermissionError:
        raise ToolFailure(f"{label} is not executable: {argv[0]}") from None
    except OSError as exc:
        raise TransientToolFailure(f"{label} could not start: {exc.strerror}") from None
    deadline = time.monotonic() + timeout
    out = bytearray()
    err = bytearray()
    assert proc.stdout is not None and proc.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, out)
        selector.register(proc.stderr, selectors.EVENT_READ, err)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_group(proc)
                raise ToolTimedOut(label)
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()  # type: ignore[union-attr]
                    continue
                buffer: bytearray = key.data
                buffer += chunk
                if buffer is out and len(out) > MAX_OUTPUT_BYTES:
                    _kill_group(proc)
                    raise ToolFailure(f"{label} printed more than {MAX_OUTPUT_BYTES >> 20} MiB; it is not a status tool")
                if buffer is err and len(err) > 8192:
                    del err[:-8192]
    try:
        returncode = proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ToolTimedOut(label) from None
    return Finished(returncode, bytes(out), bytes(err))


# Token shapes of Anthropic and OpenAI, and bearer headers: a tool's stderr goes into the
# record, and a third-party tool may print what it should not.
_SECRET = re.compile(r"(?i)(bearer\s+)\S+|\bsk-[A-Za-z0-9_-]{16,}|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9._-]+")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return redact(lines[-1].strip())[:300] if lines else ""


def query_tool(source: str, argv: Sequence[str], env: Mapping[str, str], timeout: float) -> Status:
    """One status from one tool, retrying only what the tool calls transient, within timeout."""
    label = f"{source}-status"
    deadline = time.monotonic() + timeout

    def attempt() -> Status:
        try:
            finished = run_bounded(argv, env, max(0.1, deadline - time.monotonic()), label)
        except ToolTimedOut:
            raise ToolFailure(f"{label} timed out after {timeout:g} s") from None
        if finished.returncode != 0:
            reason = _last_line(finished.stderr) or "no reason given"
            failure = TransientToolFailure if finished.returncode == EXIT_TEMPFAIL else ToolFailure
            raise failure(f"{label} failed (exit {finished.returncode}): {reason}")
        try:
            return parse_status_output(finished.stdout, source)
        except ValueError as exc:
            raise ToolFailure(f"{label} printed no valid status: {exc}") from None

    retrying = Retrying(
        retry=retry_if_exception_type(TransientToolFailure),
        stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(timeout),
        wait=wait_exponential(multiplier=0.5, max=5),
        reraise=True,
    )
    return retrying(attempt)


def capture_one(source: str, settings: Settings, env: Mapping[str, str], clock: Callable[[], datetime]) -> Record:
    try:
        status = query_tool(source, settings.status_command(source), env, settings.timeout)
    except ToolFailure as exc:
        return Record(0, clock(), settings.hostname, source, ok=False, error=str(exc))
    captured = clock()
    return Record(0, captured, settings.hostname, source, ok=True, status=status.as_of(captured))


def capture(settings: Settings, clock: Callable[[], datetime], environ: Mapping[str, str]) -> list[Record]:
    """Query every configured source at once and append one record per source."""
    env = settings.child_environment(environ)
    with ThreadPoolExecutor(max_workers=len(settings.sources)) as pool:
        records = list(pool.map(lambda source: capture_one(source, settings, env, clock), settings.sources))
    return store.append_records(Path(settings.data_dir), records)


def summary(records: Sequence[Record], data_dir: Path) -> str:
    outcomes = ", ".join(f"{r.source_tool} {'ok' if r.ok else 'FAILED: ' + (r.error or '')}" for r in records)
    seqs = f"seq {records[0].seq_no}-{records[-1].seq_no}" if records else "nothing"
    return f"cctrack capture: {outcomes} ({seqs} in {data_dir})"
