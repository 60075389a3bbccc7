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
from collections.abc import Iterator
from pathlib import Path

from cctrack.errors import needs_extra
from cctrack.sinks import JOB, Outgoing, Target, basic_auth, textfile_samples

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


def compress(data: bytes) -> bytes:
    try:
        import cramjam
    except ImportError:
        raise needs_extra("remote_write_url", "remote-write") from None
    return bytes(cramjam.snappy.compress_raw(data))


def request(target: Target) -> Outgoing:
    """The textfile's samples, stamped now, as one snappy-compressed WriteRequest."""
    series = list(series_of(target.textfile, target.hostname))
    body = compress(encode(series, int(target.now.timestamp() * 1000)))
    headers = {
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    if target.credentials is not None:
        headers.update(basic_auth(target.credentials, "remote_write_auth_file"))
    sent = f"{len(series)} series of {target.textfile.name}"
    return Outgoing("POST", target.url, body, headers, sent, "remote write")
