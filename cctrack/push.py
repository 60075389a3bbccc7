"""The push path, for machines Prometheus cannot scrape: `cctrack push` sends the textfile
analyze wrote to a Prometheus Pushgateway with prometheus_client, replacing the group
`job="cctrack", instance=<hostname>, user=<user>` (PUT), so series that vanished here
vanish there too.

It is a job of its own so that analyze never needs the network (its unit has none) and the
job locks never wait on it. How pushes went is kept in `push.json` in the data directory;
analyze exports it with the next textfile, so the Pushgateway gets it one push later.

What every sink of `cctrack push` shares lives here too (remote_write.py and otlp.py use
it): the textfile parsed back, credentials from private files, retries within a deadline,
and a status file per sink.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack.errors import CctrackError
from cctrack.files import read_json, write_atomic
from cctrack.net import DeadlineExceeded, is_loopback, within_deadline
from cctrack.report import PushStatus
from cctrack.timefmt import format_time, parse_time

# Each socket read; and the whole push, retries included.
PUSH_TIMEOUT = 10.0
PUSH_DEADLINE = 30.0
# How long a refused connection or a 5xx is tried again (a gateway that restarts).
PUSH_RETRY_FOR = 5.0
JOB = "cctrack"
# How the sends went: one status file per sink (recorded below, exported by analyze).
STATUS_FILE = "push.json"
REMOTE_WRITE_STATUS_FILE = "remote-write.json"
OTLP_STATUS_FILE = "otlp.json"


def load_status(data_dir: Path, name: str = STATUS_FILE) -> PushStatus:
    """A sink's record (push.json, remote-write.json); a missing or unreadable one starts
    again from nothing (a counter reset, which increase() and rate() take in their stride)."""
    try:
        obj = read_json(data_dir / name)
        last = obj.get("last_success") if isinstance(obj, dict) else None
        failures = obj.get("failures", 0) if isinstance(obj, dict) else 0
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
            failures = 0
        since = obj.get("since") if isinstance(obj, dict) else None
        return PushStatus(
            parse_time(last) if isinstance(last, str) else None,
            failures,
            parse_time(since) if isinstance(since, str) else None,
        )
    except (OSError, ValueError):
        return PushStatus()


def save_status(data_dir: Path, status: PushStatus, name: str = STATUS_FILE) -> None:
    def moment(value: datetime | None) -> str | None:
        return format_time(value, milliseconds=True) if value else None

    obj = {
        "last_success": moment(status.last_success),
        "failures": status.failures,
        "since": moment(status.since),
    }
    write_atomic(data_dir / name, json.dumps(obj).encode())


def read_private(path: Path, key: str) -> str:
    """A credentials file's text, from a file only its owner can read: never from a flag or
    the environment, where other users and logs can see it."""
    try:
        # Never through a link, never blocking on a FIFO.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise CctrackError(f"cannot read {key} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise CctrackError(f"{key} {path} is not a regular file")
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            raise CctrackError(
                f"{key} {path} must belong to you and be readable by you alone (chmod 600 {path})"
            )
        return handle.read(4096).decode("utf-8", "replace").strip()


def read_basic_auth(path: Path, key: str = "pushgateway_auth_file") -> tuple[str, str]:
    """`user:password` from a private file (read_private)."""
    user, sep, password = read_private(path, key).partition(":")
    if not sep or not user:
        raise CctrackError(f"{key} {path} must hold one line user:password")
    return user, password


def check_url(url: str, with_auth: bool, key: str = "pushgateway_url") -> None:
    """A sink's URL (the setting `key`, an http(s) URL: settings.sink_url) is https when
    credentials go with it, but to loopback."""
    from cctrack.settings import AUTH_FILES

    parts = urllib.parse.urlsplit(url)
    if with_auth and parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise CctrackError(
            f"{key} must be https:// when {AUTH_FILES[key]} is set: "
            "plain http shows the credentials to the network"
        )


def textfile_families(path: Path) -> list[Any]:
    """The textfile analyze wrote, parsed back by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CctrackError(
            f"{path} is not there yet: analyze writes it first (cctrack analyze)"
        ) from None
    except OSError as exc:
        raise CctrackError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise CctrackError(f"{path} does not parse as the text format: {exc}") from None


def textfile_samples(path: Path) -> Iterator[tuple[str, dict[str, str], float]]:
    """Every sample of the textfile: its name as exposed (`…_total` for a counter), labels,
    value."""
    for family in textfile_families(path):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)


def textfile_registry(path: Path) -> Any:
    """The textfile as a prometheus_client registry, to push."""
    from prometheus_client.registry import Collector

    metrics = textfile_families(path)

    class Textfile(Collector):
        def collect(self) -> Iterable[Any]:
            return metrics

    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Textfile())
    return registry


def push(url: str, registry: Any, hostname: str, user: str, auth_file: Path | None) -> None:
    """PUT the registry's metrics to the Pushgateway's group for this machine and user."""
    from prometheus_client.exposition import basic_auth_handler, default_handler, push_to_gateway

    check_url(url, auth_file is not None)
    handler: Callable[..., Any] = default_handler
    if auth_file is not None:
        username, password = read_basic_auth(auth_file)

        def handler(url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
            return basic_auth_handler(url, method, timeout, headers, data, username, password)

    def once() -> None:
        push_to_gateway(
            url,
            job=JOB,
            registry=registry,
            grouping_key={"instance": hostname, "user": user},
            timeout=PUSH_TIMEOUT,
            handler=handler,
        )

    send_with_retries(once, url, "push")


def send_with_retries(once: Callable[[], None], url: str, what: str) -> None:
    """One send, tried again with back-off while a refused connection, a 5xx or a 429 may
    pass within seconds (a receiver restarting), anything else failing at once; all of it
    within PUSH_DEADLINE. Raises CctrackError saying what failed."""
    from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

    def attempts() -> None:
        for attempt in Retrying(
            stop=stop_after_delay(PUSH_RETRY_FOR),
            wait=wait_exponential(multiplier=0.5, max=4),
            retry=retry_if_exception(transient),
            reraise=True,
        ):
            with attempt:
                once()

    try:
        within_deadline(attempts, PUSH_DEADLINE, f"the {what} to {url}")
    except DeadlineExceeded as exc:
        raise CctrackError(f"{what} failed: {exc} (a slow receiver or proxy)") from None
    except OSError as exc:  # URLError and HTTPError are OSErrors
        reason = getattr(exc, "reason", None) or exc
        raise CctrackError(f"{what} to {url} failed: {reason}") from None


def transient(exc: BaseException) -> bool:
    """Worth another try: the receiver refused the connection, answered 5xx, or 429."""
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(exc, (ConnectionRefusedError, ConnectionResetError)) or isinstance(
        getattr(exc, "reason", None), (ConnectionRefusedError, ConnectionResetError)
    )


def recorded(
    data_dir: Path, status_file: str, now: datetime, send: Callable[[datetime], str]
) -> str:
    """A sink's send, given since when it has been sent to, and its outcome added to the
    sink's status file (exported by the next analyze); what `send` says, or its
    CctrackError raised again."""
    status = load_status(data_dir, status_file)
    # Kept to the millisecond, as the status file keeps it: the next send starts the same.
    since = status.since or now.replace(microsecond=now.microsecond // 1000 * 1000)
    status = replace(status, since=since)
    try:
        said = send(since)
    except CctrackError:
        save_status(data_dir, status.after(now, failed=True), status_file)
        raise
    save_status(data_dir, status.after(now, failed=False), status_file)
    return said


def push_textfile(
    url: str,
    textfile: Path,
    hostname: str,
    *,
    user: str,
    credentials: Path | None,
    since: datetime,
    now: datetime,
) -> str:
    """`cctrack push` to the Pushgateway: PUT the textfile (the group holds no history, so
    `since` and `now` say nothing to it). Raises CctrackError when the push failed."""
    push(url, textfile_registry(textfile), hostname, user, credentials)
    return f"cctrack push: {textfile.name} -> {url} (job={JOB}, instance={hostname}, user={user})"
