"""Settings: flag, else environment, else config file, else default."""

from __future__ import annotations

from pathlib import Path

import pytest

from cctrack.errors import CctrackError
from cctrack.settings import resolve_settings

HOME = Path("/home/u")


def settings(
    flags: dict | None = None,
    env: dict | None = None,
    config: str | None = None,
    tmp: Path | None = None,
):  # type: ignore[no-untyped-def]
    path = None
    if config is not None:
        assert tmp is not None
        path = tmp / "config.toml"
        path.write_text(config)
    return resolve_settings(flags or {}, env or {"HOME": str(HOME)}, path, HOME)


def test_defaults() -> None:
    s = settings()
    assert s.data_dir == HOME / ".local/state/cctrack"
    assert s.sources == ("claude", "codex") and s.timeout == 30 and s.claude_oauth
    assert s.codex_status == ()  # the built-in tool
    assert s.codex_home == HOME / ".codex" and s.claude_home == HOME / ".claude"


def test_flag_beats_environment_beats_config(tmp_path: Path) -> None:
    config = 'data_dir = "/from/config"\ntimeout = 5\nsources = ["codex"]\nclaude_oauth = false\n'
    env = {"HOME": str(HOME), "CCTRACK_DATA_DIR": "/from/env", "CCTRACK_TIMEOUT": "7"}
    assert settings({}, env, config, tmp_path).data_dir == Path("/from/env")
    assert settings({"data_dir": Path("/from/flag")}, env, config, tmp_path).data_dir == Path(
        "/from/flag"
    )
    s = settings({}, env, config, tmp_path)
    assert (s.timeout, s.sources, s.claude_oauth) == (7.0, ("codex",), False)
    assert settings(
        {"sources": ["claude"]}, {**env, "CCTRACK_SOURCES": "codex"}, config, tmp_path
    ).sources == ("claude",)


def test_xdg_paths_and_relative_ones_ignored() -> None:
    env = {"HOME": str(HOME), "XDG_STATE_HOME": "/xdg/state", "XDG_DATA_HOME": "relative/ignored"}
    assert settings({}, env).data_dir == Path("/xdg/state/cctrack")
    assert (
        settings({}, {**env, "XDG_STATE_HOME": "not/absolute"}).data_dir
        == HOME / ".local/state/cctrack"
    )


def test_config_file_from_xdg_config_home(tmp_path: Path) -> None:
    (tmp_path / "cctrack").mkdir()
    (tmp_path / "cctrack/config.toml").write_text('hostname = "from-config"\n')
    assert (
        resolve_settings(
            {}, {"HOME": str(HOME), "XDG_CONFIG_HOME": str(tmp_path)}, None, HOME
        ).hostname
        == "from-config"
    )


@pytest.mark.parametrize(
    "config,words",
    [
        ("colour = 'blue'\n", "unknown setting 'colour'"),
        ("timeout = [\n", "cannot read config file"),
        ("timeout = -1\n", "between 0 and 3600"),
        ("sources = 'claude,gemini'\n", "source 'gemini' is an agent without a status command"),
        ("sources = 'claude,Gem-ini'\n", "source 'gem-ini' cannot be a tool's name"),
        ("[agents.codex]\nstatus = '/bin/true'\n", "agent name 'codex' must be"),
        ("[agents.gem]\nstatus = '/bin/true'\nhome = '/x'\n", "agent gem: say its status command"),
        ("[agents.gem]\n", "agent gem: say its status command"),
        ("claude_oauth = 'maybe'\n", "must be on or off"),
        ("codex_status = 'tool \"unclosed'\n", "cannot parse codex status command"),
    ],
)
def test_bad_settings_are_usage_errors(tmp_path: Path, config: str, words: str) -> None:
    with pytest.raises(CctrackError) as caught:
        settings({}, None, config, tmp_path)
    assert words in str(caught.value) and caught.value.exit_code == 2


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CctrackError, match="does not exist"):
        resolve_settings({}, {"HOME": str(HOME)}, tmp_path / "nope.toml", HOME)


def test_status_commands_split_like_a_shell_but_an_existing_path_stays_whole(
    tmp_path: Path,
) -> None:
    tool = tmp_path / "my status tool"
    tool.write_text("")
    env = {
        "HOME": str(HOME),
        "CODEX_STATUS_PATH": str(tool),
        "CLAUDE_STATUS_PATH": "/usr/bin/env 'A B=1' tool --flag",
    }
    s = settings({}, env)
    assert s.codex_status == (str(tool),)
    assert s.claude_status == ("/usr/bin/env", "A B=1", "tool", "--flag")
    assert settings(
        {}, {"HOME": str(HOME)}, 'claude_status = ["/bin/tool", "a b"]\n', tmp_path
    ).claude_status == ("/bin/tool", "a b")


@pytest.mark.parametrize(
    ("homes", "extra", "expected"),
    [
        ((".codex",), {}, ("codex",)),
        ((".claude",), {}, ("claude",)),
        ((".config/claude",), {}, ("claude",)),  # Claude Code's other home, as ccusage reads it
        ((".claude", ".codex"), {}, ("claude", "codex")),
        ((), {}, ("claude", "codex")),  # neither: both, so that their errors say what is missing
        ((".codex",), {"CLAUDE_STATUS_PATH": "/usr/bin/my-claude-tool"}, ("claude", "codex")),
        ((".codex",), {"CCTRACK_SOURCES": "claude"}, ("claude",)),  # pinned wins
    ],
)
def test_sources_default_to_the_tools_present(
    tmp_path: Path, homes: tuple[str, ...], extra: dict[str, str], expected: tuple[str, ...]
) -> None:
    for home in homes:
        (tmp_path / home).mkdir(parents=True)
    env = {"HOME": str(tmp_path), **extra}
    assert resolve_settings({}, env, None, tmp_path).sources == expected


def test_an_unreadable_implicit_config_is_an_error_that_names_it(tmp_path: Path) -> None:
    config = tmp_path / ".config" / "cctrack" / "config.toml"
    config.parent.mkdir(parents=True)
    config.mkdir()  # exists, cannot be read as a file (EACCES needs a non-root test user)
    with pytest.raises(CctrackError, match=f"cannot read config file {config}"):
        resolve_settings({}, {"HOME": str(tmp_path)}, None, tmp_path)


def test_two_profiles_on_one_claude_home_are_refused(tmp_path: Path) -> None:
    config = '[profiles.a]\nclaude_home = "~/.claude"\n[profiles.b]\nclaude_home = "~/.claude"\n'
    with pytest.raises(CctrackError, match=r"both use .* its tokens would count twice"):
        settings({}, {"HOME": str(tmp_path)}, config, tmp_path)
