"""docs/ is the contract: its settings and metrics tables must say what the code does."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cctrack.exposition import render
from cctrack.records import Record
from cctrack.report import build_report
from cctrack.sends import PushStatus, SinkHealth
from cctrack.settings import ENVIRONMENT, SETTINGS
from cctrack.sinks import SINKS
from cctrack.state import State
from cctrack.status import Bucket, Extras, SpendLimit, Status, Window
from cctrack.textfile import families

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def table_rows(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    return rows[1:]


def test_settings_table_matches_the_code() -> None:
    """Every column of every row: the table is the settings table (settings.SETTINGS)."""
    documented = table_rows(ROOT / "docs/settings.md")
    assert documented == [setting.row() for setting in SETTINGS]
    assert {s.key: s.env for s in SETTINGS if s.env} == ENVIRONMENT


def rendered_metric_names() -> set[str]:
    state = State()
    lines = []
    extras = {
        "claude": Extras(
            extra_usage_enabled=True,
            extra_usage_used_ratio=0.2,
            extra_usage_monthly_limit=50.0,
            extra_usage_spent=10.0,
            currency="USD",
        ),
        "codex": Extras(
            has_credits=True,
            credits_unlimited=False,
            credits_balance=12.5,
            limit_reached="rate_limit_reached",
            reset_credits_available=1,
        ),
    }
    # Two snapshots per tool, the second with its reset moved: every evidence series.
    for seq, tool, later, reset in (
        (1, "claude", 0, 1),
        (2, "codex", 0, 1),
        (3, "claude", 5, 3),
        (4, "codex", 5, 3),
    ):
        window = Window("five_hour", 0.4, 18000, NOW + timedelta(hours=reset))
        bucket = Bucket("opus", Window("weekly", 0.3, 604800, NOW + timedelta(days=2)))
        status = replace(
            Status(tool, NOW + timedelta(minutes=later), "test", (window,), "pro"),
            buckets=(bucket,),
            extras=extras[tool],
            spend=(
                SpendLimit(
                    "individual", 0.3, NOW + timedelta(days=9), 8e3, 25e3, "credits", binding=True
                ),
            ),
        )
        lines.append(Record(seq, NOW, "h", tool, ok=True, status=status).to_line().rstrip(b"\n"))
    state.add_lines(lines)
    sent = PushStatus(NOW, 0)
    health = tuple(SinkHealth(sink.metric, sink.who, sent) for sink in SINKS)
    report = build_report(state, NOW, sinks=health)
    text = render(families(report)).decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            name = line.split()[2]
            names.add(name)
    return names


def test_metrics_table_matches_a_rendered_textfile() -> None:
    documented = set()
    for row in table_rows(ROOT / "docs/metrics.md"):
        name = re.match(r"`([a-z_A-Z]+)", row[0])
        assert name, row
        for tool in ("claude", "codex"):
            documented.add(name.group(1).replace("cctrack_T_", f"cctrack_{tool}_"))
    assert documented == rendered_metric_names()


def test_readme_and_docs_link_only_inside_the_repository() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)", path.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            resolved = (path.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{path.name}: {target}"


def test_every_row_of_what_survives_what_names_tests_that_exist() -> None:
    guide = (ROOT / "docs" / "troubleshooting.md").read_text()
    table = guide.split("## What survives what", 1)[1].split("\n\n")[2]
    rows = table.splitlines()[2:]
    assert len(rows) >= 40
    for row in rows:
        named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", row.rsplit("|", 2)[1])
        assert named, f"a row without its test: {row[:80]}"
        for file, test in named:
            source = (ROOT / "tests" / file).read_text()
            assert re.search(rf"^def {test}\(", source, re.M), f"{file}::{test} does not exist"


def test_the_invariants_of_the_files_name_tests_that_exist() -> None:
    text = (ROOT / "docs" / "records.md").read_text()
    section = text.split("## What each file holds", 1)[1]
    named = set(re.findall(r"`(?:tests/\w+\.py::)?(test_\w+)`", section))
    assert len(named) >= 7
    sources = "".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    for test in named:
        assert re.search(rf"^def {test}\(", sources, re.M), f"{test} does not exist"


def test_the_guards_documented_defaults_are_its_own() -> None:
    import typer.main

    from cctrack.cli import app

    row = next(
        line
        for line in (ROOT / "docs" / "commands.md").read_text().splitlines()
        if line.startswith("| `cctrack guard")
    )
    documented = dict(re.findall(r"`(--[a-z-]+) ([^`]+)`", row.split("Defaults:", 1)[1]))
    command = typer.main.get_command(app).commands["guard"]  # type: ignore[attr-defined]
    defaults = {f"--{p.name.replace('_', '-')}": p.default for p in command.params}
    assert documented == {
        name: str(defaults[name]).removesuffix(".0") for name in documented
    } and set(documented) == {"--tool", "--window", "--min-left", "--profile"}


# An install of the bare name `cctrack` (or with extras) from the index is another project.
FOREIGN_INSTALL = re.compile(
    r"(?:pip3?|pipx|uv (?:tool |pip )?)\s*(?:install|inject)\s+(?:-\S+\s+)*['\"]?cctrack(?:\[|['\"\s]|$)"
)


def test_no_install_line_names_another_projects_package() -> None:
    """`cctrack` on the package index is someone else's: every install line names the
    distribution (cctrack-exporter), a wheel or a path."""
    paths = [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "scripts").iterdir(),
        *(ROOT / "cctrack").rglob("*.py"),
        *(ROOT / "deploy").rglob("*"),
        ROOT / "textfile" / "README.md",
    ]
    for path in paths:
        if path.is_file():
            for number, line in enumerate(path.read_text().splitlines(), 1):
                assert not FOREIGN_INSTALL.search(line), f"{path}:{number}: {line}"
                assert "git+https://github.com/cctrack" not in line, f"{path}:{number}"
    assert FOREIGN_INSTALL.search("pip install 'cctrack[report]'")
    assert FOREIGN_INSTALL.search("uv tool install --force cctrack")
    assert not FOREIGN_INSTALL.search("pip install 'cctrack-exporter[report]'")


def test_the_readmes_wheel_is_the_one_the_build_makes() -> None:
    import tomllib

    from cctrack import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wheel = f"{project['name'].replace('-', '_')}-{__version__}-py3-none-any.whl"
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"cctrack_exporter-[^\s'\"`]+?\.whl", readme))
    assert named == {wheel}
    assert project["name"] == "cctrack-exporter" and "urls" not in project
    # Every install block of the README is one the suite runs (test_system_systemd.py).
    assert set(re.findall(r"<!-- readme-test: ([a-z-]+) -->", readme)) == {
        "user-install",
        "pipx-install",
        "uv-install",
        "server-install",
    }


def test_every_alert_names_its_runbook_and_the_runbook_is_there() -> None:
    rules = (ROOT / "deploy" / "prometheus" / "alerts.yml").read_text()
    alerts = re.findall(r"- alert: (\w+)", rules)
    named = re.findall(r'runbook: "docs/alerts.md#(alert-[a-z]+)"', rules)
    assert len(alerts) == len(named) >= 14
    assert named == [f"alert-{name.lower()}" for name in alerts]
    guide = (ROOT / "docs" / "alerts.md").read_text()
    for anchor in named:
        assert f'<a id="{anchor}"></a>' in guide, anchor
    assert "runbook_url" not in rules.replace("add a runbook_url", "")


TOKEN_FAMILIES = re.compile(r"_(tokens_total|cost_usd_total|window_tokens|tokens_per_percent)$")


def test_the_dashboard_draws_every_family_the_metrics_table_documents() -> None:
    """Every documented family is in a panel's query (or an annotation's), by name or by a
    `__name__` pattern; the dashboard refreshes every 5 minutes with a shared crosshair."""
    dashboard = json.loads((ROOT / "deploy/grafana/cctrack-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"]]
    patterns = [re.compile(f"^{p}$") for e in exprs for p in re.findall(r'__name__=~"([^"]+)"', e)]
    names = set(re.findall(r"\bcctrack_[a-z_]+", " ".join(exprs)))
    missing = []
    for row in table_rows(ROOT / "docs/metrics.md"):
        family = re.match(r"`([a-zA-Z_]+)", row[0]).group(1)  # type: ignore[union-attr]
        # An agent has every per-tool family but the token counters (docs/status.md).
        agent = family.startswith("cctrack_T_") and not TOKEN_FAMILIES.search(family)
        for tool in ("claude", "codex", *(["agent"] if agent else [])):
            name = family.replace("cctrack_T_", f"cctrack_{tool}_")
            if name not in names and not any(p.match(name) for p in patterns):
                missing.append(name)
    assert missing == []
    # Agents: one repeated row per value of the tool variable.
    assert [p["repeat"] for p in dashboard["panels"] if p.get("repeat")] == ["tool"]
    assert "tool" in [v["name"] for v in dashboard["templating"]["list"]]
    assert dashboard["refresh"] == "5m" and dashboard["graphTooltip"] == 1
