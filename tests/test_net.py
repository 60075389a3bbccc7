"""net.py: the total deadline every network call runs within, tested fast (the deadline
shortened) against a real trickling server on 127.0.0.1; tests/test_deadlines.py keeps the
real 30 s of the push."""

from __future__ import annotations

import pytest
from conftest import Peer


def test_the_usage_endpoint_trickling_is_given_up_at_its_deadline(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usage endpoint has its own total deadline (20 s): a fast test of the same rule,
    the deadline shortened, a real trickling server on 127.0.0.1."""
    import time

    from cctrack.errors import EXIT_TEMPFAIL, CctrackError
    from cctrack.sources.claude import oauth

    monkeypatch.setattr(oauth, "HTTP_DEADLINE", 1.0)
    started = time.monotonic()
    with pytest.raises(CctrackError) as failed:
        oauth.fetch_usage(f"{peer.url}/api/oauth/usage", "sk-ant-oat01-secret")
    assert time.monotonic() - started < 4
    assert "gave no answer within 1 s" in str(failed.value)
    assert failed.value.exit_code == EXIT_TEMPFAIL and "sk-ant" not in str(failed.value)


def test_within_deadline_returns_raises_or_gives_up() -> None:
    import time

    from cctrack.net import DeadlineExceeded, within_deadline

    assert within_deadline(lambda: 42, 1.0, "quick") == 42
    with pytest.raises(ZeroDivisionError):
        within_deadline(lambda: 1 / 0, 1.0, "broken")
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"slow gave no answer within 0\.2 s"):
        within_deadline(lambda: time.sleep(5), 0.2, "slow")
    assert time.monotonic() - started < 2


def test_a_call_given_up_never_keeps_the_job_from_ending() -> None:
    """The abandoned call's thread is a daemon: a one-shot job whose push was given up
    exits at once, not when the trickling peer finally stops."""
    import subprocess
    import sys
    import time

    program = (
        "import time\n"
        "from cctrack.net import DeadlineExceeded, within_deadline\n"
        "try:\n"
        "    within_deadline(lambda: time.sleep(30), 0.2, 'slow')\n"
        "except DeadlineExceeded:\n"
        "    pass\n"
    )
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
    assert time.monotonic() - started < 10
    # The same, seen from inside: the call left running is a daemon thread.
    import threading

    from cctrack.net import DeadlineExceeded, within_deadline

    name = f"left-behind-{time.monotonic_ns()}"
    with pytest.raises(DeadlineExceeded):
        within_deadline(lambda: time.sleep(3), 0.1, name)
    (left,) = [t for t in threading.enumerate() if t.name == name]
    assert left.daemon


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.9.8.7", True),
        ("::1", True),
        ("LOCALHOST.example", False),
        ("10.0.0.1", False),
        ("example.net", False),
        ("", False),
    ],
)
def test_loopback_is_localhost_or_an_address_of_the_loopback_range(
    host: str, loopback: bool
) -> None:
    """(net.py's one mutant left is equivalent: the thread's name is for a debugger, and the
    test above finds it by it.)"""
    from cctrack.net import is_loopback

    assert is_loopback(host) is loopback
