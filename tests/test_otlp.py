"""otlp.py: what `cctrack push` sends to an OTLP/HTTP endpoint, decoded with the official
OpenTelemetry protobuf definitions (opentelemetry-proto) on a real HTTP server on
127.0.0.1. No OTLP receiver (a Collector) installs on these machines, so the request is
checked here, field by field."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path
from typing import Any

import pytest
from conftest import Env, Receiver, free_port, sample
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

USER = pwd.getpwuid(os.geteuid()).pw_name


def decoded(receiver: Receiver, index: int) -> Any:
    request = ExportMetricsServiceRequest()
    request.ParseFromString(receiver.requests[index][1])
    return request


def by_name(request: Any) -> dict[str, Any]:
    (resource,) = request.resource_metrics
    (scope,) = resource.scope_metrics
    return {metric.name: metric for metric in scope.metrics}


def attributes(point: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in point.attributes}


def test_counters_go_as_cumulative_sums_from_one_start_and_gauges_as_gauges(
    env: Env, receivers: list[Receiver]
) -> None:
    collector = receivers[0]
    env.use_fixed_tools()
    env.write_token_logs()
    for _ in range(2):
        done = env.run("run", "--otlp-endpoint", f"{collector.url}/v1/metrics")
        assert done.returncode == 0, done.stderr
        assert "(OTLP)" in done.stderr
    first, second = decoded(collector, 0), decoded(collector, 1)
    assert collector.headers(0)["content-type"] == "application/x-protobuf"
    (resource,) = second.resource_metrics
    assert {kv.key: kv.value.string_value for kv in resource.resource.attributes}.items() >= {
        ("service.name", "cctrack"),
        ("host.name", "testbox"),
    }
    metrics = by_name(second)
    usage = metrics["cctrack_codex_usage_ratio"]
    values = {attributes(p)["window"]: p.as_double for p in usage.gauge.data_points}
    assert values == {"five_hour": 0.42, "weekly": 0.13}
    tokens = metrics["cctrack_claude_tokens"].sum
    assert tokens.is_monotonic
    assert (
        tokens.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    )
    text = env.textfile.read_text()
    for point in tokens.data_points:
        labels = attributes(point)
        assert "account" not in labels  # empty labels are no attributes
        assert point.as_double == sample(
            text, "cctrack_claude_tokens_total", model=labels["model"], type=labels["type"]
        )
    # Also under Claude Code's own names, marked as cctrack's, with its type spellings.
    usage = metrics["claude_code.token.usage"]
    assert usage.unit == "tokens" and usage.sum.is_monotonic
    types = {attributes(p)["type"] for p in usage.sum.data_points}
    assert types == {"input", "output", "cacheRead", "cacheCreation"}
    assert {attributes(p)["source"] for p in usage.sum.data_points} == {"cctrack"}
    assert sum(p.as_double for p in usage.sum.data_points) == sum(
        p.as_double for p in tokens.data_points
    )
    assert metrics["claude_code.cost.usage"].unit == "USD"
    # One start for every export of a series: a backend sees one cumulative series.
    starts = {
        p.start_time_unix_nano for p in by_name(first)["cctrack_claude_tokens"].sum.data_points
    }
    assert starts == {p.start_time_unix_nano for p in tokens.data_points} and len(starts) == 1
    assert all(p.time_unix_nano > p.start_time_unix_nano for p in tokens.data_points)


def test_a_failed_export_is_one_line_counted_and_headers_come_from_a_private_file(
    env: Env, receivers: list[Receiver], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cctrack import sinks

    # A refused connection is tried again for a while: half a second here, not five.
    monkeypatch.setattr(sinks, "PUSH_RETRY_FOR", 0.5)
    env.use_fixed_tools()
    collector = receivers[0]
    endpoint = f"{collector.url}/v1/metrics"
    collector.answers = [(400, {})]
    refused = env.run("run", "--otlp-endpoint", endpoint)
    assert refused.returncode == 1
    lines = [line for line in refused.stderr.splitlines() if line.startswith("cctrack push")]
    assert len(lines) == 1 and f"OTLP export to {endpoint} failed" in lines[0], lines
    assert env.run("analyze", "--otlp-endpoint", endpoint).returncode == 0
    assert sample(env.textfile.read_text(), "cctrack_otlp_failures_total", user=USER) == 1
    assert json.loads((env.data_dir / "otlp.json").read_text())["failures"] == 1
    headers = tmp_path / "headers"
    headers.write_text("x-honeycomb-team: s3cret-key\n")
    headers.chmod(0o644)
    env.write_config(f'otlp_headers_file = "{headers}"\n')
    loose = env.run("run", "--otlp-endpoint", endpoint)
    assert loose.returncode == 1 and "readable by you alone" in loose.stderr
    assert "s3cret-key" not in loose.stderr
    headers.chmod(0o600)
    assert env.run("run", "--otlp-endpoint", endpoint).returncode == 0
    assert collector.headers()["x-honeycomb-team"] == "s3cret-key"
    # A redirect is refused: the key never follows it elsewhere.
    collector.answers = [(307, {"Location": f"{collector.url}/moved"})]
    before = len(collector.requests)
    moved = env.run("run", "--otlp-endpoint", endpoint)
    assert moved.returncode == 1 and len(collector.requests) == before + 1
    dead = f"http://127.0.0.1:{free_port()}/v1/metrics"
    down = env.run("run", "--otlp-endpoint", dead)
    assert down.returncode == 1 and "s3cret-key" not in down.stderr
