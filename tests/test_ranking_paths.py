"""A file whose path names what the query asks for ranks higher (`tools.search.PATH_BOOST`),
the query's words counted in their inflections too: "networks" names `network_list.go`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.disk.repo import RepoIndex
from indexer.store import search_tables
from tests.mcp_helpers import live_over
from tools import search

LIST = """package client

func (cli *Client) {name}(ctx context.Context, options {name}Options) ({name}Result, error) {{
	query := url.Values{{}}
	resp, err := cli.get(ctx, "/{path}", query, nil)
	defer ensureReaderClosed(resp)
	var out {name}Result
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}}
"""


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RepoIndex]:
    with live_over(tmp_path, {
            "image_list.go": LIST.format(name="ImageList", path="images/json"),
            "network_list.go": LIST.format(name="NetworkList", path="networks")}) as live:
        yield live.index


def _ranked(index: RepoIndex, query: str) -> list[str]:
    """Paths in the order search ranks them when fusion tied their chunks."""
    tables = search_tables(index.store)
    fused = {cid: search._Candidate(cid, 1 / 61, ["lexical"]) for cid in tables.chunks}
    ranked = search._rank(tables, fused, search.plan_query(query), None, None)
    return list(dict.fromkeys(r.meta[1] for r in ranked))


def test_a_plural_in_the_query_names_the_file_of_its_singular(index: RepoIndex) -> None:
    assert _ranked(index, "returns the list of networks configured in the docker host") == [
        "network_list.go", "image_list.go"]
    # both paths hold "list" alone: the tie is broken by place
    assert _ranked(index, "returns the list configured in the docker host") == [
        "image_list.go", "network_list.go"]


def test_the_path_boost_counts_each_word_once_up_to_two() -> None:
    plan = search.plan_query("lists networks of the network list")
    assert search._path_match("client/network_list.go", plan) == pytest.approx(
        1 + 2 * search.PATH_BOOST)
