"""Stage 6, the code graph: import edges and file rank (built with every index update),
reference edges resolved at query time, and ranked dependency neighbourhoods.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.graph.build import (
        build_graph,
        graph_ready,
        private_cursor,
    )
    from indexer.graph.neighbourhood import (
        Neighbourhood,
        Node,
        expand,
        file_node,
        symbol_node,
    )
    from indexer.graph.refs import (
        DEF_COLS,
        Definition,
        definition,
    )
    from indexer.graph.tables import (
        graph_tables,
        loaded_graph_tables,
        with_texts,
    )

_WHERE = {
    "build_graph": "indexer.graph.build",
    "graph_ready": "indexer.graph.build",
    "private_cursor": "indexer.graph.build",
    "Neighbourhood": "indexer.graph.neighbourhood",
    "Node": "indexer.graph.neighbourhood",
    "expand": "indexer.graph.neighbourhood",
    "file_node": "indexer.graph.neighbourhood",
    "symbol_node": "indexer.graph.neighbourhood",
    "DEF_COLS": "indexer.graph.refs",
    "Definition": "indexer.graph.refs",
    "definition": "indexer.graph.refs",
    "graph_tables": "indexer.graph.tables",
    "loaded_graph_tables": "indexer.graph.tables",
    "with_texts": "indexer.graph.tables",
}

__all__ = [
    "DEF_COLS",
    "Definition",
    "Neighbourhood",
    "Node",
    "build_graph",
    "definition",
    "expand",
    "file_node",
    "graph_ready",
    "graph_tables",
    "loaded_graph_tables",
    "private_cursor",
    "symbol_node",
    "with_texts",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
