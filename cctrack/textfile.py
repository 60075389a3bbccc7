"""The node_exporter textfile: a Report rendered by prometheus_client, replaced atomically."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from cctrack.errors import CctrackError
from cctrack.files import write_atomic
from cctrack.report import Report, ToolReport

TEXTFILE_NAME = "cctrack.prom"


def tool_metrics(tool: ToolReport) -> Iterator[Metric]:
    prefix = f"cctrack_{tool.tool}"
    usage = GaugeMetricFamily(
        f"{prefix}_usage_ratio",
        f"Share of the {tool.tool} window's limit used, 0..1.",
        labels=["window"],
    )
    pace = GaugeMetricFamily(
        f"{prefix}_pace_ratio",
        "Used share over elapsed share of the window; above 1 the limit runs out before the reset.",
        labels=["window"],
    )
    resets = GaugeMetricFamily(
        f"{prefix}_reset_timestamp_seconds",
        "When the window resets, Unix seconds.",
        labels=["window"],
    )
    length = GaugeMetricFamily(
        f"{prefix}_window_seconds", "Length of the window in seconds.", labels=["window"]
    )
    for window in tool.windows:
        usage.add_metric([window.name], window.used_ratio)
        if window.pace_ratio is not None:
            pace.add_metric([window.name], window.pace_ratio)
        if window.resets_at is not None:
            resets.add_metric([window.name], window.resets_at.timestamp())
        if window.window_seconds is not None:
            length.add_metric([window.name], window.window_seconds)
    yield from (usage, pace, resets, length)
    yield GaugeMetricFamily(
        f"{prefix}_up",
        f"1 if the latest capture of {tool.tool} succeeded, else 0.",
        value=int(tool.up),
    )
    captures = CounterMetricFamily(
        f"{prefix}_captures", f"Records of {tool.tool} analysed, by outcome.", labels=["result"]
    )
    captures.add_metric(["ok"], tool.ok_count)
    captures.add_metric(["error"], tool.error_count)
    yield captures
    for name, moment, help_text in (
        (
            "last_success_timestamp_seconds",
            tool.last_success,
            "Time of the latest successful capture.",
        ),
        (
            "last_capture_timestamp_seconds",
            tool.last_capture,
            "Time of the latest capture, successful or not.",
        ),
        (
            "observed_timestamp_seconds",
            tool.observed_at,
            "When the numbers of the latest successful capture were true.",
        ),
    ):
        if moment is not None:
            yield GaugeMetricFamily(f"{prefix}_{name}", help_text, value=moment.timestamp())
    if tool.origin is not None:
        info = InfoMetricFamily(
            f"{prefix}_source", "Where the latest numbers came from, and the plan."
        )
        info.add_metric([], {"origin": tool.origin, "plan": tool.plan or ""})
        yield info


class ReportCollector(Collector):
    def __init__(self, report: Report) -> None:
        self.report = report

    def collect(self) -> Iterable[Metric]:
        for tool in self.report.tools:
            yield from tool_metrics(tool)
        skipped = CounterMetricFamily(
            "cctrack_analyze_skipped_lines",
            "Lines in the day files that are not records: torn (not whole JSON, as a crash "
            "mid-write leaves) or invalid.",
            labels=["reason"],
        )
        skipped.add_metric(["invalid"], self.report.invalid_lines)
        skipped.add_metric(["torn"], self.report.torn_fragments)
        yield skipped
        yield GaugeMetricFamily(
            "cctrack_analyze_unreadable_files",
            "Entries named like day files that analyze could not read (a directory, no "
            "permission) and skipped on its latest run.",
            value=len(self.report.unreadable_files),
        )
        yield GaugeMetricFamily(
            "cctrack_analyze_last_success_timestamp_seconds",
            "When analyze last wrote this file.",
            value=self.report.generated_at.timestamp(),
        )


def render(report: Report) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportCollector(report))
    return generate_latest(registry)


def write(directory: Path, report: Report) -> Path:
    """Replace cctrack.prom in one rename; mode 0644 so node_exporter's user can read it."""
    path = directory / TEXTFILE_NAME
    try:
        write_atomic(path, render(report), mode=0o644)
    except OSError as exc:
        raise CctrackError(
            f"cannot write {path}: {exc.strerror}; the previous file is left as it was"
        ) from None
    return path
