"""OTLP/HTTP, for teams whose metrics go to an OpenTelemetry Collector, Datadog, Honeycomb
or Grafana Cloud: `cctrack push` sends the textfile's families through the OpenTelemetry
SDK's exporter (imported only when the sink is on), counters as cumulative monotonic sums
(Mimir refuses delta) that start when this data directory first sent to the endpoint, the
rest as gauges. Names stay cctrack's; the resource says service.name=cctrack and the host.
The SDK makes the protobuf; the sinks' one transport sends it (the same deadline, bounded
answer and retries as every sink).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import __version__
from cctrack.errors import CctrackError, needs_extra
from cctrack.sinks import Outgoing, Target, read_private, textfile_families

# cctrack's Claude counters under the names of Claude Code's own OpenTelemetry export, with
# its spelling of the token types; deploy/prometheus/otel-names.yml records the same for
# Prometheus. The GenAI conventions' gen_ai.client.token.usage is a histogram per request,
# which counters cannot honestly become: it is left to the recording rules' sum.
CLAUDE_CODE_NAMES = {
    "cctrack_claude_tokens": ("claude_code.token.usage", "tokens"),
    "cctrack_claude_cost_usd": ("claude_code.cost.usage", "USD"),
}
CLAUDE_CODE_TYPES = {"cache_read": "cacheRead", "cache_creation": "cacheCreation"}


def read_headers(path: Path) -> dict[str, str]:
    """`Name: value` lines (an API key header) from a private file."""
    headers = {}
    for line in read_private(path, "otlp_headers_file").splitlines():
        name, sep, value = line.partition(":")
        if not line.strip():
            continue
        if not sep or not name.strip() or not value.strip():
            raise CctrackError(f"otlp_headers_file {path} must hold lines such as `Name: value`")
        headers[name.strip()] = value.strip()
    return headers


def metrics_data(textfile: Path, hostname: str, since: datetime, now: datetime) -> Any:
    """The textfile's families as the SDK's MetricsData."""
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Gauge,
        Metric,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    start, at = int(since.timestamp() * 1e9), int(now.timestamp() * 1e9)

    def points(family: Any, claude_code: bool = False) -> Iterator[Any]:
        for sample in family.samples:
            attributes = {k: v for k, v in sample.labels.items() if v}
            if claude_code:
                kind = attributes.get("type", "")
                attributes["source"] = "cctrack"
                if kind:
                    attributes["type"] = CLAUDE_CODE_TYPES.get(kind, kind)
            yield NumberDataPoint(attributes, start, at, float(sample.value))

    def cumulative(family: Any, claude_code: bool = False) -> Any:
        return Sum(list(points(family, claude_code)), AggregationTemporality.CUMULATIVE, True)

    metrics = []
    for family in textfile_families(textfile):
        if not family.samples:
            continue
        if family.type == "counter":
            metrics.append(Metric(family.name, family.documentation, "", cumulative(family)))
        else:
            # An info family's samples are named `…_info`, as a scrape shows them.
            data = Gauge(list(points(family)))
            metrics.append(Metric(family.samples[0].name, family.documentation, "", data))
        if family.name in CLAUDE_CODE_NAMES:
            # Also under Claude Code's own names, which dashboards query (docs/metrics.md).
            name, unit = CLAUDE_CODE_NAMES[family.name]
            data = cumulative(family, claude_code=True)
            metrics.append(Metric(name, f"{family.documentation} (counted by cctrack)", unit, data))
    resource = Resource.create({"service.name": "cctrack", "host.name": hostname})
    scope = InstrumentationScope("cctrack", __version__)
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, metrics, "")], "")])


def request(target: Target) -> Outgoing:
    try:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    except ImportError:
        raise needs_extra("otlp_endpoint", "otlp") from None
    data = metrics_data(target.textfile, target.hostname, target.since, target.now)
    body = encode_metrics(data).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    if target.credentials is not None:
        headers.update(read_headers(target.credentials))
    sent = sum(len(scope.metrics) for r in data.resource_metrics for scope in r.scope_metrics)
    said = f"{sent} metrics of {target.textfile.name}"
    return Outgoing("POST", target.url, body, headers, said, "OTLP")
