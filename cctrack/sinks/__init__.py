"""`cctrack push`: the sinks, for machines Prometheus cannot scrape. Each is one row of
SINKS and one module of this package that turns the textfile analyze wrote into one HTTP
request (`request(Target) -> Outgoing`): the Pushgateway (pushgateway.py), Prometheus
remote write (remote_write.py), OTLP/HTTP (otlp.py).

Everything else is the same for every sink, and said once here: credentials only from
files their owner alone can read, https when they go along (but to loopback), no
redirect ever followed, each read bounded in time and the answer in size, retries of
what may pass in seconds (a refused connection, a 5xx, a 429) within one total deadline,
and how the sends went in a status file per sink, exported by the next analyze.

It is a job of its own so that analyze never needs the network (its unit has none) and the
job locks never wait on it.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import stat
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import __version__
from cctrack.errors import CctrackError
from cctrack.files import read_json, write_atomic
from cctrack.model import frozen
from cctrack.net import DeadlineExceeded, is_loopback, within_deadline
from cctrack.sends import PushStatus
from cctrack.settings import AUTH_FILES
from cctrack.timefmt import format_time, parse_time

# Each socket read; and the whole send, retries included.
PUSH_TIMEOUT = 10.0
PUSH_DEADLINE = 30.0
# How long a refused connection or a 5xx is tried again (a receiver that restarts).
PUSH_RETRY_FOR = 5.0
# The most of a receiver's answer that is read: an acknowledgement is a few bytes, and a
# receiver that answers without end must not fill memory.
MAX_ANSWER = 64 << 10
JOB = "cctrack"


@frozen
class Sink:
    """One row of SINKS: what `cctrack push` calls the sink, its URL's setting (the private
    file its credentials come from is settings.AUTH_FILES'), the status file its sends are
    counted in, the module that makes its request, and the prefix and words of its health
    metrics."""

    name: str
    url_key: str
    status_file: str
    module: str
    metric: str
    who: str

    @property
    def auth_key(self) -> str:
        return AUTH_FILES[self.url_key]


SINKS = (
    Sink(
        "push",
        "pushgateway_url",
        "push.json",
        "pushgateway",
        "cctrack_push",
        "the Pushgateway",
    ),
    Sink(
        "remote write",
        "remote_write_url",
        "remote-write.json",
        "remote_write",
        "cctrack_remote_write",
        "the remote write endpoint",
    ),
    Sink(
        "OTLP export",
        "otlp_endpoint",
        "otlp.json",
        "otlp",
        "cctrack_otlp",
        "the OTLP endpoint",
    ),
)


@frozen
class Target:
    """What a sink is given: where to, the textfile, who and what this machine is, the
    credentials file, since when this data directory sends to it, and now."""

    url: str
    textfile: Path
    hostname: str
    user: str
    credentials: Path | None
    since: datetime
    now: datetime


@frozen
class Outgoing:
    """A sink's one request, and what its line says was sent (`89 series of …`, and a note)."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    sent: str
    note: str


def load_status(data_dir: Path, name: str) -> PushStatus:
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


def save_status(data_dir: Path, status: PushStatus, name: str) -> None:
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


def read_basic_auth(path: Path, key: str) -> tuple[str, str]:
    """`user:password` from a private file (read_private)."""
    user, sep, password = read_private(path, key).partition(":")
    if not sep or not user:
        raise CctrackError(f"{key} {path} must hold one line user:password")
    return user, password


def check_url(url: str, with_auth: bool, key: str, auth_key: str) -> None:
    """A sink's URL (the setting `key`, an http(s) URL: settings.sink_url) is https when
    credentials go with it, but to loopback."""
    parts = urllib.parse.urlsplit(url)
    if with_auth and parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise CctrackError(
            f"{key} must be https:// when {auth_key} is set: "
            "plain http shows the credentials to the network"
        )


def basic_auth(path: Path, key: str) -> dict[str, str]:
    """The Authorization header of `user:password` in a private file."""
    user, password = read_basic_auth(path, key)
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


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


def send(outgoing: Outgoing, what: str, named: str) -> None:
    """The request, as every sink sends it: each read within PUSH_TIMEOUT, at most
    MAX_ANSWER bytes of the answer read, retried while it may pass, all within
    PUSH_DEADLINE. Raises CctrackError saying what failed, naming the URL as configured."""
    # Imported by the push alone: analyze, which names the sinks, has no network (and
    # urllib.request with http.client, email and ssl is a tenth of a steady run's time).
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        """A redirect is refused, not followed: it would carry the credentials along."""

        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirects)
    headers = {"User-Agent": f"cctrack/{__version__}", **outgoing.headers}

    def once() -> None:
        request = urllib.request.Request(
            outgoing.url, data=outgoing.body, headers=headers, method=outgoing.method
        )
        with opener.open(request, timeout=PUSH_TIMEOUT) as answer:
            answer.read(MAX_ANSWER)

    send_with_retries(once, named, what)


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


def deliver(sink: Sink, target: Target) -> str:
    """The textfile to one sink; its line. Raises CctrackError when the send failed."""
    check_url(target.url, target.credentials is not None, sink.url_key, sink.auth_key)
    module = importlib.import_module(f"cctrack.sinks.{sink.module}")
    make: Callable[[Target], Outgoing] = module.request
    outgoing = make(target)
    send(outgoing, sink.name, target.url)
    return f"cctrack push: {outgoing.sent} -> {target.url} ({outgoing.note})"
