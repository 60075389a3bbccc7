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
