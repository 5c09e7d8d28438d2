"""summarize_dir's directory-level import edges: Go package imports name directories."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.mcp_helpers import build_index, call, connected, live_over, server_settings

GO = {
    "go.mod": "module example.com/shop\n\ngo 1.22\n",
    "version.go": "package shop\n\n// Version of the shop.\nconst Version = \"1\"\n",
    "daemon/network/network.go": (
        "package network\n\n// Attach joins a container to a network.\n"
        "func Attach(id string) error { return nil }\n"),
    "daemon/daemon.go": (
        'package daemon\n\nimport (\n\t"example.com/shop"\n\t"example.com/shop/daemon/network"\n)\n\n'
        "func Start() error { _ = shop.Version; return network.Attach(\"x\") }\n"),
    "daemon/cluster/cluster.go": (
        'package cluster\n\nimport "example.com/shop/daemon/network"\n\n'
        "func Join() error { return network.Attach(\"c\") }\n"),
    "cmd/shopd/main.go": (
        'package main\n\nimport (\n\t"example.com/shop"\n\t"example.com/shop/daemon"\n)\n\n'
        "func main() { _ = shop.Version; _ = daemon.Start() }\n"),
}


def _write(root: Path) -> None:
    for rel, text in GO.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


async def test_used_by_of_a_go_package_directory_lists_its_importers(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    _write(root)
    build_index(root, tmp_path / "idx")
    async with connected(server_settings(root, tmp_path / "idx", embed=False)) as client:
        net = (await call(client, "summarize_dir", path="daemon/network", depth=0))["summaries"][0]
        daemon = (await call(client, "summarize_dir", path="daemon", depth=0))["summaries"][0]
        cmd = (await call(client, "summarize_dir", path="cmd", depth=0))["summaries"][0]
    assert sorted(net["used_by"]) == ["daemon", "daemon/cluster"]
    assert daemon["used_by"] == ["cmd"]
    # the package at the root is named as such, never "."
    assert sorted(cmd["depends_on"]) == ["(root package)", "daemon"]
    assert daemon["depends_on"] == ["(root package)"]


def test_a_summary_read_after_edits_takes_the_refreshs_hashes_and_keeps_unchanged_relations(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a batch of edits, the first `summarize_dir` neither hashes every file again
    (the live index's refresh hashed that generation's files) nor counts every edge again
    when no file's imports changed (the edges' mark stayed); an import that changes is
    counted, and the counters then equal a count from nothing."""
    from indexer.summaries import build
    from tools import summary
    from tools.summary import summarize_dir

    files = {"a/x.py": "from b.y import g\n\n\ndef f():\n    return g()\n",
             "a/w.py": "def w():\n    return 1\n",
             "b/y.py": "def g():\n    return 2\n", "b/z.py": "def h():\n    return 3\n"}
    with live_over(tmp_path, files) as live:
        root, store = live.root, live.index.store
        summarize_dir(live, "a")
        relations = summary._all_relations(live)
        hashed: list[int] = []
        real = build.subtree_hashes

        def counted(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
            hashed.append(1)
            return real(rows)

        (root / "a/x.py").write_text(files["a/x.py"] + "# a comment\n")
        live.apply(["a/x.py"], set(), False)
        monkeypatch.setattr(build, "subtree_hashes", counted)
        before = summarize_dir(live, "a")
        assert hashed == [] and summary._all_relations(live) is relations
        whole = real(store.query("SELECT path, content_hash FROM files"))
        assert build._HASHES.get(store) == whole
        assert [s.path for s in before.summaries] == ["a"] and before.summaries[0].depends_on == ["b"]

        (root / "a/w.py").write_text("from b.z import h\n\n\ndef w():\n    return h()\n")
        live.apply(["a/w.py"], set(), False)
        changed = summary._all_relations(live)
        assert changed is not relations and changed["a"][0]["b"] == 2
        summary._REL_CACHE.clear()
        assert summary._all_relations(live) == changed
