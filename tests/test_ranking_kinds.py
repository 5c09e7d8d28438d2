"""For a query describing behaviour, a function ranks above the types and constants of its
file that fusion put first (`tools.search.DATA_KIND_PRIOR`); a name lookup keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.store import search_tables
from tools import search

# Each definition is large enough to be a chunk of its own (none merges into a block).
FIELDS = "\n".join(f"\t// Filter{i} narrows the containers listed by label set {i}.\n"
                   f"\tFilter{i} map[string]string" for i in range(8))
SOURCE = f"""package client

// ContainerListOptions holds the options to list the containers of the docker host.
type ContainerListOptions struct {{
{FIELDS}
}}

// ContainerListResult holds the list of containers returned by the docker host.
type ContainerListResult struct {{
{FIELDS.replace("Filter", "Item")}
}}

func (c *Client) ContainerList(ctx context.Context, opts ContainerListOptions) (ContainerListResult, error) {{
	query := url.Values{{}}
	for key, value := range opts.Filter0 {{
		query.Set(key, value)
	}}
	resp, err := c.get(ctx, "/containers/json", query, nil)
	defer ensureReaderClosed(resp)
	if err != nil {{
		return ContainerListResult{{}}, err
	}}
	var out ContainerListResult
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}}
"""


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RepoIndex]:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "container_list.go").write_text(SOURCE)
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        yield index


def _ranked(index: RepoIndex, query: str, scores: dict[str, float]) -> list[tuple[str, str]]:
    """(symbol, kind) in the order search ranks them when fusion gave them `scores`."""
    tables = search_tables(index.store)
    ids = {meta[3]: cid for cid, meta in tables.chunks.items() if meta[3]}
    fused = {ids[name]: search._Candidate(ids[name], score, ["lexical"])
             for name, score in scores.items()}
    ranked = search._rank(tables, fused, search.plan_query(query), None, None)
    return [(r.meta[4], r.meta[5]) for r in ranked]


# The types' comments repeat the query, so fusion puts them first, further ahead than the
# name-words boost alone makes up for (the method's name is spelled whole, theirs in part).
FUSED = {"ContainerListOptions": 1 / 61, "ContainerListResult": 1 / 62,
         "Client.ContainerList": 1 / 80}


def test_the_function_a_sentence_describes_overtakes_the_types_of_its_file(
        index: RepoIndex) -> None:
    got = _ranked(index, "returns the list of containers in the docker host", FUSED)
    assert got[0] == ("Client.ContainerList", "method")
    assert {kind for _, kind in got[1:]} == {"struct"}


def test_a_name_lookup_keeps_the_type_it_names_first(index: RepoIndex) -> None:
    got = _ranked(index, "ContainerListOptions", FUSED)
    assert got[0] == ("ContainerListOptions", "struct")


# A Python class's head (its docstring) describes what its methods do in the words a
# question uses, so fusion puts it ahead of the method the question describes.
PY_METHODS = "\n".join(
    f"    def helper_{i}(self, value):\n"
    f"        total = value + {i}\n        for step in range({i + 3}):\n"
    f"            total = total * step + len(self.entries)\n"
    f"            if total > {100 * i + 7}:\n                total -= self.limit_{i}\n"
    f"        self.history_{i}.append(total)\n        return total\n"
    for i in range(12))
PY_SOURCE = f'''
class TaggedSerializer:
    """Serializer that converts tagged values back to their original Python types, so that
    JSON keeps tuples, bytes and datetimes intact when it loads what it dumped before.
    """

    entries = []
    default_tags = ["tuple", "bytes", "datetime", "markup", "uuid", "dict", "list"]

{PY_METHODS}
    def untag(self, value):
        key = next(iter(value))
        if key not in self.tags:
            return value
        converted = self.tags[key].to_python(value[key])
        self.entries.append(converted)
        return converted
'''


@pytest.fixture
def py_index(tmp_path: Path) -> Iterator[RepoIndex]:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "tag.py").write_text(PY_SOURCE)
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        yield index


def test_the_method_a_sentence_describes_overtakes_the_head_of_its_class(
        py_index: RepoIndex) -> None:
    kinds = {meta[3]: meta[4] for meta in search_tables(py_index.store).chunks.values()}
    assert kinds.get("TaggedSerializer") == "class"  # the class head is a chunk of its own
    fused = {"TaggedSerializer": 1 / 61, "TaggedSerializer.untag": 1 / 66}
    got = _ranked(py_index, "convert a tagged representation back to the original type", fused)
    assert got[0] == ("TaggedSerializer.untag", "method")


def test_a_name_lookup_keeps_the_class_it_names_first(py_index: RepoIndex) -> None:
    fused = {"TaggedSerializer": 1 / 61, "TaggedSerializer.untag": 1 / 66}
    assert _ranked(py_index, "TaggedSerializer", fused)[0] == ("TaggedSerializer", "class")


def test_a_class_the_prose_names_as_a_phrase_keeps_its_place(py_index: RepoIndex) -> None:
    fused = {"TaggedSerializer": 1 / 61, "TaggedSerializer.untag": 1 / 66}
    got = _ranked(py_index, "how the tagged serializer converts values back", fused)
    assert got[0] == ("TaggedSerializer", "class")
    # written as code, the same name is a neighbour the sentence mentions
    got = _ranked(py_index, "converts values back, see `TaggedSerializer`", fused)
    assert got[0] == ("TaggedSerializer.untag", "method")
