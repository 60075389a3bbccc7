"""Hostile environments, round 2: a slow peer. A real server on 127.0.0.1 that answers a
byte a second never trips a per-read socket timeout; the push's total deadline ends it, and
the job's locks never waited on it (push is a job of its own)."""

from __future__ import annotations

from conftest import Env, Peer, sample


def test_a_pushgateway_that_trickles_bytes_is_given_up_within_the_deadline(
    env: Env, peer: Peer
) -> None:
    peer.interval, peer.count = 1.0, 90  # a byte a second, for longer than the deadline
    trickle = peer.url
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    pushed = env.run("push", "--pushgateway-url", trickle, timeout=120)
    assert pushed.returncode == 1
    assert "gave no answer within 30 s" in pushed.stderr
    # Counted, and exported by the next analyze.
    assert env.run("analyze", "--pushgateway-url", trickle).returncode == 0
    assert sample(env.textfile.read_text(), "cctrack_push_failures_total") == 1
