"""Hostile environments, round 2: a slow peer. A real server on 127.0.0.1 that answers a
byte a second never trips a per-read socket timeout; the push's total deadline ends it, and
the job's locks never waited on it (push is a job of its own)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import Env, sample


@pytest.fixture
def trickle() -> Iterator[str]:
    """Accepts, reads the request, then sends a header byte a second, bounded to 90 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    for _ in range(90):
                        if stop.is_set():
                            break
                        conn.sendall(b"a")
                        time.sleep(1)
                except OSError:
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=10)
    server.close()


def test_a_pushgateway_that_trickles_bytes_is_given_up_within_the_deadline(
    env: Env, trickle: str
) -> None:
    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    pushed = env.run("push", "--pushgateway-url", trickle, timeout=120)
    assert pushed.returncode == 1
    assert "gave no answer within 30 s" in pushed.stderr
    # Counted, and exported by the next analyze.
    assert env.run("analyze", "--pushgateway-url", trickle).returncode == 0
    assert sample(env.textfile.read_text(), "cctrack_push_failures_total") == 1
