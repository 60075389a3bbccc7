"""Prometheus text exposition (format 0.0.4), written the way prometheus_client's
`generate_latest` writes it, byte for byte (tests/test_exposition.py compares the two).

Why not prometheus_client itself: importing its package pulls in its HTTP server, WSGI and
urllib modules, about 140 ms on every analyze that cron starts every few minutes, three
times the whole interpreter's start-up (benchmarks/RESULTS.md). The model follows its
metric families: a counter named without `_total`, an info metric without `_info`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import field, replace

from cctrack.model import frozen, mutable

KINDS = ("gauge", "counter", "info")


@frozen
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


@mutable
class Family:
    """One metric family: name as prometheus_client names it, its kind, help and samples."""

    name: str
    kind: str
    help: str
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown metric kind {self.kind}")

    @property
    def exposed_name(self) -> str:
        return {"counter": f"{self.name}_total", "info": f"{self.name}_info"}.get(
            self.kind, self.name
        )

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append(Sample(self.exposed_name, tuple(sorted(labels.items())), value))
        return self


def go_float(value: float) -> str:
    """A float as Go prints it, as the Prometheus client libraries write sample values."""
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    # Go switches to exponents sooner than Python.
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _sample_line(sample: Sample) -> str:
    labels = ",".join(f'{key}="{_label_value(value)}"' for key, value in sample.labels)
    return f"{sample.name}{{{labels}}} " if labels else f"{sample.name} "


def render(families: Iterable[Family]) -> bytes:
    out = []
    for family in families:
        name = family.exposed_name
        kind = "gauge" if family.kind == "info" else family.kind
        help_text = family.help.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {name} {help_text}\n")
        out.append(f"# TYPE {name} {kind}\n")
        out.extend(f"{_sample_line(s)}{go_float(s.value)}\n" for s in family.samples)
    return "".join(out).encode("utf-8")


def counter_values(text: str) -> dict[str, float]:
    """The counter samples of an exposition render() wrote, by name and labels as written."""
    counters, found = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind == "counter":
                counters.add(name)
        elif line and not line.startswith("#"):
            ident, _, value = line.rpartition(" ")
            if ident.partition("{")[0] in counters:
                try:
                    found[ident] = float(value)
                except ValueError:
                    continue
    return found


def keep_rising(
    families: list[Family], previous: dict[str, float], carried: dict[str, float]
) -> None:
    """Every counter at least what was exported last: a total that comes out lower (records
    lost with no copy left, a day file cut short below the checkpoint, logs gone before a
    new scan store counted them again) carries the difference from then on, so that
    Prometheus never sees a fall, which it would read as a reset and a burst."""
    for family in families:
        if family.kind != "counter":
            continue
        for i, sample in enumerate(family.samples):
            key = _sample_line(sample)[:-1]
            value = sample.value + carried.get(key, 0.0)
            before = previous.get(key)
            if before is not None and value < before:
                carried[key] = carried.get(key, 0.0) + before - value
                value = before
            if value != sample.value:
                family.samples[i] = replace(sample, value=value)
