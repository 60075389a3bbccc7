"""`cctrack analyze`: read the records after the checkpoint, fold them, write the textfile,
then advance the checkpoint (and only then let old day files go)."""

from __future__ import annotations

import errno
import json
import os
from datetime import datetime
from pathlib import Path

from cctrack import base as basefile
from cctrack import checkpoint, notify, retention, rollup, textfile
from cctrack.errors import CctrackError
from cctrack.files import (
    give_back,
    locked,
    own_data_dir,
    ready_dir,
    remove_stale_temps,
    replaceable,
    user_name,
    write_atomic,
)
from cctrack.fold import fold, rules_of
from cctrack.model import frozen
from cctrack.report import Report, build_report
from cctrack.sends import SinkHealth
from cctrack.settings import Settings
from cctrack.sinks import SINKS, load_status
from cctrack.state import State
from cctrack.status import qualified
from cctrack.store import STORE_LOCK
from cctrack.tokens.prices import price_table
from cctrack.views import latest


@frozen
class Outcome:
    report: Report
    rebuilt: str | None
    textfile: Path
    removed: tuple[str, ...]
    data_dir: Path
    notify_problems: tuple[str, ...] = ()
    # Models seen for the first time without a price: named once, then only counted.
    unpriced: tuple[str, ...] = ()
    # Why the HTML report (html_report) was not written, when it was not.
    page_problem: str | None = None
    # Why the rollup alone was made again, and why the base was copied from the
    # checkpoint, when they were (fold.py, base.py).
    rollup_remade: str | None = None
    base_copied: str | None = None
    # Files in the data directory that belong to another user (a run as root left them).
    foreign: tuple[str, ...] = ()


def textfile_dir(settings: Settings) -> Path:
    me = user_name(os.geteuid())
    return ready_dir(
        settings.textfile_dir,
        mode=0o755,
        create=settings.textfile_dir_is_default,
        what="textfile directory",
        missing_hint="; create it (node_exporter's --collector.textfile.directory) "
        "or set --textfile-dir / CCTRACK_TEXTFILE_DIR",
        access_hint=f" ({me}): give yourself access with `sudo setfacl "
        f"-m u:{me}:rwx {settings.textfile_dir}` (Debian: apt install "
        f"acl) or `sudo chmod 1777 {settings.textfile_dir}`, or set textfile_dir to a "
        "directory of yours",
    )


def write_rollup(
    data_dir: Path, stored: checkpoint.Checkpoint, before: datetime | None, spill: rollup.Spill
) -> list[str]:
    """Append the rows the fold made (those it spilled first) to the rollup files (cut back
    first to what the checkpoint recorded) and record their sizes; the files past the
    retention, to remove once the checkpoint no longer names them."""
    committed = stored.rollup_files or {}
    rollup.cut(data_dir, committed)
    rows = stored.state.rollup.drain(keep_latest=True)
    files = rollup.append(data_dir, rows, committed, spill.lines())
    expired_files = rollup.expired(files, before)
    stored.rollup_files = {n: size for n, size in files.items() if n not in expired_files}
    return expired_files


def tell(settings: Settings, report: Report, state: State, now: datetime) -> tuple[str, ...]:
    """Hand what changed since the last analysis to notify_command, and remember this one.
    Delivered before the checkpoint moves on: an event is told at least once."""
    found = notify.events(state.notify_memory, report, settings.notify_thresholds, now)
    state.notify_memory = {(t.profile, t.tool): notify.remember(t) for t in report.tools}
    if not settings.notify_command or not found:
        return ()
    problems = notify.deliver(
        settings.notify_command,
        found,
        os.environ,
        settings.notify_timeout,
        now,
        settings.user,
        settings.hostname,
    )
    return tuple(problems)


def analyze(settings: Settings, now: datetime, rebuild: bool = False) -> Outcome:
    """Fold the records after the checkpoint, write the textfile, then advance the checkpoint.

    The state and checkpoint are one file written last, so a failure anywhere before leaves
    both the old textfile and the old checkpoint in place, and the next run redoes the work.
    """
    data_dir = own_data_dir(Path(settings.data_dir), settings.textfile_path)
    target = textfile_dir(settings)
    try:
        with locked(data_dir / checkpoint.ANALYZE_LOCK), rollup.Spill(data_dir) as spill:
            rules = rules_of(settings)
            folded = fold(data_dir, rules, rebuild, spill=spill)
            stored, read = folded.stored, folded.read
            stored.marks = read.marks
            stored.state.analyzed_at = now
            clock = retention.data_clock(now, stored.marks, stored.state.data_clock)
            stored.state.data_clock = clock
            before = retention.cutoff(clock, settings.retention_days)
            for tokens in stored.state.tokens.values():
                tokens.prune(clock)
            expired_rollup = write_rollup(data_dir, stored, before, spill)
            report = build_report(
                stored.state,
                now,
                settings.sources,
                read.unreadable,
                tuple(profile.name for profile in settings.profiles),
                settings.user,
                # How the pushes went (cctrack push), exported for the receivers' side too.
                sinks=tuple(
                    SinkHealth(sink.metric, sink.who, load_status(data_dir, sink.status_file))
                    for sink in SINKS
                    if getattr(settings, sink.url_key)
                ),
                prices=price_table(settings.prices),
                naming=rules.projects,
            )
            unpriced = newly_unpriced(report, stored.state)
            path = textfile.write(target / settings.textfile_name, report, stored.state.carried)
            notes = tell(settings, report, stored.state, now)
            write_atomic(
                data_dir / latest.LATEST_FILE, json.dumps(latest.latest_json(report)).encode()
            )
            checkpoint.save(data_dir, stored)
            for name in expired_rollup:
                (data_dir / name).unlink(missing_ok=True)
            with locked(data_dir / STORE_LOCK):
                going = retention.retiring(data_dir, stored.marks, before)
                copied = basefile.keep(data_dir, stored, going, rules, clock, before)
                for name in going:
                    (data_dir / name).unlink(missing_ok=True)
        for directory in (data_dir, target):
            remove_stale_temps(directory, now.timestamp())
    except OSError as exc:
        raise CctrackError(
            f"cannot analyze: {exc.strerror} ({exc.filename or data_dir}); "
            "the checkpoint is left where it was"
        ) from None
    problem = write_page(settings, now) if settings.html_report else None
    return Outcome(
        report,
        folded.replayed,
        path,
        tuple(going),
        data_dir,
        notes,
        unpriced,
        problem,
        folded.rollup_remade,
        copied,
        foreign_files(data_dir),
    )


def foreign_files(data_dir: Path) -> tuple[str, ...]:
    """The entries of the data directory that belong to another user than this one."""
    me = os.geteuid()
    try:
        return tuple(
            sorted(
                entry.name
                for entry in os.scandir(data_dir)
                if entry.stat(follow_symlinks=False).st_uid != me
            )
        )
    except OSError:
        return ()


def write_page(settings: Settings, now: datetime) -> str | None:
    """The HTML report kept up to date at html_report (from the rollup just written);
    why not, when it cannot be written. The textfile and the checkpoint are written
    before, whatever happens here."""
    from cctrack.views.page import render

    assert settings.html_report is not None
    try:
        page = render(
            settings.data_dir,
            now,
            settings.sources,
            tuple(profile.name for profile in settings.profiles),
            rules_of(settings),
        )
        replaceable(settings.html_report, links=False)
        write_atomic(settings.html_report, page.encode())
    except (CctrackError, OSError) as exc:
        why = f"{settings.html_report}: {getattr(exc, 'strerror', None) or exc}"
        if isinstance(exc, OSError) and exc.errno == errno.EROFS:
            # The shipped units let analyze write only its own directories.
            why += (
                " (a systemd unit: `cctrack setup --systemd-user` again makes the page's "
                "directory writable; the system units write only the data directory)"
            )
        return why
    return None


def newly_unpriced(report: Report, state: State) -> tuple[str, ...]:
    """The tool/model names without a price not named before; remembered as named."""
    found = {f"{t.tool}/{model}" for t in report.tools if t.tokens for model in t.tokens.unpriced}
    new = tuple(sorted(found - state.unpriced_named))
    state.unpriced_named |= found
    return new


def log_line(outcome: Outcome) -> str:
    tools = ", ".join(
        f"{qualified(t.profile, t.tool)} {'up' if t.up else 'down'}" for t in outcome.report.tools
    )
    notes = []
    if outcome.rebuilt:
        notes.append(f"replayed all records: {outcome.rebuilt}")
    if outcome.rollup_remade:
        notes.append(f"the report's rollup made again: {outcome.rollup_remade}")
    if outcome.base_copied:
        notes.append(outcome.base_copied)
    if outcome.foreign:
        notes.append(
            f"{len(outcome.foreign)} file(s) here belong to another user "
            f"({', '.join(outcome.foreign[:3])}{', ...' if len(outcome.foreign) > 3 else ''}): "
            f"{give_back(outcome.data_dir)} gives them back"
        )
    if outcome.report.unreadable_files:
        paths = ", ".join(str(outcome.data_dir / name) for name in outcome.report.unreadable_files)
        notes.append(f"skipped what cannot be read as a day file: {paths}")
    if outcome.notify_problems:
        failed = len(outcome.notify_problems)
        notes.append(f"{failed} notification(s) not delivered: {outcome.notify_problems[0]}")
    if outcome.page_problem:
        notes.append(f"the HTML report was not written: {outcome.page_problem}")
    if outcome.unpriced:
        notes.append(
            f"no API price for {', '.join(outcome.unpriced)}: counted as tokens, no cost "
            "exported (add [prices.MODEL] to the config file)"
        )
    if outcome.removed:
        notes.append(f"removed {len(outcome.removed)} day files past the retention")
    return f"cctrack analyze: {tools} -> {outcome.textfile}" + "".join(f"; {n}" for n in notes)
