"""sinks/: every sink of `cctrack push` bounded the same way, against real servers on
127.0.0.1 that misbehave: one that trickles its answer a byte at a time (a per-read
timeout never trips) and one that answers 200 with a body without end. The deadline is
shortened here; tests/test_deadlines.py keeps the real 30 s for the Pushgateway."""

from __future__ import annotations

import time

import pytest
from conftest import Env, Peer, sample

from cctrack import sinks
from cctrack.sinks import SINKS

PATHS = {"pushgateway_url": "", "remote_write_url": "/api/v1/write", "otlp_endpoint": "/v1/metrics"}
FLAGS = {"pushgateway_url": "--pushgateway-url", "remote_write_url": "--remote-write-url"}


def push_to(env: Env, key: str, url: str) -> tuple[int, str]:
    flag = FLAGS.get(key, "--otlp-endpoint")
    done = env.run("push", flag, url)
    return done.returncode, done.stderr


@pytest.mark.parametrize("sink", SINKS, ids=[s.name for s in SINKS])
def test_every_sink_gives_up_at_the_same_total_deadline(
    env: Env, peer: Peer, sink: sinks.Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sinks, "PUSH_DEADLINE", 2.0)
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    url = peer.url + PATHS[sink.url_key]
    started = time.monotonic()
    code, said = push_to(env, sink.url_key, url)
    assert code == 1 and "gave no answer within 2 s" in said, said
    assert time.monotonic() - started < 6
    flag = FLAGS.get(sink.url_key, "--otlp-endpoint")
    assert env.run("analyze", flag, url).returncode == 0
    assert sample(env.textfile.read_text(), f"{sink.metric}_failures_total") == 1


@pytest.mark.parametrize("sink", SINKS, ids=[s.name for s in SINKS])
def test_every_sink_reads_a_bounded_part_of_any_answer(
    env: Env, peer: Peer, sink: sinks.Sink
) -> None:
    """A 200 with a body without end: the send is done once the answer's head has come;
    the body is read no further than MAX_ANSWER, so memory does not grow with it."""
    peer.mode = "flood"
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    code, said = push_to(env, sink.url_key, peer.url + PATHS[sink.url_key])
    assert code == 0, said
    deadline = time.monotonic() + 10
    while not peer.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert peer.sent and peer.sent[0] < 64 << 20, peer.sent


def test_a_fourth_sink_is_one_row_and_one_module() -> None:
    """Each row names a module with request(Target), a setting for its URL and one for its
    credentials, and a status file of its own."""
    import importlib

    from cctrack.settings import AUTH_FILES, SETTING

    assert len({s.status_file for s in SINKS}) == len({s.metric for s in SINKS}) == len(SINKS)
    for sink in SINKS:
        module = importlib.import_module(f"cctrack.sinks.{sink.module}")
        assert callable(module.request)
        assert sink.url_key in SETTING and AUTH_FILES[sink.url_key] in SETTING
        assert SETTING[sink.url_key].trusted_only and SETTING[sink.auth_key].trusted_only
