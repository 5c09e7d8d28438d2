"""VectorIndex: real usearch, atomic generation-stamped saves."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from indexer.core import fsutil
from indexer.vectors import index as vectors
from indexer.vectors.index import VectorIndex, VectorIndexError

DIM = 32


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, DIM)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def keys(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.uint64)


def test_saved_index_reopens_with_same_vectors_and_generation(tmp_path: Path) -> None:
    path = tmp_path / "vectors.usearch"
    index = VectorIndex.open(path, DIM)
    vecs = unit_vectors(50)
    index.add(keys(50), vecs)
    index.save(generation=7)

    reopened = VectorIndex.open(path, DIM)

    assert reopened.generation == 7
    assert len(reopened) == 50
    assert reopened.search(vecs[13], 1)[0][0] == 13


def test_missing_file_opens_empty_with_generation_minus_one(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "absent.usearch", DIM)

    assert len(index) == 0
    assert index.generation == -1
    assert index.search(unit_vectors(1)[0], 5) == []


def test_corrupt_file_opens_empty_with_generation_minus_one(tmp_path: Path) -> None:
    path = tmp_path / "vectors.usearch"
    index = VectorIndex.open(path, DIM)
    index.add(keys(10), unit_vectors(10))
    index.save(generation=3)
    path.write_bytes(b"garbage" * 10)

    reopened = VectorIndex.open(path, DIM)

    assert len(reopened) == 0
    assert reopened.generation == -1


def test_index_of_another_dimension_opens_empty(tmp_path: Path) -> None:
    path = tmp_path / "vectors.usearch"
    index = VectorIndex.open(path, DIM)
    index.add(keys(10), unit_vectors(10))
    index.save(generation=3)

    reopened = VectorIndex.open(path, DIM * 2)

    assert len(reopened) == 0
    assert reopened.generation == -1


def test_crash_during_save_keeps_old_index_and_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vectors.usearch"
    index = VectorIndex.open(path, DIM)
    index.add(keys(20), unit_vectors(20))
    index.save(generation=1)
    index.add(keys(20, start=100), unit_vectors(20, seed=1))

    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(fsutil.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        index.save(generation=2)
    monkeypatch.undo()

    reopened = VectorIndex.open(path, DIM)
    assert reopened.generation == 1
    assert len(reopened) == 20
    assert not reopened.contains(100)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_crash_between_index_and_sidecar_forces_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vectors.usearch"
    index = VectorIndex.open(path, DIM)
    index.add(keys(20), unit_vectors(20))
    index.save(generation=1)
    index.add(keys(5, start=100), unit_vectors(5, seed=1))
    real_replace = os.replace

    def replace_index_only(src: str, dst: str) -> None:
        if str(dst).endswith(".meta.json"):
            raise OSError("simulated crash before sidecar rename")
        real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace_index_only)
    with pytest.raises(OSError, match="simulated crash"):
        index.save(generation=2)
    monkeypatch.undo()

    reopened = VectorIndex.open(path, DIM)
    assert reopened.generation == -1
    assert len(reopened) == 0


def test_removed_keys_are_no_longer_found(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v.usearch", DIM)
    vecs = unit_vectors(30)
    index.add(keys(30), vecs)

    removed = index.remove(np.array([4, 5, 999], dtype=np.uint64))

    assert removed == 2
    assert len(index) == 28
    assert not index.contains(4)
    assert all(key != 4 for key, _ in index.search(vecs[4], 10))


def test_adding_an_existing_key_replaces_its_vector(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v.usearch", DIM)
    vecs = unit_vectors(10)
    index.add(keys(10), vecs)

    index.add(np.array([3], dtype=np.uint64), vecs[7:8])

    assert len(index) == 10
    top_two = {key for key, _ in index.search(vecs[7], 2)}
    assert top_two == {3, 7}


def test_int8_search_returns_the_exact_vector_first_with_score_near_one(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v.usearch", DIM, dtype="i8")
    vecs = unit_vectors(200)
    index.add(keys(200), vecs)

    for probe in (0, 123, 199):
        key, score = index.search(vecs[probe], 5)[0]
        assert key == probe
        assert score == pytest.approx(1.0, abs=0.02)


def test_scores_are_sorted_best_first(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v.usearch", DIM)
    index.add(keys(200), unit_vectors(200))

    scores = [score for _, score in index.search(unit_vectors(1, seed=9)[0], 10)]

    assert scores == sorted(scores, reverse=True)
    assert len(scores) == 10


def test_filtered_search_only_returns_allowed_keys(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v.usearch", DIM)
    vecs = unit_vectors(300)
    index.add(keys(300), vecs)
    allowed = np.array([10, 20, 30, 12345], dtype=np.uint64)

    hits = index.search(vecs[20], 10, filter_keys=allowed)

    assert hits[0][0] == 20
    assert {key for key, _ in hits} == {10, 20, 30}


def test_large_filter_uses_index_and_still_respects_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "EXACT_FILTER_LIMIT", 10)
    index = VectorIndex.open(tmp_path / "v.usearch", DIM)
    vecs = unit_vectors(300)
    index.add(keys(300), vecs)
    allowed = keys(50, start=200)

    hits = index.search(vecs[250], 5, filter_keys=allowed)

    assert len(hits) == 5
    assert all(200 <= key < 250 for key, _ in hits)
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)


def test_wrong_dimension_is_rejected(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v.usearch", DIM)

    with pytest.raises(VectorIndexError, match="shape"):
        index.add(keys(2), np.zeros((2, DIM + 1), dtype=np.float32))


def test_concurrent_searches_during_writes_stay_consistent(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path / "v.usearch", DIM)
    vecs = unit_vectors(400)
    index.add(keys(200), vecs[:200])
    errors: list[BaseException] = []

    def searcher() -> None:
        try:
            for i in range(100):
                hits = index.search(vecs[i], 3)
                assert len(hits) == 3
                assert all(0 <= key < 400 for key, _ in hits)
        except BaseException as exc:  # noqa: BLE001 - collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for start in range(200, 400, 20):
        index.add(keys(20, start=start), vecs[start : start + 20])
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(index) == 400
    assert all(index.contains(key) for key in range(400))


def test_saved_flat_vectors_reopen_memory_mapped_and_edits_leave_the_file_as_saved(
        tmp_path: Path) -> None:
    from indexer.vectors import FlatVectors

    path = tmp_path / "static.npz"
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((50, 16)).astype(np.float32)
    flat = FlatVectors(path, 16)
    flat.add(np.arange(50), vecs)
    flat.save(7)
    saved = path.read_bytes()

    again = FlatVectors.open(path, 16)
    assert again.generation == 7 and len(again) == 50
    assert isinstance(again._vecs, np.memmap)  # pages come from the file, not the heap
    assert again.search(vecs[10], 1)[0][0] == 10
    sims = again.similarities(vecs[10], [10, 11, 999])
    assert sims[0] > 0.99 and sims[1] < 0.9 and np.isnan(sims[2])
    again.remove([10])  # moves the last row in place: copy-on-write, not into the file
    again.add([99], vecs[:1])
    assert again.search(vecs[10], 1)[0][0] != 10 and again.search(vecs[0], 2)[0][0] in (0, 99)
    assert path.read_bytes() == saved
    assert FlatVectors.open(path, 16).search(vecs[10], 1)[0][0] == 10


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux /proc only")
def test_releasing_flat_vectors_unmaps_what_scans_read_and_keeps_rows_changed_since_saving(
        tmp_path: Path) -> None:
    """Every scan reads the whole mapped matrix, which then stays resident in the process
    (moby's static tier: 19 MB after a server's first searches). Releasing unmaps those
    clean file pages, and the next scan reads them again with the same answers. Rows
    changed since the last save live only in this copy-on-write mapping: releasing then
    does nothing, and the changed rows stay."""
    from indexer.vectors import FlatVectors
    from tests.traced import resident_kb_of

    path = tmp_path / "static.npz"
    vecs = np.random.default_rng(8).standard_normal((20_000, 64)).astype(np.float32)
    writer = FlatVectors(path, 64)
    writer.add(np.arange(20_000), vecs)
    writer.save(1)
    del writer
    flat = FlatVectors.open(path, 64)
    hits = flat.search(vecs[123], 5)
    assert hits[0][0] == 123
    assert resident_kb_of(path) > 2_000  # 20k x 64 f16: 2.5 MB, read by the scan

    assert flat.release_pages()
    assert resident_kb_of(path) < 100
    assert flat.search(vecs[123], 5) == hits

    flat.remove([123])  # the last row moves into 123's place, in this process only
    assert not flat.release_pages()
    assert flat.search(vecs[19_999], 1)[0][0] == 19_999
    assert flat.search(vecs[123], 1)[0][0] != 123
    flat.save(2)  # saved and mapped again: released from then on
    flat.search(vecs[5], 1)
    assert flat.release_pages()
    assert resident_kb_of(path) < 100
    assert flat.search(vecs[19_999], 1)[0][0] == 19_999 and len(flat) == 19_999


def _anonymous_kb() -> int:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1])
    raise AssertionError("no Anonymous line in smaps_rollup")


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="Linux /proc only")
def test_a_saved_index_is_searched_from_its_mapped_file_and_an_edit_copies_it_until_saved(
        tmp_path: Path) -> None:
    """A loaded index held its whole file as private memory for the process's life (moby's
    model tier: 35 MB); opened, it is now the file's mapping, whose pages the searches read
    and `release_pages` gives back. An edit copies it into memory (a view is immutable);
    the next save maps the written file again. The answers are the same throughout."""
    from tests.traced import resident_kb_of

    path, n, dim = tmp_path / "vectors.usearch", 30_000, 64
    vecs = np.random.default_rng(3).standard_normal((n, dim)).astype(np.float32)
    writer = VectorIndex(path, dim, "f16", "cos")
    writer.add(keys(n), vecs)
    writer.save(3)
    del writer
    size_kb = path.stat().st_size // 1024
    assert size_kb > 4_000

    before = _anonymous_kb()
    index = VectorIndex.open(path, dim, "f16")
    assert index.mapped and index.generation == 3 and len(index) == n
    assert _anonymous_kb() - before < size_kb // 4  # a loaded copy: the file's size
    hits = [index.search(vecs[i], 10) for i in range(0, 3_000, 30)]
    assert sum(h[0][0] == i for h, i in zip(hits, range(0, 3_000, 30), strict=True)) >= 95
    assert resident_kb_of(path) > 0  # searched through the mapping

    assert index.release_pages()
    assert resident_kb_of(path) < 100
    assert [index.search(vecs[i], 10) for i in range(0, 3_000, 30)] == hits

    index.remove([0])  # copied into memory: the mapping is gone
    assert not index.mapped and not index.release_pages() and resident_kb_of(path) == 0
    index.add([n], vecs[:1] * -1.0)
    assert index.search(vecs[0] * -1.0, 1)[0][0] == n and not index.contains(0)
    index.save(4)
    assert index.mapped and not index.dirty
    assert index.search(vecs[0] * -1.0, 1)[0][0] == n and not index.contains(0)
    assert index.release_pages() and resident_kb_of(path) < 100
    reopened = VectorIndex.open(path, dim, "f16")
    assert reopened.generation == 4 and len(reopened) == n
    assert reopened.search(vecs[0] * -1.0, 1)[0][0] == n


def test_a_mapped_index_damaged_on_disk_after_opening_is_found_when_opened_again(
        tmp_path: Path) -> None:
    """Saves replace the file (a new one renamed into place), so an open mapping keeps
    reading the file it opened; a file damaged since is refused on the next open."""
    path = tmp_path / "vectors.usearch"
    index = VectorIndex.open(path, DIM)
    vecs = unit_vectors(200)
    index.add(keys(200), vecs)
    index.save(1)
    opened = VectorIndex.open(path, DIM)
    assert opened.mapped
    index.add(keys(1, 500), unit_vectors(1, 9))
    index.save(2)  # replaced under the mapping of `opened`
    assert opened.search(vecs[7], 1)[0][0] == 7 and len(opened) == 200
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    damaged = VectorIndex.open(path, DIM)
    assert damaged.generation == -1 and len(damaged) == 0 and not damaged.mapped


def test_flat_vectors_saved_again_unchanged_rewrite_only_their_stamp(tmp_path: Path) -> None:
    """A full index saves its static vectors at the end, then the summaries move the store's
    generation: the second save stamps the new generation without writing the vectors
    again; a change, or a lost file, writes them in full."""
    from indexer.vectors import FlatVectors

    path = tmp_path / "static.npz"
    vecs = np.random.default_rng(5).standard_normal((40, 16)).astype(np.float32)
    flat = FlatVectors(path, 16)
    flat.add(np.arange(40), vecs)
    flat.save(3)
    inode = path.stat().st_ino
    flat.save(4)  # nothing changed
    assert path.stat().st_ino == inode  # the data file was not replaced
    reopened = FlatVectors.open(path, 16)
    assert reopened.generation == 4 and len(reopened) == 40
    assert reopened.search(vecs[7], 1)[0][0] == 7
    reopened.save(5)  # loaded, unchanged: the stamp again
    assert path.stat().st_ino == inode and FlatVectors.open(path, 16).generation == 5
    reopened.remove([7])
    reopened.save(6)
    assert path.stat().st_ino != inode
    again = FlatVectors.open(path, 16)
    assert again.generation == 6 and len(again) == 39
    path.unlink()  # lost: written in full, not stamped
    again.save(7)
    assert len(FlatVectors.open(path, 16)) == 39


def test_a_flat_scan_finds_the_nearest_rows_by_cosine_ties_by_row() -> None:
    """The scan's hits are the rows of the highest cosine (computed here in float64 from the
    same f16 values), best first, with their similarities; equal rows by row, the lowest
    of them first wherever the cut falls; k may be every row."""
    from indexer.vectors import flat

    rng = np.random.default_rng(11)
    vecs = rng.standard_normal((3000, 64)).astype(np.float16)
    vecs[2000] = vecs[1000]  # a tie
    query = vecs[1000].astype(np.float32) + 0.05 * rng.standard_normal(64).astype(np.float32)
    exact = vecs.astype(np.float64) @ query.astype(np.float16).astype(np.float64)
    exact /= np.linalg.norm(vecs.astype(np.float64), axis=1) * np.linalg.norm(
        query.astype(np.float16).astype(np.float64))
    rows, sims = flat.exact_scan(vecs, query, 40)
    assert rows[:2].tolist() == [1000, 2000]
    assert rows.tolist() == np.lexsort((np.arange(3000), -exact))[:40].tolist()
    assert np.allclose(sims, exact[rows], atol=1e-5) and np.all(np.diff(sims) <= 0)
    same = np.tile(vecs[:1], (50, 1))  # fifty equal rows: the cut keeps the lowest
    assert flat.exact_scan(same, query, 7)[0].tolist() == list(range(7))
    everything, _ = flat.exact_scan(vecs[:30], query, 30)  # k = all rows
    assert sorted(everything.tolist()) == list(range(30))


_ONE_THREAD = """
import time
import numpy as np
from indexer.vectors import flat
rng = np.random.default_rng(3)
vecs = rng.standard_normal((60_000, 256)).astype(np.float16)
query = rng.standard_normal(256).astype(np.float32)
flat.exact_scan(vecs, query, 50)
process, thread = time.process_time(), time.thread_time()
for _ in range(20):
    flat.exact_scan(vecs, query, 50)
print(time.process_time() - process, time.thread_time() - thread)
"""


def test_a_scan_runs_on_the_calling_thread_alone() -> None:
    """Tool calls run side by side in threads: a scan that also used usearch's own threads
    (its default) spent 2.3x the CPU of one thread on 38k 256-d vectors, and took the
    core another call was using. Its CPU is the calling thread's, on any number of cores
    (measured in a process of its own: no other thread of a test run counts)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _ONE_THREAD], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1], timeout=300)
    process, thread = map(float, out.stdout.split())
    assert process < 1.3 * thread, f"{process:.3f} s of CPU, {thread:.3f} s on this thread"


_BESIDE_PYTHON = """
import threading, time
import numpy as np
from indexer.vectors import flat
rng = np.random.default_rng(4)
vecs = rng.standard_normal((60_000, 256)).astype(np.float16)
query = rng.standard_normal(256).astype(np.float32)
def scans():
    started = time.perf_counter()
    for _ in range(3):
        flat.exact_scan(vecs, query, 50)
    return time.perf_counter() - started
scans()
alone = scans()
stop = threading.Event()
def python():
    while not stop.is_set():
        sum(range(1000))
busy = threading.Thread(target=python)
busy.start()
beside = scans()
stop.set()
busy.join()
print(alone, beside)
"""


def test_a_scan_does_not_queue_behind_a_thread_running_python() -> None:
    """A tool call's scan runs beside other calls and the watcher's batch, threads running
    Python. usearch's brute force gave the GIL back and took it again hundreds of times a
    scan, each time waiting out the other thread's switch interval: beside one busy thread
    a 4 ms scan of moby's static tier took 1.3 s. A scan now waits for the GIL a few times
    at most (bounds generous: a busy machine slows both runs; usearch's ratio was ~300)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _BESIDE_PYTHON], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[1],
                         timeout=600)
    alone, beside = map(float, out.stdout.split())
    assert beside < 40 * alone + 0.5, f"3 scans: {alone:.3f} s alone, {beside:.3f} s beside"


def test_searching_flat_vectors_never_imports_usearch(tmp_path: Path) -> None:
    """A one-shot `sextant search` searches the static vectors without importing usearch
    (~0.1 s of its start): the scan is numkong's."""
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from indexer.vectors import FlatVectors\n"
        f"flat = FlatVectors(Path({str(tmp_path / 's.npz')!r}), 16)\n"
        "v = np.random.default_rng(1).standard_normal((500, 16)).astype(np.float32)\n"
        "flat.add(np.arange(500), v)\n"
        "flat.save(1)\n"
        f"again = FlatVectors.open(Path({str(tmp_path / 's.npz')!r}), 16)\n"
        "assert again.search(v[42], 3)[0][0] == 42\n"
        "print('usearch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "False", out.stderr


def test_flat_vectors_opened_from_their_file_grow_by_an_eighth_not_double(
        tmp_path: Path) -> None:
    """The first addition to vectors opened (mapped) from their file copies them to memory:
    with room for an eighth more, not twice as many (moby: ~22 MB, not ~40 MB)."""
    from indexer.vectors import FlatVectors

    path = tmp_path / "static.npz"
    flat = FlatVectors(path, 8)
    flat.add(np.arange(20_000), np.ones((20_000, 8), dtype=np.float32))
    flat.save(1)
    again = FlatVectors.open(path, 8)
    again.add([99_999], np.ones((1, 8), dtype=np.float32))
    assert len(again) == 20_001 and again._vecs.shape[0] == 20_000 + 2_500
    again.save(2)  # written in full: read back mapped, the copy in memory goes
    assert isinstance(again._vecs, np.memmap) and len(again) == 20_001
    again.remove([0])
    again.add([7_777_777], np.full((1, 8), 2.0, dtype=np.float32))
    assert again.search(np.ones(8), 1)[0][1] > 0.99 and not again.contains_many([0])[0]
    assert len(FlatVectors.open(path, 8)) == 20_001  # the file as saved, edits private


def test_flat_vectors_through_random_edits_hold_what_a_dict_of_rows_would(
        tmp_path: Path) -> None:
    """The keys are found by binary search over a sorted copy (a dict of Python ints took
    3.5 MB of a serving process for moby's static tier): random batches of additions
    (a key given again, twice in one batch), removals (of held and unknown keys), a save
    and a reopen leave every key's vector where a plain dict of rows says it is."""
    from indexer.vectors import FlatVectors

    rng = np.random.default_rng(11)
    path = tmp_path / "static.npz"
    flat = FlatVectors(path, 8)
    model: dict[int, np.ndarray] = {}
    pool = rng.choice(1 << 62, size=300, replace=False).astype(np.uint64)
    for step in range(60):
        if step == 30:
            flat.save(1)
            flat = FlatVectors.open(path, 8)
        if rng.random() < 0.6:
            keys = rng.choice(pool, size=int(rng.integers(1, 25)))  # repeats allowed
            vecs = rng.standard_normal((len(keys), 8)).astype(np.float32)
            flat.add(keys, vecs)
            for key, vec in zip(keys.tolist(), vecs, strict=True):
                model[key] = vec
        else:
            keys = rng.choice(pool, size=int(rng.integers(1, 25)))
            held = {k for k in keys.tolist() if k in model}
            assert flat.remove(keys) == len(held)
            for key in held:
                del model[key]
        assert len(flat) == len(model)
        assert sorted(flat.keys().tolist()) == sorted(model)
        assert flat.contains_many(pool).tolist() == [k in model for k in pool.tolist()]
        probe = rng.standard_normal(8).astype(np.float32)
        sims = flat.similarities(probe, pool)
        for key, sim in zip(pool.tolist(), sims.tolist(), strict=True):
            if key in model:
                vec = model[key].astype(np.float16).astype(np.float32)
                expect = vec @ probe / np.linalg.norm(vec) / np.linalg.norm(probe)
                assert abs(sim - expect) < 1e-3
            else:
                assert np.isnan(sim)
        if model:
            key = next(iter(model))
            assert flat.search(model[key], 1)[0][0] == key


def test_flat_vectors_opened_hold_their_key_lookup_in_arrays(tmp_path: Path) -> None:
    """Opening saved vectors maps them, and finds keys through two arrays (16 bytes a
    key): 40,000 keys cost under 1 MB of the process, where a dict of rows took ~3.6 MB."""
    import tracemalloc

    from indexer.vectors import FlatVectors

    path = tmp_path / "static.npz"
    keys = np.random.default_rng(2).choice(1 << 62, size=40_000, replace=False)
    writer = FlatVectors(path, 8)
    writer.add(keys, np.ones((40_000, 8), dtype=np.float32))
    writer.save(1)
    del writer
    tracemalloc.start()
    try:
        flat = FlatVectors.open(path, 8)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(flat) == 40_000 and flat.contains_many(keys[:5]).all()
    assert held < 1_000_000, held
