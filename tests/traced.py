"""Memory measured in tests: what a table loader holds (Python's, in a process of its own),
and what a mapped file keeps resident.

tracemalloc counts the allocations of every thread of the process; in a test process other
indexes (a module's fixtures, an earlier test file's live index) may load tables in
background threads meanwhile, and their allocations would be counted too (a graph-tables
test read 63-95 bytes a reference in CI against 31 alone)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

_SCRIPT = """
import gc, importlib, sys, tracemalloc
from pathlib import Path
from indexer.disk.repo import IndexPaths, RepoIndex
module, name = sys.argv[3].split(":")
load = getattr(importlib.import_module(module), name)
index = RepoIndex(IndexPaths.for_repo(Path(sys.argv[1]), Path(sys.argv[2])))
load(index.store, (0, None))  # what it imports is not counted
gc.collect()
tracemalloc.start()
tables = load(index.store, (0, None))
gc.collect()
print(tracemalloc.get_traced_memory()[0])
tracemalloc.stop()
index.close()
"""


def traced_bytes(root: Path, index_dir: Path, loader: str) -> int:
    """Bytes the tables `loader` ("module:function", called with the store and a generation
    key) hold for the closed index at `index_dir`."""
    out = subprocess.run([sys.executable, "-c", _SCRIPT, str(root), str(index_dir), loader],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def _resident_kb(wanted: Callable[[str], bool]) -> int:
    """This process's resident memory in the mappings whose file name `wanted` accepts, in
    KB (one read of smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
            inside = len(parts) > 5 and wanted(parts[5])
        elif inside and parts and parts[0] == "Rss:":
            total += int(parts[1])
    return total


def resident_kb_of(path: Path) -> int:
    """This process's resident memory in mappings of `path`, in KB (smaps)."""
    return _resident_kb(lambda name: name == str(path))


def resident_kb_under(directory: Path) -> int:
    """This process's resident memory in mappings of files under `directory`, in KB."""
    return _resident_kb(lambda name: name.startswith(str(directory) + "/"))


def resident_pages(address: int, length: int) -> tuple[int, int]:
    """(resident, all) pages of this process wholly inside `[address, address + length)`
    (`mincore`)."""
    import ctypes
    import mmap

    page = mmap.PAGESIZE
    start, end = -(-address // page) * page, (address + length) // page * page
    count = max(0, (end - start) // page)
    if not count:
        return 0, 0
    vec = (ctypes.c_ubyte * count)()
    mincore = ctypes.CDLL(None, use_errno=True).mincore
    mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    if mincore(start, end - start, vec) != 0:
        raise OSError(ctypes.get_errno(), "mincore failed")
    return sum(b & 1 for b in vec), count
