"""CodexBar (github.com/steipete/CodexBar, docs/cli.md there) as the status tool of any
provider it reads: `cctrack codexbar-status --provider P` runs
`codexbar usage --provider P --format json` and prints one status object (docs/status.md).

CodexBar prints one provider's payload as an object, several as an array; a provider it
could not read is an entry with `error` set. Of a payload this reads `usage.primary`,
`.secondary` and `.tertiary` (`usedPercent`, `windowMinutes`, `resetsAt`), `usage.updatedAt`,
`source`, `credits.remaining` and the login in `usage.identity`, which only ever becomes a
pseudonym: the e-mail is never printed, stored or logged.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cctrack import process
from cctrack.errors import EXIT_TEMPFAIL, CctrackError
from cctrack.redact import clipped, redact
from cctrack.sources import window_name
from cctrack.sources.account import pseudonym
from cctrack.status import Extras, Status, Window, is_number, plan_label, strict_loads, valid_tool
from cctrack.timefmt import parse_time

SLOTS = ("primary", "secondary", "tertiary")
# What can be a percentage at all: beyond it the field holds something else (an epoch).
MAX_PERCENT = 1000.0
MAX_MESSAGE = 300


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def _ratio(value: Any) -> float | None:
    """usedPercent as a share: an exhausted window over 100 % reads 1, as Codex's does."""
    if not is_number(value) or not math.isfinite(value) or not 0 <= value <= MAX_PERCENT:
        return None
    return min(1.0, value / 100)


def _windows(usage: Mapping[str, Any]) -> tuple[Window, ...]:
    """The slots CodexBar filled, named by their length (five_hour, weekly, 30_day, …);
    one without a length keeps its slot's name."""
    windows: dict[str, Window] = {}
    for slot in SLOTS:
        found = usage.get(slot)
        ratio = _ratio(found.get("usedPercent")) if isinstance(found, dict) else None
        if not isinstance(found, dict) or ratio is None:
            continue
        given = found.get("windowMinutes")
        minutes = int(given) if is_number(given) and 1 <= given <= 10**7 else None
        name = window_name(minutes) if minutes else slot
        if name in windows:
            name = slot
        seconds = minutes * 60 if minutes else None
        windows[name] = Window(name, ratio, seconds, _time(found.get("resetsAt")))
    return tuple(windows.values())


def _origin(source: Any) -> str:
    """codexbar:<the strategy CodexBar used> as a label value (oauth, api, openai-web, …)."""
    word = re.sub(r"[^A-Za-z0-9_.+-]+", "-", source if isinstance(source, str) else "")
    return f"codexbar:{word.strip('-') or 'unknown'}"[:40]


def _account(provider: str, usage: Mapping[str, Any]) -> str | None:
    identity = usage.get("identity")
    identity = identity if isinstance(identity, dict) else {}
    login = identity.get("accountEmail") or usage.get("accountEmail")
    return pseudonym(f"codexbar:{provider}", login) if isinstance(login, str) and login else None


def _plan(usage: Mapping[str, Any]) -> str | None:
    identity = usage.get("identity")
    method = identity.get("loginMethod") if isinstance(identity, dict) else None
    return plan_label(method or usage.get("loginMethod"))


def _credits(entry: Mapping[str, Any]) -> Extras | None:
    credits = entry.get("credits")
    if not isinstance(credits, dict):
        return None
    remaining = credits.get("remaining")
    if not is_number(remaining) or not math.isfinite(remaining):
        return None
    return Extras(credits_balance=float(remaining), observed_at=_time(credits.get("updatedAt")))


def _entry(payload: Any, provider: str) -> dict[str, Any]:
    entries = payload if isinstance(payload, list) else [payload]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("provider") == provider:
            return entry
    raise CctrackError(f"codexbar reported nothing for provider {provider}")


def status_from_codexbar(payload: Any, provider: str, tool: str, now: datetime) -> Status:
    """The status of `provider` in what `codexbar usage --format json` printed, under the
    agent's name `tool`. A provider CodexBar reports as failed is an error, said with
    CodexBar's own message."""
    entry = _entry(payload, provider)
    error = entry.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        said = clipped(redact(str(message or "no reason given")), MAX_MESSAGE)
        raise CctrackError(f"codexbar could not read {provider}: {said}")
    usage = entry.get("usage")
    if not isinstance(usage, dict):
        raise CctrackError(f"codexbar reported no usage for {provider}")
    windows = _windows(usage)
    if not windows:
        raise CctrackError(f"codexbar reported no usage window for {provider}")
    return Status(
        source_tool=tool,
        observed_at=_time(usage.get("updatedAt")) or now,
        origin=_origin(entry.get("source")),
        windows=windows,
        plan=_plan(usage),
        account=_account(provider, usage),
        extras=_credits(entry),
    )


def agent_name(provider: str, env: Mapping[str, str]) -> str:
    """The name the status carries: the agent capture runs it for (CCTRACK_AGENT), else
    the provider's id made a tool's name."""
    name = env.get("CCTRACK_AGENT") or re.sub(r"[^a-z0-9_]+", "_", provider.lower()).strip("_")
    if not valid_tool(name):
        raise CctrackError(f"cannot name the status of provider {provider!r}; give --tool NAME")
    return name


def codexbar_status(
    provider: str, tool: str, env: Mapping[str, str], timeout: float, now: datetime
) -> Status:
    """Run CodexBar for one provider, bounded, and read its answer."""
    codexbar = shutil.which("codexbar", path=env.get("PATH"))
    if codexbar is None:
        raise CctrackError(
            "no codexbar command on PATH (github.com/steipete/CodexBar, docs/cli.md)"
        )
    argv = (codexbar, "usage", "--provider", provider, "--format", "json")
    try:
        done = process.run_command(argv, b"", timeout, "codexbar")
    except process.TimedOut:
        raise CctrackError(f"codexbar did not answer in {timeout:g} s", EXIT_TEMPFAIL) from None
    except process.ProcessFailure as exc:
        raise CctrackError(f"codexbar: {redact(str(exc))}") from None
    # A failed provider makes CodexBar exit non-zero with its error in the JSON: read that.
    try:
        payload = strict_loads(done.stdout)
    except ValueError:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = clipped(redact(why[-1]), MAX_MESSAGE) if why else "it printed no JSON"
        raise CctrackError(f"codexbar failed (exit {done.returncode}): {reason}") from None
    return status_from_codexbar(payload, provider, tool, now)
