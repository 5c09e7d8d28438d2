"""summarize_dir's directory-level import edges: Go package imports name directories."""

from __future__ import annotations

from pathlib import Path

from tests.mcp_helpers import build_index, call, connected, server_settings

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
