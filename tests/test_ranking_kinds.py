"""For a query describing behaviour, a function ranks above the types and constants of its
file that fusion put first (`tools.search.DATA_KIND_PRIOR`); a name lookup keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.disk.repo import RepoIndex
from indexer.store import search_tables
from tests.mcp_helpers import live_over
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
    with live_over(tmp_path, {"container_list.go": SOURCE}) as live:
        yield live.index


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


# A class head large enough to be a chunk of its own, its docstring repeating the query.
CLASS_SOURCE = '''class CookieJar:
    """A jar of cookies: it returns a copy of the cookies it holds, finds a cookie by its
    name, domain and path, and tells which domains and paths its cookies belong to.

    The jar keeps its cookies in a dict keyed by domain, then path, then name, so that a
    request can be given exactly the cookies of its domain and path.
    """

    policy = None
    domains_seen = ()
    max_cookies = 300

    def copy(self):
        new = CookieJar()
        new.set_policy(self.get_policy())
        new.update(self)
        for domain in self.domains_seen:
            new.domains_seen += (domain,)
        return new
''' + "".join(f'''
    def check_{n}(self, request, response):
        for cookie in self.make_cookies(response, request):
            if cookie.name.startswith("{n}") and not self.policy.return_ok(cookie, request):
                self.clear(cookie.domain, cookie.path, cookie.name)
        return len(self.domains_seen) < self.max_cookies
''' for n in ("session", "csrf", "locale", "theme", "tracking"))


@pytest.fixture
def classes(tmp_path: Path) -> Iterator[RepoIndex]:
    with live_over(tmp_path, {"cookies.py": CLASS_SOURCE}) as live:
        yield live.index


def test_the_method_a_sentence_describes_overtakes_its_class_head(classes: RepoIndex) -> None:
    # requests' "Return a copy of this RequestsCookieJar.": the class's docstring repeats it,
    # so fusion puts the head first (docs/evals.md, "Thirty-eighth session")
    fused = {"CookieJar": 1 / 61, "CookieJar.copy": 1 / 75}
    got = _ranked(classes, "Return a copy of the cookies this jar holds.", fused)
    assert got[0] == ("CookieJar.copy", "method") and got[1] == ("CookieJar", "class")


def test_a_long_text_keeps_the_class_head_where_fusion_put_it(classes: RepoIndex) -> None:
    # an issue often asks to change the head itself (its fields, its docstring)
    text = ("The jar should keep at most max_cookies cookies per domain. " * 6).strip()
    assert search.plan_query(text).long
    fused = {"CookieJar": 1 / 61, "CookieJar.copy": 1 / 75}
    assert _ranked(classes, text, fused)[0] == ("CookieJar", "class")


def test_a_sentence_that_names_a_class_whole_keeps_its_head_where_fusion_put_it(
        classes: RepoIndex) -> None:
    # "the general ledger books postings" is about `GeneralLedger` itself (and
    # tests/test_context.py's window of a long class); one common word ("the config" for
    # `Config`) is not enough to say so
    fused = {"CookieJar": 1 / 61, "CookieJar.copy": 1 / 75}
    got = _ranked(classes, "The cookie jar holds the cookies of a request.", fused)
    assert got[0] == ("CookieJar", "class")
