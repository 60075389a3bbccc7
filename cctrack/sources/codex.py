"""Codex CLI: the newest account-wide rate-limit snapshot in the rollout files (SOURCES.md).

Codex writes a snapshot into a session's rollout file whenever it talks to its backend.
The current state is the snapshot with the greatest line timestamp across all sessions;
files are visited newest-modified first and read from their end, so a year of history
costs a directory walk, not a read.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cctrack.errors import CctrackError
from cctrack.records import Status, Window, from_unix, parse_time
from cctrack.sources import percent_to_ratio, run_status_tool, window_name

BLOCK = 256 << 10
# Modification times and line timestamps come from different clocks and flushes.
MTIME_SLACK = timedelta(minutes=5)
# The longest window Codex reports is 30 days: an older snapshot says nothing about now.
HORIZON = timedelta(days=31)
# Codex's own /status calls a snapshot older than this stale.
STALE = timedelta(minutes=15)
APP_SERVER_TIMEOUT = 10.0


@dataclass(frozen=True)
class Snapshot:
    observed_at: datetime
    windows: tuple[Window, ...]
    plan: str | None


def _nested_window(slot: Any, line_time: datetime) -> tuple[float | None, Any, datetime | None]:
    if not isinstance(slot, dict):
        return None, None, None
    resets = None
    if isinstance(slot.get("resets_at"), (int, float)) and not isinstance(slot.get("resets_at"), bool):
        resets = from_unix(slot["resets_at"])
    elif isinstance(slot.get("resets_in_seconds"), (int, float)) and not isinstance(slot.get("resets_in_seconds"), bool):
        # Codex ~0.41 to Oct 2025 said how long until the reset, counted from the line.
        resets = line_time + timedelta(seconds=slot["resets_in_seconds"])
    return percent_to_ratio(slot.get("used_percent")), slot.get("window_minutes"), resets


def parse_rate_limits(limits: Any, line_time: datetime) -> tuple[Window, ...]:
    """The plan-limit windows of one `rate_limits` object, in any schema era; () when the
    object is for another limit (a per-model bucket) or has no usable window."""
    if not isinstance(limits, dict) or limits.get("limit_id") not in (None, "codex"):
        return ()
    windows: dict[str, Window] = {}
    # Flat eras: "primary" and "weekly" (before ~0.40), then "primary" and "secondary".
    for slot, flat in (("primary", "primary"), ("secondary", "secondary"), (None, "weekly")):
        if slot is not None and slot in limits:
            used, minutes, resets = _nested_window(limits[slot], line_time)
        else:
            used = percent_to_ratio(limits.get(f"{flat}_used_percent"))
            minutes = limits.get(f"{flat}_window_minutes", 10080 if flat == "weekly" else None)
            resets = None  # flat shapes carry no reset time
        if used is None or isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 1 <= minutes <= 10**7:
            continue  # a length under a minute, beyond years, NaN or infinite is no window
        minutes = int(round(minutes))
        name = window_name(minutes)
        windows.setdefault(name, Window(name, used, minutes * 60, resets))
    return tuple(windows.values())


def snapshot_from_line(line: bytes) -> Snapshot | None:
    """The snapshot in one rollout line, if it is a token_count event with plan limits."""
    if b"token_count" not in line or b"rate_limits" not in line:
        return None
    try:
        event = json.loads(line)
        payload = event["payload"]
        if event.get("type") != "event_msg" or payload.get("type") != "token_count":
            return None
        line_time = parse_time(event["timestamp"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    limits = payload.get("rate_limits")
    windows = parse_rate_limits(limits, line_time)
    if not windows:
        return None
    plan = limits.get("plan_type")
    return Snapshot(line_time, windows, plan.lower() if isinstance(plan, str) and plan else None)


def lines_from_end(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        carry = b""
        while position > 0:
            step = min(BLOCK, position)
            position -= step
            handle.seek(position)
            lines = (handle.read(step) + carry).split(b"\n")
            carry = lines.pop(0)
            yield from reversed(lines)
        if carry:
            yield carry


def rollout_files(home: Path, since: datetime) -> list[tuple[float, Path]]:
    """Plain rollout files (compressed ones hold only idle, older sessions) started on or
    after the local date of `since` minus a day, newest-modified first.

    Folder and file names carry the local start date, so older days are skipped by name,
    unread and unstatted: the cost stays that of the last month, however long the history.
    """
    cutoff = f"{since.astimezone() - timedelta(days=1):%Y-%m-%d}"
    found: list[tuple[float, Path]] = []
    stack = [(home / "sessions", ""), (home / "archived_sessions", "")]
    while stack:
        folder, date = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                # sessions/YYYY/MM/DD: a folder's date so far is a prefix of its files' dates.
                sub = f"{date}-{name}" if date else name
                if sub >= cutoff[: len(sub)]:
                    stack.append((Path(entry.path), sub))
            elif name.startswith("rollout-") and name.endswith(".jsonl") and name[8:18] >= cutoff:
                found.append((entry.stat().st_mtime, Path(entry.path)))
    found.sort(reverse=True)
    return found


def latest_snapshot(home: Path, now: datetime) -> Snapshot | None:
    best: Snapshot | None = None
    oldest = (now - HORIZON).timestamp()
    for mtime, path in rollout_files(home, now - HORIZON):
        if mtime < oldest or (best and mtime < (best.observed_at - MTIME_SLACK).timestamp()):
            break  # every remaining file was last written before what we already have
        try:
            snapshot = next(filter(None, map(snapshot_from_line, lines_from_end(path))), None)
        except OSError:
            continue  # a session file removed or unreadable mid-walk; the others still count
        if snapshot and (best is None or snapshot.observed_at > best.observed_at):
            best = snapshot
    return best


def parse_app_server_limits(result: Any, now: datetime) -> tuple[tuple[Window, ...], str | None]:
    """`account/rateLimits/read`'s camelCase answer, read like a rollout's rate_limits."""
    limits = result.get("rateLimits") if isinstance(result, dict) else None
    if not isinstance(limits, dict):
        return (), None

    def window(slot: Any) -> Any:
        if not isinstance(slot, dict):
            return None
        return {"used_percent": slot.get("usedPercent"), "window_minutes": slot.get("windowDurationMins"),
                "resets_at": slot.get("resetsAt")}

    shaped = {"limit_id": limits.get("limitId"), "primary": window(limits.get("primary")),
              "secondary": window(limits.get("secondary"))}
    plan = limits.get("planType")
    return parse_rate_limits(shaped, now), plan.lower() if isinstance(plan, str) and plan else None


def _reply(proc: subprocess.Popen[bytes], want: int, deadline: float, buffer: bytearray) -> Any:
    """Read JSON-RPC lines until the response with id `want`; notifications are skipped."""
    assert proc.stdout is not None
    while True:
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([proc.stdout], [], [], remaining)[0]:
                raise CctrackError("codex app-server did not answer in time")
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise CctrackError("codex app-server exited without answering")
            buffer += chunk
        line, _, rest = bytes(buffer).partition(b"\n")
        buffer[:] = rest
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("id") == want:
            if "error" in message:
                error = message["error"]
                reason = error.get("message") if isinstance(error, dict) else error
                raise CctrackError(f"codex app-server refused: {str(reason)[:200]}")
            return message.get("result")


def app_server_snapshot(codex: str, env: Mapping[str, str], now: datetime, timeout: float) -> Snapshot:
    """Ask `codex app-server` (JSON-RPC over stdio) for the account's rate limits. It asks
    ChatGPT's backend, so it is fresh even while no Codex session has run for hours."""
    from cctrack import __version__

    try:
        proc = subprocess.Popen([codex, "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(env))
    except OSError as exc:
        raise CctrackError(f"cannot start {codex} app-server: {exc.strerror}") from None
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    assert proc.stdin is not None
    try:
        requests = [
            {"method": "initialize", "id": 0, "params": {"clientInfo": {"name": "cctrack", "title": "cctrack", "version": __version__}}},
            {"method": "initialized"},
            {"method": "account/rateLimits/read", "id": 1},
        ]
        proc.stdin.write((json.dumps(requests[0]) + "\n").encode())
        proc.stdin.flush()
        _reply(proc, 0, deadline, buffer)
        proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests[1:]).encode())
        proc.stdin.flush()
        windows, plan = parse_app_server_limits(_reply(proc, 1, deadline, buffer), now)
    except BrokenPipeError:
        raise CctrackError("codex app-server exited without answering") from None
    finally:
        proc.kill()
        proc.wait()
    if not windows:
        raise CctrackError("codex app-server answered without a plan rate limit; is Codex logged in with ChatGPT?")
    return Snapshot(now, windows, plan)


def codex_status(home: Path, now: datetime, app_server: str | None = None, env: Mapping[str, str] | None = None,
                 timeout: float = APP_SERVER_TIMEOUT) -> Status:
    """The newest rollout snapshot; with `app_server` (the codex command) also asked of
    `codex app-server` when that snapshot is stale, and the fresher answer wins."""
    snapshot = latest_snapshot(home, now) if home.is_dir() else None
    if app_server and (snapshot is None or now - snapshot.observed_at > STALE):
        try:
            fresh = app_server_snapshot(app_server, os.environ if env is None else env, now, timeout)
            return Status("codex", fresh.observed_at, "app-server", fresh.windows, fresh.plan).as_of(now)
        except CctrackError as exc:
            if snapshot is None:
                raise CctrackError(f"no Codex usage: no recent rollout snapshot under {home}, and {exc}") from None
    if not home.is_dir():
        raise CctrackError(f"Codex home {home} not found; install Codex CLI or set CODEX_HOME")
    if snapshot is None:
        raise CctrackError(
            f"no rate-limit snapshot in Codex sessions under {home} from the last {HORIZON.days} days; "
            "Codex writes one when it talks to its backend, so use Codex once while logged in with ChatGPT"
        )
    return Status("codex", snapshot.observed_at, "rollout", snapshot.windows, snapshot.plan).as_of(now)


def main() -> None:
    from cctrack.settings import resolve_settings

    def produce(now: datetime) -> Status:
        settings = resolve_settings()
        codex = shutil.which("codex") if settings.codex_app_server else None
        if settings.codex_app_server and codex is None:
            print("cctrack-codex-status: codex_app_server is on but no codex command is on PATH", file=sys.stderr)
        # Half the capture timeout: the rollout snapshot must still be reported in time.
        timeout = min(APP_SERVER_TIMEOUT, settings.timeout / 2)
        return codex_status(settings.codex_home, now, codex, os.environ, timeout)

    run_status_tool("cctrack-codex-status", produce)


if __name__ == "__main__":
    main()
