"""One redaction step for everything taken from a status tool's output.

A third-party tool may print what it should not: whatever of its output cctrack keeps (an
error line, a quoted value) passes through `redact` before it is stored or printed.
"""

from __future__ import annotations

import functools
import re
from typing import Any

REDACTED = "[redacted]"

# Each pattern keeps its group 1 (a harmless prefix such as "Bearer ") and hides the rest.
_PATTERNS = [
    # Authorization headers of any scheme, and bare bearer tokens.
    r"(authorization\s*[:=]\s*(?:bearer|basic|token|digest)?\s*)[^\s\"',;]+",
    r"(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}",
    # NAME_TOKEN=..., API_KEY: ..., password=... (environment dumps, config echoes).
    r"(\b[A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|CREDENTIALS?)\s*[=:]\s*)[^\s\"',;]+",
    # JSON fields holding secrets: "accessToken": "...", "refresh_token":"...", "password": "...".
    r"(\"[A-Za-z_]*(?:token|secret|password|api_?key)\"\s*:\s*\")[^\"]*",
    # Vendor token shapes: Anthropic/OpenAI sk-, Stripe sk_live_/rk_live_, GitHub, Slack, AWS.
    r"()\bsk-[A-Za-z0-9_-]{12,}",
    r"()\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}",
    r"()\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{16,}",
    r"()\bgithub_pat_[A-Za-z0-9_]{16,}",
    r"()\bxox[abposr]-[A-Za-z0-9-]{8,}",
    r"()\b(?-i:AKIA)[0-9A-Z]{16}\b",
    # JWTs (OAuth access and id tokens).
    r"()\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9._-]+",
]


@functools.cache
def _secret() -> re.Pattern[str]:
    # Compiled on first use: most runs never print a tool's output, and this costs ~6 ms.
    return re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


# A value short and plain enough to quote in an error message without risk.
_QUOTABLE = re.compile(r"^[A-Za-z0-9_.:+ -]{0,20}\Z")


def _replace(match: re.Match[str]) -> str:
    prefix = next((group for group in match.groups() if group is not None), "")
    return prefix + REDACTED


# Control characters (NUL, escape sequences, carriage returns) a tool may print: shown as
# \xNN, so that nothing it says can rewrite a terminal line or hide in a stored record.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def redact(text: str) -> str:
    """text with every token-shaped or secret-labelled value replaced by [redacted], and
    control characters escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", _secret().sub(_replace, text))


def clipped(text: str, limit: int) -> str:
    """text no longer than limit, cut at a word and marked where it was cut: a long line's
    end is often its fix, so the bound is far above any message of cctrack's own."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def quote(value: Any) -> str:
    """A value taken from a tool, fit for an error message: quoted when short and plain,
    else described, so a token in the wrong field never reaches a record or a log."""
    if isinstance(value, str):
        if _QUOTABLE.match(value) and redact(value) == value:
            return repr(value)
        return f"a string of {len(value)} characters"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return f"a {type(value).__name__}"
