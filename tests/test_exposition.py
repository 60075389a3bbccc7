"""cctrack's exposition writer against prometheus_client's, byte for byte."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest

from cctrack.exposition import Family, go_float, render
from cctrack.records import Record, Status, Window
from cctrack.report import build_report
from cctrack.state import State
from cctrack.textfile import families

NOW = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone.utc)


def registry_of(families: Iterable[Family]) -> Any:
    """The families as a prometheus_client registry: the oracle exposition.py is held to."""
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


def official(fams: list[Family]) -> bytes:
    """The same families through prometheus_client's own generate_latest."""
    return generate_latest(registry_of(fams))


def test_a_full_textfile_is_what_prometheus_client_writes() -> None:
    state = State()
    lines = []
    for seq, tool, ok in ((1, "claude", True), (2, "codex", True), (3, "codex", False)):
        windows = (
            Window("five_hour", 0.425, 18000, NOW + timedelta(hours=1, microseconds=600974)),
            Window("weekly", 1.0, None, None),
        )
        status = Status(tool, NOW, "rollout", windows, "plus") if ok else None
        record = Record(seq, NOW, "h", tool, ok=ok, status=status, error=None if ok else "down")
        lines.append(record.to_line().rstrip(b"\n"))
    state.add_lines([*lines, b"torn", b'{"not":"a record"}'])
    fams = list(families(build_report(state, NOW, unreadable_files=("usage-20200101.jsonl",))))
    assert render(fams) == official(fams)


label_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(
    st.lists(
        st.tuples(label_text, st.floats(allow_nan=False) | st.integers(-(10**15), 10**15)),
        max_size=4,
    ),
    label_text,
    st.sampled_from(["gauge", "counter", "info"]),
)
def test_escaping_and_numbers_match_for_any_values(pairs: list, help_text: str, kind: str) -> None:
    family = Family("cctrack_test", kind, help_text or "help")
    for index, (value, number) in enumerate(pairs):
        family.add(number, window=value, n=str(index))
    assert render([family]) == official([family])


def test_go_float_special_values() -> None:
    assert [go_float(v) for v in (math.inf, -math.inf, 1e22, 5, 0.5)] == [
        "+Inf",
        "-Inf",
        "1e+22",
        "5.0",
        "0.5",
    ]
    assert go_float(math.nan) == "NaN"
