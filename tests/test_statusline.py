"""The merge of Claude Code's status line renders (sources/claude/statusline.py): which
render of a window is kept, window by window, each with the time it was true."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cctrack.sources.claude.saved import SavedWindows
from cctrack.sources.claude.statusline import merge_render
from cctrack.status import SpendLimit, Window

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
FIVE = NOW + timedelta(hours=2)
WEEK = NOW + timedelta(days=3)


@pytest.mark.parametrize(
    ("old_reset", "new_reset", "later", "replaced"),
    [
        # Ten minutes apart or less is one period: the later truth wins, whichever reset.
        (timedelta(0), timedelta(minutes=10), True, True),
        (timedelta(0), timedelta(minutes=10), False, False),
        (timedelta(minutes=10), timedelta(0), True, True),
        # More than that: the later period wins, however old its render.
        (timedelta(0), timedelta(minutes=10, seconds=1), False, True),
        (timedelta(minutes=10, seconds=1), timedelta(0), True, False),
        # A reset unknown on either side: the later truth decides.
        (None, timedelta(hours=5), False, False),
        (timedelta(hours=5), None, True, True),
    ],
)
def test_which_render_of_a_window_is_kept(
    old_reset: timedelta | None, new_reset: timedelta | None, later: bool, replaced: bool
) -> None:

    at = NOW
    old = Window("five_hour", 0.4, 18000, at + old_reset if old_reset is not None else None)
    new = Window("five_hour", 0.6, 18000, at + new_reset if new_reset is not None else None)
    stored = merge_render(None, (old,), (), at)
    assert stored is not None and stored.time_of("five_hour") == at
    when = at + timedelta(seconds=1) if later else at
    merged = merge_render(stored, (new,), (), when)
    assert merged is not None
    assert merged.windows == ((new,) if replaced else (old,))
    assert merged.time_of("five_hour") == (when if replaced else at)


def test_renders_merge_window_by_window_each_with_its_own_time() -> None:

    five = Window("five_hour", 0.4, 18000, FIVE)
    week = Window("weekly", 0.2, 604800, WEEK)
    first = merge_render(None, (five, week), (), NOW - timedelta(minutes=3))
    assert merge_render(None, (), (), NOW) is None
    spend = SpendLimit("individual", 0.5, WEEK)
    later = merge_render(first, (Window("five_hour", 0.5, 18000, FIVE),), (spend,), NOW)
    assert later is not None and later.observed_at == NOW
    assert dict(later.times) == {
        "five_hour": NOW,
        "weekly": NOW - timedelta(minutes=3),
        "individual": NOW,
    }
    assert [w.used_ratio for w in later.windows] == [0.5, 0.2] and later.spend == (spend,)


def test_a_snapshot_from_before_times_were_kept_is_as_old_as_it_says() -> None:
    """A stored snapshot without per-window times (written by an earlier version): each of
    its windows was true when the snapshot says, not when the next render came."""

    old = SavedWindows(NOW - timedelta(minutes=5), (Window("five_hour", 0.4, 18000, FIVE),))
    older = merge_render(
        old, (Window("five_hour", 0.3, 18000, FIVE),), (), NOW - timedelta(minutes=6)
    )
    assert older is not None and older.windows == old.windows
    assert dict(older.times) == {"five_hour": NOW - timedelta(minutes=5)}
    newer = merge_render(old, (Window("five_hour", 0.5, 18000, FIVE),), (), NOW)
    assert newer is not None and newer.windows[0].used_ratio == 0.5


def test_a_snapshot_from_before_times_were_kept_keeps_its_spend_limit_at_its_time() -> None:
    spend = SpendLimit("spend", 0.5, WEEK)
    old = SavedWindows(
        NOW - timedelta(minutes=5), (Window("five_hour", 0.4, 18000, FIVE),), spend=(spend,)
    )
    merged = merge_render(old, (Window("five_hour", 0.5, 18000, FIVE),), (), NOW)
    assert merged is not None and merged.spend == (spend,)
    assert dict(merged.times) == {"five_hour": NOW, "spend": NOW - timedelta(minutes=5)}


def test_what_is_read_from_a_render_and_what_is_passed_over(tmp_path: Path) -> None:
    from cctrack.sources.claude.statusline import (
        load_statusline,
        statusline_spend,
        statusline_windows,
        store_statusline,
        time_of_truth,
    )

    at = int(FIVE.timestamp())
    # A window that is not an object is passed over, not the ones after it.
    payload = {
        "rate_limits": {
            "five_hour": "junk",
            "seven_day": {"used_percentage": 20, "resets_at": at},
            "spend_limit": {"used_percentage": 0, "resets_at": at},
        }
    }
    assert [w.name for w in statusline_windows(payload)] == ["weekly"]
    for percent, kept in ((0, True), (10000, True), (10000.5, False), (-0.5, False)):
        entry = {"used_percentage": percent, "resets_at": at}
        found = statusline_spend({"rate_limits": {"spend_limit": entry}})
        assert bool(found) is kept, percent
    for junk in ([], "x", None, {"rate_limits": []}):
        assert statusline_windows(junk) == () and statusline_spend(junk) == ()
        assert time_of_truth(junk, NOW) == NOW
    # No transcript named: now, never the time of whatever "" stands for.
    assert time_of_truth({"transcript_path": ""}, NOW) == NOW
    assert store_statusline(tmp_path, [], NOW) is None
    # Each profile its own snapshot.
    assert store_statusline(tmp_path, payload, NOW, "work") is not None
    assert load_statusline(tmp_path) is None
    assert load_statusline(tmp_path, "work") is not None


def test_renders_of_different_accounts_never_merge() -> None:
    old = merge_render(
        None,
        (Window("five_hour", 0.9, 18000, FIVE), Window("weekly", 0.7, 604800, WEEK)),
        (),
        NOW,
        "a",
    )
    assert old is not None and old.account == "a"
    # Another account, its window resetting earlier: within one account an older period
    # (never taken); here the new account's, taken at once and alone.
    early = Window("five_hour", 0.05, 18000, NOW + timedelta(minutes=30))
    new = merge_render(old, (early,), (), NOW + timedelta(seconds=1), "b")
    assert new is not None and new.windows == (early,) and new.account == "b"
    assert dict(new.times) == {"five_hour": NOW + timedelta(seconds=1)}
    # The same account: the earlier period is an idle terminal's.
    same = merge_render(old, (early,), (), NOW + timedelta(seconds=1), "a")
    assert same is not None and same.windows == old.windows
    # A snapshot from before accounts were kept is not merged with a known account's.
    before = SavedWindows(NOW, (Window("five_hour", 0.9, 18000, FIVE),))
    assert merge_render(before, (early,), (), NOW, "b").windows == (early,)  # type: ignore[union-attr]


def test_each_window_rolls_over_by_its_own_time() -> None:
    """A five-hour window last rendered six hours ago, whose reset came an hour ago, is not
    current because the weekly window was rendered a minute ago."""
    five = Window("five_hour", 0.9, 18000, NOW - timedelta(hours=1))
    week = Window("weekly", 0.4, 604800, WEEK)
    saved = SavedWindows(
        NOW - timedelta(minutes=1),
        (five, week),
        times=(("five_hour", NOW - timedelta(hours=6)), ("weekly", NOW - timedelta(minutes=1))),
    )
    windows = {w.name: w for w in saved.status("statusline", None, NOW).windows}
    assert (windows["five_hour"].used_ratio, windows["five_hour"].resets_at) == (0.0, None)
    assert windows["weekly"] == week
    # The account is kept with the snapshot.
    mine = replace(saved, account="a")
    assert SavedWindows.from_json(json.loads(json.dumps(mine.to_json()))) == mine


def test_the_snapshot_is_saved_as_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Claude's numbers from a render are replaced atomically but not synced (a render
    brings them again within seconds); the OAuth cache, which holds when the endpoint may
    be asked again, is synced."""
    import os

    from cctrack.sources.claude import oauth, saved, statusline

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    payload = {"rate_limits": {"five_hour": {"used_percentage": 42, "resets_at": FIVE.timestamp()}}}
    stored = statusline.store_statusline(tmp_path, payload, NOW)
    assert stored is not None and synced == []
    assert saved.load_saved(statusline.statusline_file(tmp_path)) == stored
    oauth.save_oauth_cache(tmp_path, oauth.OAuthCache(None, "max", NOW))
    assert len(synced) == 2  # the file, then its directory
