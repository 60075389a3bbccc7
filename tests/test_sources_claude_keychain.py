"""macOS: Claude Code's login read from the keychain through `security`. Nothing real can
run here, so `security` is a fake executable on PATH that keeps several items, as a login
keychain can (the default home's and another CLAUDE_CONFIG_DIR's)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from builders import script
from conftest import Env, FakeUsageAPI

UTC = timezone.utc
DEFAULT_TOKEN = "sk-ant-oat01-KEYCHAIN-default-0001"
OTHER_TOKEN = "sk-ant-oat01-KEYCHAIN-other-0002"


def fake_security(env: Env, items: dict[str, str], exit_code: int = 0, stderr: str = "") -> Path:
    """`security find-generic-password -s NAME -w`: prints the item's secret, or fails."""
    tools = env.root / "fakebin"
    tools.mkdir(exist_ok=True)
    script(
        tools / "security",
        f"""
import sys
items = {items!r}
args = sys.argv[1:]
name = args[args.index("-s") + 1]
if {exit_code}:
    sys.stderr.write({stderr!r})
    sys.exit({exit_code})
if name not in items:
    sys.stderr.write("security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\\n")
    sys.exit(44)
print(items[name])
""",
    )
    env.vars["PATH"] = f"{tools}:{env.vars['PATH']}"
    return tools


def login(token: str) -> str:
    expires = int((datetime.now(UTC) + timedelta(hours=8)).timestamp() * 1000)
    return json.dumps(
        {"claudeAiOauth": {"accessToken": token, "expiresAt": expires, "subscriptionType": "max"}}
    )


def ask(env: Env, api: FakeUsageAPI, **extra: str):  # type: ignore[no-untyped-def]
    api.answer(200, {"five_hour": {"utilization": 30.0, "resets_at": None}})
    return env.run(
        "claude-status", CCTRACK_CLAUDE_OAUTH="on", CCTRACK_CLAUDE_USAGE_URL=api.url, **extra
    )


def test_the_default_homes_login_is_read_from_the_keychain(
    env: Env, usage_api: FakeUsageAPI
) -> None:
    env.vars["CLAUDE_CONFIG_DIR"] = str(Path(env.vars["HOME"]) / ".claude")
    other = hashlib.sha256(b"/elsewhere").hexdigest()[:8]
    fake_security(
        env,
        {
            "Claude Code-credentials": login(DEFAULT_TOKEN),
            f"Claude Code-credentials-{other}": login(OTHER_TOKEN),
        },
    )
    result = ask(env, usage_api)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["origin"] == "oauth-api" and status["plan"] == "max"
    assert usage_api.requests[0]["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert DEFAULT_TOKEN not in result.stdout + result.stderr


def test_another_config_dir_reads_its_own_suffixed_item(env: Env, usage_api: FakeUsageAPI) -> None:
    home = env.root / "claude-work"
    suffix = hashlib.sha256(str(home).encode()).hexdigest()[:8]
    fake_security(
        env,
        {
            "Claude Code-credentials": login(DEFAULT_TOKEN),
            f"Claude Code-credentials-{suffix}": login(OTHER_TOKEN),
        },
    )
    result = ask(env, usage_api, CLAUDE_CONFIG_DIR=str(home))
    assert result.returncode == 0, result.stderr
    assert usage_api.requests[0]["authorization"] == f"Bearer {OTHER_TOKEN}"


def test_no_item_says_where_it_looked(env: Env, usage_api: FakeUsageAPI) -> None:
    fake_security(env, {})
    result = ask(env, usage_api)
    assert result.returncode != 0 and usage_api.requests == []
    assert "nor in the keychain item 'Claude Code-credentials'" in result.stderr


@pytest.mark.parametrize(
    ("code", "stderr"),
    [
        (36, "security: SecKeychainItemCopyContent: User interaction is not allowed.\n"),
        (51, ""),
    ],
)
def test_a_locked_keychain_is_named(
    env: Env, usage_api: FakeUsageAPI, code: int, stderr: str
) -> None:
    fake_security(env, {}, exit_code=code, stderr=stderr)
    result = ask(env, usage_api)
    assert result.returncode != 0 and "login keychain is locked" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_credentials_file_still_wins(env: Env, usage_api: FakeUsageAPI) -> None:
    from builders import write_credentials

    write_credentials(
        env.claude_home, "sk-ant-oat01-FILE-0003", datetime.now(UTC) + timedelta(hours=8)
    )
    fake_security(env, {"Claude Code-credentials": login(DEFAULT_TOKEN)})
    assert ask(env, usage_api).returncode == 0
    assert usage_api.requests[0]["authorization"] == "Bearer sk-ant-oat01-FILE-0003"
