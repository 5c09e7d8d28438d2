"""Secret redaction for everything a tool returns.

Files that are secrets by name (`.env`, `id_rsa`, `*.pem`...) are never indexed (see
`indexer.discover.ignore`). Secrets pasted into ordinary source files are indexed like any other text,
so every tool answer goes through `redact_model` before it leaves the server: each match of
a high-confidence pattern is replaced by `[REDACTED:<kind>]`.

Only patterns with a fixed, distinctive shape are used (a vendor prefix plus a long random
body, or a PEM private-key header); generic `password = "..."` assignments are not, because
they mostly match placeholders and test values and would blank out ordinary code.

A marker never has more cl100k tokens than the secret it replaces (it falls back to the
bare `[REDACTED]`), so redacting an answer that fits its token budget keeps it within it
(up to the tokenizer merging across the edges of a replacement, a token or two at most).
"""

from __future__ import annotations

import functools
import re
from typing import Any, TypeVar

from indexer.core import count_tokens
from tools.schema import BaseModel, is_model

__all__ = ["PATTERNS", "redact", "redact_model", "redact_text"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# A PEM private key, through its END line; when the END line is cut off (a snippet, a
# chunk boundary), through the base64 body that follows the header, in whatever quoting.
_PEM = (r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,20000}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"|[A-Za-z0-9+/=\s\\'\",:]*)")

PATTERNS: dict[str, str] = {
    "private-key": _PEM,
    "aws-key": r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
    "aws-secret": r"(?i:(?<=aws_secret_access_key))[\s\"']*[=:][\s\"']*[A-Za-z0-9/+]{40}"
                  r"(?![A-Za-z0-9/+=])",
    "github-token": r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
    "gitlab-token": r"\bglpat-[A-Za-z0-9_-]{20,}",
    "slack-token": r"\bxox[baprse]-[A-Za-z0-9-]{24,}",
    "slack-webhook": r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}",
    "google-api-key": r"\bAIza[0-9A-Za-z_-]{35}",
    "stripe-key": r"\b[sr]k_live_[0-9A-Za-z]{20,}",
    "openai-key": r"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b"
                  r"|\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}",
    "anthropic-key": r"\bsk-ant-[a-z]{3,5}\d\d-[A-Za-z0-9_-]{40,}",
    "npm-token": r"\bnpm_[A-Za-z0-9]{36}\b",
    "pypi-token": r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
    "jwt": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
}


@functools.cache
def _combined() -> re.Pattern[str]:
    """All patterns in one regex, compiled when a text first passes the prefilter (~20 ms,
    which a CLI search whose answer holds no candidate never spends)."""
    return re.compile("|".join(f"(?P<{k.replace('-', '_')}>{v})" for k, v in PATTERNS.items()))


# Every match of a pattern contains one of these, as written (the patterns are
# case-sensitive), or, for aws-secret, the key name in any case; most strings contain none
# and skip the big regex. Substring searches: a case-insensitive regex of the same took 8 ms
# on a 68 KB Go file, seven times these (and an answer's every string is searched).
_NEEDLES = ("PRIVATE KEY", *(f"A{b}{c}A" for b in "KSBC" for c in "IC"),
            *(f"gh{c}_" for c in "pousr"), "github_pat_", "glpat-",
            *(f"xox{c}-" for c in "baprse"), "hooks.slack.com", "AIza", "k_live_", "sk-",
            "npm_", "pypi-", "eyJ")
_AWS_NAME = "aws_secret_access_key"  # matched case-insensitively by its pattern


def _may_hold_secret(text: str) -> bool:
    """False only when no pattern can match `text`. `casefold` maps every character that
    `re.IGNORECASE` equates with a letter of the key name (e.g. U+017F to s) onto it."""
    return any(n in text for n in _NEEDLES) or (
        "_" in text and _AWS_NAME in text.casefold())


def _marker(match: re.Match[str]) -> str:
    kind = (match.lastgroup or "secret").replace("_", "-")
    secret, keep = match.group(0), ""
    if kind == "aws-secret":  # keep the `= ` in front of the 40-character value
        keep, secret = secret[:-40], secret[-40:]
    marker = f"[REDACTED:{kind}]"
    if count_tokens(marker) > count_tokens(secret):
        marker = "[REDACTED]"
    return keep + marker


def redact_text(text: str) -> str:
    """`text` with every high-confidence secret replaced by `[REDACTED:<kind>]`."""
    if not _may_hold_secret(text):
        return text
    return _combined().sub(_marker, text)


def redact(value: T) -> T:
    """`value` (a model, string, list, dict...) with secrets redacted from every string in
    it, recursively; the same object when nothing needed redacting."""
    return _redact(value)  # type: ignore[no-any-return]


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if is_model(value):
        return redact_model(value)
    if isinstance(value, list | tuple):
        items = [_redact(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, dict):
        pairs = [(_redact(k), _redact(v)) for k, v in value.items()]
        if all(a is k and b is v for (a, b), (k, v) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


def redact_model(model: M) -> M:
    """A copy of `model` with secrets redacted from every string field, recursively (the
    same object when nothing needed redacting)."""
    changed: dict[str, Any] = {}
    for name in type(model).model_fields:
        old = getattr(model, name)
        new = _redact(old)
        if new is not old:
            changed[name] = new
    return model.model_copy(update=changed) if changed else model
