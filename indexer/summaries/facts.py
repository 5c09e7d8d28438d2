"""Per-file facts for directory summaries: key symbols, entry points, README lead paragraphs.

Each query reads the files registered as `_fs` (column `p`) on the given cursor.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from indexer.core import duckdb

_KINDS = "('class', 'function', 'interface', 'struct', 'trait', 'enum', 'type', 'macro')"
_PER_DIR = 8


def key_symbols(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, float, str]]:
    """(path, score, `qualname - first doc line`) of the most used top-level definitions.

    Score: uses of the name anywhere in the repository divided by the number of definitions
    sharing that name (a name defined 40 times is not 40 times as important)."""
    rows = cur.execute(f"""
        WITH own AS (
            SELECT f.path, s.name, s.qualname, s.doc,
                   coalesce(nullif(regexp_extract(f.path, '^(.*)/[^/]*$', 1), ''), '') AS dir
            FROM symbols s JOIN files f USING (file_id)
            WHERE f.path IN (SELECT p FROM _fs) AND s.kind IN {_KINDS}
              AND (s.parent IS NULL OR s.kind <> 'function') AND length(s.name) > 1),
        defs AS (SELECT name, count(*) AS n FROM symbols WHERE name IN (SELECT name FROM own) GROUP BY 1),
        uses AS (SELECT name, count(*) AS u FROM refs WHERE name IN (SELECT name FROM own) GROUP BY 1)
        SELECT path, coalesce(u, 0) / n AS score, qualname, doc FROM own
        JOIN defs USING (name) LEFT JOIN uses USING (name)
        QUALIFY row_number() OVER (PARTITION BY dir ORDER BY score DESC, qualname) <= {_PER_DIR}
    """).fetchall()
    out = []
    for path, score, qualname, doc in rows:
        first = (doc or "").strip().split("\n", 1)[0].strip()[:160]
        out.append((str(path), float(score), f"{qualname} - {first}" if first else str(qualname)))
    return out


def entry_points(root: Path, cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Files that start a program: `__main__.py`, `main` functions, `__name__` guards,
    package.json `main`/`bin`."""
    found: set[str] = set()
    for (p,) in cur.execute(
        "SELECT DISTINCT f.path FROM symbols s JOIN files f USING (file_id) "
        "WHERE f.path IN (SELECT p FROM _fs) AND s.name = 'main' AND s.parent IS NULL "
        "AND s.kind = 'function'"
    ).fetchall():
        found.add(p)
    # the Python files first: the chunks' texts are scanned only for theirs (the query
    # over the join read every chunk's text, 15 ms on moby, which has none)
    python = [r[0] for r in cur.execute(
        "SELECT file_id FROM files WHERE path IN (SELECT p FROM _fs) AND language = 'python'"
    ).fetchall()]
    for (p,) in cur.execute(
        "SELECT DISTINCT f.path FROM chunks c JOIN files f USING (file_id) "
        "WHERE c.file_id IN (SELECT unnest(?)) "
        "AND regexp_matches(c.text, '__name__\\s*==\\s*[\"'']__main__[\"'']')", [python]
    ).fetchall() if python else ():
        found.add(p)
    paths = [r[0] for r in cur.execute("SELECT p FROM _fs").fetchall()]
    found.update(p for p in paths if posixpath.basename(p) == "__main__.py")
    for p in paths:
        if posixpath.basename(p) == "package.json" and "node_modules/" not in p:
            found.update(_package_entries(root, p))
    return sorted(found)


def _package_entries(root: Path, manifest: str) -> list[str]:
    try:
        data = json.loads((root / manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    targets: list[str] = []
    if isinstance(data.get("main"), str):
        targets.append(data["main"])
    bins = data.get("bin")
    if isinstance(bins, str):
        targets.append(bins)
    elif isinstance(bins, dict):
        targets += [v for v in bins.values() if isinstance(v, str)]
    base = posixpath.dirname(manifest)
    return [posixpath.normpath(posixpath.join(base, t)) for t in targets]


LEAD_PARAGRAPHS = 5  # prose paragraphs searched for the one that says what the project is
_DEFINES = re.compile(r"\b(?:is|are)\s+(?:a|an|the)\b", re.IGNORECASE)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url) -> text; images: their alt text
_EMPHASIS = re.compile(r"\*\*|__")


def readme_lead(root: Path, rel: str, limit: int = 400) -> str:
    """What a README says the project is: among its first `LEAD_PARAGRAPHS` prose paragraphs
    (no headings, badges, HTML or directives), the first that defines something ("Gin is a
    high-performance HTTP web framework", past a release announcement), else the first;
    Markdown links and bold reduced to their text."""
    try:
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    prose: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        lines = _past_heading([ln.strip() for ln in para.strip().splitlines()])
        if lines and not _not_prose(lines):
            prose.append(_EMPHASIS.sub("", _LINK.sub(r"\1", " ".join(lines))))
            if len(prose) == LEAD_PARAGRAPHS:
                break
    if not prose:
        return ""
    lead = next((p for p in prose if _DEFINES.search(p[:200])), prose[0])
    return lead if len(lead) <= limit else lead[: limit - 3].rsplit(" ", 1)[0] + "..."


def _past_heading(lines: list[str]) -> list[str]:
    """A paragraph's lines after a heading it starts with (`# Title` or an underlined title
    with no blank line before the text: "ripgrep (rg)" / "----" / "ripgrep is a ...")."""
    if len(lines) > 2 and set(lines[1]) <= set("=-~^*#"):
        return lines[2:]
    if len(lines) > 1 and lines[0].startswith("#"):
        return lines[1:]
    return lines


def _not_prose(lines: list[str]) -> bool:
    first = lines[0]
    if first.startswith(("#", "<", "[![", "![", "..", ":", "|", "```", "---", "===")):
        return True
    if len(lines) > 1 and set(lines[1]) <= set("=-~^*#"):  # an RST/setext heading
        return True
    return all(set(ln) <= set("=-~^*#") for ln in lines)
