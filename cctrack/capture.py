"""`cctrack capture`: run each status tool once, turn each answer (or failure) into a record,
append them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from cctrack import process, store
from cctrack.errors import EXIT_TEMPFAIL
from cctrack.records import Record, Status, parse_status_output
from cctrack.redact import redact
from cctrack.scan import ScanResult, scan_tokens
from cctrack.settings import DEFAULT_PROFILE, Profile, Settings
from cctrack.sources.builtin import run_builtin

# Forking runs a built-in source without a second interpreter; macOS frameworks that urllib
# may touch are not safe after fork, so there it runs as `python -m cctrack.sources`.
FORK_BUILTINS = sys.platform.startswith("linux")


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip()[:300] if lines else ""


def job_for(
    source: str, settings: Settings, environ: Mapping[str, str], profile: Profile | None = None
) -> process.Job:
    profile = profile or settings.profiles[0]
    label = f"{source}-status"
    env = settings.child_environment(environ, profile)
    command = profile.status_command(source)
    if command:
        return process.Job(label, env, settings.timeout, argv=command, retry_exit=EXIT_TEMPFAIL)
    params = settings.source_params(profile)
    if FORK_BUILTINS:
        return process.Job(
            label,
            env,
            settings.timeout,
            function=lambda: run_builtin(source, params),
            retry_exit=EXIT_TEMPFAIL,
        )
    argv = (sys.executable, "-m", "cctrack.sources", source)
    return process.Job(label, env, settings.timeout, argv=argv, retry_exit=EXIT_TEMPFAIL)


def interpret(source: str, result: process.Result, timeout: float) -> Status | str:
    """A status, or why there is none: one line, redacted, as the record's error."""
    label = f"{source}-status"
    if isinstance(result, process.TimedOut):
        return f"{label} timed out after {timeout:g} s"
    if isinstance(result, process.ProcessFailure):
        return redact(str(result))
    if result.returncode != 0:
        reason = redact(_last_line(result.stderr)) or "no reason given"
        return f"{label} failed (exit {result.returncode}): {reason}"
    try:
        return parse_status_output(result.stdout, source)
    except ValueError as exc:
        return redact(f"{label} printed no valid status: {exc}")


def capture(
    settings: Settings, clock: Callable[[], datetime], environ: Mapping[str, str]
) -> list[Record]:
    """Query every configured source of every profile at once and append one record each."""
    pairs = [(profile, source) for profile in settings.profiles for source in settings.sources]
    results = process.run_jobs(
        [job_for(source, settings, environ, profile) for profile, source in pairs]
    )
    records = []
    for (profile, source), result in zip(pairs, results, strict=True):
        outcome = interpret(source, result, settings.timeout)
        captured = clock()
        if isinstance(outcome, str):
            record = Record(0, captured, settings.hostname, source, ok=False, error=outcome)
        else:
            status = outcome.as_of(captured)
            record = Record(0, captured, settings.hostname, source, ok=True, status=status)
        records.append(replace(record, profile=profile.name))
    return store.append_records(Path(settings.data_dir), records)


def count_tokens(settings: Settings, clock: Callable[[], datetime]) -> list[ScanResult]:
    """Scan every profile's logs for tokens not counted yet and append what was found."""
    results = []
    for profile in settings.profiles:
        homes = {
            source: profile.claude_home if source == "claude" else profile.codex_home
            for source in settings.sources
        }
        results += scan_tokens(
            Path(settings.data_dir), profile.name, homes, settings.hostname, clock()
        )
    return results


def token_summary(results: Sequence[ScanResult]) -> str:
    """ "; tokens: claude 2.1 MB in 3 logs" for what a scan read, "" when it read nothing."""
    parts = []
    for result in results:
        if not result.bytes_read:
            continue
        name = (
            result.tool if result.profile == DEFAULT_PROFILE else f"{result.profile}/{result.tool}"
        )
        logs = "log" if result.files_read == 1 else "logs"
        parts.append(f"{name} {result.bytes_read / 1e6:.1f} MB in {result.files_read} {logs}")
    return f"; tokens read: {', '.join(parts)}" if parts else ""


def summary(records: Sequence[Record], data_dir: Path) -> str:
    outcomes = ", ".join(
        f"{r.source_tool if r.profile == DEFAULT_PROFILE else f'{r.profile}/{r.source_tool}'} "
        f"{'ok' if r.ok else 'FAILED: ' + (r.error or '')}"
        for r in records
    )
    seqs = f"seq {records[0].seq_no}-{records[-1].seq_no}" if records else "nothing"
    return f"cctrack capture: {outcomes} ({seqs} in {data_dir})"
