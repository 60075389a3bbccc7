"""The push path against the real Debian prometheus-pushgateway on 127.0.0.1, scraped by the
real prometheus with honor_labels: two machines' metrics, told apart by instance."""

from __future__ import annotations

import json
import os
import pwd
import re
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import plan_history
from conftest import Env, free_port, sample
from test_system_deploy import assert_every_dashboard_query_has_data, query, running_prometheus

USER = pwd.getpwuid(os.geteuid()).pw_name


def gateway_metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return response.read().decode()


@pytest.mark.component
def test_two_machines_push_and_prometheus_tells_them_apart(
    env: Env, pushgateway: str, tmp_path: Path
) -> None:
    # Runs out before the reset, and every detail a vendor reports: every panel has data.
    env.use_fixed_tools(codex=(0.75, 0.13), details=True)
    env.use_agent()
    env.write_token_logs()
    for host in ("laptop-a", "laptop-b"):
        data = env.root / f"data-{host}"
        plan_history(data, datetime.now(timezone.utc) - timedelta(hours=21), [0.5, 0.8])
        for _ in range(2):  # the second push carries how the first one went
            result = env.run(
                "run",
                "--pushgateway-url",
                pushgateway,
                "--hostname",
                host,
                CCTRACK_DATA_DIR=str(data),
                CCTRACK_TOKEN_PROJECTS="3",
            )
            assert result.returncode == 0, result.stderr
            assert "push to" not in result.stderr  # nothing to say when it worked
    pushed = gateway_metrics(pushgateway)
    for host in ("laptop-a", "laptop-b"):
        assert sample(
            pushed,
            "cctrack_codex_usage_ratio",
            window="five_hour",
            instance=host,
            job="cctrack",
            user=USER,
            profile="default",
        ) == pytest.approx(0.75)
        # An agent's numbers travel the same way, labelled by their tool.
        assert sample(
            pushed,
            "cctrack_agent_usage_ratio",
            window="five_hour",
            instance=host,
            job="cctrack",
            user=USER,
            profile="default",
            tool="gemini",
            confidence="official",
        ) == pytest.approx(0.75)
    # How a push went reaches the textfile with the next analyze (push is its own job): the
    # second run's textfile carries the first push.
    assert "cctrack_push_last_success_timestamp_seconds" in env.textfile.read_text()
    again = env.run(
        "analyze",
        "--pushgateway-url",
        pushgateway,
        CCTRACK_DATA_DIR=str(env.root / "data-laptop-b"),
    )
    assert again.returncode == 0, again.stderr
    assert sample(env.textfile.read_text(), "cctrack_push_failures_total", user=USER) == 0
    assert (
        sample(env.textfile.read_text(), "cctrack_push_last_success_timestamp_seconds") is not None
    )

    target = pushgateway.removeprefix("http://")
    with running_prometheus(tmp_path, "pushgateway", target, honor_labels=True) as base:
        series: list = []
        for _ in range(300):  # bounded wait for the first scrape
            series = query(base, 'cctrack_codex_usage_ratio{window="five_hour"}')
            if len(series) == 2:
                break
            time.sleep(0.1)
        assert sorted(s["metric"]["instance"] for s in series) == ["laptop-a", "laptop-b"]
        assert {s["metric"]["job"] for s in series} == {"cctrack"}
        assert {s["metric"]["user"] for s in series} == {USER}
        # Every dashboard query has data from the push setup too.
        assert_every_dashboard_query_has_data(base)


@pytest.mark.component
def test_a_push_replaces_the_group_so_vanished_series_vanish(env: Env, pushgateway: str) -> None:
    env.use_fixed_tools()
    assert env.run("run", "--pushgateway-url", pushgateway).returncode == 0
    assert sample(gateway_metrics(pushgateway), "cctrack_claude_up") == 1
    # The same machine and user, now with the Codex series only (a fresh data directory).
    only_codex = env.run(
        "run",
        "--pushgateway-url",
        pushgateway,
        "--source",
        "codex",
        CCTRACK_DATA_DIR=str(env.root / "codex-only"),
    )
    assert only_codex.returncode == 0
    after = gateway_metrics(pushgateway)
    assert sample(after, "cctrack_codex_up") == 1
    assert "cctrack_claude_up" not in after


def test_a_failing_push_never_costs_the_textfile(env: Env) -> None:
    env.use_fixed_tools()
    dead = f"http://127.0.0.1:{free_port()}"
    for attempt in (1, 2):
        result = env.run("run", "--pushgateway-url", dead)
        # The run says the push failed (exit 1, one line), and the textfile is written anyway.
        assert result.returncode == 1, result.stderr
        line = [ln for ln in result.stderr.splitlines() if ln.startswith("cctrack push")]
        assert len(line) == 1 and f"push to {dead} failed" in line[0]
        assert "cctrack analyze: claude up, codex up" in result.stderr
        text = env.textfile.read_text()
        assert sample(text, "cctrack_claude_up") == 1
        # Counted in push.json, exported by the next analyze: one run behind.
        assert sample(text, "cctrack_push_failures_total", user=USER) == attempt - 1
        assert sample(text, "cctrack_push_last_success_timestamp_seconds") is None
    assert json.loads((env.data_dir / "push.json").read_text())["failures"] == 2


def test_basic_auth_comes_only_from_a_file_of_the_owner(env: Env, tmp_path: Path) -> None:
    env.use_fixed_tools()
    auth = tmp_path / "auth"
    auth.write_text("pusher:s3cret-pw\n")
    auth.chmod(0o644)
    config = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'pushgateway_auth_file = "{auth}"\n')
    result = env.run("run", "--pushgateway-url", "https://127.0.0.1:9")
    assert result.returncode == 1
    assert re.search(r"readable by you alone \(chmod 600 .*auth\)", result.stderr)
    assert "s3cret-pw" not in result.stderr
    plain = env.run("run", "--pushgateway-url", "http://push.example.net")
    assert "must be https:// when pushgateway_auth_file is set" in plain.stderr


def textfile_series(text: str) -> dict[tuple[tuple[str, str], ...], float]:
    from prometheus_client.parser import text_string_to_metric_families

    # Empty labels are no labels to Prometheus.
    return {
        (("__name__", s.name), *sorted((k, v) for k, v in s.labels.items() if v)): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.component
def test_remote_write_delivers_the_same_series_to_a_real_prometheus(
    env: Env, tmp_path: Path
) -> None:
    env.use_fixed_tools()
    env.write_token_logs()
    with running_prometheus(tmp_path) as base:  # a remote write receiver
        url = f"{base}/api/v1/write"
        for _ in range(2):  # counters arrive cumulative, as the textfile has them
            done = env.run("run", "--remote-write-url", url)
            assert done.returncode == 0, done.stderr
            assert re.search(r"cctrack push: \d+ series of .* \(remote write\)", done.stderr)
        expected = textfile_series(env.textfile.read_text())
        arrived = {}
        # What was written, not what the shipped recording rules made of it since (their
        # names have a colon; one evaluation between the write and this query adds them).
        for series in query(base, '{job="cctrack",__name__=~"cctrack_[a-z_]+"}'):
            labels = series["metric"]
            assert labels.pop("job") == "cctrack" and labels.pop("instance") == "testbox"
            key = (("__name__", labels.pop("__name__")), *sorted(labels.items()))
            arrived[key] = float(series["value"][1])
        # The second run's textfile is what its write sent: with how the first write went.
        assert (("__name__", "cctrack_remote_write_failures_total"), ("user", USER)) in expected
        assert set(expected) - set(arrived) == set() and set(arrived) - set(expected) == set()
        assert arrived == pytest.approx(expected)
        tokens = [k for k in arrived if k[0][1] == "cctrack_claude_tokens_total"]
        assert tokens and all(arrived[k] > 0 for k in tokens)
    assert env.run("analyze", "--remote-write-url", url).returncode == 0
    text = env.textfile.read_text()
    assert sample(text, "cctrack_remote_write_failures_total", user=USER) == 0
    assert sample(text, "cctrack_remote_write_last_success_timestamp_seconds") is not None
