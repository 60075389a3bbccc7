"""Issue 16 on the desk, through the real command line: the status line with Codex from a
real analyze, desktop bars, the guard's exit codes, latest.json and notifications."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import nested_2026, script, statusline_payload, token_count, write_rollout
from conftest import Env, sample

from cctrack.report import Report, RunOut, ToolReport, WindowReport

UTC = timezone.utc


def codex_rollout(
    env: Env,
    used: float,
    minutes_ago: float = 1,
    five_hour_reset: timedelta = timedelta(hours=2),
    weekly: float = 63.0,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    seen = now - timedelta(minutes=minutes_ago)
    write_rollout(
        env.codex_home,
        now - timedelta(hours=3),
        [
            token_count(
                seen,
                nested_2026(
                    (used, 300, now + five_hour_reset), (weekly, 10080, now + timedelta(days=3))
                ),
            )
        ],
        mtime=seen,
        session=f"s-{used}-{minutes_ago}",
    )


def analysed(env: Env, used: float = 42.0, **kwargs: object) -> None:
    codex_rollout(env, used, **kwargs)  # type: ignore[arg-type]
    env.vars["CCTRACK_SOURCES"] = "codex"
    result = env.run("run")
    assert result.returncode == 0, result.stderr


def test_statusline_shows_claude_and_codex_from_the_latest_analysis(env: Env) -> None:
    analysed(env)
    now = datetime.now(UTC)
    payload = json.dumps(
        statusline_payload((37.0, now + timedelta(hours=1)), (12.0, now + timedelta(days=4)))
    )
    result = env.run("statusline", input=payload.encode())
    assert result.returncode == 0 and result.stderr == ""
    assert re.fullmatch(
        r"claude 5h 63 % left, resets in 5\d m · 7d 88 % left, resets \w{3} \d\d:\d\d \| "
        # 63 % of the week in its first half: at that rate gone before the reset.
        r"codex 5h 58 % left, resets in 1 h 5\d m · 7d 37 % left, resets \w{3} \d\d:\d\d, "
        r"\d+ % in deficit, runs out \w{3} \d\d:\d\d\n",
        result.stdout,
    ), result.stdout
    only = env.run("statusline", "--tools", "codex", input=payload.encode())
    assert only.stdout.startswith("5h 58 % left")


def test_statusline_marks_stale_numbers(env: Env) -> None:
    analysed(env, minutes_ago=200)
    out = env.run("statusline", "--tools", "codex", input=b"{}").stdout
    assert out.endswith(" · 3 h 20 m old\n") and "may have run out already" in out


def test_the_run_out_time_is_said_where_people_look_and_only_when_before_the_reset(
    env: Env,
) -> None:
    # Three of five hours gone and 75 % used: gone in an hour at that average, two hours
    # before the reset. The week, 13 % used four days in, lasts.
    env.use_fixed_tools(claude=(0.25, 0.5), codex=(0.75, 0.13))
    env.vars["CCTRACK_SOURCES"] = "codex"
    assert env.run("run").returncode == 0
    now = datetime.now(UTC).timestamp()
    gone = sample(
        env.textfile.read_text(), "cctrack_codex_runs_out_timestamp_seconds", window="five_hour"
    )
    assert gone is not None and abs(gone - (now + 3600)) < 120
    assert (
        sample(
            env.textfile.read_text(), "cctrack_codex_runs_out_timestamp_seconds", window="weekly"
        )
        is None
    )
    shown = env.run("show").stdout
    five_hour = next(line for line in shown.splitlines() if "five_hour" in line)
    weekly = next(line for line in shown.splitlines() if "weekly" in line)
    assert five_hour.endswith(" · runs out in ~59 m") or five_hour.endswith(
        " · runs out in ~1 h 00 m"
    )
    assert "runs out" not in weekly
    windows = json.loads((env.data_dir / "latest.json").read_text())["tools"]["codex"]["windows"]
    assert windows["five_hour"]["runs_out_basis"] == "window"
    assert abs(datetime.fromisoformat(windows["five_hour"]["runs_out_at"]).timestamp() - gone) < 1
    assert (windows["weekly"]["runs_out_at"], windows["weekly"]["runs_out_basis"]) == (None, None)
    bar = json.loads(env.run("bar", "--format", "json").stdout)
    assert bar["tools"]["codex"]["windows"]["five_hour"]["runs_out_basis"] == "window"
    assert (
        "runs out in ~" in bar["text"]
        and "runs out in ~" in json.loads(env.run("bar", "--format", "waybar").stdout)["tooltip"]
    )


def test_bar_formats_and_classes(env: Env) -> None:
    analysed(env, used=96.0)
    plain = env.run("bar").stdout.strip()
    assert plain.startswith("codex 5h 4 % left")
    waybar = json.loads(env.run("bar", "--format", "waybar").stdout)
    assert (
        waybar["class"] == "critical"
        and waybar["percentage"] == 96
        and "in deficit" in waybar["tooltip"]
    )
    full = json.loads(env.run("bar", "--format", "json").stdout)
    # The weekly window is under 80 % but burning faster than it refills: warn.
    assert full["version"] == 1 and full["tools"]["codex"]["windows"]["weekly"]["class"] == "warn"
    assert env.run("bar", "--format", "tmux").stdout.startswith("#[fg=red]codex 5h 4 % left")
    text, short, colour = env.run("bar", "--format", "i3blocks").stdout.splitlines()
    assert text == plain and short == "codex 4 % left" and colour == "#ff5555"
    bad = env.run("bar", "--format", "xml")
    assert bad.returncode == 2 and "unknown --format" in bad.stderr


@pytest.mark.parametrize(
    ("used", "args", "code", "words"),
    [
        (42.0, ["--min-left", "10"], 0, "58 % left"),
        (95.0, ["--min-left", "10"], 1, "only 5 % left"),
        (42.0, ["--window", "daily"], 69, "reports no daily window"),
        (42.0, ["--max-age", "30s"], 69, "more than --max-age"),
        (42.0, ["--max-age", "30s", "--fail-open"], 0, "--fail-open"),
        # --fail-open opens only what is unknown: a known "too little left" stays a no.
        (95.0, ["--min-left", "10", "--fail-open"], 1, "only 5 % left"),
        # At --min-left exactly, enough is left.
        (90.0, ["--min-left", "10"], 0, "10 % left"),
    ],
)
def test_guard_exit_codes(env: Env, used: float, args: list[str], code: int, words: str) -> None:
    analysed(env, used=used, minutes_ago=5)
    result = env.run("guard", "--tool", "codex", *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert words in result.stdout and result.stdout.count("\n") == 1


def test_guard_without_any_analysis_is_unavailable(env: Env) -> None:
    result = env.run("guard", "--tool", "codex")
    assert result.returncode == 69 and "no usage analysed yet" in result.stdout


def test_latest_json_is_written_by_analyze(env: Env) -> None:
    analysed(env)
    latest = json.loads((env.data_dir / "latest.json").read_text())
    assert latest["version"] == 1
    assert latest["tools"]["codex"]["windows"]["five_hour"]["used_ratio"] == 0.42
    assert (env.data_dir / "latest.json").stat().st_mode & 0o077 == 0


def notify_config(env: Env, command: list[str], extra: str = "") -> Path:
    config = Path(env.vars["XDG_CONFIG_HOME"]) / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"notify_command = {json.dumps(command)}\n{extra}")
    return config


def test_notify_command_hears_each_crossing_once(env: Env) -> None:
    inbox = env.root / "inbox"
    inbox.mkdir()
    receiver = script(
        env.root / "receiver",
        f"""
import sys, uuid
open({str(inbox)!r} + "/" + uuid.uuid4().hex, "w").write(sys.stdin.read())
""",
    )
    notify_config(env, [str(receiver)])

    def received() -> list[dict]:
        events = [json.loads(p.read_text()) for p in inbox.iterdir()]
        for p in inbox.iterdir():
            p.unlink()
        return sorted(events, key=lambda e: (e["event"], e["window"] or "", e["threshold"] or 0))

    analysed(env, used=50.0, weekly=10.0)
    assert received() == []  # below every threshold, up: nothing to say
    analysed(env, used=85.0, weekly=10.0)
    first = received()
    # 85 % used with 60 % of the window gone: over a threshold, and burning too fast.
    assert [(e["event"], e["window"], e["threshold"]) for e in first] == [
        ("pace", "five_hour", None),
        ("threshold", "five_hour", 0.8),
    ]
    (crossing,) = [e for e in first if e["event"] == "threshold"]
    assert (
        crossing["version"] == 1 and crossing["tool"] == "codex" and crossing["used_ratio"] == 0.85
    )
    assert crossing["message"].startswith("codex five_hour: 15 % left, resets in 1 h 5")
    for _ in range(2):  # still above 0.8, below 0.95: quiet, however often analyze runs
        analysed(env, used=90.0, weekly=10.0)
        assert received() == []
    analysed(env, used=97.0, weekly=10.0)
    assert [(e["event"], e["threshold"]) for e in received()] == [("threshold", 0.95)]
    env.vars["CODEX_STATUS_PATH"] = str(script(env.root / "broken", "import sys; sys.exit('down')"))
    assert env.run("run").returncode == 1  # the only source failed; analyze still ran
    assert [e["event"] for e in received()] == ["down"]
    assert env.run("run").returncode == 1
    assert received() == []
    del env.vars["CODEX_STATUS_PATH"]
    analysed(env, used=97.0, weekly=10.0)
    assert [e["event"] for e in received()] == ["up"]


def test_a_window_reset_is_told_once(env: Env) -> None:
    inbox = env.root / "inbox.jsonl"
    receiver = script(
        env.root / "receiver", f"import sys; open({str(inbox)!r}, 'a').write(sys.stdin.read())"
    )
    notify_config(env, [str(receiver)], "notify_thresholds = [0.99]\n")
    analysed(env, used=30.0, weekly=10.0)
    # As if the last analysis had been made before the five-hour window's reset: the state
    # file's memory says 90 % was used and the reset was a minute ago, and the window now
    # reads a new one with less used.
    state_file = env.data_dir / "analyze-state.json"
    state = json.loads(state_file.read_text())
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    state["notify_memory"]["codex"]["windows"]["five_hour"][0] = 0.9
    state["notify_memory"]["codex"]["windows"]["five_hour"][2] = past
    state_file.write_text(json.dumps(state))
    for _ in range(2):
        assert env.run("analyze").returncode == 0
    events = [json.loads(line) for line in inbox.read_text().splitlines()]
    assert [(e["event"], e["window"]) for e in events] == [("reset", "five_hour")]
    assert "quota is back" in events[0]["message"]


def test_a_hanging_notify_command_costs_at_most_its_timeout(env: Env) -> None:
    hang = script(env.root / "hang", "import time; time.sleep(60)")
    notify_config(env, [str(hang)], "notify_timeout = 1\n")
    codex_rollout(env, 90.0)
    env.vars["CCTRACK_SOURCES"] = "codex"
    result = env.run("run", timeout=30)
    assert result.returncode == 0
    assert "notification(s) not delivered: notify_command timed out after 1 s" in result.stderr
    assert env.textfile.exists()


def test_a_tool_that_is_down_says_why_in_bar_and_guard(env: Env) -> None:
    # A Codex home without any rollout: the capture fails, with its reason.
    env.codex_home.mkdir()
    env.vars["CCTRACK_SOURCES"] = "codex"
    assert env.run("run").returncode == 1
    plain = env.run("bar").stdout.strip()
    assert plain.startswith("codex down: ") and len(plain) <= len("codex down: ") + 60
    waybar = json.loads(env.run("bar", "--format", "waybar").stdout)
    assert waybar["class"] == "critical" and waybar["tooltip"].startswith("codex down: ")
    full = json.loads(env.run("bar", "--format", "json").stdout)
    assert full["class"] == "critical" and full["tools"]["codex"]["up"] is False
    assert full["tools"]["codex"]["error"]
    guard = env.run("guard", "--tool", "codex")
    assert guard.returncode == 69 and guard.stdout.startswith("codex down: "), guard.stdout


def test_bar_without_any_analysis_is_unknown(env: Env) -> None:
    waybar = json.loads(env.run("bar", "--format", "waybar").stdout)
    assert waybar["class"] == "unknown" and "run `cctrack run`" in waybar["text"]


def test_the_status_line_says_plainly_what_was_wrong_with_its_input(env: Env) -> None:
    for given, said in (
        (b"", "nothing on stdin (Claude Code gives its status line JSON)"),
        (b"  \n", "nothing on stdin"),
        (b"{not json", "stdin is not the JSON Claude Code gives its status line"),
    ):
        done = env.run("statusline", input=given)
        assert done.returncode == 0 and "no Claude usage yet" in done.stdout
        assert said in done.stderr and "char 0" not in done.stderr and "line 1" not in done.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("30", 1800), (" 1.5H ", 5400)],
)
def test_an_age_is_a_number_and_a_unit_minutes_when_bare(text: str, seconds: int) -> None:
    from cctrack.views.desk import parse_age

    assert parse_age(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "soon", "-5m", "1w"])
def test_what_is_not_an_age_says_so(text: str) -> None:
    from cctrack.views.desk import parse_age

    with pytest.raises(ValueError, match=r"^not an age: "):
        parse_age(text)


@pytest.mark.parametrize(
    ("used", "pace", "expected"),
    [
        ((), (), "ok"),
        ((0.79,), (None,), "ok"),
        ((0.8,), (None,), "warn"),  # WARN exactly
        ((0.5,), (1.0,), "ok"),  # on pace exactly: not fast
        ((0.5,), (1.01,), "warn"),
        ((0.94, 0.2), (None, 0.5), "warn"),
        ((0.95, 0.2), (None, None), "critical"),  # CRITICAL exactly, the worst decides
    ],
)
def test_the_level_of_a_bar_at_its_edges(
    used: tuple[float, ...], pace: tuple[float | None, ...], expected: str
) -> None:
    from cctrack.report import WindowReport
    from cctrack.views.desk import level

    windows = [
        WindowReport(f"w{i}", u, p, 18000, None)
        for i, (u, p) in enumerate(zip(used, pace, strict=True))
    ]
    assert level(windows) == expected


def test_guard_says_each_verdict_whole(env: Env) -> None:
    """The lines a script logs, to the word: enough left, a window it lacks, a fail-open."""
    analysed(env, used=42.0, minutes_ago=5)
    ok = env.run("guard", "--tool", "codex", "--min-left", "10")
    assert re.fullmatch(
        r"codex five_hour: 58 % left \(at least 10 %\); resets in 1 h 5\d m\n", ok.stdout
    ), ok.stdout
    lacking = env.run("guard", "--tool", "codex", "--window", "daily")
    assert lacking.stdout == "codex reports no daily window (it has: five_hour, weekly)\n"
    opened = env.run("guard", "--tool", "codex", "--max-age", "30s", "--fail-open")
    assert opened.returncode == 0 and opened.stdout.endswith("; going ahead (--fail-open)\n")
    other = env.run("guard", "--tool", "claude")
    assert other.returncode == 69 and "claude" in other.stdout


def _desk_report(now: datetime) -> Report:
    def tool(
        name: str, windows: tuple, error: str | None = None, seen: datetime = now
    ) -> ToolReport:
        return ToolReport(name, error is None, 5, 1, now, error, now, seen, "o", None, windows)

    codex = tool(
        "codex",
        (
            WindowReport(
                "five_hour",
                0.625,
                1.2,
                18000,
                now + timedelta(hours=2),
                RunOut(now + timedelta(hours=1), "recent"),
            ),
            WindowReport("weekly", 0.3, None, 604800, now + timedelta(days=3)),
            WindowReport("fortnight", 0.1, None, None, None),
        ),
    )
    claude = tool(
        "claude",
        (WindowReport("five_hour", 0.96, 0.5, 18000, now + timedelta(minutes=30)),),
        seen=now - timedelta(minutes=20),
    )
    other = ToolReport(
        "codex",
        True,
        1,
        0,
        now,
        None,
        now,
        now,
        "o",
        None,
        codex.windows,
        profile="work",
    )
    return Report(now, now, (claude, codex, other), 0, 0)


def test_every_bar_format_says_each_window_whole() -> None:
    """Each format exactly: labels, percentages, the run-out time only where it comes
    before the reset, a reset near as a countdown and far as a clock, stale numbers aged,
    the tooltip's and the JSON's fields, the class from the worst window."""
    from cctrack.timefmt import clock
    from cctrack.views.desk import bar

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    report = _desk_report(now)
    week = clock(now + timedelta(days=3), now)
    codex = (
        "codex 5h 38 % left, resets in 2 h 00 m, runs out in ~1 h 00 m · "
        f"7d 70 % left, resets {week} · fortnight 90 % left, reset unknown"
    )
    claude = "claude 5h 4 % left, resets in 30 m · 20 m old"
    plain = bar(report, now, ("claude", "codex"), "plain", "default")
    assert plain == f"{claude} | {codex}"
    assert bar(report, now, ("codex",), "plain", "work") == codex
    assert bar(report, now, ("codex",), "tmux", "default") == (f"#[fg=yellow]{codex}#[default]")
    assert bar(report, now, ("codex", "claude"), "i3blocks", "default") == (
        f"{codex} | {claude}\ncodex 38 % left claude 4 % left\n#ff5555"
    )
    waybar = json.loads(bar(report, now, ("codex",), "waybar", "default"))
    assert waybar == {
        "text": codex,
        "tooltip": "codex five_hour: 38 % left, resets in 2 h 00 m, runs out in ~1 h 00 m\n"
        f"codex weekly: 70 % left, resets {week}\ncodex fortnight: 90 % left, reset unknown",
        "class": "warn",
        "percentage": 62,
    }
    full = json.loads(bar(report, now, ("claude", "codex"), "json", "default"))
    assert full["text"] == plain and full["class"] == "critical" and full["percentage"] == 96
    assert full["version"] == 1
    assert full["tools"]["claude"] == {
        "up": True,
        "stale": True,
        "windows": {
            "five_hour": {
                "used_ratio": 0.96,
                "pace_ratio": 0.5,
                "runs_out_at": None,
                "runs_out_basis": None,
                "class": "critical",
            }
        },
        "spend": {},
    }
    five = full["tools"]["codex"]["windows"]["five_hour"]
    assert five["runs_out_basis"] == "recent" and five["class"] == "warn"
    assert full["tools"]["codex"]["stale"] is False


def test_a_down_tool_in_every_bar_format_says_why_and_nothing_else() -> None:
    from dataclasses import replace

    from cctrack.views.desk import REASON_CHARS, bar

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    report = _desk_report(now)
    reason = "x" * (REASON_CHARS + 5)
    tools = tuple(
        replace(t, last_error=reason, up=False) if t.tool == "codex" else t for t in report.tools
    )
    down = replace(report, tools=tools)
    short = "x" * (REASON_CHARS - 1) + "…"
    assert bar(down, now, ("codex",), "plain", "default") == f"codex down: {short}"
    text, brief, colour = bar(down, now, ("codex",), "i3blocks", "default").split("\n")
    assert (text, brief, colour) == (f"codex down: {short}", "codex down", "#ff5555")
    waybar = json.loads(bar(down, now, ("codex",), "waybar", "default"))
    assert waybar["tooltip"] == f"codex down: {reason}" and waybar["class"] == "critical"
    assert waybar["percentage"] == 0
    full = json.loads(bar(down, now, ("codex",), "json", "default"))
    assert full["tools"] == {"codex": {"up": False, "error": reason}}
    nothing = bar(down, now, ("gemini",), "i3blocks", "default")
    assert nothing == "cctrack: no data yet (run `cctrack run`)\ncctrack ?\n#6272a4"


def test_the_status_line_runs_the_users_own_command_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wrapped statusLine command gets Claude Code's stdin and its output goes first, as
    it printed it but for its trailing newlines and with bytes that are not UTF-8 shown as
    such; one that fails or hangs costs its line only, said on stderr."""
    from cctrack.views import desk

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    payload = json.dumps(statusline_payload((40, now + timedelta(hours=2)), None)).encode()
    wrap = r"printf '\n\377 mine: '; head -c 14; printf ' \n\n'"
    out = desk.statusline(payload, tmp_path, wrap, now, ("claude",))
    mine, ours = out.rsplit("\n", 1)
    assert mine == '\n\ufffd mine: {"session_id": '
    assert ours == "5h 60 % left, resets in 2 h 00 m"
    assert capsys.readouterr().err == ""
    assert desk.statusline(payload, tmp_path, "printf 'ends in X\\n'", now, ("claude",)) == (
        f"ends in X\n{ours}"
    )
    # Its exit status is its own business, as it is to Claude Code.
    out = desk.statusline(payload, tmp_path, "printf partial; exit 3", now, ("claude",))
    assert out == f"partial\n{ours}" and capsys.readouterr().err == ""
    monkeypatch.setattr(desk, "WRAP_TIMEOUT", 0.3)
    assert desk.statusline(payload, tmp_path, "sleep 30", now, ("claude",)) == ours
    assert capsys.readouterr().err == (
        "cctrack statusline: wrapped command did not finish in 0.3 s\n"
    )
    assert desk.statusline(payload, tmp_path, "printf 1; kill -TERM $$", now, ("claude",)) == (
        f"1\n{ours}"
    )
    flood = "head -c 2000000 /dev/zero | tr '\\0' x"
    assert desk.statusline(payload, tmp_path, flood, now, ("claude",)) == ours
    assert capsys.readouterr().err == (
        "cctrack statusline: wrapped command failed: wrapped command printed more than 1 MiB; "
        "it is not a status tool\n"
    )


def test_the_status_line_keeps_each_profiles_renders_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cctrack.views import desk

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    work = json.dumps(statusline_payload((70, now + timedelta(hours=1)), None)).encode()
    home = json.dumps(statusline_payload((10, now + timedelta(hours=1)), None)).encode()
    assert desk.statusline(work, tmp_path, None, now, ("claude",), "work") == (
        "5h 30 % left, resets in 1 h 00 m"
    )
    assert desk.statusline(home, tmp_path, None, now, ("claude",)).startswith("5h 90 % left")
    # Nothing piped in: each profile's own last render.
    assert desk.statusline(b"", tmp_path, None, now, ("claude",), "work").startswith("5h 30 % left")
    assert desk.statusline(b"", tmp_path, None, now, ("claude",)).startswith("5h 90 % left")
    assert desk.statusline(b"", tmp_path, None, now, ("claude",), "other") == (
        "cctrack: no Claude usage yet"
    )
    nothing = "cctrack statusline: not stored: nothing on stdin (Claude Code gives its status "
    assert capsys.readouterr().err.count(nothing) == 3
    desk.statusline(b"{", tmp_path, None, now, ("claude",))
    assert capsys.readouterr().err == (
        "cctrack statusline: not stored: stdin is not the JSON Claude Code gives its status line\n"
    )


def test_claudes_segment_says_each_window_with_its_own_time() -> None:
    """A window from a render of minutes ago is at its own time: rolled over when its reset
    has passed since, its run-out time from its own age; the age note from the newest."""
    from cctrack.sources.claude.saved import SavedWindows
    from cctrack.status import Window
    from cctrack.views.desk import claude_segment

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    five = Window("five_hour", 0.45, 18000, now + timedelta(hours=3))
    week = Window("weekly", 0.5, 604800, now - timedelta(minutes=1))
    saved = SavedWindows(
        now - timedelta(minutes=2),
        (five, week),
        times=(("five_hour", now - timedelta(minutes=30)), ("weekly", now - timedelta(minutes=2))),
    )
    # 45 % in the first 90 minutes of five, as true 30 minutes ago: 15 % ahead of the
    # share gone, and at that rate the rest gone 110 minutes after it was true. The week's
    # reset came since its render: rolled over.
    assert claude_segment(saved, now, prefix=False) == (
        "5h 55 % left, resets in 3 h 00 m, 15 % in deficit, runs out in ~1 h 20 m · "
        "7d 100 % left, reset unknown"
    )
    stale = SavedWindows(now - timedelta(minutes=20), (five,))
    assert claude_segment(stale, now, prefix=True).startswith("claude 5h 55 % left")
    assert claude_segment(stale, now, prefix=True).endswith(" · 20 m old")


def test_guard_reads_the_tool_asked_and_each_verdict_at_its_edge() -> None:
    from dataclasses import replace

    from cctrack.views.desk import guard

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    report = _desk_report(now)
    # codex, not the claude listed first: 37.5 % left of its five hours.
    ok = guard(report, now, "codex", "five_hour", 37.5, None, False)
    assert ok.code == 0
    assert ok.message == "codex five_hour: 38 % left (at least 37.5 %); resets in 2 h 00 m"
    assert guard(report, now, "codex", "five_hour", 37.6, None, False).code == 1
    assert guard(report, now, "codex", "fortnight", 90, None, False).message == (
        "codex fortnight: 90 % left (at least 90 %)"
    )
    # The age exactly at --max-age is not older than it.
    assert guard(report, now, "claude", "five_hour", 1, timedelta(minutes=20), False).code == 0
    old = guard(report, now, "claude", "five_hour", 1, timedelta(minutes=19), False)
    assert (old.code, old.message) == (
        69,
        "claude: the latest numbers are 20 m old (more than --max-age 19 m)",
    )
    opened = guard(report, now, "claude", "five_hour", 1, timedelta(minutes=19), True)
    assert opened.code == 0 and opened.message.endswith("; going ahead (--fail-open)")
    ahead = guard(report, now - timedelta(hours=1), "codex", "five_hour", 1, None, False)
    assert (ahead.code, ahead.message) == (
        69,
        "codex: the latest numbers claim to be from 1 h 00 m ahead of this clock; is a clock wrong?",
    )
    empty = replace(report, tools=(replace(report.tools[1], windows=()),))
    assert guard(empty, now, "codex", "five_hour", 1, None, False).message == (
        "codex reports no five_hour window (it has: none)"
    )


def test_the_small_words_at_their_edges() -> None:
    from cctrack.timefmt import NEAR, clock
    from cctrack.views.desk import REASON_CHARS, age_note, down_text, parse_age, reset_text

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert reset_text(now + NEAR, now) == f"resets {clock(now + NEAR, now)}"
    assert reset_text(now + NEAR - timedelta(minutes=1), now) == "resets in 23 h 59 m"
    assert age_note(now + timedelta(hours=1), now) == " · from the future (clock?)"
    assert parse_age("0") == timedelta(0)
    assert parse_age("0.5s") == timedelta(seconds=0.5)
    report = _desk_report(now)
    from dataclasses import replace

    exact = replace(report.tools[1], last_error="y" * REASON_CHARS)
    assert down_text(exact, REASON_CHARS) == "codex down: " + "y" * REASON_CHARS


def test_bars_are_of_the_profile_asked_and_written_as_they_read() -> None:
    from dataclasses import replace

    from cctrack.timefmt import clock
    from cctrack.views.desk import bar

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    report = _desk_report(now)
    claude, codex, work = report.tools
    work = replace(work, windows=work.windows[1:2])
    down = replace(codex, last_error="gone", up=False)
    mixed = replace(report, tools=(claude, down, work))
    assert bar(mixed, now, ("codex",), "plain", "work") == (
        f"codex 7d 70 % left, resets {clock(now + timedelta(days=3), now)}"
    )
    assert bar(mixed, now, ("codex",), "plain", "default") == "codex down: gone"
    raw = bar(mixed, now, ("claude", "codex"), "waybar", "default")
    assert "·" in raw and "…" not in raw and "\\u" not in raw
    assert json.loads(raw)["tooltip"].endswith("resets in 30 m\ncodex down: gone")
    assert "\\u" not in bar(mixed, now, ("claude",), "json", "default")


def test_the_status_line_shows_the_other_tools_of_its_profile_once(env: Env) -> None:
    """Claude from what was piped in, the other tools from the latest analysis of the same
    profile: never Claude twice, never another profile's numbers."""
    from cctrack.views import desk

    analysed(env, used=42.0)
    now = datetime.now(UTC)
    payload = json.dumps(statusline_payload((40, now + timedelta(hours=2)), None)).encode()
    both = desk.statusline(payload, env.data_dir, None, now, ("claude", "codex"))
    claude, codex = both.split(" | ")
    assert claude.startswith("claude 5h 60 % left") and codex.startswith("codex 5h 58 % left")
    assert both.count("claude") == 1
    assert desk.statusline(b"", env.data_dir, None, now, ("codex",), "work") == ""
    assert desk.statusline(b"", env.data_dir, None, now, ("codex",)).startswith("5h 58 % left")


def test_spend_limits_in_every_bar_format_the_binding_one_marked() -> None:
    from dataclasses import replace

    from cctrack.status import SpendLimit
    from cctrack.timefmt import clock
    from cctrack.views.desk import bar

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    report = _desk_report(now)
    month = now + timedelta(days=12)
    spend = (
        SpendLimit("individual", 0.32, month, 8000, 25000, "credits", None, False),
        SpendLimit("group_shared", 0.97, None, None, None, None, "Ops", True),
        SpendLimit("role_budget", 0.1, None),
        SpendLimit("workspace_shared", 0.5, month, binding=True),
    )
    # A usage-based plan: spend limits, no window.
    plan = replace(report.tools[1], windows=(), spend=spend)
    only = replace(report, tools=(plan,))
    text = bar(only, now, ("codex",), "plain", "default")
    assert text == (
        f"codex spend individual 32% (resets {clock(month, now)}) · "
        "spend group_shared (Ops) 97% (binds) · spend role_budget 10% · "
        f"spend workspace_shared 50% (resets {clock(month, now)}, binds)"
    )
    waybar = json.loads(bar(only, now, ("codex",), "waybar", "default"))
    assert waybar["tooltip"].split("\n")[:2] == [
        f"codex spend individual 32% (resets {clock(month, now)})",
        "codex spend group_shared (Ops) 97% (binds)",
    ]
    assert waybar["class"] == "critical" and waybar["percentage"] == 97
    full = json.loads(bar(only, now, ("codex",), "json", "default"))
    assert {
        k: v
        for k, v in full["tools"]["codex"]["spend"].items()
        if k in ("individual", "group_shared")
    } == {
        "individual": {"used_ratio": 0.32, "group": None, "binding": False, "class": "ok"},
        "group_shared": {"used_ratio": 0.97, "group": "Ops", "binding": True, "class": "critical"},
    }
    # Beside windows below warning, a spend limit past it decides the class.
    both = replace(
        report,
        tools=(replace(report.tools[1], windows=report.tools[1].windows[1:], spend=spend[1:]),),
    )
    assert json.loads(bar(both, now, ("codex",), "waybar", "default"))["class"] == "critical"


def test_the_status_line_passes_on_whose_numbers_a_render_is(tmp_path: Path) -> None:
    from cctrack.sources.claude.statusline import load_statusline
    from cctrack.views import desk

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    first = json.dumps(statusline_payload((90, now + timedelta(hours=3)), None)).encode()
    second = json.dumps(statusline_payload((5, now + timedelta(hours=1)), None)).encode()
    assert desk.statusline(first, tmp_path, None, now, ("claude",), account="a").startswith(
        "5h 10 % left"
    )
    assert load_statusline(tmp_path).account == "a"  # type: ignore[union-attr]
    # Nothing piped in, another account logged in now: not the first account's numbers.
    assert desk.statusline(b"", tmp_path, None, now, ("claude",), account="b") == (
        "cctrack: no Claude usage yet"
    )
    assert desk.statusline(second, tmp_path, None, now, ("claude",), account="b").startswith(
        "5h 95 % left"
    )


def test_the_status_line_shows_claude_once_beside_the_analysis(env: Env) -> None:
    from cctrack.views import desk

    env.use_fixed_tools()
    assert env.run("run").returncode == 0
    now = datetime.now(UTC)
    payload = json.dumps(statusline_payload((40, now + timedelta(hours=2)), None)).encode()
    line = desk.statusline(payload, env.data_dir, None, now, ("claude", "codex"))
    assert line.count("claude") == 1 and line.startswith("claude 5h 60 % left")


def test_the_status_line_is_coloured_by_level_unless_no_color(env: Env) -> None:
    """Claude Code renders a status line's ANSI colours: the share left is green, yellow or
    red by its level; NO_COLOR (no-color.org) leaves the words alone."""
    from cctrack.views import desk

    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    payload = json.dumps(
        statusline_payload((96, now + timedelta(hours=1)), (10, now + timedelta(days=3)))
    ).encode()
    line = desk.statusline(payload, env.root, None, now, ("claude",), colour=True)
    assert line.startswith("5h \x1b[31m4 % left\x1b[0m, resets in 1 h 00 m")
    assert "7d \x1b[32m90 % left\x1b[0m" in line
    plain = desk.statusline(payload, env.root, None, now, ("claude",))
    assert "\x1b" not in plain and plain.startswith("5h 4 % left")
    # Through the command line: coloured by default, plain with NO_COLOR.
    del env.vars["NO_COLOR"]
    fresh = json.dumps(statusline_payload((50, datetime.now(UTC) + timedelta(hours=1)), None))
    done = env.run("statusline", "--tools", "claude", input=fresh.encode())
    assert "\x1b[32m50 % left\x1b[0m" in done.stdout
    done = env.run("statusline", "--tools", "claude", input=fresh.encode(), NO_COLOR="1")
    assert "\x1b" not in done.stdout


def test_the_other_tools_segments_are_coloured_as_claudes(env: Env) -> None:
    from cctrack.views import desk

    analysed(env)
    now = datetime.now(UTC)
    payload = json.dumps(statusline_payload((40, now + timedelta(hours=2)), None)).encode()
    line = desk.statusline(payload, env.data_dir, None, now, ("claude", "codex"), colour=True)
    assert "codex 5h \x1b[32m58 % left\x1b[0m" in line
    plain = desk.statusline(payload, env.data_dir, None, now, ("claude", "codex"))
    assert "codex 5h 58 % left" in plain and "\x1b" not in plain


def test_a_broken_setting_the_reading_commands_do_not_use_never_stops_them(env: Env) -> None:
    """A bad [prices] table or a timeout out of range stops the jobs that use them, with a
    usage error, never the status line, bar, show, guard or hook."""
    analysed(env)
    env.write_config("timeout = -1\n[prices.m]\ninput = 'cheap'\n")
    payload = json.dumps(statusline_payload((40, datetime.now(UTC) + timedelta(hours=2)), None))
    line = env.run("statusline", input=payload.encode())
    assert line.stdout.startswith("claude 5h 60 % left") and line.stderr == ""
    assert env.run("bar").stdout.startswith("codex 5h 58 % left")
    assert "five_hour      58 % left" in env.run("show").stdout
    assert env.run("guard", "--tool", "codex").returncode == 0
    assert env.run("hook", input=b"{}").returncode == 0
    capture = env.run("capture")
    assert capture.returncode == 2 and "timeout" in capture.stderr
