"""page.py: `cctrack report --html` on generated history: one well-formed page with
everything in it and nothing fetched (the real browser opens it in
tests/test_system_report.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
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
    # Text is text (read out, found, copied), not outlines.
    assert page.count("<text") >= 5 * len(labels) and '<defs>\n   <path id="DejaVu' not in page
    assert "<h2>Closed windows</h2>" in page and "1 h 50 m" in page


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
    assert "<td>codex</td><td>12.50 credits left</td>" in page
    assert re.search(r"<td>claude</td><td>five_hour</td><td>project 100%</td>", page), page[-3000:]


def test_what_was_captured_since_the_last_analysis_is_on_the_page(env: Env) -> None:
    history(env)
    env.use_fixed_tools(codex=(0.9, 0.13))
    assert env.run("capture").returncode == 0  # not analyzed yet
    page = env.run("report", "--html", "-o", "-").stdout
    labels = re.findall(r'role="img" aria-label="([^"]+)"', page)
    assert any(label.startswith("codex five_hour: ") and "latest 90%" in label for label in labels)


def test_old_hours_come_from_the_rollup_and_the_last_days_as_captured(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from builders import append_lines, working_days

    from cctrack import fold
    from cctrack.state import FoldRules
    from cctrack.views import page
    from cctrack.views.page import DETAIL, recent_snapshots, usage_series

    monkeypatch.setattr(page, "MAX_POINTS", 10**6)  # thinning apart (below)

    now = datetime.now(UTC)
    append_lines(env.data_dir, working_days(env.root, 20, seed=5))
    assert env.run("analyze").returncode == 0
    _, kept = fold.replay(env.data_dir, FoldRules())
    cutover = (now - DETAIL).timestamp()
    recent = recent_snapshots(env.data_dir, cutover)
    (series,) = usage_series(kept, recent, cutover, None, "codex")[:1]
    times = [t.timestamp() for t in series.times]
    older = [t for t in times if t < cutover]
    rows = [r for r in kept.hours.values() if r.key[:3] == ("default", "codex", "five_hour")]
    # Before the cutover at most the highest and the last of each hour that changed; after
    # it every snapshot as captured (5 minutes apart, 2 % failed).
    assert 0 < len(older) <= 2 * sum(r.last[0] < cutover for r in rows)
    assert len(times) - len(older) == len(recent[("default", "codex", "five_hour")])
    assert len(times) - len(older) > 0.95 * DETAIL.total_seconds() / 300


def test_a_long_line_keeps_the_highest_and_the_last_of_each_stretch() -> None:
    from cctrack.views.page import MAX_POINTS, thinned

    # Ten times MAX_POINTS snapshots; in each ten a peak (0.9), and a fall (0.05) last.
    values = {4: 0.9, 9: 0.05}
    snapshots = [(i * 300.0, values.get(i % 10, 0.5), None) for i in range(10 * MAX_POINTS)]
    kept = thinned(snapshots)
    assert len(kept) <= 2 * MAX_POINTS + 2 and kept == sorted(kept)
    assert kept[-1] == snapshots[-1]
    assert sum(s[1] == 0.9 for s in kept) >= MAX_POINTS - 1
    assert sum(s[1] == 0.05 for s in kept) >= MAX_POINTS * 0.9


def test_text_from_the_users_disk_is_drawn_as_it_is_never_as_markup(env: Env) -> None:
    """A `$` in a project's directory is mathematics to the chart library unless told
    otherwise: the page failed, and with html_report every analyze and run exited 1."""
    env.use_fixed_tools()
    env.write_token_logs()
    for path in env.claude_home.rglob("*.jsonl"):
        path.write_text(path.read_text().replace("/home/u/project", "/home/u/cost_$5_to_$10"))
    for path in env.codex_home.rglob("*.jsonl"):
        path.write_text(path.read_text().replace("/home/u/project", "/home/u/$$ <b>&"))
    env.vars["CCTRACK_TOKEN_PROJECTS"] = "2"
    page = env.root / "page.html"
    done = env.run("run", CCTRACK_HTML_REPORT=str(page))
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert "cost_$5_to_$10" in text and "$$ &lt;b&gt;&amp;" in text and "<b>&" not in text
    assert env.run("report", "--html", "-o", "-").returncode == 0


def test_the_now_table_answers_first_and_reads_on_a_phone(env: Env) -> None:
    """Per window: what is left, its reset, its pace in words, when it runs out if first, and
    how old the numbers are; on a narrow screen the table wraps its words (a number kept
    with its unit) and the charts open at today, their right end."""
    env.use_fixed_tools(codex=(0.75, 0.13))
    assert env.run("run").returncode == 0
    page = env.run("report", "--html", "-o", "-").stdout
    now = page.split('<table class="now">', 1)[1].split("</table>", 1)[0]
    assert "<th>left</th><th>resets</th><th>pace</th><th>runs out</th><th>as of</th>" in now
    (codex,) = [row for row in now.split("<tr>") if "codex</td><td>five_hour" in row]
    assert "<td>25\u00a0% left</td>" in codex and "in\u00a01\u00a0h" not in codex
    assert "\u00a0% in deficit" in codex and "runs out in ~" in codex
    assert "direction: rtl" in page and "direction: ltr" in page
    assert "@media (max-width: 640px)" in page
