"""Agents beside Claude and Codex (`[agents.NAME]`): their status commands run as the two
built-ins' do, their numbers in one family labelled by `tool`, in every desk command; and
`cctrack codexbar-status`, the adapter for any provider CodexBar reads, against a stand-in
`codexbar` on PATH that prints CodexBar's documented JSON (docs/cli.md there)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from builders import fixed_tool, script
from conftest import Env, sample

from cctrack.sources.codexbar import status_from_codexbar
from cctrack.status import Status

UTC = timezone.utc
AT = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
EMAIL = "user@example.com"


def codexbar_payload(
    provider: str = "gemini", primary: float = 28, secondary: float = 59
) -> dict[str, Any]:
    """One provider's payload as CodexBar's docs/cli.md shows it ("Sample output (JSON)")."""
    return {
        "provider": provider,
        "version": "0.6.0",
        "source": "oauth",
        "status": {"indicator": "none", "description": "Operational"},
        "usage": {
            "primary": {"usedPercent": primary, "windowMinutes": 300, "resetsAt": "$five"},
            "secondary": {"usedPercent": secondary, "windowMinutes": 10080, "resetsAt": "$week"},
            "tertiary": None,
            "updatedAt": "$now",
            "identity": {
                "providerID": provider,
                "accountEmail": EMAIL,
                "accountOrganization": None,
                "loginMethod": "pro",
            },
            "accountEmail": EMAIL,
            "accountOrganization": None,
            "loginMethod": "pro",
        },
        "credits": {"remaining": 112.4, "updatedAt": "$now"},
    }


def failed(provider: str) -> dict[str, Any]:
    """A provider CodexBar could not read: an entry with `error` (its CLI error payload)."""
    return {
        "provider": provider,
        "source": "api",
        "error": {"code": 1, "message": "API key missing for " + provider, "kind": "provider"},
    }


def stand_in_codexbar(bin_dir: Path, answer: Any, exit_code: int = 0) -> Path:
    """`codexbar` on PATH: prints `answer` for `usage --provider P --format json` (the
    provider's entry of a list, as CodexBar prints one per provider asked for), with the
    times filled in when it runs; records its argv."""
    bin_dir.mkdir(exist_ok=True)
    return script(
        bin_dir / "codexbar",
        f"""import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc)
times = {{"$now": now, "$five": now + datetime.timedelta(hours=2),
         "$week": now + datetime.timedelta(days=3)}}
open({str(bin_dir / "argv.json")!r}, "a").write(json.dumps(sys.argv[1:]) + "\\n")
text = {json.dumps(answer)!r}
for key, moment in times.items():
    text = text.replace(key, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
answer = json.loads(text)
provider = sys.argv[sys.argv.index("--provider") + 1]
if isinstance(answer, list):
    answer = [entry for entry in answer if entry.get("provider") == provider]
print(json.dumps(answer))
sys.exit({exit_code})
""",
    )


def agents_config(env: Env, agents: dict[str, str], sources: str | None = None) -> None:
    lines = [f'sources = "{sources}"'] if sources else []
    for name, command in agents.items():
        lines += [f"[agents.{name}]", f"status = {json.dumps(command)}"]
    env.write_config("\n".join(lines) + "\n").chmod(0o600)


def test_three_config_lines_add_an_agent_to_the_textfile_and_every_desk_command(
    env: Env,
) -> None:
    env.use_fixed_tools()
    gemini = fixed_tool(env.root / "gemini-status", "gemini", 0.93, 0.3)
    agents_config(env, {"gemini": str(gemini)}, "claude,codex,gemini")
    done = env.run("run")
    assert done.returncode == 0, done.stderr
    text = env.textfile.read_text()
    labels = {"tool": "gemini", "confidence": "official"}
    assert sample(text, "cctrack_agent_usage_ratio", window="five_hour", **labels) == 0.93
    assert sample(text, "cctrack_agent_up", **labels) == 1
    assert (
        sample(text, "cctrack_agent_bucket_usage_ratio", bucket="opus", window="weekly", **labels)
        == 0.1
    )
    assert (
        sample(text, "cctrack_agent_window_resets_total", window="weekly", bucket="", **labels) == 0
    )
    # Claude and Codex keep their own names, without the agents' labels.
    assert sample(text, "cctrack_codex_usage_ratio", window="five_hour") == 0.42
    assert "cctrack_gemini_" not in text and 'tool="claude"' not in text
    # Every desk command lists it beside the two, by default.
    assert "gemini  up" in env.run("show").stdout
    assert "gemini 5h 7 % left" in env.run("bar").stdout
    line = env.run("statusline", input=b"{}").stdout
    assert "codex 5h 58 % left" in line and "gemini 5h 7 % left" in line
    guard = env.run("guard", "--tool", "gemini", "--min-left", "10")
    assert guard.returncode == 1 and "gemini five_hour: only 7 % left" in guard.stdout
    told = env.run("hook", input=b"{}").stdout
    assert "gemini five_hour limit: 7 % left" in told
    latest = json.loads((env.data_dir / "latest.json").read_text())
    assert latest["tools"]["gemini"]["windows"]["five_hour"]["used_ratio"] == 0.93


def test_a_failing_agent_is_down_alone(env: Env) -> None:
    env.use_fixed_tools()
    broken = script(
        env.root / "broken", "import sys\nprint('no login', file=sys.stderr)\nsys.exit(3)\n"
    )
    agents_config(env, {"broken": str(broken)}, "claude,codex,broken")
    done = env.run("run")
    # The others were captured: capture says what failed and does not fail the run.
    assert done.returncode == 0, done.stderr
    assert "broken FAILED: broken-status failed (exit 3): no login" in done.stderr
    text = env.textfile.read_text()
    assert sample(text, "cctrack_agent_up", tool="broken", confidence="official") == 0
    assert sample(text, "cctrack_claude_up") == 1 and sample(text, "cctrack_codex_up") == 1


@pytest.mark.parametrize(
    "config,said",
    [
        ('sources = "claude,Bad-Name"\n', "source 'bad-name' cannot be a tool's name"),
        ('sources = "claude,gemini"\n', "source 'gemini' is an agent without a status command"),
        ('[agents.9lives]\nstatus = "/bin/true"\n', "agent name '9lives' must be"),
        ('[agents.claude]\nstatus = "/bin/true"\n', "agent name 'claude' must be"),
        ("[agents.gemini]\n", "agent gemini: say its status command"),
    ],
)
def test_a_name_that_cannot_be_an_agent_is_a_usage_error(env: Env, config: str, said: str) -> None:
    env.write_config(config).chmod(0o600)
    done = env.run("capture")
    assert done.returncode == 2 and said in done.stderr, done.stderr


def test_an_agent_command_from_a_config_others_can_write_is_refused(env: Env) -> None:
    path = env.write_config('[agents.gemini]\nstatus = "/bin/true"\n')
    path.chmod(0o666)
    done = env.run("capture")
    assert done.returncode == 2
    assert (
        "sets agents, which runs a command" in done.stderr and "others can write it" in done.stderr
    )


def test_codexbar_status_reads_codexbar_and_never_keeps_the_email(env: Env) -> None:
    bin_dir = env.root / "bin"
    stand_in_codexbar(bin_dir, [codexbar_payload("gemini"), failed("copilot")], exit_code=1)
    env.vars["PATH"] = f"{bin_dir}:{env.vars['PATH']}"
    env.use_fixed_tools()
    agents_config(
        env,
        {
            "gemini": "cctrack codexbar-status --provider gemini",
            "copilot": "cctrack codexbar-status --provider copilot",
        },
        "claude,codex,gemini,copilot",
    )
    # `cctrack` itself, as the config names it.
    env.vars["PATH"] = f"{Path(sys.executable).parent}:{env.vars['PATH']}"
    done = env.run("run")
    assert done.returncode == 0, done.stderr
    assert (
        "copilot FAILED: copilot-status failed (exit 1): cctrack-codexbar-status: codexbar could "
        "not read copilot: API key missing for copilot" in done.stderr
    )
    text = env.textfile.read_text()
    ok = {"tool": "gemini", "confidence": "official"}
    assert sample(text, "cctrack_agent_usage_ratio", window="five_hour", **ok) == 0.28
    assert sample(text, "cctrack_agent_usage_ratio", window="weekly", **ok) == 0.59
    assert sample(text, "cctrack_agent_window_seconds", window="weekly", **ok) == 604800
    assert sample(text, "cctrack_agent_credits_balance", **ok) == 112.4
    assert sample(text, "cctrack_agent_up", tool="copilot", confidence="official") == 0
    assert 'origin="codexbar:oauth"' in text and 'plan="pro"' in text
    shown = env.run("show").stdout
    assert "extras         112.40 credits left" in shown and "data from codexbar:oauth" in shown
    # The login only as a pseudonym: nowhere in what cctrack keeps or exports.
    for path in [env.textfile, *env.data_dir.rglob("*")]:
        if path.is_file():
            assert EMAIL not in path.read_text(errors="replace"), path
    (record,) = [r for r in env.records() if r["source_tool"] == "gemini"]
    assert len(record["account"]) == 12
    # It ran CodexBar's own command for each provider.
    argvs = [json.loads(line) for line in (bin_dir / "argv.json").read_text().splitlines()]
    assert sorted(argvs) == [
        ["usage", "--provider", p, "--format", "json"] for p in ("copilot", "gemini")
    ]


def test_codexbar_answers_read_by_their_rules() -> None:
    payload = json.loads(
        json.dumps(codexbar_payload("kimi-k2"))
        .replace("$now", "2026-12-05T17:59:00Z")
        .replace("$five", "2026-12-05T20:00:00Z")
        .replace("$week", "2026-12-09T00:00:00Z")
    )
    status = status_from_codexbar(payload, "kimi-k2", "kimi", AT)
    assert status.source_tool == "kimi" and status.observed_at == AT - timedelta(minutes=1)
    assert [(w.name, w.used_ratio, w.window_seconds) for w in status.windows] == [
        ("five_hour", 0.28, 18000),
        ("weekly", 0.59, 604800),
    ]
    # Over 100 % reads 1; a window of another length is named by it; one without a length
    # keeps its slot's name; what cannot be a percentage is passed over.
    usage = payload["usage"]
    usage["primary"] = {"usedPercent": 130, "windowMinutes": 43200, "resetsAt": None}
    usage["secondary"] = {"usedPercent": 12.5}
    usage["tertiary"] = {"usedPercent": 1.7e9, "windowMinutes": 60}
    status = status_from_codexbar(payload, "kimi-k2", "kimi", AT)
    assert [(w.name, w.used_ratio, w.window_seconds) for w in status.windows] == [
        ("monthly", 1.0, 2592000),
        ("secondary", 0.125, None),
    ]
    # Checked as capture checks every status tool's answer.
    assert Status.from_json(json.loads(json.dumps(status.to_json())), "kimi") == status
    from cctrack.errors import CctrackError

    with pytest.raises(CctrackError, match="codexbar reported nothing for provider zai"):
        status_from_codexbar([payload], "zai", "zai", AT)
    with pytest.raises(CctrackError, match="no usage window"):
        status_from_codexbar({**payload, "usage": {"primary": None}}, "kimi-k2", "kimi", AT)
    with pytest.raises(CctrackError, match="could not read kimi-k2: API key missing"):
        status_from_codexbar(failed("kimi-k2"), "kimi-k2", "kimi", AT)
