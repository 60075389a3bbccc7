"""The node_exporter textfile: a Report as metric families, replaced atomically."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from cctrack.errors import CctrackError
from cctrack.exposition import Family, counter_values, keep_rising, render
from cctrack.files import CLOEXEC, NOFOLLOW, read_blocks, write_atomic
from cctrack.report import Report, ToolReport
from cctrack.status import SOURCE_TOOLS

# Every agent beside Claude and Codex shares one set of families, told apart by `tool`.
AGENT_PREFIX = "agent"


def who(report: ToolReport, user: str) -> dict[str, str]:
    """The labels that say whose numbers these are, on every tool series; an agent's also
    say which agent, and whether its numbers are the vendor's own or an estimate."""
    labels = {"user": user, "profile": report.profile, "account": report.account or ""}
    if report.tool not in SOURCE_TOOLS:
        labels.update(tool=report.tool, confidence=report.confidence)
    return labels


def tool_families(tool: str, reports: list[ToolReport], user: str) -> Iterator[Family]:
    """The families of one tool; each of its profiles adds its samples, labelled with the
    unix user, the profile and the account ("" when unknown: every sample of a family has
    the same label names, as node_exporter requires)."""
    prefix = f"cctrack_{tool}"
    usage = Family(
        f"{prefix}_usage_ratio", "gauge", f"Share of the {tool} window's limit used, 0..1."
    )
    pace = Family(
        f"{prefix}_pace_ratio",
        "gauge",
        "Used share over elapsed share of the window; above 1 the limit runs out before the reset.",
    )
    resets = Family(
        f"{prefix}_reset_timestamp_seconds", "gauge", "When the window resets, Unix seconds."
    )
    runs_out = Family(
        f"{prefix}_runs_out_timestamp_seconds",
        "gauge",
        "When the window's limit is used up at the current rate, Unix seconds; absent when "
        "it resets first.",
    )
    length = Family(f"{prefix}_window_seconds", "gauge", "Length of the window in seconds.")
    weekly_per_five_hour = Family(
        f"{prefix}_weekly_per_five_hour_ratio",
        "gauge",
        "Weekly points one 5-hour point cost in the last closed 5-hour window: 0.2 means a "
        "full 5-hour window uses a fifth of the week.",
    )
    up = Family(f"{prefix}_up", "gauge", f"1 if the latest capture of {tool} succeeded, else 0.")
    captures = Family(f"{prefix}_captures", "counter", f"Records of {tool} analysed, by outcome.")
    moments = {
        "last_success": Family(
            f"{prefix}_last_success_timestamp_seconds",
            "gauge",
            "Time of the latest successful capture.",
        ),
        "last_capture": Family(
            f"{prefix}_last_capture_timestamp_seconds",
            "gauge",
            "Time of the latest capture, successful or not.",
        ),
        "observed_at": Family(
            f"{prefix}_observed_timestamp_seconds",
            "gauge",
            "When the numbers of the latest successful capture were true.",
        ),
    }
    info = Family(f"{prefix}_source", "info", "Where the latest numbers came from, and the plan.")
    bucket_usage = Family(
        f"{prefix}_bucket_usage_ratio",
        "gauge",
        "Share used of a limit narrower than the plan (one model's), 0..1.",
    )
    bucket_resets = Family(
        f"{prefix}_bucket_reset_timestamp_seconds",
        "gauge",
        "When that narrower limit resets, Unix seconds.",
    )
    bucket_seen = Family(
        f"{prefix}_bucket_observed_timestamp_seconds",
        "gauge",
        "When that narrower limit's numbers were true (its own source's time), Unix seconds.",
    )
    for report in reports:
        labels = who(report, user)
        for window in report.windows:
            usage.add(window.used_ratio, window=window.name, **labels)
            if window.pace_ratio is not None:
                pace.add(window.pace_ratio, window=window.name, **labels)
            if window.resets_at is not None:
                resets.add(window.resets_at.timestamp(), window=window.name, **labels)
            if window.runs_out is not None:
                runs_out.add(window.runs_out.at.timestamp(), window=window.name, **labels)
            if window.window_seconds is not None:
                length.add(window.window_seconds, window=window.name, **labels)
        if report.weekly_per_five_hour is not None:
            weekly_per_five_hour.add(report.weekly_per_five_hour, **labels)
        up.add(int(report.up), **labels)
        captures.add(report.ok_count, result="ok", **labels).add(
            report.error_count, result="error", **labels
        )
        for attribute, family in moments.items():
            moment = getattr(report, attribute)
            if moment is not None:
                family.add(moment.timestamp(), **labels)
        if report.origin is not None:
            info.add(1, origin=report.origin, plan=report.plan or "", **labels)
        for bucket in report.buckets:
            where = {"bucket": bucket.name, "window": bucket.window.name, **labels}
            bucket_usage.add(bucket.window.used_ratio, **where)
            if bucket.window.resets_at is not None:
                bucket_resets.add(bucket.window.resets_at.timestamp(), **where)
            seen = bucket.observed_at or report.observed_at
            if seen is not None:
                bucket_seen.add(seen.timestamp(), **where)
    yield from (usage, pace, resets, runs_out, length, weekly_per_five_hour, up, captures)
    yield from moments.values()
    if info.samples:
        yield info
    yield from (bucket_usage, bucket_resets, bucket_seen)
    yield from spend_families(prefix, reports, user)
    yield from extras_families(prefix, reports, user)
    yield from evidence_families(prefix, reports, user)
    yield from token_families(prefix, reports, user)


def spend_families(prefix: str, reports: list[ToolReport], user: str) -> Iterator[Family]:
    """Limits on spend (Codex spend controls, Claude Code's gateway spend_limit), beside the
    usage windows: a share that may pass 1, its reset, and the amounts in their unit."""
    usage = Family(
        f"{prefix}_spend_usage_ratio",
        "gauge",
        "Share of a spend limit used (a Codex spend control's kind, with its group's name for "
        "a group limit, or the gateway's spend); may pass 1.",
    )
    resets = Family(
        f"{prefix}_spend_reset_timestamp_seconds", "gauge", "When that spend limit resets."
    )
    used = Family(
        f"{prefix}_spend_used",
        "gauge",
        "Spent against that limit, in its unit (credits, or a currency's own unit).",
    )
    limit = Family(
        f"{prefix}_spend_limit", "gauge", "The spend limit itself, in its unit (credits, or money)."
    )
    binding = Family(
        f"{prefix}_spend_binding",
        "gauge",
        "1 for the spend limit that binds (Codex's reachedLimitType), 0 for the others.",
    )
    for report in reports:
        for spend in report.spend:
            where = {"limit": spend.name, "group": spend.group or "", **who(report, user)}
            usage.add(spend.used_ratio, **where)
            if spend.binding is not None:
                binding.add(1.0 if spend.binding else 0.0, **where)
            if spend.resets_at is not None:
                resets.add(spend.resets_at.timestamp(), **where)
            amounts = {"unit": spend.unit or "", **where}
            if spend.used is not None:
                used.add(spend.used, **amounts)
            if spend.limit is not None:
                limit.add(spend.limit, **amounts)
    for family in (usage, resets, used, limit, binding):
        if family.samples:
            yield family


def token_families(prefix: str, reports: list[ToolReport], user: str) -> Iterator[Family]:
    totals = Family(
        f"{prefix}_tokens",
        "counter",
        "Tokens in this host's logs, each message once, by model and type (docs/tokens.md).",
    )
    cost = Family(
        f"{prefix}_cost_usd",
        "counter",
        "What those tokens would cost at API prices, USD, for models with a known price.",
    )
    window_tokens = Family(
        f"{prefix}_window_tokens",
        "gauge",
        "Tokens in this host's logs since the current window began.",
    )
    per_percent = Family(
        f"{prefix}_tokens_per_percent",
        "gauge",
        "Window tokens over percent of the window used, once 5 % is used; a falling line "
        "with all use captured is a shrinking limit.",
    )
    for report in reports:
        if report.tokens is None:
            continue
        labels = who(report, user)
        if report.tokens.by_project:
            for model, kind, project, count in report.tokens.by_project:
                totals.add(count, model=model, type=kind, project=project, **labels)
        else:
            for model, kind, count in report.tokens.totals:
                totals.add(count, model=model, type=kind, **labels)
        for model, usd in report.tokens.costs:
            cost.add(usd, model=model, **labels)
        for measured in report.tokens.windows:
            window_tokens.add(measured.tokens, window=measured.window, **labels)
            if measured.per_percent is not None:
                per_percent.add(measured.per_percent, window=measured.window, **labels)
    yield from (totals, cost, window_tokens, per_percent)


# Evidence counters (evidence.py): metric name and help per kind of event.
EVIDENCE = {
    "reset": ("window_resets", "Resets seen: the window rolled over and quota is back."),
    "reset_move": (
        "reset_moves",
        "Reset times that moved by more than the threshold without a reset.",
    ),
    "drop": ("usage_drops", "Usage that fell without a reset."),
    "jump": (
        "usage_jumps",
        "Usage that rose by the jump threshold or more between close snapshots.",
    ),
    "idle_rise": (
        "idle_usage_rises",
        "Usage that rose while the tool showed no activity on this host.",
    ),
}


def evidence_families(prefix: str, reports: list[ToolReport], user: str) -> Iterator[Family]:
    counters = {
        kind: Family(f"{prefix}_{name}", "counter", text) for kind, (name, text) in EVIDENCE.items()
    }
    moved = Family(
        f"{prefix}_last_reset_move_seconds",
        "gauge",
        "How far the latest moved reset time moved, seconds; negative is earlier.",
    )
    for report in reports:
        for window, bucket, counts in report.evidence:
            where = {"window": window, "bucket": bucket, **who(report, user)}
            for kind, family in counters.items():
                family.add(counts.by_kind[kind], **where)
            if counts.last_move_seconds is not None:
                moved.add(counts.last_move_seconds, **where)
    yield from counters.values()
    if moved.samples:
        yield moved


# Extras reported by one vendor or the other: (field, also its metric name; help; whether
# the value is an amount of money and carries its currency as a label).
EXTRAS = (
    ("extra_usage_enabled", "1 if paid extra usage beyond the plan is on, else 0.", False),
    ("extra_usage_used_ratio", "Share of the monthly extra-usage limit spent, 0..1.", False),
    (
        "extra_usage_monthly_limit",
        "Monthly extra-usage limit, in units of its currency (dollars, not cents).",
        True,
    ),
    (
        "extra_usage_spent",
        "Extra usage spent this month, in units of its currency (dollars, not cents).",
        True,
    ),
    ("credits_balance", "Credits left on the account.", False),
    ("credits_unlimited", "1 if the account's credits are unlimited, else 0.", False),
    ("reset_credits_available", "Banked full resets of the limits, not yet used.", False),
)


def extras_families(prefix: str, reports: list[ToolReport], user: str) -> Iterator[Family]:
    """Gauges of what the vendor reports besides limits; a family only where a value is."""
    for field, help_text, money in EXTRAS:
        family = Family(f"{prefix}_{field}", "gauge", help_text)
        for report in reports:
            value = getattr(report.extras, field, None) if report.extras else None
            if value is None:
                continue
            labels = who(report, user)
            if money:
                labels["currency"] = (report.extras.currency if report.extras else None) or ""
            family.add(float(value), **labels)
        if family.samples:
            yield family
    seen = Family(
        f"{prefix}_extras_observed_timestamp_seconds",
        "gauge",
        "When those (extra usage, credits) were true (their own source's time), Unix seconds.",
    )
    for report in reports:
        moment = (report.extras.observed_at or report.observed_at) if report.extras else None
        if moment is not None:
            seen.add(moment.timestamp(), **who(report, user))
    if seen.samples:
        yield seen
    reached = Family(
        f"{prefix}_limit_reached", "info", "1 while the vendor says a limit is reached, and why."
    )
    for report in reports:
        reason = report.extras.limit_reached if report.extras else None
        if reason:
            reached.add(1, reason=reason, **who(report, user))
    if reached.samples:
        yield reached


def families(report: Report) -> Iterator[Family]:
    by_tool: dict[str, list[ToolReport]] = {}
    for tool_report in report.tools:
        by_tool.setdefault(tool_report.tool, []).append(tool_report)
    agents = [r for r in report.tools if r.tool not in SOURCE_TOOLS]
    for name, reports in by_tool.items():
        if name in SOURCE_TOOLS:
            yield from tool_families(name, reports, report.user)
    if agents:
        yield from tool_families(AGENT_PREFIX, agents, report.user)
    user = {"user": report.user}
    skipped = Family(
        "cctrack_analyze_skipped_lines",
        "counter",
        "Lines in the day files that are not records: torn (not whole JSON, as a crash "
        "mid-write leaves) or invalid.",
    )
    yield skipped.add(report.invalid_lines, reason="invalid", **user).add(
        report.torn_fragments, reason="torn", **user
    )
    yield Family(
        "cctrack_analyze_unreadable_files",
        "gauge",
        "Entries named like day files that analyze could not read (a directory, no "
        "permission) and skipped on its latest run.",
    ).add(len(report.unreadable_files), **user)
    yield Family(
        "cctrack_analyze_last_success_timestamp_seconds",
        "gauge",
        "When analyze last wrote this file.",
    ).add(report.generated_at.timestamp(), **user)
    for health in report.sinks:
        prefix, sink, status = health.metric, health.who, health.status
        if status.last_success is not None:
            yield Family(
                f"{prefix}_last_success_timestamp_seconds",
                "gauge",
                f"When the metrics last reached {sink}.",
            ).add(status.last_success.timestamp(), **user)
        yield Family(f"{prefix}_failures", "counter", f"Sends to {sink} that failed.").add(
            status.failures, **user
        )


# Far above any user's textfile (a few hundred series); a larger file is not one of ours.
MAX_TEXTFILE = 64 << 20


def exported_before(path: Path) -> dict[str, float]:
    """The counters of the textfile analyze wrote last (none when it is not there or not
    one of ours): what Prometheus has seen."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW | CLOEXEC)
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return {}
        data = b"".join(read_blocks(fd, 0, min(st.st_size, MAX_TEXTFILE)))
    except OSError:
        return {}
    finally:
        os.close(fd)
    return counter_values(data.decode("utf-8", "replace"))


def write(path: Path, report: Report, carried: dict[str, float]) -> Path:
    """Replace the textfile in one rename; mode 0644 so node_exporter's user can read it.
    No counter is written lower than the file it replaces says (carried, kept in the state)."""
    found = list(families(report))
    keep_rising(found, exported_before(path), carried)
    try:
        write_atomic(path, render(found), mode=0o644)
    except OSError as exc:
        raise CctrackError(
            f"cannot write {path}: {exc.strerror}; the previous file is left as it was"
        ) from None
    return path
