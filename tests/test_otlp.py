"""otlp.py: what `cctrack push` sends to an OTLP/HTTP endpoint, decoded with the official
OpenTelemetry protobuf definitions (opentelemetry-proto) on a real HTTP server on
127.0.0.1. No OTLP receiver (a Collector) installs on these machines, so the request is
checked here, field by field."""

from __future__ import annotations

import http.server
import json
import os
import pwd
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import Env, free_port, sample
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

USER = pwd.getpwuid(os.geteuid()).pw_name


@dataclass
class Collector:
    url: str
    requests: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def collector() -> Iterator[Collector]:
    found = Collector("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportMetricsServiceRequest()
            request.ParseFromString(body)
            found.requests.append((dict(self.headers), request))
            status, headers = found.answers.pop(0) if found.answers else (200, {})
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_port}/v1/metrics"
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield found
    server.shutdown()
    server.server_close()


def by_name(request: Any) -> dict[str, Any]:
    (resource,) = request.resource_metrics
    (scope,) = resource.scope_metrics
    return {metric.name: metric for metric in scope.metrics}


def attributes(point: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in point.attributes}


def test_counters_go_as_cumulative_sums_from_one_start_and_gauges_as_gauges(
    env: Env, collector: Collector
) -> None:
    env.use_fixed_tools()
    env.write_token_logs()
    for _ in range(2):
        done = env.run("run", "--otlp-endpoint", collector.url)
        assert done.returncode == 0, done.stderr
        assert "(OTLP)" in done.stderr
    (headers, first), (_, second) = collector.requests
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/x-protobuf"
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
    # One start for every export of a series: a backend sees one cumulative series.
    starts = {
        p.start_time_unix_nano for p in by_name(first)["cctrack_claude_tokens"].sum.data_points
    }
    assert starts == {p.start_time_unix_nano for p in tokens.data_points} and len(starts) == 1
    assert all(p.time_unix_nano > p.start_time_unix_nano for p in tokens.data_points)


def test_a_failed_export_is_one_line_counted_and_headers_come_from_a_private_file(
    env: Env, collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cctrack import otlp

    # The exporter retries a refused connection until the deadline: 2 s here, not 30.
    monkeypatch.setattr(otlp, "PUSH_DEADLINE", 2.0)
    env.use_fixed_tools()
    collector.answers = [(400, {})]
    refused = env.run("run", "--otlp-endpoint", collector.url)
    assert refused.returncode == 1
    lines = [line for line in refused.stderr.splitlines() if line.startswith("cctrack push")]
    assert len(lines) == 1 and f"OTLP export to {collector.url} failed" in lines[0], lines
    assert env.run("analyze", "--otlp-endpoint", collector.url).returncode == 0
    assert sample(env.textfile.read_text(), "cctrack_otlp_failures_total", user=USER) == 1
    assert json.loads((env.data_dir / "otlp.json").read_text())["failures"] == 1
    headers = tmp_path / "headers"
    headers.write_text("x-honeycomb-team: s3cret-key\n")
    headers.chmod(0o644)
    config = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'otlp_headers_file = "{headers}"\n')
    loose = env.run("run", "--otlp-endpoint", collector.url)
    assert loose.returncode == 1 and "readable by you alone" in loose.stderr
    assert "s3cret-key" not in loose.stderr
    headers.chmod(0o600)
    assert env.run("run", "--otlp-endpoint", collector.url).returncode == 0
    sent = {k.lower(): v for k, v in collector.requests[-1][0].items()}
    assert sent["x-honeycomb-team"] == "s3cret-key"
    # A redirect is refused: the key never follows it elsewhere.
    collector.answers = [(307, {"Location": collector.url.replace("/v1/metrics", "/moved")})]
    before = len(collector.requests)
    moved = env.run("run", "--otlp-endpoint", collector.url)
    assert moved.returncode == 1 and len(collector.requests) == before + 1
    dead = f"http://127.0.0.1:{free_port()}/v1/metrics"
    down = env.run("run", "--otlp-endpoint", dead)
    assert down.returncode == 1 and "s3cret-key" not in down.stderr
