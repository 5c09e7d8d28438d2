"""The C heap of a long-lived process: glibc's thresholds fixed at start, and freed pages
given back to the system after large structures are replaced.

Why fixed thresholds: glibc raises its mmap threshold to the size of each large block freed
(up to 32 MB) and its trim threshold to twice that. After the first numpy array of some MB
is freed, later arrays of that size come from a thread's arena instead of their own mapping,
and once freed they stay resident at the top of that arena: `malloc_trim` trims the top of
the main arena only, and a thread arena's top shrinks only when a free there leaves more
than the trim threshold. The embedding, index-writing, DuckDB and tool-call threads each
keep an arena of their own: a moby server that had started at 321-323 MB ended 30 s of edits at 470-477
MB, and at 384-386 MB with the thresholds fixed (docs/benchmarks.md "Serving memory"). Now
a block of 1 MB or more is a mapping of its own, returned when freed, and an arena keeps at
most 2 MB of free top.

Why two arenas: glibc gives each new thread that allocates an arena of its own (up to 8 a
core), and a server runs its tool calls in up to 40 threads; each arena keeps the free
chunks and fragments its thread left. With every thread sharing two, moby's load test with
edits settled 5-10 MB lower at the same throughput (docs/benchmarks.md "Load"): the
server's Python runs one thread at a time, so its threads seldom wait for an arena's lock.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
from typing import Any

MMAP_THRESHOLD = 1 << 20  # blocks this large or larger get a mapping of their own
TRIM_THRESHOLD = 2 << 20  # free top of an arena beyond this goes back on the next free
ARENA_MAX = 2  # arenas the threads share (glibc's default: 8 per core)
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


@functools.cache
def _glibc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt  # noqa: B018 - glibc (and a few others) only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def configure_heap() -> bool:
    """Fix glibc's mmap and trim thresholds for this process and share two arenas among its
    threads (see the module docstring; the arenas unless the user set `MALLOC_ARENA_MAX`);
    False, and nothing set, where there is no glibc, or where the user set either threshold
    already (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` or `GLIBC_TUNABLES`)."""
    libc = _glibc()
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if libc is None or any(os.environ.get(k) for k in _USER_SETTINGS) or (
            "mmap_threshold" in tunables or "trim_threshold" in tunables):
        return False
    if not os.environ.get("MALLOC_ARENA_MAX") and "arena_max" not in tunables:
        libc.mallopt(_M_ARENA_MAX, ARENA_MAX)
    # each call also stops glibc from moving the thresholds (`no_dyn_threshold`)
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def discard_pages(address: int, length: int) -> int:
    """Give back the pages wholly inside `[address, address + length)` of private anonymous
    memory whose content nobody reads again (`MADV_DONTNEED`: they read as zeros when next
    touched); the bytes given back, 0 where there is no glibc or the advice was refused."""
    libc = _glibc()
    page = mmap.PAGESIZE
    start, end = -(-address // page) * page, (address + length) // page * page
    if libc is None or end <= start:
        return 0
    madvise = libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return end - start if madvise(start, end - start, mmap.MADV_DONTNEED) == 0 else 0


def release_mapping(handle: mmap.mmap) -> bool:
    """Take a file mapping's resident pages out of this process (`MADV_DONTNEED`): on a
    read-only mapping, or a copy-on-write one nothing was written to, they are the file's
    clean pages, which stay in the page cache and are read again when next touched (on
    written copy-on-write pages the writes would be lost: the caller rules that out). False
    where the platform has no such advice."""
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None:
        return False
    handle.madvise(advice)
    return True


def release_mapped_array(array: Any, *, unwritten_copy: bool = False) -> bool:
    """`release_mapping` of the file mapping under `array` (an `np.memmap`, or a view of
    one): of mode "r", or also of mode "c" where the caller knows nothing was written to it
    (`unwritten_copy`). False, and nothing done, for any other array."""
    import numpy as np  # here: the heap's settings are made before numpy is wanted

    while array is not None and not isinstance(array, np.memmap):
        array = getattr(array, "base", None)
    handle = getattr(array, "_mmap", None)
    modes = ("r", "c") if unwritten_copy else ("r",)
    if handle is None or getattr(array, "mode", None) not in modes:
        return False
    return release_mapping(handle)


def release_file_mappings(path: str | os.PathLike[str]) -> int:
    """Take out of this process the resident pages of the read-only shared mappings of the
    file `path`, or of the files under the directory `path`, that a library made of its own
    (tantivy's segment files: a search reads their postings; llama.cpp's model file: loading
    it reads every page), which stay counted in the process until it unmaps them.
    They are the files' clean pages: `MADV_DONTNEED` only unmaps them, they stay in the page
    cache and the next read maps them again. Writable or private mappings are left alone
    (the advice would throw their changes away). The bytes advised; 0 without Linux's
    /proc or glibc."""
    real = os.path.realpath(path)
    prefix = os.path.join(real, "") if os.path.isdir(real) else None
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.readlines()
    except OSError:
        return 0
    released = 0
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or fields[1] != "r--s":
            continue
        name = fields[5].rstrip("\n")
        if not (name.startswith(prefix) if prefix is not None else name == real):
            continue
        start, _, end = fields[0].partition("-")
        released += discard_pages(int(start, 16), int(end, 16) - int(start, 16))
    return released


def trim_heap() -> None:
    """Hand the C heap's free pages back to the OS (glibc's `malloc_trim`; nothing elsewhere).
    After a large structure is replaced (a written batch, a generation's in-memory tables),
    glibc would otherwise keep the freed pages resident."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
