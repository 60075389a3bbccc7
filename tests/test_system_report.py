"""`cctrack report --html` in a real headless Chromium (Debian's `chromium`): no console
error (a blocked fetch is one), nothing resolvable outside, and screenshots at desktop and
phone widths that are not blank and show the charts, checked by pixels; and the layout the
browser computed, measured in it: the answer on the first screen, nothing cut off, each
chart open at today. With CCTRACK_README_SCREENSHOT=PATH the desktop screenshot is kept
there (the README's)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Env, require_binary

pytestmark = pytest.mark.component

# The charts' line colour (page.py), give or take anti-aliasing.
LINE = (10, 132, 255)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with its own profile; nothing it is asked for leaves this machine."""
    return subprocess.run(
        [
            require_binary("chromium"),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def screenshot(
    page: Path, width: int, height: int, tmp_path: Path, dark: bool = False
) -> tuple[Path, str]:
    shot = tmp_path / f"shot-{width}{'-dark' if dark else ''}.png"
    done = chromium(
        tmp_path / f"profile-{width}-{dark}",
        "--enable-logging=stderr",
        "--v=0",
        *(["--force-dark-mode"] if dark else []),
        f"--window-size={width},{height}",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    return shot, done.stderr


def line_pixels(shot: Path) -> tuple[int, int]:
    """How many pixels the image has of the charts' line colour, and how many colours."""
    from PIL import Image

    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    near = sum(
        count
        for count, colour in colours
        if all(abs(a - b) <= 40 for a, b in zip(colour, LINE, strict=True))
    )
    return near, len(colours)


def test_the_report_in_a_real_browser(env: Env, tmp_path: Path) -> None:
    # The demo as a newcomer makes it: its bundled homes and its three days of history.
    demo = env.root / "demo"
    assert env.run("run", "--demo", "--data-dir", str(demo)).returncode == 0
    page = tmp_path / "report.html"
    done = env.run("report", "--html", "-o", str(page), "--data-dir", str(demo))
    assert done.returncode == 0, done.stderr
    for width, height in ((1280, 2600), (390, 3600)):
        shot, log = screenshot(page, width, height, tmp_path)
        console = [line for line in log.splitlines() if ":CONSOLE" in line]
        assert console == [], console
        line, colours = line_pixels(shot)
        assert colours > 50, f"{width} px: a blank page ({colours} colours)"
        assert line > 200, f"{width} px: no chart lines ({line} pixels of the line colour)"
        if width == 1280 and os.environ.get("CCTRACK_README_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["CCTRACK_README_SCREENSHOT"])
    # A dark colour scheme: a dark page, its charts still drawn.
    shot, log = screenshot(page, 1280, 1600, tmp_path, dark=True)
    from PIL import Image

    with Image.open(shot) as image:
        corner = image.convert("RGB").getpixel((5, 5))
    assert isinstance(corner, tuple) and max(corner) < 60, corner
    assert line_pixels(shot)[1] > 50


# Run in the page after layout (a copy of it whose policy lets this one script run, in a
# frame of the screen's size: a headless window is never narrower than 500 px, a frame is):
# what a reader sees of the Now table on the first screen, what is cut off at the right
# edge, and where each chart's scroll box opens.
MEASURE = """<script>
const view = document.documentElement.clientWidth, fold = window.innerHeight;
const rows = [...document.querySelectorAll('table.now tr')].slice(1);
const out = {
  view, page: document.documentElement.scrollWidth,
  firstScreen: rows.filter(r => r.getBoundingClientRect().bottom <= fold).map(r => r.innerText),
  rows: rows.length,
  cut: [...document.querySelectorAll('table.now td, table.now th, h1, h2, p')]
    .filter(e => e.getBoundingClientRect().right > view + 1 || e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText),
  charts: [...document.querySelectorAll('figure > div')].map(box => {
    const svg = box.querySelector('svg').getBoundingClientRect();
    return {box: box.getBoundingClientRect().right, chart: svg.right, width: svg.width};
  }),
};
parent.document.body.setAttribute('data-layout', JSON.stringify(out));
</script>"""


def layout(page: Path, width: int, height: int, tmp_path: Path) -> dict[str, Any]:
    """The layout Chromium computed for the page at this window size (MEASURE's findings)."""
    measured = tmp_path / f"measured-{width}.html"
    text = page.read_text()
    policy = "default-src 'none'; style-src 'unsafe-inline'"
    assert policy in text
    text = text.replace(policy, policy + "; script-src 'unsafe-inline'")
    # srcdoc: the frame shares the outer page's origin, so the script can write there.
    framed = html.escape(text.replace("</body>", MEASURE + "</body>"), quote=True)
    measured.write_text(
        '<!DOCTYPE html><html><body style="margin:0"><iframe style="border:0" '
        f'width="{width}" height="{height}" srcdoc="{framed}"></iframe></body></html>'
    )
    done = chromium(
        tmp_path / f"profile-layout-{width}",
        f"--window-size={width + 100},{height + 100}",
        "--dump-dom",
        measured.as_uri(),
    )
    found = re.search(r'data-layout="([^"]*)"', done.stdout)
    assert done.returncode == 0 and found, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


# A phone (390 x 844, an iPhone 14's CSS pixels) and a laptop.
@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_the_answer_is_on_the_first_screen_and_nothing_is_cut_off(
    env: Env, tmp_path: Path, width: int, height: int
) -> None:
    demo = env.root / "demo"
    assert env.run("run", "--demo", "--data-dir", str(demo)).returncode == 0
    page = tmp_path / "report.html"
    assert env.run("report", "--html", "-o", str(page), "--data-dir", str(demo)).returncode == 0
    found = layout(page, width, height, tmp_path)
    assert found["view"] == width
    # No sideways scroll of the page itself, and no text clipped at its right edge.
    assert found["page"] <= width, found
    assert found["cut"] == [], found["cut"]
    # Every window of the Now table, with what is left and when it resets, before the fold.
    assert found["rows"] >= 4 and len(found["firstScreen"]) == found["rows"], found
    for row in found["firstScreen"]:
        assert "% left" in row and "resets" in row, row
    # Each chart opens at its right end, today; on a phone it is wider than the screen.
    assert found["charts"], found
    for chart in found["charts"]:
        assert abs(chart["chart"] - chart["box"]) <= 1, chart
        if width == 390:
            assert chart["width"] > width, chart


def test_a_blocked_fetch_would_be_seen(env: Env, tmp_path: Path) -> None:
    """The check above can fail: a page that asks for an image gets a console error."""
    assert env.run("report", "--html", "-o", str(tmp_path / "empty.html")).returncode == 0
    page = tmp_path / "fetching.html"
    text = (tmp_path / "empty.html").read_text()
    page.write_text(text.replace("<title>", '<img src="http://example.com/x.png"><title>'))
    _, log = screenshot(page, 800, 600, tmp_path)
    assert any(":CONSOLE" in line and "example.com" in line for line in log.splitlines())
