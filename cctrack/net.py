"""Network calls: which hosts are this machine, and a total deadline for every call.

A socket timeout bounds each read only: a peer (or proxy) that trickles a byte a second
never trips it. Every network call (the push, the usage endpoint) therefore also runs
within a total deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cctrack.errors import CctrackError

T = TypeVar("T")


class DeadlineExceeded(CctrackError):
    """A network call was not done within its total deadline; it was given up."""


def is_loopback(host: str) -> bool:
    """localhost, or an address of the loopback range (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def within_deadline(work: Callable[[], T], seconds: float, what: str) -> T:
    """work() bounded by a total deadline. The call runs in a daemon thread that is
    abandoned when time is up; its process exits soon after (one-shot jobs)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name=what, daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        raise DeadlineExceeded(f"{what} gave no answer within {seconds:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
