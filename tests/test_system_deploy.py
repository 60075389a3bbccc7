"""deploy/ and jobs/: systemd units, cron lines, alert rules and the dashboard, each driven
through the real tool that will consume it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import (
    nested_2026,
    plan_history,
    statusline_payload,
    token_count,
    write_rollout,
)
from conftest import Env, free_port, require_binary, sample, unavailable, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CCTRACK = str(Path(sys.executable).parent / "cctrack")
# Exposure scores (systemd-analyze security, 0 safest .. 10) the units must stay within;
# the README quotes the measured ones.
MAX_EXPOSURE = {
    "cctrack-capture@alice.service": 2.0,
    "cctrack-analyze@alice.service": 1.0,
    "cctrack-push@alice.service": 1.5,
    "cctrack-capture.service": 2.5,
    "cctrack-analyze.service": 1.5,
    "cctrack-push.service": 2.5,
}

# The textfile each unix user writes by default.
TEXTFILE = f"cctrack-{pwd.getpwuid(os.geteuid()).pw_name}.prom"


def exposure(output: str) -> float:
    return float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", output).group(1))


@pytest.mark.component
def test_system_units_verify_and_are_hardened(tmp_path: Path) -> None:
    analyzer = require_binary("systemd-analyze")
    # As `cctrack deploy` writes them for a host whose cctrack is at /usr/local/bin/cctrack
    # (verify wants the command to exist here: /bin/true stands in for it).
    deployed = subprocess.run(
        [CCTRACK, "deploy", "systemd-system", "--to", str(tmp_path), "--command", "/bin/true"],
        capture_output=True,
        text=True,
    )
    assert deployed.returncode == 0, deployed.stderr
    assert (
        "ExecStart=/bin/true capture --if-idle"
        in (tmp_path / "cctrack-capture@.service").read_text()
    )
    for name in ("cctrack-capture@", "cctrack-analyze@", "cctrack-push@"):
        (tmp_path / f"{name}alice.service").write_text((tmp_path / f"{name}.service").read_text())
    (tmp_path / "cctrack-capture@alice.timer").write_text(
        (tmp_path / "cctrack-capture@.timer").read_text()
    )
    units = [
        str(tmp_path / name)
        for name in (
            "cctrack-capture@alice.service",
            "cctrack-capture@alice.timer",
            "cctrack-analyze@alice.service",
            "cctrack-push@alice.service",
        )
    ]
    verify = subprocess.run(
        [analyzer, "verify", "--recursive-errors=yes", *units], capture_output=True, text=True
    )
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    for name, most in MAX_EXPOSURE.items():
        if "@" not in name:
            continue
        security = subprocess.run(
            [analyzer, "security", "--offline=yes", str(tmp_path / name)],
            capture_output=True,
            text=True,
        )
        assert exposure(security.stdout) <= most, security.stdout[-300:]


@pytest.mark.component
def test_user_units_verify_and_are_hardened(tmp_path: Path) -> None:
    analyzer = require_binary("systemd-analyze")
    home = tmp_path / "home"
    # As copied by hand: cctrack in ~/.local/bin, where pipx and uv put it.
    (home / ".local/bin").mkdir(parents=True)
    (home / ".local/bin/cctrack").symlink_to(CCTRACK)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    user = DEPLOY / "systemd/user"
    units = [
        str(user / name)
        for name in (
            "cctrack-capture.service",
            "cctrack-capture.timer",
            "cctrack-analyze.service",
            "cctrack-push.service",
        )
    ]
    verify = subprocess.run(
        [analyzer, "--user", "verify", "--recursive-errors=yes", *units],
        capture_output=True,
        text=True,
        env=env,
    )
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    for name, most in MAX_EXPOSURE.items():
        if "@" in name:
            continue
        security = subprocess.run(
            [analyzer, "--user", "security", "--offline=yes", str(user / name)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert exposure(security.stdout) <= most, security.stdout[-300:]


def test_timer_schedule() -> None:
    for timer in (
        DEPLOY / "systemd/user/cctrack-capture.timer",
        DEPLOY / "systemd/system/cctrack-capture@.timer",
    ):
        text = timer.read_text()
        assert (
            "OnCalendar=*:0/5" in text
            and "Persistent=true" in text
            and "RandomizedDelaySec=" in text
        )
    for service in (DEPLOY / "systemd").rglob("cctrack-capture*.service"):
        text = service.read_text()
        assert (
            "OnFailure=cctrack-analyze" in text
            and "OnSuccess=cctrack-analyze" in text
            and "TimeoutStartSec=" in text
        )


def cron_user(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A user as cron sees it: HOME, a minimal PATH, cctrack in ~/.local/bin (pipx, uv), a
    Codex session and Claude Code with a status line snapshot."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".local/bin").mkdir(parents=True)
    (home / ".local/bin/cctrack").symlink_to(Path(sys.executable).parent / "cctrack")
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    (home / ".config/cctrack").mkdir(parents=True)
    # No network in tests: the OAuth source is off, as a user without it would set it.
    (home / ".config/cctrack/config.toml").write_text(
        f'claude_oauth = false\ntextfile_dir = "{textfile_dir}"\n'
    )
    write_rollout(
        home / ".codex",
        now - timedelta(hours=1),
        [
            token_count(
                now - timedelta(minutes=1), nested_2026((12.0, 300, now + timedelta(hours=2)), None)
            )
        ],
    )
    vars = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    payload = json.dumps(statusline_payload((33.0, now + timedelta(hours=1)), None))
    subprocess.run(
        [str(home / ".local/bin/cctrack"), "statusline"],
        input=payload,
        text=True,
        env=vars,
        check=True,
        capture_output=True,
    )
    return vars, textfile_dir


def crontab_commands() -> list[str]:
    commands = []
    for line in (DEPLOY / "cron/crontab.example").read_text().splitlines():
        line = line.strip()
        if line.startswith("#"):
            line = line.lstrip("# ")
            if not re.match(r"^[\d*/,-]+ [\d*/,-]+ \* \* \* ", line):
                continue
        if line:
            commands.append(line.split(None, 5)[5])
    return commands


def test_crontab_lines_work_under_cron_environment(tmp_path: Path) -> None:
    vars, textfile_dir = cron_user(tmp_path)
    commands = crontab_commands()
    assert len(commands) == 1
    for command in commands:
        (textfile_dir / TEXTFILE).unlink(missing_ok=True)
        done = subprocess.run(
            ["env", "-i", *(f"{k}={v}" for k, v in vars.items()), "/bin/sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        if "analyze" in command or "run" in command:
            text = (textfile_dir / TEXTFILE).read_text()
            assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == pytest.approx(
                0.12
            )
            assert sample(text, "cctrack_claude_usage_ratio", window="five_hour") == pytest.approx(
                0.33
            )
    records = (Path(vars["HOME"]) / ".local/state/cctrack").glob("usage-*.jsonl")
    lines = [json.loads(line) for path in records for line in path.read_text().splitlines()]
    status = [r for r in lines if "kind" not in r]
    assert len(status) == 2 and all(r["ok"] for r in status)  # one run, two tools


def test_jobs_skip_an_overlapping_run(tmp_path: Path) -> None:
    vars, _ = cron_user(tmp_path)
    lock = Path(vars["HOME"]) / ".local/state/cctrack/.capture.job.lock"
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        skipped = subprocess.run(
            [str(ROOT / "jobs/capture")], env=vars, capture_output=True, text=True
        )
        assert skipped.returncode == 0 and "still runs; skipping" in skipped.stderr
        assert not list(lock.parent.glob("usage-*.jsonl"))
        # Another job is not held up: analyze has its own lock.
        analyzed = subprocess.run(
            [str(ROOT / "jobs/analyze")], env=vars, capture_output=True, text=True
        )
    assert analyzed.returncode == 0 and "cctrack analyze:" in analyzed.stderr
    ran = subprocess.run([str(ROOT / "jobs/capture")], env=vars, capture_output=True, text=True)
    assert ran.returncode == 0 and "claude ok, codex ok" in ran.stderr


def test_jobs_run_the_checkouts_own_cctrack_before_any_on_path(tmp_path: Path) -> None:
    # A user's other cctrack (~/.local/bin, first on PATH) must not run one job of a unit
    # while the checkout's runs the other.
    decoy_dir = tmp_path / "bin"
    decoy_dir.mkdir()
    marker = tmp_path / "decoy-ran"
    decoy = decoy_dir / "cctrack"
    decoy.write_text(f"#!/bin/sh\ntouch {marker}\n")
    decoy.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": f"{decoy_dir}:/usr/bin:/bin"}
    done = subprocess.run([str(ROOT / "jobs/analyze")], env=env, capture_output=True, text=True)
    assert not marker.exists() and "cctrack analyze:" in done.stderr, done.stderr
    # An explicit CCTRACK_BIN is the user's word, and wins.
    subprocess.run([str(ROOT / "jobs/analyze")], env={**env, "CCTRACK_BIN": str(decoy)})
    assert marker.exists()


def test_jobs_say_when_cctrack_is_missing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # A copy of jobs/ outside any checkout, with no cctrack anywhere it looks.
    shutil.copytree(ROOT / "jobs", tmp_path / "jobs")
    # A PATH with what the script needs and nothing else: no cctrack the host may have.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sh", "dirname"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    done = subprocess.run(
        ["/bin/sh", str(tmp_path / "jobs/analyze")],
        env={"HOME": str(home), "PATH": str(tools)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "cannot find the cctrack command" in done.stderr


@pytest.mark.component
@pytest.mark.parametrize("rules", ["alerts", "otel-names"])
def test_rules_pass_promtool_and_their_unit_tests(rules: str) -> None:
    promtool = require_binary("promtool")
    check = subprocess.run(
        [promtool, "check", "rules", str(DEPLOY / f"prometheus/{rules}.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [promtool, "test", "rules", f"{rules}_test.yml"],
        cwd=DEPLOY / "prometheus",
        capture_output=True,
        text=True,
    )
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr


def test_textfile_folder_is_ignored_but_documented() -> None:
    if not (ROOT / ".git").exists():
        unavailable("not a git checkout (CI runs on a clone)")
    for generated in (f"textfile/{TEXTFILE}", f"textfile/.{TEXTFILE}.tmp-0123456789abcdef"):
        assert subprocess.run(["git", "check-ignore", "-q", generated], cwd=ROOT).returncode == 0
    kept = subprocess.run(["git", "check-ignore", "-q", "textfile/README.md"], cwd=ROOT)
    assert kept.returncode == 1
    # The HTML report's default file, written where the command runs.
    assert (
        subprocess.run(["git", "check-ignore", "-q", "cctrack-report.html"], cwd=ROOT).returncode
        == 0
    )


RULE_FILES = ("alerts.yml", "otel-names.yml")
# Names from Claude Code's own OpenTelemetry export and the GenAI conventions, recorded by
# otel-names.yml from cctrack's counters.
OTEL_NAMES = (
    'claude_code_token_usage_tokens_total{source="cctrack",type="cacheRead"}',
    'claude_code_cost_usage_USD_total{source="cctrack"}',
    'gen_ai_client_token_usage_sum{gen_ai_provider_name="anthropic",gen_ai_token_type="input"}',
    'gen_ai_client_token_usage_sum{gen_ai_provider_name="openai",gen_ai_token_type="output"}',
)


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana/cctrack-dashboard.json").read_text())
    return [
        re.sub(r"\$(instance|user|profile|account|tool)\b", ".*", target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def query(base: str, expr: str) -> list:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{expr}: {exc.read().decode()}") from None
    assert body["status"] == "success", body
    return body["data"]["result"]


@contextlib.contextmanager
def running_prometheus(
    tmp_path: Path, job: str = "", target: str = "", honor_labels: bool = False
) -> Iterator[str]:
    """The real prometheus on 127.0.0.1, with the shipped rules, scraping one target every
    second; without a target, scraping nothing and receiving remote writes. Yields its URL."""
    prometheus = require_binary("prometheus")
    config = tmp_path / "prometheus.yml"
    honor = "    honor_labels: true\n" if honor_labels else ""
    # The shipped rules too: their recorded names are queried like any series.
    rules = "".join(f"  - {DEPLOY / 'prometheus' / name}\n" for name in RULE_FILES)
    scrape = (
        f"scrape_configs:\n  - job_name: {job}\n{honor}"
        f"    static_configs:\n      - targets: ['{target}']\n"
        if target
        else ""
    )
    config.write_text(
        f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{rules}{scrape}"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            *([] if target else ["--web.enable-remote-write-receiver"]),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/-/ready", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def assert_every_dashboard_query_has_data(base: str) -> None:
    expressions = dashboard_queries()
    assert len(expressions) >= 12
    empty = expressions
    for _ in range(300):  # bounded wait for the first scrapes; increase() needs two
        empty = [expr for expr in expressions if not query(base, expr)]
        if not empty:
            break
        time.sleep(0.1)
    assert empty == [], f"panels without data: {empty}"


@pytest.mark.component
def test_every_dashboard_panel_has_data_in_real_prometheus(
    env: Env, node_exporter, pushgateway: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Codex's 5-hour window at 75 % three hours in: it runs out before its reset, so the
    # run-out panel has a value too; every detail a vendor reports, for their panels.
    env.use_fixed_tools(codex=(0.75, 0.13), details=True)
    env.write_token_logs()
    # Closed 5-hour windows in the history, and projects counted: the cycles and project
    # panels have values too; a push, for the health panel.
    plan_history(env.data_dir, datetime.now(timezone.utc) - timedelta(hours=21), [0.5, 0.8])
    env.vars.update(CCTRACK_TOKEN_PROJECTS="3", CCTRACK_PUSHGATEWAY_URL=pushgateway)
    # An agent beside the two, running out too and reporting every detail: its row's panels.
    env.use_agent()
    for _ in range(2):  # the second analysis exports how the first push went
        done = env.run("run")
        assert done.returncode == 0, done.stderr
    target = urllib.parse.urlparse(node_exporter.url).netloc
    with running_prometheus(tmp_path, "node", target) as base:
        assert_every_dashboard_query_has_data(base)
        # The annotations' queries are sound (they have data only around an event).
        dashboard = json.loads((DEPLOY / "grafana/cctrack-dashboard.json").read_text())
        for annotation in dashboard["annotations"]["list"]:
            query(
                base, re.sub(r"\$(instance|user|profile|account|tool)\b", ".*", annotation["expr"])
            )
        assert dashboard["refresh"] == "5m" and dashboard["graphTooltip"] == 1
        for name in OTEL_NAMES:
            assert query(base, name), f"no {name}"
        used = query(base, 'cctrack_codex_usage_ratio{window="five_hour"}')
        assert float(used[0]["value"][1]) == pytest.approx(0.75)


def test_launchd_agent_runs_the_job_every_five_minutes() -> None:
    import plistlib

    path = DEPLOY / "launchd" / "io.github.cctrack.run.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == path.name.removesuffix(".plist")
    assert agent["StartInterval"] == 300 and agent["RunAtLoad"] is True
    program, flag, command = agent["ProgramArguments"]
    assert (program, flag) == ("/bin/sh", "-c")
    # The same job as cron: cctrack run, logged, its exit status kept.
    assert command.startswith('exec "$HOME/.local/bin/cctrack" run --if-idle >> ')
    assert "|" not in command
    check = subprocess.run(["/bin/sh", "-n", "-c", command], capture_output=True)
    assert check.returncode == 0


def test_shell_completion_is_offered() -> None:
    # typer finds the shell among the command's parents (shellingham): bash is one here,
    # whatever started pytest.
    done = subprocess.run(
        ["bash", "-c", f'"{Path(sys.executable).parent / "cctrack"}" --show-completion; exit $?'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "_cctrack_completion" in done.stdout
