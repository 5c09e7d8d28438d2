"""Pure helpers for the GGUF embedder: length-sorted batch packing and core counting."""

from __future__ import annotations

import os
from pathlib import Path


def pack_batches(lengths: list[int], max_tokens: int, max_seqs: int,
                 longest_first: bool = True) -> list[list[int]]:
    """Group indices of `lengths` into batches of at most `max_tokens` tokens and `max_seqs`
    sequences, longest first, so each batch holds texts of similar length (or, without
    `longest_first`, consecutive indices in order: batches that depend on the lengths only).

    A single length above `max_tokens` gets a batch of its own (callers truncate first).
    """
    order = (sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)) if longest_first
             else range(len(lengths)))
    batches: list[list[int]] = []
    current: list[int] = []
    used = 0
    for index in order:
        size = lengths[index]
        if current and (used + size > max_tokens or len(current) >= max_seqs):
            batches.append(current)
            current, used = [], 0
        current.append(index)
        used += size
    if current:
        batches.append(current)
    return batches


def physical_cores() -> int:
    """Physical cores this process may run on (SMT siblings counted once), at least 1."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores: set[str] = set()
    for cpu in cpus:
        siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))
