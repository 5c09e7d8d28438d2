"""summarize_dir and the subtree-hash cache behind it."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository, update_paths
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.live import LiveIndex
from indexer.summaries.build import FACTS_FORMAT, ancestors, subtree_hashes, summarize
from tools.budget import json_tokens
from tools.errors import ToolError
from tools.summary import summarize_dir


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.fixture
def small(tmp_path: Path) -> Iterator[LiveIndex]:
    root = tmp_path / "repo"
    _write(
        root,
        {
            "README.md": "# Demo\n\n[![badge](x)](y)\n\nDemo is a tiny app that greets people.\n",
            "pkg/__init__.py": "",
            "pkg/core.py": 'def greet(name):\n    """Say hello to someone."""\n    return "hi " + name\n',
            "pkg/util/__init__.py": "",
            "pkg/util/fmt.py": "from pkg.core import greet\n\ndef shout(n):\n    return greet(n).upper()\n",
            "pkg/__main__.py": "from pkg.util.fmt import shout\nprint(shout('x'))\n",
            "tools/run.py": "import requests\nfrom pkg.core import greet\n\nif __name__ == \"__main__\":\n    greet('a')\n",
        },
    )
    idx = RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx"))
    index_repository(idx)
    live = LiveIndex(idx)
    live.refresh_summaries()  # what every index update of a live index does
    try:
        yield live
    finally:
        idx.close()


def test_subtree_hash_of_a_directory_changes_only_with_its_files() -> None:
    before = subtree_hashes([("a/b/x.py", "1"), ("a/c/y.py", "2"), ("z.py", "3")])
    after = subtree_hashes([("a/b/x.py", "9"), ("a/c/y.py", "2"), ("z.py", "3")])
    changed = {d for d in before if before[d] != after[d]}
    assert changed == {"a/b", "a", ""} == set(ancestors("a/b/x.py"))


def test_hashes_updated_after_content_edits_equal_hashes_of_the_whole_tree() -> None:
    """The refresh hashes again only the directories above an edited file
    (`subtree_hashes_updated`): the same hashes as the whole tree's, through random edits;
    a file added or removed is left to the whole hashing."""
    import random

    from indexer.summaries.build import _Hashed, subtree_hashes_updated

    rng = random.Random(7)
    dirs = ["", "a", "a/b", "a/b/c", "a/d", "e", "e/f/g"]
    rows = {posixpath.join(rng.choice(dirs), f"m{i}.py"): str(i) for i in range(60)}
    last = _Hashed(1, subtree_hashes(rows.items()), dict(rows))
    for step in range(40):
        for p in rng.sample(sorted(rows), rng.randint(1, 3)):
            rows[p] = f"{p} {step}"
        got = subtree_hashes_updated(dict(rows), last)
        assert got == subtree_hashes(rows.items()) and got is not None
        last = _Hashed(step + 2, got, dict(rows))
    assert subtree_hashes_updated(dict(rows), last) is last.hashes  # nothing changed
    assert subtree_hashes_updated({**rows, "a/new.py": "1"}, last) is None
    gone = min(rows)
    assert subtree_hashes_updated({p: h for p, h in rows.items() if p != gone}, last) is None


def test_the_refresh_after_an_edit_hashes_only_what_changed(
        small: LiveIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The live index's refresh after a content edit does not hash the whole tree again,
    and its hashes are the whole tree's."""
    from indexer.summaries import build

    store, root = small.index.store, small.root
    whole: list[int] = []
    real = build.subtree_hashes

    def counted(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
        whole.append(1)
        return real(rows)

    monkeypatch.setattr(build, "subtree_hashes", counted)
    (root / "pkg/core.py").write_text("def greet(name):\n    return name * 2\n")
    update_paths(small.index, ["pkg/core.py"])
    small.refresh_summaries()
    assert whole == []
    assert build._HASHES.get(store) == real(store.query("SELECT path, content_hash FROM files"))
    assert build.read_summaries(store, root, "pkg") == summarize(store, root, "pkg")[0]


def test_a_refresh_reads_only_the_summaries_it_rebuilds_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After an edit, the refresh reads the stored summaries of the rebuilt directories'
    children only (it read and decoded every directory's), and stores what a build from
    nothing stores."""
    from indexer.summaries import build
    from tests.mcp_helpers import live_over

    files = {f"d{i}/s{j}/m.py": f"def f{i}_{j}():\n    return {j}\n"
             for i in range(6) for j in range(4)}
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root
        live.refresh_summaries()
        decoded: list[str] = []
        real = build.Built.from_json

        def counted(path: str, subtree_hash: str, text: str) -> build.Built | None:
            decoded.append(path)
            return real(path, subtree_hash, text)

        monkeypatch.setattr(build.Built, "from_json", staticmethod(counted))
        (root / "d2/s1/m.py").write_text("def changed():\n    return 0\n")
        update_paths(live.index, ["d2/s1/m.py"])
        live.refresh_summaries()
        # rebuilt: d2/s1, d2 and the root; read: d2's other children and the root's
        assert sorted(decoded) == sorted([*(f"d2/s{j}" for j in (0, 2, 3)),
                                          *(f"d{i}" for i in (0, 1, 3, 4, 5))])
        kept = dict(store.query("SELECT path, summary FROM dir_summaries"))
        build._STORED.pop(store, None)
        with store.transaction() as cur:
            cur.execute("DELETE FROM dir_summaries")
        build.build_summaries(store, root)
        assert dict(store.query("SELECT path, summary FROM dir_summaries")) == kept


def test_root_summary_has_sizes_key_symbols_entry_points_and_readme(small: LiveIndex) -> None:
    result = summarize_dir(small, ".", depth=1)
    top = result.summaries[0]
    assert top.path == "." and top.files == 7 and top.languages["python"] == 6
    assert "greet - Say hello to someone." in top.key_symbols
    assert {"pkg/__main__.py", "tools/run.py"} <= set(top.entry_points)
    assert top.readme == "Demo is a tiny app that greets people."
    assert "requests" in top.external
    assert {s.path for s in result.summaries} == {".", "pkg", "tools"}


def test_directory_relations_come_from_resolved_imports(small: LiveIndex) -> None:
    by_path = {s.path: s for s in summarize_dir(small, "pkg", depth=1).summaries}
    assert by_path["pkg"].used_by == ["tools"]
    assert by_path["pkg/util"].depends_on == ["pkg"]


def test_changing_one_file_rebuilds_only_its_ancestor_directories(small: LiveIndex) -> None:
    store, root = small.index.store, small.root
    first, rebuilt = summarize(store, root, "")
    assert rebuilt == [] and first  # the live index built every summary when it indexed
    (root / "pkg/util/fmt.py").write_text("def shout(n):\n    return n.upper()\n")
    update_paths(small.index, ["pkg/util/fmt.py"])
    second, rebuilt = summarize(store, root, "")
    assert sorted(rebuilt) == ["", "pkg", "pkg/util"]
    assert second["tools"].subtree_hash == first["tools"].subtree_hash
    assert second["pkg"].subtree_hash != first["pkg"].subtree_hash


def test_llm_summary_is_cached_by_subtree_hash_and_marked_stale_after_a_change(
    small: LiveIndex,
) -> None:
    prompts: list[str] = []

    def sampler(prompt: str) -> str:
        prompts.append(prompt)
        return f"summary {len(prompts)}"

    assert summarize_dir(small, "pkg", 0, sampler=sampler).summaries[0].llm_summary == "summary 1"
    assert summarize_dir(small, "pkg", 0, sampler=sampler).summaries[0].llm_summary == "summary 1"
    assert len(prompts) == 1 and "greet" in prompts[0]
    (small.root / "pkg/core.py").write_text("def greet(name):\n    return name\n")
    small.apply(["pkg/core.py"], set(), reconcile=False)
    stale = summarize_dir(small, "pkg", 0).summaries[0]
    assert stale.llm_summary == "summary 1" and stale.stale
    fresh = summarize_dir(small, "pkg", 0, sampler=sampler).summaries[0]
    assert fresh.llm_summary == "summary 2" and not fresh.stale


def test_unknown_directory_error_names_nearby_directories(small: LiveIndex) -> None:
    with pytest.raises(ToolError, match="pkg"):
        summarize_dir(small, "pkk")
    with pytest.raises(ToolError, match="is a file"):
        summarize_dir(small, "pkg/core.py")
    with pytest.raises(ToolError, match="outside|'..'"):
        summarize_dir(small, "../x")


def test_summary_of_a_big_tree_respects_the_token_budget(
    corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    idx = RepoIndex(IndexPaths.for_repo(corpus("flask"), tmp_path / "idx"))
    try:
        index_repository(idx)
        result = summarize_dir(LiveIndex(idx), ".", depth=4, max_tokens=700)
        assert json_tokens(result) <= 700
        assert result.truncated and result.summaries[0].path == "."
        sansio = summarize_dir(LiveIndex(idx), "src/flask/sansio", 0).summaries[0]
        assert sansio.readme.startswith("This folder contains code that can be used by alternative")
        assert any(k.startswith("Scaffold - ") for k in sansio.key_symbols)
    finally:
        idx.close()


def test_reading_a_summary_writes_nothing(small: LiveIndex) -> None:
    """Summaries are built when the index changes; summarize_dir only reads them."""
    generation = small.store.generation
    rows = small.store.query("SELECT path, subtree_hash, built_at FROM dir_summaries ORDER BY 1")
    (small.root / "pkg/extra.py").write_text("def extra():\n    pass\n")
    update_paths(small.index, ["pkg/extra.py"])  # indexed without the live index's refresh
    summary = summarize_dir(small, "pkg", 0).summaries[0]
    assert summary.files == 6  # computed in memory for the new subtree hash
    assert small.store.generation == generation + 1  # the update's write, none from the read
    after = small.store.query("SELECT path, subtree_hash, built_at FROM dir_summaries ORDER BY 1")
    assert after == rows


GIN_LIKE = ("# Gin Web Framework\n\n[![Build](https://ci/badge.svg)](https://ci)\n\n"
            "## Gin 1.12.0 is now available!\n\nWe're excited to announce the release of "
            "**[Gin 1.12.0](https://gin-gonic.com/news/)**! It brings new features.\n\n---\n\n"
            "Gin is a high-performance HTTP web framework written in [Go](https://go.dev/).\n")
RIPGREP_LIKE = ("ripgrep (rg)\n------------\nripgrep is a line-oriented search tool that "
                "recursively searches the current directory.\n\nDual-licensed under MIT.\n")


@pytest.mark.parametrize(("readme", "lead"), [
    (GIN_LIKE, "Gin is a high-performance HTTP web framework written in Go."),
    (RIPGREP_LIKE, ("ripgrep is a line-oriented search tool that recursively searches the "
                    "current directory.")),
    ("Please read the [docs](https://x.org)!\n\nNo definition here.\n",
     "Please read the docs!"),
])
def test_a_readmes_lead_is_what_it_says_the_project_is_without_link_markup(
        tmp_path: Path, readme: str, lead: str) -> None:
    from indexer.summaries import readme_lead

    (tmp_path / "README.md").write_text(readme)
    assert readme_lead(tmp_path, "README.md") == lead


def test_summaries_saved_by_an_older_version_are_built_again_keeping_their_llm_summary(
        small: LiveIndex) -> None:
    from indexer.summaries import build

    store = small.store
    with store.transaction() as cur:  # as the first version saved them: no format, another lead
        for path, text in cur.execute("SELECT path, summary FROM dir_summaries").fetchall():
            data = json.loads(text)
            data.pop("format", None)
            data["readme"] = "an old lead"
            cur.execute("UPDATE dir_summaries SET summary = ?, llm_summary = ? WHERE path = ?",
                        [json.dumps(data), f"llm of {path or '.'}", path])
    # read at once as the new version builds it (in memory)...
    assert summarize_dir(small, ".", depth=0).summaries[0].readme.startswith("Demo is")
    store.set_meta("summaries_generation", str(store.generation))  # as the old version wrote it
    build._STORED.pop(store, None)  # what a new process knows: no summary checked yet
    small.refresh_summaries()  # ...and saved by the next start, CLI read or index update
    top = summarize_dir(small, ".", depth=0).summaries[0]
    assert top.readme == "Demo is a tiny app that greets people."
    rows = store.query("SELECT summary, llm_summary FROM dir_summaries WHERE path = ''")
    assert len(rows) == 1 and json.loads(rows[0][0])["format"] == FACTS_FORMAT
    assert rows[0][1] == "llm of ."


def test_reads_hash_the_tree_once_per_generation_and_follow_every_edit(
        small: LiveIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """summarize_dir hashed its subtree's files on every call (77 of its 100 ms on moby's
    `daemon`); the hashes are now kept per store generation (the first read takes those
    the refresh computed for it, when it did), and an edit still shows."""
    from indexer.summaries import build

    store, root = small.index.store, small.root
    hashed: list[int] = []
    real = build.subtree_hashes
    monkeypatch.setattr(build, "subtree_hashes",
                        lambda rows: hashed.append(1) or real(rows))
    first = build.read_summaries(store, root, "pkg")
    once = len(hashed)
    again = build.read_summaries(store, root, "")
    assert once <= 1 and len(hashed) == once, "a second read of a generation hashed again"
    assert first["pkg"] == again["pkg"] and first["pkg/util"] == again["pkg/util"]
    assert first == {d: b for d, b in summarize(store, root, "pkg")[0].items()}
    (root / "pkg/core.py").write_text("def greet(name):\n    return name\n")
    update_paths(small.index, ["pkg/core.py"])
    small.refresh_summaries()
    after = build.read_summaries(store, root, "pkg")
    assert after["pkg"].subtree_hash != first["pkg"].subtree_hash
    assert after["pkg/util"].subtree_hash == first["pkg/util"].subtree_hash
    assert after == summarize(store, root, "pkg")[0]


def test_reads_during_a_writers_batch_answer_from_the_last_stored_summaries(
        small: LiveIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a live index writes a batch (`Store.loads_promised`, until its refresh), a read
    answers from the last generation's stored summaries, as the other reads keep the last
    tables: building the edited subtree's summaries made each such read wait for one
    (1-1.6 s on moby under load). Once the batch is done, reads see the new files."""
    from indexer.summaries import build

    store, root = small.index.store, small.root
    before = build.read_summaries(store, root, "pkg")
    built: list[list[str]] = []
    real = build._own_facts

    def counted(*args: object, **kw: object) -> object:
        built.append(sorted(args[3]))  # type: ignore[call-overload]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "_own_facts", counted)
    (root / "pkg/extra.py").write_text("def extra():\n    pass\n")
    with store.loads_promised():
        update_paths(small.index, ["pkg/extra.py"])
        during = build.read_summaries(store, root, "pkg")
    assert built == [] and during["pkg"] == before["pkg"] and during["pkg"].files == 5
    after = build.read_summaries(store, root, "pkg")
    assert built == [["pkg"]] and after["pkg"].files == 6


def test_reads_in_the_window_before_the_refresh_build_an_edited_subtree_once(
        small: LiveIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a write and before the live index's refresh stores its summaries, every read of
    the edited subtree built them again (under steady edits: every read). Reads of one
    generation, concurrent or not, now build them once; the next write's are built anew."""
    import threading
    import time

    from indexer.summaries import build

    store, root = small.index.store, small.root
    built: list[list[str]] = []
    real = build._own_facts

    def counted(*args: object, **kw: object) -> object:
        built.append(sorted(args[3]))  # type: ignore[call-overload]
        time.sleep(0.2)  # long enough for the other reads to arrive while it builds
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "_own_facts", counted)
    (root / "pkg/extra.py").write_text("def extra():\n    pass\n")
    update_paths(small.index, ["pkg/extra.py"])  # indexed without the live index's refresh
    results: list[dict[str, build.Built]] = []
    readers = [threading.Thread(target=lambda: results.append(
        build.read_summaries(store, root, "pkg"))) for _ in range(4)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(60)
    results.append(build.read_summaries(store, root, ""))
    # the root's read builds the root only: `pkg` is the one the first read built
    assert built == [["pkg"], [""]], "a summary was built more than once in one generation"
    assert len(results) == 5 and all(r["pkg"] == results[0]["pkg"] for r in results)
    assert results[0]["pkg"].files == 6
    monkeypatch.setattr(build, "_own_facts", real)
    assert results[0] == summarize(store, root, "pkg")[0]  # what a build that saves makes
    monkeypatch.setattr(build, "_own_facts", counted)
    (root / "pkg/extra.py").write_text("def extra():\n    pass\n\n\ndef more():\n    pass\n")
    update_paths(small.index, ["pkg/extra.py"])
    again = build.read_summaries(store, root, "pkg")
    assert built[2:] == [["pkg"]] and again["pkg"].subtree_hash != results[0]["pkg"].subtree_hash


def test_a_summary_to_a_depth_reads_only_the_directories_it_shows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """summarize_dir at depth d reads the stored summaries of the directories at most d
    levels below its path (moby's `daemon` at depth 1: 24 of 302, whose reading and decoding
    were a third of the call), and answers as it did with every one below it read; a
    directory without a stored summary is still built from below."""
    from indexer.summaries import build

    root = tmp_path / "repo"
    _write(root, {f"pkg/a{i}/b{j}/c/m.py": f"def f_{i}_{j}():\n    return {i}\n"
                  for i in range(3) for j in range(3)})
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        live = LiveIndex(index)
        live.refresh_summaries()  # stored, as a live index's refresh leaves them
        read: list[list[str]] = []
        real = build._load_cached
        monkeypatch.setattr(build, "_load_cached",
                            lambda store, hashes: read.append(sorted(hashes)) or real(store, hashes))
        shallow = summarize_dir(live, "pkg", depth=1)
        assert read == [["pkg", "pkg/a0", "pkg/a1", "pkg/a2"]]
        assert [d.path for d in shallow.summaries] == ["pkg", "pkg/a0", "pkg/a1", "pkg/a2"]
        deeper = summarize_dir(live, "", depth=2)
        assert len(read[-1]) == 1 + 1 + 3 and len(deeper.summaries) == 5
        import tools.summary

        every = build.read_summaries  # every directory below, as before
        monkeypatch.setattr(tools.summary, "read_summaries",
                            lambda store, root, rel, depth=None: every(store, root, rel))
        read.clear()
        assert summarize_dir(live, "pkg", depth=1) == shallow  # all read: the same answer
        assert len(read[0]) == 1 + 3 + 9 + 9
        monkeypatch.setattr(tools.summary, "read_summaries", every)
        (root / "pkg/a1/b0/c/m.py").write_text("def edited():\n    return 0\n")
        update_paths(index, ["pkg/a1/b0/c/m.py"])  # stored summaries of pkg, pkg/a1 now stale
        read.clear()
        again = summarize_dir(live, "pkg", depth=1)
        assert [d.path for d in again.summaries] == [d.path for d in shallow.summaries]
        assert len(read[0]) == 4 and not set(read[0]) & set(read[1])  # the rest, once
