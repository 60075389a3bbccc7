"""remote_write.py: what `cctrack push` sends to a remote write endpoint, and how it fails,
against real HTTP servers on 127.0.0.1 (the real Prometheus receiver decodes it in
tests/test_system_push.py)."""

from __future__ import annotations

import base64
import json
import os
import pwd
from pathlib import Path

import cramjam
import pytest
from conftest import Env, Receiver, free_port, sample

USER = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection is retried for half a second, not five: the tests count
    attempts and outcomes, not seconds."""
    from cctrack import sinks

    monkeypatch.setattr(sinks, "PUSH_RETRY_FOR", 0.5)


def test_one_snappy_protobuf_post_with_the_remote_write_headers(
    env: Env, receivers: list[Receiver]
) -> None:
    env.use_fixed_tools()
    (receiver, _) = receivers
    done = env.run("run", "--remote-write-url", receiver.url)
    assert done.returncode == 0, done.stderr
    (request,) = receiver.requests
    headers = receiver.headers()
    assert headers["content-encoding"] == "snappy"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-prometheus-remote-write-version"] == "0.1.0"
    assert "authorization" not in headers
    body = bytes(cramjam.snappy.decompress_raw(request[1]))
    # Every series names itself and carries the group's labels.
    assert b"cctrack_codex_usage_ratio" in body and b"testbox" in body and b"cctrack" in body


def test_a_failed_write_is_one_line_counted_and_the_textfile_is_written(env: Env) -> None:
    env.use_fixed_tools()
    dead = f"http://127.0.0.1:{free_port()}/api/v1/write"
    for attempt in (1, 2):
        done = env.run("run", "--remote-write-url", dead)
        assert done.returncode == 1
        lines = [line for line in done.stderr.splitlines() if line.startswith("cctrack push")]
        assert len(lines) == 1 and f"remote write to {dead} failed" in lines[0], done.stderr
        text = env.textfile.read_text()
        assert sample(text, "cctrack_claude_up") == 1
        assert sample(text, "cctrack_remote_write_failures_total", user=USER) == attempt - 1
    assert json.loads((env.data_dir / "remote-write.json").read_text())["failures"] == 2


def test_a_refusal_is_not_retried_and_a_503_is(env: Env, receivers: list[Receiver]) -> None:
    env.use_fixed_tools()
    (receiver, _) = receivers
    receiver.answers = [(400, {})]
    assert env.run("run", "--remote-write-url", receiver.url).returncode == 1
    assert len(receiver.requests) == 1
    receiver.answers = [(503, {})]
    assert env.run("run", "--remote-write-url", receiver.url).returncode == 0
    assert len(receiver.requests) == 3


def test_basic_auth_only_from_a_private_file_and_never_along_a_redirect(
    env: Env, receivers: list[Receiver], tmp_path: Path
) -> None:
    env.use_fixed_tools()
    first, elsewhere = receivers
    auth = tmp_path / "auth"
    auth.write_text("writer:s3cret-pw\n")
    auth.chmod(0o644)
    env.write_config(f'remote_write_auth_file = "{auth}"\n')
    loose = env.run("run", "--remote-write-url", first.url)
    assert loose.returncode == 1 and "readable by you alone" in loose.stderr
    assert "s3cret-pw" not in loose.stderr and first.requests == []
    plain = env.run("run", "--remote-write-url", "http://write.example.net/api/v1/write")
    assert "remote_write_url must be https:// when remote_write_auth_file is set" in plain.stderr
    auth.chmod(0o600)
    assert env.run("run", "--remote-write-url", first.url).returncode == 0
    expected = "Basic " + base64.b64encode(b"writer:s3cret-pw").decode()
    assert first.headers()["authorization"] == expected
    first.answers = [(307, {"Location": elsewhere.url})]
    moved = env.run("run", "--remote-write-url", first.url)
    assert moved.returncode == 1 and elsewhere.requests == []
    in_url = env.run("run", "--remote-write-url", "https://writer:pw@write.example.net/w")
    assert in_url.returncode == 2 and "set remote_write_auth_file" in in_url.stderr
    for wrong in ("ftp://write.example.net/w", "write.example.net/w"):
        refused = env.run("push", "--remote-write-url", wrong)
        assert refused.returncode == 2, refused.stderr
        assert "must be an http:// or https:// URL" in refused.stderr
