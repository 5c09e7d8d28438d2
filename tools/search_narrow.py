"""Narrowing a hit on a merged block to the definition the query matched.

The chunker merges runs of small sibling definitions (one-line Go methods, getters, tiny
helpers) into one `block` chunk, so that they are not thousands of near-empty chunks. When
such a block is a hit, the caller usually wants one of its members, not all of them: the
hit then reports that member (its lines, qualified name, kind, and its own text as the
snippet) when the query's words single it out. A member's words are those of its lines and
of the comment or blank lines just above it; each query word weighs log(1 + m / n), m being
the block's members and n those containing the word, so words every member shares decide
nothing; a member whose name the query names as an identifier wins outright. A member's
score is x(1 + 2 x how much of its name the query spells out) (`named_by`, as a whole
chunk's name boost reads it): "returns logger in Context" is `Logger`'s, which has no
comment, not `Echo`'s beside it, whose comment holds the rarer "returns". Of members that
tie, the one whose name the query spells out more (`GreaterThan` for "is greater than
another", `GreaterThanOrEqualTo` for "is greater than or equal to") wins.
Where the words decide nothing (no member contains a query word, or two still tie), the
member whose text is closest to the query by `similar` (the static tier: a sentence in other
words than the code's, "Removes the top level from the stack" for `pop_context` beside
`push_context`) wins among those the words left; the block stays whole when there is no
such measure or it ties too. A block with a single
definition (a file's package clause and imports merged with its one small function)
narrows to it when it contains a query word.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from indexer.lexical import identifier_tokens
from indexer.store import MemberRow

# chosen on the tuning docstring sets among 1, 2 and 4 (docs/evals.md, "Thirty-ninth session")
NAME_WEIGHT = 2.0
_COMMENT_MARKS = ("//", "#", "/*", "*", "--", "@")
_MEMBER_KINDS = ("function", "method", "class", "struct", "interface", "type", "trait",
                 "enum", "constant", "variable", "module")


@dataclass(frozen=True, slots=True)
class Narrowed:
    start_line: int
    end_line: int
    symbol: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class BlockHit:
    chunk_id: int
    file_id: int
    start_line: int
    end_line: int


def _unnamed(_qualname: str) -> float:
    return 0.0


Similar = Callable[[Sequence[str]], Sequence[float]]  # texts -> closeness to the query


def narrow_blocks(definitions: Mapping[int, Sequence[MemberRow]], blocks: Sequence[BlockHit],
                  texts: dict[int, str], terms: Sequence[str],
                  names: Sequence[str] = (),
                  named_by: Callable[[str], float] = _unnamed,
                  similar: Similar | None = None) -> dict[int, Narrowed]:
    """chunk_id -> the member each block hit narrows to (blocks that stay whole are absent).
    `definitions`: file_id -> (qualname, kind, start_line, end_line) ordered by start line,
    then widest first (`SearchTables.members`); `terms` are the query's lexical tokens,
    `names` identifiers it names; `named_by(qualname)`: how much of a member's name the
    query spells out, which breaks a tie of the members' word scores; `similar(texts)`: how
    close each text is to the query, which decides among the members the words leave."""
    if not blocks or not (terms or names):
        return {}
    named = {n.rsplit(".", 1)[-1].lower() for n in names}
    out: dict[int, Narrowed] = {}
    for block in blocks:
        text = texts.get(block.chunk_id)
        if text is None:
            continue
        found = _narrow(block, text, definitions.get(block.file_id, ()), terms, named,
                        named_by, similar)
        if found is not None:
            out[block.chunk_id] = found
    return out


def _members(block: BlockHit, symbols: Sequence[MemberRow]
             ) -> list[MemberRow]:
    """Outermost definitions inside the block, in line order."""
    members: list[MemberRow] = []
    for qual, kind, start, end in symbols:
        if kind not in _MEMBER_KINDS or start < block.start_line or end > block.end_line:
            continue
        if members and start <= members[-1][3]:
            continue  # nested in (or sharing a line with) the previous member
        members.append((qual, kind, start, end))
    return members


def _narrow(block: BlockHit, text: str, symbols: Sequence[MemberRow],
            terms: Sequence[str], named: set[str],
            named_by: Callable[[str], float] = _unnamed,
            similar: Similar | None = None) -> Narrowed | None:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if len(lines) != block.end_line - block.start_line + 1:
        return None  # text and line range disagree: leave the hit as it is
    members = _members(block, symbols)
    if len(members) == 1:
        return _sole(block, lines, members[0], terms)
    if not members:
        return None
    regions: list[tuple[int, int]] = []
    floor = block.start_line
    for _, _, start, end in members:
        lo = floor
        while lo < start and not lines[lo - block.start_line].strip():
            lo += 1  # leading blank lines are nobody's
        regions.append((lo, end))
        floor = end + 1
    words = [set(identifier_tokens("\n".join(lines[lo - block.start_line:hi - block.start_line
                                                    + 1])))
             for lo, hi in regions]
    wanted = set(terms)
    count = {t: sum(t in w for w in words) for t in wanted}
    weight = {t: math.log(1 + len(words) / n) for t, n in count.items() if n}
    # fsum: a member's score must not depend on the order its words are met (a set's, which
    # changes with the process's hash seed): members that tie must tie in every process
    scores = [math.fsum(weight[t] for t in wanted & w if t in weight) for w in words]

    def text_of(i: int) -> str:
        lo, hi = regions[i]
        return "\n".join(lines[lo - block.start_line:hi - block.start_line + 1])

    by_name = [i for i, m in enumerate(members) if m[0].rsplit(".", 1)[-1].lower() in named]
    if len(by_name) == 1:  # the query names one member: it wins
        best = by_name[0]
    else:
        spelt = [named_by(m[0]) for m in members]
        keys = [(scores[i] * (1 + NAME_WEIGHT * spelt[i]), spelt[i])
                for i in range(len(members))]
        ranked = sorted(range(len(keys)), key=lambda i: (-keys[i][0], -keys[i][1]))
        best = ranked[0]
        if scores[best] <= 0 or keys[best] == keys[ranked[1]]:
            left = ranked if scores[best] <= 0 else [i for i in ranked if keys[i] == keys[best]]
            found = _closest(left, text_of, similar)
            if found is None:
                return None
            best = found
    qual, kind, _, _ = members[best]
    lo, hi = regions[best]
    return Narrowed(lo, hi, qual, kind, text_of(best))


def _closest(candidates: list[int], text_of: Callable[[int], str],
             similar: Similar | None) -> int | None:
    """The candidate whose text `similar` finds closest to the query; None without a
    measure, or when the closest two tie."""
    if similar is None or len(candidates) < 2:
        return None
    sims = list(similar([text_of(i) for i in candidates]))
    order = sorted(range(len(candidates)), key=lambda j: -sims[j])
    if not sims[order[0]] > sims[order[1]]:
        return None
    return candidates[order[0]]


def _sole(block: BlockHit, lines: list[str], member: MemberRow,
          terms: Sequence[str]) -> Narrowed | None:
    """A block holding one definition among other code (a package clause, imports)
    narrows to that definition with the comment lines right above it, when the
    definition contains a query word (else the match was in the other code)."""
    qual, kind, start, end = member
    lo = start
    while lo > block.start_line and lines[lo - 1 - block.start_line].lstrip().startswith(
            _COMMENT_MARKS):
        lo -= 1
    text = "\n".join(lines[lo - block.start_line:end - block.start_line + 1])
    if not set(terms) & set(identifier_tokens(text)):
        return None
    return Narrowed(lo, end, qual, kind, text)
