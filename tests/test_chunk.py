"""Chunking: AST units with context headers for code, sections and windows for text."""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.chunk.chunker import chunk_file, estimate_tokens
from indexer.core.model import Chunk, ParsedFile, Symbol
from indexer.core.tokens import count_tokens
from indexer.parse import parse_source


def sym(
    qualname: str,
    kind: str,
    start: int,
    end: int,
    signature: str = "",
    parent: str | None = None,
) -> Symbol:
    name = qualname.rsplit(".", 1)[-1]
    sig = signature or f"def {name}(self)"
    return Symbol(name, qualname, kind, sig, "", parent, start, end, 0, 0)


def line_of(source: str, needle: str) -> int:
    return source.split("\n").index(needle) + 1


def assert_well_formed(chunks: list[Chunk], source: str) -> None:
    """Ordered, non-overlapping, byte ranges matching text, lines matching bytes."""
    data = source.encode()
    for chunk in chunks:
        assert data[chunk.start_byte : chunk.end_byte].decode() == chunk.text
        assert chunk.start_line == data[: chunk.start_byte].count(b"\n") + 1
        assert chunk.start_line <= chunk.end_line
    for a, b in itertools.pairwise(chunks):
        assert a.end_byte <= b.start_byte
        assert a.end_line <= b.start_line


def covered_lines(chunks: list[Chunk]) -> set[int]:
    return {n for c in chunks for n in range(c.start_line, c.end_line + 1)}


def big_class_source() -> str:
    body = "".join(
        f"        total += compute_value({i}, 'alpha', beta={i * 3})\n" for i in range(40)
    )
    return (
        "import os\n\n\n"
        "class Engine(Base):\n"
        '    """Runs things."""\n\n'
        "    retries = 3\n\n"
        "    def start(self):\n"
        "        total = 0\n" + body + "        return total\n\n"
        "    def stop(self):\n"
        "        return os.getpid()\n"
    )


def big_class_parsed(source: str) -> ParsedFile:
    lines = source.split("\n")
    start = lines.index("    def start(self):") + 1
    stop = lines.index("    def stop(self):") + 1
    end = len(lines) - 1
    return ParsedFile(
        "python",
        [
            sym("Engine", "class", 4, end, "class Engine(Base):"),
            sym("Engine.retries", "field", 7, 7, "retries = 3", "Engine"),
            sym("Engine.start", "method", start, stop - 2, parent="Engine"),
            sym("Engine.stop", "method", stop, end, parent="Engine"),
        ],
    )


def test_big_class_is_split_into_head_and_method_chunks() -> None:
    source = big_class_source()
    chunks = chunk_file("pkg/engine.py", source, "python", big_class_parsed(source))
    head = next(c for c in chunks if c.symbol == "Engine")
    assert head.kind == "class"
    assert "class Engine(Base):" in head.text and "retries = 3" in head.text
    assert "def start" not in head.text
    assert {"Engine.start", "Engine.stop"} <= {c.symbol for c in chunks}
    assert_well_formed(chunks, source)


def test_method_header_names_path_and_enclosing_class() -> None:
    source = big_class_source()
    chunks = chunk_file("pkg/engine.py", source, "python", big_class_parsed(source))
    stop = next(c for c in chunks if c.symbol == "Engine.stop")
    assert stop.header.splitlines() == [
        "# pkg/engine.py",
        "# class Engine(Base):",
        "#   def stop(self)",
    ]
    assert count_tokens(stop.header) <= 48


def test_class_that_fits_is_one_chunk() -> None:
    source = "class Small:\n    def a(self):\n        return 1\n"
    parsed = ParsedFile(
        "python",
        [
            sym("Small", "class", 1, 3, "class Small:"),
            sym("Small.a", "method", 2, 3, parent="Small"),
        ],
    )
    chunks = chunk_file("s.py", source, "python", parsed)
    assert [(c.symbol, c.kind, c.start_line, c.end_line) for c in chunks] == [
        ("Small", "class", 1, 3)
    ]


def test_tiny_functions_are_merged_into_one_chunk() -> None:
    source = "".join(f"def f{i}():\n    return {i}\n\n" for i in range(6))
    symbols = [sym(f"f{i}", "function", 3 * i + 1, 3 * i + 2, f"def f{i}()") for i in range(6)]
    chunks = chunk_file("tiny.py", source, "python", ParsedFile("python", symbols))
    assert len(chunks) == 1
    assert chunks[0].symbol is None and chunks[0].kind == "block"
    assert (chunks[0].start_line, chunks[0].end_line) == (1, 17)
    assert "f0, f1, f2" in chunks[0].header


def test_oversized_function_is_split_by_lines_under_the_limit() -> None:
    body = "".join(f"    value_{i} = transform(value_{i - 1}, {i})\n" for i in range(1, 200))
    source = "def long():\n    value_0 = 0\n" + body + "    return value_199\n"
    end = source.count("\n")
    parsed = ParsedFile("python", [sym("long", "function", 1, end, "def long()")])
    chunks = chunk_file("long.py", source, "python", parsed, max_tokens=256)
    assert len(chunks) > 3
    assert all(c.symbol == "long" for c in chunks)
    assert all(count_tokens(c.header + "\n" + c.text) <= 256 for c in chunks)
    assert all(c.text.endswith(")") or c.text.endswith("199") for c in chunks)  # whole lines
    assert covered_lines(chunks) == set(range(1, end + 1))
    assert_well_formed(chunks, source)


def test_code_between_definitions_becomes_block_chunks_without_gaps() -> None:
    source = (
        "import os\nimport sys\n\nLIMIT = 10\n\n"
        "def run():\n" + "".join(f"    os.system('step {i}')\n" for i in range(20)) + "\n"
        "if __name__ == '__main__':\n    run()\n"
    )
    run_end = line_of(source, "    os.system('step 19')")
    parsed = ParsedFile("python", [sym("run", "function", 6, run_end, "def run()")])
    chunks = chunk_file("main.py", source, "python", parsed, min_tokens=0)
    assert [c.kind for c in chunks] == ["block", "function", "block"]
    nonblank = {i for i, line in enumerate(source.split("\n"), 1) if line.strip()}
    assert nonblank <= covered_lines(chunks)
    assert_well_formed(chunks, source)


def test_leading_comment_belongs_to_the_function_below() -> None:
    source = "package x\n\n// Run runs.\n// It is long.\nfunc Run() {\n" + "\tstep()\n" * 60 + "}\n"
    parsed = ParsedFile("go", [sym("Run", "function", 5, 66, "func Run()")])
    chunks = chunk_file("x.go", source, "go", parsed)
    run = next(c for c in chunks if c.symbol == "Run")
    assert run.text.startswith("// Run runs.")
    assert run.header.startswith("// x.go")


def test_empty_and_blank_files_give_no_chunks() -> None:
    assert chunk_file("e.py", "", "python", ParsedFile("python")) == []
    assert chunk_file("e.md", "\n  \n", None, None) == []


def markdown_doc() -> str:
    para = "This paragraph explains the feature in enough words to stand alone. " * 6
    return (
        f"# Guide\n\n{para}\n\n## Install\n\n{para}\n\n```sh\n# not a heading\n```\n\n"
        f"### From source\n\n{para}\n\n## Usage\n\n{para}\n"
    )


def test_markdown_splits_at_headings_with_the_heading_trail_in_the_header() -> None:
    source = markdown_doc()
    chunks = chunk_file("docs/guide.md", source, None, None)
    headers = [c.header for c in chunks]
    assert headers == [
        "docs/guide.md\nGuide",
        "docs/guide.md\nGuide > Install",
        "docs/guide.md\nGuide > Install > From source",
        "docs/guide.md\nGuide > Usage",
    ]
    assert "# not a heading" in chunks[1].text
    assert all(c.kind == "section" for c in chunks)
    assert_well_formed(chunks, source)


def test_restructuredtext_splits_at_underlined_titles() -> None:
    para = "Words that describe the section in some detail for the reader. " * 6
    source = f"Title\n=====\n\n{para}\n\nPart\n----\n\n{para}\n"
    chunks = chunk_file("README.rst", source, "rst", None)
    assert [c.header for c in chunks] == ["README.rst\nTitle", "README.rst\nTitle > Part"]


def test_yaml_top_level_keys_start_sections() -> None:
    block = "".join(f"  key_{i}: value number {i} with text\n" for i in range(12))
    source = f"services:\n{block}volumes:\n{block}"
    chunks = chunk_file("compose.yaml", source, "yaml", None)
    assert [c.header for c in chunks] == ["compose.yaml\nservices", "compose.yaml\nvolumes"]


def test_plain_text_is_cut_into_whole_line_windows() -> None:
    source = "".join(
        f"line {i}: some log output with words and numbers {i * 7}\n" for i in range(400)
    )
    chunks = chunk_file("notes.txt", source, None, None, max_tokens=128)
    assert len(chunks) > 10
    assert all(c.kind == "window" and c.symbol is None for c in chunks)
    assert all(c.tokens <= 128 and c.text.endswith(tuple(string.digits)) for c in chunks)
    assert covered_lines(chunks) == set(range(1, 401))
    assert_well_formed(chunks, source)


def test_a_single_overlong_line_is_cut_into_windows() -> None:
    source = ",".join(str(i * 7919) for i in range(3000))
    chunks = chunk_file("data.json", source, "json", None, max_tokens=100)
    assert len(chunks) > 10
    assert "".join(c.text for c in chunks) == source
    assert all(c.tokens <= 100 for c in chunks)


def test_estimate_is_close_to_the_real_count_on_code() -> None:
    source = Path(__file__).read_text()
    estimate, exact = estimate_tokens(source.encode()), count_tokens(source)
    assert 0.8 * exact <= estimate <= 1.6 * exact


text_alphabet = st.sampled_from(
    list(string.ascii_letters + string.digits + string.punctuation + " \t\n\n\n#=-")
    + ["é", "日本", "🙂", "    ", "## ", "\n# ", "```", "----"]
)


@settings(max_examples=80, deadline=None)
@given(
    text=st.lists(text_alphabet, max_size=600).map("".join),
    name=st.sampled_from(["a.md", "b.rst", "c.yaml", "d.toml", "e.txt", "f.json"]),
    max_tokens=st.integers(min_value=64, max_value=400),
)
def test_text_chunks_never_exceed_the_limit_overlap_or_drop_text(
    text: str, name: str, max_tokens: int
) -> None:
    chunks = chunk_file(name, text, None, None, max_tokens=max_tokens, min_tokens=16)
    assert all(count_tokens(c.header + "\n" + c.text) <= max_tokens for c in chunks)
    assert all(c.tokens == count_tokens(c.header + "\n" + c.text) for c in chunks)
    assert_well_formed(chunks, text)
    kept = "".join(c.text for c in chunks)
    assert "".join(kept.split()) == "".join(text.split())


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=25),
    max_tokens=st.integers(min_value=128, max_value=512),
)
def test_code_chunks_are_ordered_disjoint_and_within_the_limit(
    sizes: list[int], max_tokens: int
) -> None:
    lines: list[str] = []
    symbols: list[Symbol] = []
    for n, size in enumerate(sizes):
        start = len(lines) + 1
        lines.append(f"def func_{n}(arg):")
        lines.extend(f"    arg = arg * {i} + helper_{n}(arg)" for i in range(size))
        symbols.append(sym(f"func_{n}", "function", start, len(lines), f"def func_{n}(arg)"))
        lines.append("")
    source = "\n".join(lines)
    chunks = chunk_file(
        "gen.py", source, "python", ParsedFile("python", symbols), max_tokens=max_tokens
    )
    assert_well_formed(chunks, source)
    assert all(count_tokens(c.header + "\n" + c.text) <= max_tokens for c in chunks)
    nonblank = {i for i, line in enumerate(lines, 1) if line.strip()}
    assert covered_lines(chunks) == nonblank | (covered_lines(chunks) - nonblank)
    assert nonblank <= covered_lines(chunks)


def test_flask_app_has_a_chunk_for_add_url_rule(corpus: Callable[[str], Path]) -> None:
    root = corpus("flask")
    source = (root / "src/flask/sansio/app.py").read_bytes()
    parsed = parse_source(source, "python")
    chunks = chunk_file("src/flask/sansio/app.py", source.decode(), "python", parsed)
    rule = [c for c in chunks if c.symbol == "App.add_url_rule"]
    assert rule
    assert "# class App(Scaffold)" in rule[0].header
    assert "def add_url_rule(" in rule[0].text
    assert_well_formed(chunks, source.decode())


def test_a_line_that_only_closes_brackets_stays_with_what_it_closes(
        corpus: Callable[[str], Path]) -> None:
    """vue-core: `});` after a test block, `}` after an if at the top level; before, 1,017 of
    its chunks (and gin's after a `const ( ... )` group) started with such a line."""
    from indexer.parse import parse_source

    root = corpus("vue-core") / "packages"
    starts = []
    for rel in ("reactivity/__tests__/effect.spec.ts", "reactivity/src/watch.ts",
                "reactivity/src/collectionHandlers.ts", "shared/__tests__/toDisplayString.spec.ts"):
        text = (root / rel).read_text()
        lines = text.splitlines()
        chunks = chunk_file(rel, text, "typescript", parse_source(text.encode(), "typescript"))
        assert chunks[0].start_line == 1 and chunks[-1].end_line >= len(lines) - 1
        starts += [(rel, c.start_line, lines[c.start_line - 1]) for c in chunks]
    # (a window cut inside a long body may still start at a deep `}`)
    closing = [s for s in starts if len(s[2]) - len(s[2].lstrip()) <= 2
               and not s[2].strip().translate(str.maketrans("", "", "})];,"))]
    assert len(starts) > 40 and not closing, closing
