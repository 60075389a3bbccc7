"""`cctrack report --html` in a real headless Chromium (Debian's `chromium`): no console
error (a blocked fetch is one), nothing resolvable outside, and screenshots at desktop and
phone widths that are not blank and show the charts, checked by pixels. With
CCTRACK_README_SCREENSHOT=PATH the desktop screenshot is kept there (the README's)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Env, require_binary

pytestmark = pytest.mark.component

# The charts' line colour (page.py), give or take anti-aliasing.
LINE = (10, 132, 255)


def screenshot(
    page: Path, width: int, height: int, tmp_path: Path, dark: bool = False
) -> tuple[Path, str]:
    chromium = require_binary("chromium")
    shot = tmp_path / f"shot-{width}{'-dark' if dark else ''}.png"
    done = subprocess.run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            # Nothing the page (or the browser) asks for could leave this machine.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--disable-background-networking",
            f"--user-data-dir={tmp_path / f'profile-{width}-{dark}'}",
            *(["--force-dark-mode"] if dark else []),
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
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


def test_a_blocked_fetch_would_be_seen(env: Env, tmp_path: Path) -> None:
    """The check above can fail: a page that asks for an image gets a console error."""
    assert env.run("report", "--html", "-o", str(tmp_path / "empty.html")).returncode == 0
    page = tmp_path / "fetching.html"
    text = (tmp_path / "empty.html").read_text()
    page.write_text(text.replace("<title>", '<img src="http://example.com/x.png"><title>'))
    _, log = screenshot(page, 800, 600, tmp_path)
    assert any(":CONSOLE" in line and "example.com" in line for line in log.splitlines())
