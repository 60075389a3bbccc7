"""page.py: `cctrack report --html` on generated history: one well-formed page with
everything in it and nothing fetched (the real browser opens it in
tests/test_system_report.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

from builders import plan_history
from conftest import Env

UTC = timezone.utc
# Elements without an end tag in HTML.
VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source"}


class Balance(HTMLParser):
    """Every element closed, in order (SVG's self-closed ones included)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def history(env: Env) -> None:
    start = (datetime.now(UTC) - timedelta(hours=21)).replace(second=0, microsecond=0)
    plan_history(env.data_dir, start, [0.5, 1.6, 0.8])
    env.use_fixed_tools(codex=(0.75, 0.13))
    env.write_token_logs()
    assert env.run("run").returncode == 0


def test_one_well_formed_page_with_every_part_and_nothing_to_fetch(env: Env) -> None:
    history(env)
    target = env.root / "report.html"
    done = env.run("report", "--html", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and target.stat().st_mode & 0o077 == 0
    page = target.read_text()
    parser = Balance()
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.open == []
    # No script, and no address to fetch from: only SVG's namespaces name a URL.
    assert "<script" not in page
    urls = set(re.findall(r"https?://[^\"' )]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert "default-src 'none'" in page
    # Each window's chart with its text alternative, the tokens, the closed windows.
    labels = re.findall(r'role="img" aria-label="([^"]+)"', page)
    assert any(label.startswith("codex five_hour: ") and "3 resets" in label for label in labels)
    assert any(label.startswith("claude: ") and "tokens over" in label for label in labels)
    assert page.count("<svg") == len(labels) >= 5
    assert "<h2>Closed windows</h2>" in page and "1h50m" in page


def test_a_tool_that_is_down_is_said_first_with_its_reason(env: Env) -> None:
    history(env)
    broken = env.root / "broken"
    broken.write_text("#!/bin/sh\necho 'not logged in' >&2\nexit 1\n")
    broken.chmod(0o755)
    assert env.run("run", "--claude-status", str(broken)).returncode == 0
    page = env.run("report", "--html", "-o", "-").stdout
    assert re.search(r'<p class="down">claude is down: [^<]*not logged in', page)
    assert page.index('class="down"') < page.index("<h2>Use over time</h2>")


def test_the_report_says_html(env: Env, tmp_path: Path) -> None:
    refused = env.run("report")
    assert refused.returncode == 2 and "--html" in refused.stderr
    empty = env.run("report", "--html", "-o", "-")
    assert empty.returncode == 0 and "no captures in the day files yet" in empty.stdout


def test_analyze_keeps_the_page_up_to_date_when_asked_and_goes_on_without_it(
    env: Env,
) -> None:
    page = env.root / "always" / "cctrack.html"
    page.parent.mkdir()
    history(env)
    assert not page.exists()  # off by default
    done = env.run("analyze", CCTRACK_HTML_REPORT=str(page))
    assert done.returncode == 0 and "<svg" in page.read_text()
    nowhere = env.root / "missing" / "cctrack.html"
    kept = env.run("analyze", CCTRACK_HTML_REPORT=str(nowhere))
    assert kept.returncode == 0 and env.textfile.exists()
    assert f"the HTML report was not written: {nowhere}" in kept.stderr


def test_what_else_the_vendors_report_and_the_projects_are_on_the_page(env: Env) -> None:
    from builders import script

    now = datetime.now(UTC)
    resets = (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = {
        "source_tool": "codex",
        "observed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "origin": "test",
        "windows": {"five_hour": {"used_ratio": 0.3, "window_seconds": 18000, "resets_at": resets}},
        "extras": {"has_credits": True, "credits_unlimited": False, "credits_balance": 12.5},
    }
    tool = script(env.root / "codex-with-credits", f"import json; print(json.dumps({status!r}))")
    env.use_fixed_tools()
    env.write_token_logs()
    env.vars["CCTRACK_TOKEN_PROJECTS"] = "2"
    assert env.run("run", "--codex-status", str(tool)).returncode == 0
    page = env.run("report", "--html", "-o", "-").stdout
    assert "<td>codex</td><td>credits: 12.50</td>" in page
    assert re.search(r"<td>claude</td><td>five_hour</td><td>project 100%</td>", page), page[-3000:]
