"""What cctrack ships for deployment, in process through the real command line (typer's
CliRunner): listed, printed, written, rendered for one installation, and refused for system
units that their service users could not run."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from cctrack.cli import app
from cctrack.shipped import installed_command, others_cannot_run, render, shipped_files

ROOT = Path(__file__).resolve().parent.parent


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def test_every_file_of_deploy_is_shipped_and_listed() -> None:
    files = sorted(
        str(p.relative_to(ROOT / "deploy")) for p in (ROOT / "deploy").rglob("*") if p.is_file()
    )
    assert shipped_files() == files
    listed = invoke("deploy", "--list")
    assert listed.exit_code == 0 and listed.stdout.split() == files


def test_one_file_is_printed_rendered_for_this_installation() -> None:
    done = invoke("deploy", "systemd/user/cctrack-analyze.service")
    assert done.exit_code == 0
    assert f"ExecStart={installed_command()} analyze --if-idle" in done.stdout
    # Rules and dashboards are printed as shipped.
    rules = invoke("deploy", "prometheus/alerts.yml")
    assert rules.stdout == (ROOT / "deploy/prometheus/alerts.yml").read_text()


def test_a_group_is_written_into_a_directory_for_another_hosts_path(tmp_path: Path) -> None:
    done = invoke("deploy", "systemd-system", "--to", str(tmp_path), "--command", "/srv/my cctrack")
    assert done.exit_code == 0, done.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "cctrack-analyze@.service",
        "cctrack-capture@.service",
        "cctrack-capture@.timer",
        "cctrack-push@.service",
    ]
    unit = (tmp_path / "cctrack-push@.service").read_text()
    assert 'ExecStart="/srv/my cctrack" push --if-idle' in unit
    assert (tmp_path / "cctrack-push@.service").stat().st_mode & 0o777 == 0o644


def test_a_group_needs_a_directory_and_names_must_exist() -> None:
    group = invoke("deploy", "systemd-user")
    assert group.exit_code == 2 and "give --to DIR" in group.output
    unknown = invoke("deploy", "systemd/user/nothing.service")
    assert unknown.exit_code == 2 and "cctrack deploy --list" in unknown.output


def test_the_cron_line_runs_the_given_command() -> None:
    text = render("cron/crontab.example", Path("/opt/x y/bin/cctrack"))
    assert "*/5 * * * * '/opt/x y/bin/cctrack' run --if-idle >>" in text


def test_a_command_behind_a_closed_directory_cannot_be_run_by_others(tmp_path: Path) -> None:
    # pytest's own directories are private: open the way to tmp_path for this test only.
    way = [p for p in [*tmp_path.parents, tmp_path] if not os.stat(p).st_mode & 0o001]
    modes = {p: os.stat(p).st_mode & 0o777 for p in way}
    for path, mode in modes.items():
        path.chmod(mode | 0o001)
    try:
        for name, mode in (("closed", 0o700), ("open", 0o755)):
            (tmp_path / name).mkdir(mode=mode)
            (tmp_path / name / "cctrack").write_text("#!/bin/sh\n")
            (tmp_path / name / "cctrack").chmod(0o755)
        found = others_cannot_run(tmp_path / "closed" / "cctrack")
        assert found is not None and found.path == tmp_path / "closed" and "0700" in found.why
        assert others_cannot_run(tmp_path / "open" / "cctrack") is None
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
