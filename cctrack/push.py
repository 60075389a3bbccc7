"""The push path, for machines Prometheus cannot scrape: after the textfile is written, the
same metrics go to a Prometheus Pushgateway with prometheus_client, replacing the group
`job="cctrack", instance=<hostname>, user=<user>` (PUT), so series that vanished here
vanish there too.

A push failure never touches the textfile: analyze counts it, says it in its log line and
exports when the last push succeeded.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cctrack.errors import CctrackError
from cctrack.exposition import Family

PUSH_TIMEOUT = 10.0
JOB = "cctrack"


def read_basic_auth(path: Path) -> tuple[str, str]:
    """`user:password` from a file only its owner can read: never from a flag or the
    environment, where other users and logs can see it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise CctrackError(f"cannot read pushgateway_auth_file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            raise CctrackError(
                f"pushgateway_auth_file {path} must belong to you and be readable by you "
                f"alone (chmod 600 {path})"
            )
        text = handle.read(4096).decode("utf-8", "replace").strip()
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise CctrackError(f"pushgateway_auth_file {path} must hold one line user:password")
    return user, password


def check_url(url: str, with_auth: bool) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CctrackError(f"pushgateway_url {url!r} must be an http:// or https:// URL")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if with_auth and parts.scheme == "http" and not loopback:
        raise CctrackError(
            "pushgateway_url must be https:// when pushgateway_auth_file is set: "
            "basic auth over plain http shows the password to the network"
        )


def registry_of(families: Iterable[Family]) -> Any:
    """The families as a prometheus_client registry, for its push and exposition code."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

    metrics = []
    for family in families:
        metric = Metric(family.name, family.help, family.kind)
        for sample in family.samples:
            metric.add_sample(sample.name, dict(sample.labels), sample.value)
        metrics.append(metric)

    class Families(Collector):
        def collect(self) -> Iterable[Metric]:
            return metrics

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families())
    return registry


def push(
    url: str, families: Iterable[Family], hostname: str, user: str, auth_file: Path | None
) -> None:
    """PUT the families to the Pushgateway's group for this machine and user."""
    from prometheus_client.exposition import basic_auth_handler, default_handler, push_to_gateway

    check_url(url, auth_file is not None)
    registry = registry_of(families)
    handler: Callable[..., Any] = default_handler
    if auth_file is not None:
        username, password = read_basic_auth(auth_file)

        def handler(url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
            return basic_auth_handler(url, method, timeout, headers, data, username, password)

    try:
        push_to_gateway(
            url,
            job=JOB,
            registry=registry,
            grouping_key={"instance": hostname, "user": user},
            timeout=PUSH_TIMEOUT,
            handler=handler,
        )
    except OSError as exc:  # URLError and HTTPError are OSErrors
        reason = getattr(exc, "reason", None) or exc
        raise CctrackError(f"push to {url} failed: {reason}") from None
