"""Prometheus remote write, for teams whose Prometheus-compatible store takes writes but
cannot scrape or reach a Pushgateway (Grafana Cloud, Mimir, Thanos Receive,
VictoriaMetrics): `cctrack push` sends the textfile's samples, stamped with the time of the
push and labelled `job="cctrack", instance=<hostname>` as the Pushgateway's group would be.

Remote write 1.0: a protobuf WriteRequest, snappy-compressed (cramjam, imported only when
the sink is on). The four messages are encoded here: protobuf would add a package and its
descriptor set for what is thirty lines; the real Prometheus receiver decodes them in the
tests.
"""

from __future__ import annotations

import struct
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import __version__
from cctrack.errors import needs_extra
from cctrack.push import (
    JOB,
    PUSH_TIMEOUT,
    read_basic_auth,
    send_with_retries,
    textfile_samples,
)

# Labels: (name, value) pairs, __name__ included.
Series = tuple[tuple[str, str], ...]


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings and embedded messages."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode(series: list[tuple[Series, float]], timestamp_ms: int) -> bytes:
    """prometheus.WriteRequest{timeseries: [TimeSeries{labels, samples: [Sample]}]}, one
    sample per series (prompb/types.proto, remote.proto)."""
    request = bytearray()
    for labels, value in series:
        message = bytearray()
        for name, text in sorted(labels):
            label = _bytes_field(1, name.encode()) + _bytes_field(2, text.encode())
            message += _bytes_field(1, label)
        # Sample: value a double (field 1, 64-bit), timestamp an int64 (field 2, varint).
        sample = (
            bytes([1 << 3 | 1]) + struct.pack("<d", value) + _varint(2 << 3) + _varint(timestamp_ms)
        )
        message += _bytes_field(2, sample)
        request += _bytes_field(1, bytes(message))
    return bytes(request)


def series_of(textfile: Path, hostname: str) -> Iterator[tuple[Series, float]]:
    """Each sample as a series, labelled as a scrape of the Pushgateway's group would be.
    An empty label is left out, as a scrape leaves it out (the spec allows no empty value)."""
    for name, labels, value in textfile_samples(textfile):
        named = {**labels, "job": JOB, "instance": hostname}
        yield (("__name__", name), *sorted((k, v) for k, v in named.items() if v)), value


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def compress(data: bytes) -> bytes:
    try:
        import cramjam
    except ImportError:
        raise needs_extra("remote_write_url", "remote-write") from None
    return bytes(cramjam.snappy.compress_raw(data))


def remote_write(
    url: str, textfile: Path, hostname: str, auth_file: Path | None, now: datetime
) -> int:
    """POST the textfile's samples to the receiver; how many series. Raises CctrackError."""
    from cctrack.push import check_url

    check_url(url, auth_file is not None, "remote_write_url")
    series = list(series_of(textfile, hostname))
    body = compress(encode(series, int(now.timestamp() * 1000)))
    headers = {
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
        "User-Agent": f"cctrack/{__version__}",
    }
    if auth_file is not None:
        import base64

        user, password = read_basic_auth(auth_file, "remote_write_auth_file")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"

    # A redirect is refused, not followed: it would carry the Authorization header along.
    opener = urllib.request.build_opener(NoRedirects)

    def once() -> None:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with opener.open(request, timeout=PUSH_TIMEOUT) as answer:
            answer.read()

    send_with_retries(once, url, "remote write")
    return len(series)


def remote_write_textfile(
    url: str,
    textfile: Path,
    hostname: str,
    *,
    credentials: Path | None,
    since: datetime,
    now: datetime,
) -> str:
    """`cctrack push` to a remote write endpoint: every sample, stamped `now`."""
    sent = remote_write(url, textfile, hostname, credentials, now)
    return f"cctrack push: {sent} series of {textfile.name} -> {url} (remote write)"
