"""DuckDB's engine, without the `duckdb` package's Python layer.

Since DuckDB 1.4 the package is a thin Python module over its C++ extension, the top-level
module `_duckdb`: `duckdb/__init__.py` re-exports the extension's names (the connection, the
exceptions) and adds a relational-expression API and version metadata that Sextant never
uses. On this project's 2-core machine importing the package took 84-134 ms against 15-21 ms
for the extension alone (docs/benchmarks.md, "CLI start"), a sixth of a CLI search. Every
name Sextant uses (`connect`, `DuckDBPyConnection`, the exceptions) is the extension's own
object, re-exported unchanged, so the two are interchangeable, and an older DuckDB, whose
extension lives inside the package, is imported whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
else:
    try:
        import _duckdb as duckdb
    except ImportError:  # DuckDB < 1.4: the extension is inside the package
        import duckdb

__all__ = ["duckdb"]
