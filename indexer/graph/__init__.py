"""Stage 6, the code graph: import edges and file rank (built with every index update),
reference edges resolved at query time, and ranked dependency neighbourhoods."""

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
)

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
    "private_cursor",
    "symbol_node",
]
