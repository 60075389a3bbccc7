"""How a sink's sends went: the status file each sink keeps (PushStatus, written by the
push) and what analyze exports of it (SinkHealth). Below the report that exports it, so
that the reading commands, which load the report, start without it."""

from __future__ import annotations

from datetime import datetime

from cctrack.model import frozen


@frozen
class PushStatus:
    """When a sink's send last succeeded, how many failed so far (a counter), and since when
    it has been sent to (the start of its cumulative series, for OTLP)."""

    last_success: datetime | None = None
    failures: int = 0
    since: datetime | None = None

    def after(self, now: datetime, failed: bool) -> PushStatus:
        if failed:
            return PushStatus(self.last_success, self.failures + 1, self.since or now)
        return PushStatus(now, self.failures, self.since or now)


@frozen
class SinkHealth:
    """How a sink's sends went, for its metrics: their prefix (`cctrack_push`), what the
    help calls the receiver, and the status."""

    metric: str
    who: str
    status: PushStatus
