"""OTLP/HTTP, for teams whose metrics go to an OpenTelemetry Collector, Datadog, Honeycomb
or Grafana Cloud: `cctrack push` sends the textfile's families through the OpenTelemetry
SDK's exporter (imported only when the sink is on), counters as cumulative monotonic sums
(Mimir refuses delta) that start when this data directory first sent to the endpoint, the
rest as gauges. Names stay cctrack's; the resource says service.name=cctrack and the host.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cctrack import __version__
from cctrack.errors import CctrackError, needs_extra
from cctrack.push import (
    PUSH_DEADLINE,
    check_url,
    read_private,
    textfile_families,
)

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


class Reasons(logging.Handler):
    """The exporter says why an export failed only in its log; kept for the one line."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.said: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.said.append(record.getMessage())


def export(
    url: str,
    textfile: Path,
    hostname: str,
    headers_file: Path | None,
    since: datetime,
    now: datetime,
) -> int:
    """POST the textfile's metrics to the OTLP/HTTP endpoint; how many metrics."""
    check_url(url, headers_file is not None, "otlp_endpoint")
    try:
        import requests
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import MetricExportResult
    except ImportError:
        raise needs_extra("otlp_endpoint", "otlp") from None
    data = metrics_data(textfile, hostname, since, now)
    session = requests.Session()
    # A redirect is refused, not followed: it would carry the headers (an API key) along.
    session.max_redirects = 0
    exporter = OTLPMetricExporter(
        endpoint=url,
        headers=read_headers(headers_file) if headers_file else None,
        timeout=PUSH_DEADLINE,
        session=session,
    )
    reasons = Reasons()
    log = logging.getLogger("opentelemetry.exporter.otlp.proto.http")
    # Its lines are the reason said in cctrack's one line, not printed beside it.
    log.addHandler(reasons)
    log.propagate, propagated = False, log.propagate
    try:
        result = exporter.export(data, timeout_millis=PUSH_DEADLINE * 1000)
    except requests.RequestException as exc:
        raise CctrackError(f"OTLP export to {url} failed: {exc}") from None
    finally:
        log.removeHandler(reasons)
        log.propagate = propagated
        exporter.shutdown()
    if result != MetricExportResult.SUCCESS:
        why = reasons.said[-1] if reasons.said else "the endpoint refused it"
        raise CctrackError(f"OTLP export to {url} failed: {why}")
    return sum(len(scope.metrics) for r in data.resource_metrics for scope in r.scope_metrics)


def otlp_textfile(
    url: str,
    textfile: Path,
    hostname: str,
    *,
    credentials: Path | None,
    since: datetime,
    now: datetime,
) -> str:
    """`cctrack push` to an OTLP/HTTP endpoint: cumulative sums start at `since`."""
    sent = export(url, textfile, hostname, credentials, since, now)
    return f"cctrack push: {sent} metrics of {textfile.name} -> {url} (OTLP)"
