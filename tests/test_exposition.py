"""cctrack's exposition writer against prometheus_client's, byte for byte."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest

from cctrack.exposition import Family, go_float, render
from cctrack.records import Record
from cctrack.report import build_report
from cctrack.state import State
from cctrack.status import Status, Window
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


def test_values_help_and_label_values_are_written_as_client_python_writes_them() -> None:
    from prometheus_client import CollectorRegistry, Counter, generate_latest
    from prometheus_client.utils import floatToGoString

    for value in (0.0, -0.0, 0.5, 1.0, 123456.0, 1234567.0, 123456.789, 1e21, 1e22, -1234567.0):
        assert go_float(value) == floatToGoString(value), value
    assert go_float(float("inf")) == "+Inf" and go_float(float("-inf")) == "-Inf"
    registry = CollectorRegistry()
    theirs = Counter("odd", 'a \\ back\nslash "help"', ["who"], registry=registry)
    theirs.labels(who='a "quoted" \\ back\nslash').inc(2)
    ours = Family("odd", "counter", 'a \\ back\nslash "help"').add(
        2, who='a "quoted" \\ back\nslash'
    )
    expected = [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]
    assert render([ours]).decode().splitlines() == expected
    with pytest.raises(ValueError, match=r"^unknown metric kind histogram$"):
        Family("x", "histogram", "h")


def test_counters_are_read_back_with_or_without_labels_past_what_is_not_a_number() -> None:
    from cctrack.exposition import counter_values

    text = (
        "# HELP a_total A.\n# TYPE a_total counter\n"
        'a_total{x="1"} junk\na_total{x="2"} 3\nplain 4\n'
        "# HELP b_total B.\n# TYPE b_total counter\nb_total 5\n"
    )
    assert counter_values(text) == {'a_total{x="2"}': 3.0, "b_total": 5.0}


def test_a_counter_that_falls_twice_carries_both_falls() -> None:
    from cctrack.exposition import keep_rising

    carried: dict[str, float] = {}
    first = [Family("c", "counter", "h").add(7)]
    keep_rising(first, {"c_total": 10.0}, carried)
    assert carried == {"c_total": 3.0} and first[0].samples[0].value == 10.0
    second = [Family("c", "counter", "h").add(5)]
    keep_rising(second, {"c_total": 10.0}, carried)
    # 5 + 3 carried is 8, below the 10 exported: the carry grows by 2 more.
    assert carried == {"c_total": 5.0} and second[0].samples[0].value == 10.0
