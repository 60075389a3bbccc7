"""`cctrack capture`: run each status tool once, turn each answer (or failure) into a record,
append them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from datetime import datetime
from pathlib import Path

from cctrack import process, store
from cctrack.errors import EXIT_TEMPFAIL, CctrackError
from cctrack.files import own_data_dir
from cctrack.model import frozen
from cctrack.records import Record
from cctrack.redact import clipped, redact
from cctrack.settings import Profile, Settings
from cctrack.sources.builtin import run_builtin
from cctrack.status import DEFAULT_PROFILE, SOURCE_TOOLS, Status, parse_status_output, qualified
from cctrack.tokens.rules import ScanResult

# Forking runs a built-in source without a second interpreter; macOS frameworks that urllib
# may touch are not safe after fork, so there it runs as `python -m cctrack.sources`.
FORK_BUILTINS = sys.platform.startswith("linux")
# A first token scan of years of logs takes minutes; later ones take milliseconds.
SCAN_TIMEOUT = 3600.0


# The longest error line kept from a tool: a bound for what a broken tool may print.
MAX_ERROR_LINE = 2000


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return clipped(lines[-1].strip(), MAX_ERROR_LINE) if lines else ""


def job_for(
    source: str, settings: Settings, environ: Mapping[str, str], profile: Profile | None = None
) -> process.Job:
    profile = profile or settings.profiles[0]
    label = f"{source}-status"
    env = settings.child_environment(environ, profile)
    command = settings.status_command(profile, source)
    if source not in SOURCE_TOOLS:
        # Which agent it runs for: one tool (codexbar-status) may serve several.
        env = {**env, "CCTRACK_AGENT": source}
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


@frozen
class Captured:
    records: list[Record]
    scans: list[ScanResult] = field(default_factory=list)
    # Why a profile's token scan failed: the limits are recorded all the same.
    scan_errors: list[str] = field(default_factory=list)


def scan_profile(settings: Settings, profile: Profile, now: datetime) -> list[ScanResult]:
    """The token scan of one profile's homes (scan.py, imported only here: SQLite is for
    the scan alone)."""
    from cctrack.tokens.scan import scan_tokens

    homes = {
        source: (profile.claude_home, *profile.claude_more_homes)
        if source == "claude"
        else (profile.codex_home,)
        for source in settings.sources
        if source in SOURCE_TOOLS
    }
    return scan_tokens(
        Path(settings.data_dir),
        profile.name,
        homes,
        settings.hostname,
        now,
        projects=settings.token_projects > 0,
    )


def scan_job(settings: Settings, profile: Profile, now: datetime) -> process.Job:
    """The token scan of one profile as a forked job, run beside the status tools: it only
    reads logs and writes the data directory, so capture waits for the slower of the two,
    not for both. Its timeout is long: a first scan of years of logs takes a while, and
    one stopped keeps what it committed."""

    def work() -> int:
        try:
            found = scan_profile(settings, profile, now)
        except CctrackError as exc:
            print(exc, file=sys.stderr)
            return exc.exit_code
        print(json.dumps([result.to_json() for result in found]))
        return 0

    label = "token scan" if profile.name == DEFAULT_PROFILE else f"{profile.name} token scan"
    return process.Job(label, {}, SCAN_TIMEOUT, function=work, attempts=1, retry_exit=None)


def scan_outcome(result: process.Result) -> list[ScanResult] | str:
    if isinstance(result, process.ProcessFailure):
        return redact(str(result))
    if result.returncode != 0:
        return redact(_last_line(result.stderr)) or f"exit {result.returncode}"
    return [ScanResult.from_json(obj) for obj in json.loads(result.stdout)]


def capture(
    settings: Settings, clock: Callable[[], datetime], environ: Mapping[str, str]
) -> Captured:
    """Query every configured source of every profile at once and append one record each;
    meanwhile, with token counters on, scan each profile's logs for new tokens."""
    own_data_dir(Path(settings.data_dir), settings.textfile_path)
    pairs = [(profile, source) for profile in settings.profiles for source in settings.sources]
    jobs = [job_for(source, settings, environ, profile) for profile, source in pairs]
    scans = []
    if settings.token_counters and FORK_BUILTINS:
        scans = [scan_job(settings, profile, clock()) for profile in settings.profiles]
    appended: list[Record] = []

    def record(results: list[process.Result]) -> None:
        """Append the status records as soon as the status tools are done: a long token scan
        beside them never holds them back, and a stop keeps what was finished."""
        records = []
        for (profile, source), result in zip(pairs, results, strict=True):
            outcome = interpret(source, result, settings.timeout)
            captured = clock()
            if isinstance(outcome, str):
                new = Record(0, captured, settings.hostname, source, ok=False, error=outcome)
            else:
                status = outcome.as_of(captured)
                new = Record(0, captured, settings.hostname, source, ok=True, status=status)
            records.append(replace(new, profile=profile.name))
        appended.extend(store.append_records(Path(settings.data_dir), records))

    try:
        results = process.run_jobs([*jobs, *scans], len(jobs), record)
    except process.JobsInterrupted as stop:
        if not appended:
            record(stop.results[: len(jobs)])
        raise
    done = Captured(appended)
    for result in results[len(jobs) :]:
        found = scan_outcome(result)
        if isinstance(found, str):
            done.scan_errors.append(found)
        else:
            done.scans.extend(found)
    if settings.token_counters and not FORK_BUILTINS:
        for profile in settings.profiles:
            try:
                done.scans.extend(scan_profile(settings, profile, clock()))
            except CctrackError as exc:
                done.scan_errors.append(str(exc))
    return done


def token_summary(done: Captured) -> str:
    """ "; tokens read: claude 2.1 MB in 3 logs", "" when nothing new; or why a scan failed."""
    parts = []
    for result in done.scans:
        if not result.bytes_read:
            continue
        name = qualified(result.profile, result.tool)
        logs = "log" if result.files_read == 1 else "logs"
        parts.append(f"{name} {result.bytes_read / 1e6:.1f} MB in {result.files_read} {logs}")
    line = f"; tokens read: {', '.join(parts)}" if parts else ""
    for error in done.scan_errors:
        line += f"; token counters failed: {error}"
    return line


def summary(records: Sequence[Record], data_dir: Path) -> str:
    outcomes = ", ".join(
        f"{qualified(r.profile, r.source_tool)} {'ok' if r.ok else 'FAILED: ' + (r.error or '')}"
        for r in records
    )
    seqs = f"seq {records[0].seq_no}-{records[-1].seq_no}" if records else "nothing"
    return f"cctrack capture: {outcomes} ({seqs} in {data_dir})"
