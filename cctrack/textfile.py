"""The node_exporter textfile: a Report as metric families, replaced atomically."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cctrack.errors import CctrackError
from cctrack.exposition import Family, render
from cctrack.files import write_atomic
from cctrack.report import Report, ToolReport

TEXTFILE_NAME = "cctrack.prom"


def tool_families(tool: ToolReport) -> Iterator[Family]:
    prefix = f"cctrack_{tool.tool}"
    usage = Family(
        f"{prefix}_usage_ratio", "gauge", f"Share of the {tool.tool} window's limit used, 0..1."
    )
    pace = Family(
        f"{prefix}_pace_ratio",
        "gauge",
        "Used share over elapsed share of the window; above 1 the limit runs out before the reset.",
    )
    resets = Family(
        f"{prefix}_reset_timestamp_seconds", "gauge", "When the window resets, Unix seconds."
    )
    length = Family(f"{prefix}_window_seconds", "gauge", "Length of the window in seconds.")
    for window in tool.windows:
        usage.add(window.used_ratio, window=window.name)
        if window.pace_ratio is not None:
            pace.add(window.pace_ratio, window=window.name)
        if window.resets_at is not None:
            resets.add(window.resets_at.timestamp(), window=window.name)
        if window.window_seconds is not None:
            length.add(window.window_seconds, window=window.name)
    yield from (usage, pace, resets, length)
    yield Family(
        f"{prefix}_up", "gauge", f"1 if the latest capture of {tool.tool} succeeded, else 0."
    ).add(int(tool.up))
    captures = Family(
        f"{prefix}_captures", "counter", f"Records of {tool.tool} analysed, by outcome."
    )
    yield captures.add(tool.ok_count, result="ok").add(tool.error_count, result="error")
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
            yield Family(f"{prefix}_{name}", "gauge", help_text).add(moment.timestamp())
    if tool.origin is not None:
        info = Family(
            f"{prefix}_source", "info", "Where the latest numbers came from, and the plan."
        )
        yield info.add(1, origin=tool.origin, plan=tool.plan or "")


def families(report: Report) -> Iterator[Family]:
    for tool in report.tools:
        yield from tool_families(tool)
    skipped = Family(
        "cctrack_analyze_skipped_lines",
        "counter",
        "Lines in the day files that are not records: torn (not whole JSON, as a crash "
        "mid-write leaves) or invalid.",
    )
    yield skipped.add(report.invalid_lines, reason="invalid").add(
        report.torn_fragments, reason="torn"
    )
    yield Family(
        "cctrack_analyze_unreadable_files",
        "gauge",
        "Entries named like day files that analyze could not read (a directory, no "
        "permission) and skipped on its latest run.",
    ).add(len(report.unreadable_files))
    yield Family(
        "cctrack_analyze_last_success_timestamp_seconds",
        "gauge",
        "When analyze last wrote this file.",
    ).add(report.generated_at.timestamp())


def write(directory: Path, report: Report) -> Path:
    """Replace cctrack.prom in one rename; mode 0644 so node_exporter's user can read it."""
    path = directory / TEXTFILE_NAME
    try:
        write_atomic(path, render(families(report)), mode=0o644)
    except OSError as exc:
        raise CctrackError(
            f"cannot write {path}: {exc.strerror}; the previous file is left as it was"
        ) from None
    return path
