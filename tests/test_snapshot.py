"""Snapshots for CI (`sextant index --export FILE` / `--import FILE`), run as a CI job runs
them: export from one clone, import into another clone at a later commit."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHANGED = ("src/flask/helpers.py", "src/flask/cli.py")  # edited in the second commit
ADDED = "src/flask/snapshot_probe.py"
DELETED = "src/flask/typing.py"


def sextant(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_server.cli", *args], capture_output=True, check=False,
        text=True, timeout=600, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(ROOT),
             "SEXTANT_MODEL": "hashing", "SEXTANT_CACHE_DIR": str(cache)})


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def origin(corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory,
           ) -> tuple[Path, str, str]:
    """A git repository made from flask with two commits: (path, first, second)."""
    repo = tmp_path_factory.mktemp("origin") / "flask"
    shutil.copytree(corpus("flask"), repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    first = git(repo, "rev-parse", "HEAD")
    for rel in CHANGED:
        with (repo / rel).open("a") as fh:
            fh.write("\n\ndef snapshot_marker_" + rel.split("/")[-1][:-3] +
                     "(value: int) -> int:\n    \"\"\"Added after the snapshot.\"\"\"\n"
                     "    return value * 7\n")
    (repo / ADDED).write_text("def probe_outline_writer(pages):\n"
                              "    \"\"\"Write an outline of the pages.\"\"\"\n"
                              "    return [p.title for p in pages]\n")
    (repo / DELETED).unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "second")
    return repo, first, git(repo, "rev-parse", "HEAD")


def clone(origin: Path, dest: Path, commit: str) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True)
    git(dest, "checkout", "-q", commit)
    return dest


def run_json(*args: str, cache: Path) -> dict[str, object]:
    proc = sextant(*args, "--json", cache=cache)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def embedded_hashes(store: Path) -> set[str]:
    """The text hashes in the embedding cache (its own file beside the store)."""
    con = duckdb.connect(str(store.with_name("embeddings.duckdb")), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT text_hash FROM embeddings").fetchall()}
    finally:
        con.close()


def chunk_hashes(store: Path) -> set[str]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT text_hash FROM chunks").fetchall()}
    finally:
        con.close()


def search(repo: Path, query: str, cache: Path) -> list[tuple[object, ...]]:
    out = run_json("search", "--repo", str(repo), "--no-refresh", "-k", "8", query, cache=cache)
    results = out["results"]
    assert isinstance(results, list)
    return [(r["path"], r["start_line"], r["end_line"], r["symbol"]) for r in results]


def test_an_imported_snapshot_reindexes_and_embeds_only_what_changed_and_answers_as_fresh(
        origin: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, first, second = origin
    cache = tmp_path / "cache"
    old = clone(repo, tmp_path / "yesterday", first)
    snap = tmp_path / "index.tar.gz"
    exported = run_json("index", str(old), "--export", str(snap), cache=cache)
    assert exported["exported"]["files"] >= 3 and snap.stat().st_size > 0  # type: ignore[index]
    before = embedded_hashes(old / ".sextant" / "v1" / "store.duckdb")

    new = clone(repo, tmp_path / "today", second)
    out = run_json("index", str(new), "--import", str(snap), cache=cache)
    assert out["indexed"] == len(CHANGED) + 1 and out["deleted"] == 1
    store = new / ".sextant" / "v1" / "store.duckdb"
    new_texts = chunk_hashes(store) - before
    embedding = out["embedding"]
    assert isinstance(embedding, dict)
    assert 0 < embedding["computed"] == len(new_texts)  # nothing embedded twice
    assert embedding["embedded"] == embedding["chunks"]

    fresh = clone(repo, tmp_path / "fresh", second)
    full = run_json("index", str(fresh), cache=cache)
    assert full["embedding"]["computed"] > 10 * embedding["computed"]  # type: ignore[index]
    assert full["chunks"] == run_json("status", "--repo", str(new), cache=cache)["chunks"]
    for query in ("register a url rule for a view", "probe outline writer pages"):
        assert search(new, query, cache) == search(fresh, query, cache), query


def generation(store: Path) -> int:
    con = duckdb.connect(str(store), read_only=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_a_damaged_or_foreign_snapshot_is_rejected_and_the_index_is_left_as_it_was(
        origin: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, first, _ = origin
    cache = tmp_path / "cache"
    target = clone(repo, tmp_path / "target", first)
    good = tmp_path / "good.tar.gz"
    run_json("index", str(target), "--no-embed", "--export", str(good), cache=cache)
    store = target / ".sextant" / "v1" / "store.duckdb"
    before = generation(store)
    data = good.read_bytes()
    manifest = json.dumps({"format": "sextant-snapshot", "version": 1, "index_format": "v1",
                           "generation": 1, "files": {"../escape": {"size": 1,
                                                                    "sha256": "0" * 64}}})
    bad = {
        "truncated": data[: len(data) // 2],
        "flipped": data[:-40] + bytes(b ^ 0xFF for b in data[-40:-20]) + data[-20:],
        "foreign": _tar_gz({"README": b"hello"}),
        "escaping": _tar_gz({"sextant-snapshot.json": manifest.encode(), "../escape": b"x"}),
        "not-an-archive": b"just some text\n",
    }
    for name, body in bad.items():
        path = tmp_path / f"{name}.tar.gz"
        path.write_bytes(body)
        proc = sextant("index", str(target), "--import", str(path), "--no-embed", cache=cache)
        assert proc.returncode == 1, (name, proc.stderr)
        message = proc.stderr.strip()
        assert message.startswith("sextant: ") and "\n" not in message, (name, message)
        assert "snapshot" in message and "left as it was" in message, (name, message)
        assert not (tmp_path / "escape").exists()
        assert not (target / ".sextant" / "escape").exists()
        assert generation(store) == before, name
        assert sorted(p.name for p in (target / ".sextant").iterdir()) == [".gitignore", "v1"]


def test_dry_run_with_a_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    proc = sextant("index", str(tmp_path), "--dry-run", "--export", str(tmp_path / "x"),
                   cache=tmp_path)
    assert proc.returncode == 2 and "--dry-run" in proc.stderr


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_a_snapshot_round_trips_in_either_compression(
        compression: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """zstd when `zstandard` is installed (the `snapshots` extra), gzip otherwise; the import
    reads either by its magic bytes and restores the same store."""
    from indexer.build import IndexOptions, index_repository
    from indexer.disk import IndexPaths, RepoIndex, export_snapshot, import_snapshot
    from indexer.disk import snapshot as snapshot_module

    if compression == "gzip":
        monkeypatch.setattr(snapshot_module, "_zstd", lambda: None)
    source, target = tmp_path / "source", tmp_path / "target"
    for repo in (source, target):
        (repo / "pkg").mkdir(parents=True)
        (repo / "pkg" / "mod.py").write_text("def outline(pages):\n    return pages\n")
    dest = tmp_path / "index.snapshot"
    with RepoIndex(IndexPaths.for_repo(source)) as index:
        index_repository(index, IndexOptions())
        info = export_snapshot(index, dest)
    assert info.compression == compression
    magic = b"\x28\xb5\x2f\xfd" if compression == "zstd" else b"\x1f\x8b\x08"
    assert dest.read_bytes().startswith(magic)
    restored = import_snapshot(dest, IndexPaths.for_repo(target))
    assert restored.compression == compression and restored.generation == info.generation
    assert chunk_hashes(IndexPaths.for_repo(target).store) == chunk_hashes(
        IndexPaths.for_repo(source).store)


def test_a_zstd_snapshot_without_zstandard_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.disk import IndexPaths, SnapshotError, import_snapshot
    from indexer.disk import snapshot as snapshot_module

    src = tmp_path / "index.snapshot"
    src.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 64)
    monkeypatch.setattr(snapshot_module, "_zstd", lambda: None)
    (tmp_path / "repo").mkdir()
    with pytest.raises(SnapshotError, match="pip install zstandard"):
        import_snapshot(src, IndexPaths.for_repo(tmp_path / "repo"))
