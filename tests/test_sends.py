"""sends.py: how a sink's sends went, as the push keeps it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cctrack.sends import PushStatus

T0 = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)


def test_a_sinks_status_after_each_send() -> None:
    first = PushStatus().after(T0, failed=True)
    assert first == PushStatus(None, 1, T0)
    second = first.after(T0 + timedelta(minutes=5), failed=False)
    assert second == PushStatus(T0 + timedelta(minutes=5), 1, T0)
    third = second.after(T0 + timedelta(minutes=10), failed=True)
    assert third == PushStatus(T0 + timedelta(minutes=5), 2, T0)
