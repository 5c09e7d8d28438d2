"""Snapshots for CI: one file that holds a whole index, restorable into another clone.

`export_snapshot` writes the index directory (`REPO/.sextant/v1/`: the store with its
embedding cache, the lexical index, the vectors) into one tar file, gzip-compressed, or
zstd-compressed when the `zstandard` package is installed (`import_snapshot` reads either,
by its magic bytes). Every path inside an index is relative to the repository root, so a
snapshot restores into a clone in any directory, at any commit; the caller then refreshes
the index (`index_repository`), which re-indexes only files whose content differs, and the
embedding cache keeps every unchanged chunk from being embedded again.

Layout: the first member, `sextant-snapshot.json`, is the manifest (`format`, `version`,
the index format, the store generation, and each file's size and SHA-256); the index files
follow under their paths relative to the index directory. Nothing else is accepted.

Consistency: the export runs on an index this process holds open for writing (DuckDB's file
lock keeps every other writer out), after a checkpoint folds the write-ahead log into the
database file. The import never half-restores: members are extracted into a temporary
directory beside the index and checked (names, regular files, sizes, digests, a readable
store of this schema) before the old index directory is swapped out by two renames; a
damaged or foreign file raises `SnapshotError` and leaves the index as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from indexer.core.fsutil import atomic_target
from indexer.disk.repo import FORMAT_VERSION, IndexPaths, RepoIndex
from indexer.store import SCHEMA_VERSION, Store, readable_schema

MANIFEST = "sextant-snapshot.json"
EMBEDDINGS = "embeddings.duckdb"  # the embedding cache beside the store (IndexPaths.embeddings)
SNAPSHOT_FORMAT = "sextant-snapshot"
SNAPSHOT_VERSION = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
# not part of an index: the live owner's address, stores moved aside, temp files
_LEFT_OUT = ("server.json",)
_LEFT_OUT_PREFIXES = ("store.corrupt-", "watch-barrier-")  # a server's (`indexer.live.barrier`)
_LEFT_OUT_SUFFIXES = (".tmp",)


class SnapshotError(Exception):
    """A snapshot cannot be written or restored; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    path: Path
    files: int
    bytes: int  # of the index files, uncompressed
    generation: int
    compression: str  # "gzip" or "zstd"

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "files": self.files, "bytes": self.bytes,
                "generation": self.generation, "compression": self.compression}


# -- export -----------------------------------------------------------------------------------


def _index_files(index_dir: Path) -> list[str]:
    """The files of an index directory, relative to it, sorted."""
    out: list[str] = []
    for path in sorted(index_dir.rglob("*")):
        rel = path.relative_to(index_dir).as_posix()
        name = path.name
        if not path.is_file() or path.is_symlink() or name in _LEFT_OUT or \
                name.startswith(_LEFT_OUT_PREFIXES) or name.endswith(_LEFT_OUT_SUFFIXES):
            continue
        out.append(rel)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _zstd() -> Any | None:
    try:
        import zstandard  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return zstandard


@contextlib.contextmanager
def _compressed_writer(raw: IO[bytes]) -> Iterator[tuple[IO[bytes], str]]:
    zstd = _zstd()
    if zstd is not None:
        with zstd.ZstdCompressor(level=10).stream_writer(raw, closefd=False) as out:
            yield out, "zstd"
        return
    import gzip

    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        yield cast("IO[bytes]", gz), "gzip"


def export_snapshot(index: RepoIndex, dest: Path) -> SnapshotInfo:
    """Write `index` (held open for writing by this process) to `dest`, atomically."""
    index.store.checkpoint()
    index_dir = index.paths.dir
    names = _index_files(index_dir)
    sizes = {n: (index_dir / n).stat().st_size for n in names}
    generation = index.store.generation
    manifest = {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION,
                "index_format": FORMAT_VERSION, "generation": generation,
                "files": {n: {"size": sizes[n], "sha256": _sha256(index_dir / n)}
                          for n in names}}
    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
    with atomic_target(dest) as tmp, tmp.open("wb") as raw, \
            _compressed_writer(raw) as (out, compression), \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, MANIFEST, body)
        for name in names:
            info = tar.gettarinfo(str(index_dir / name), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with (index_dir / name).open("rb") as fh:
                tar.addfile(info, fh)
    return SnapshotInfo(dest, len(names), sum(sizes.values()), generation, compression)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# -- import -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _compressed_reader(src: Path) -> Iterator[tuple[IO[bytes], str]]:
    try:
        raw = src.open("rb")
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot {src}: {exc.strerror or exc}") from None
    with raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(_GZIP_MAGIC):
            import gzip

            with gzip.GzipFile(fileobj=raw, mode="rb") as out:
                yield cast("IO[bytes]", out), "gzip"
        elif magic == _ZSTD_MAGIC:
            zstd = _zstd()
            if zstd is None:
                raise SnapshotError(f"{src} is zstd-compressed: `pip install zstandard` to "
                                    "read it, or export it again here (gzip)")
            with zstd.ZstdDecompressor().stream_reader(raw, closefd=False) as out:
                yield out, "zstd"
        else:
            raise SnapshotError(f"{src} is not a Sextant snapshot (neither gzip nor zstd); "
                                "make one with `sextant index --export FILE`")


def _read_manifest(tar: tarfile.TarFile, src: Path) -> dict[str, Any]:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile() or first.size > 1 << 26:
        raise SnapshotError(f"{src} is not a Sextant snapshot (no {MANIFEST} first); make "
                            "one with `sextant index --export FILE`")
    reader = tar.extractfile(first)
    assert reader is not None
    try:
        manifest = json.loads(reader.read())
    except ValueError:
        raise SnapshotError(f"{src}: its manifest is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SNAPSHOT_FORMAT or \
            not isinstance(manifest.get("files"), dict):
        raise SnapshotError(f"{src} is not a Sextant snapshot (foreign manifest)")
    if manifest.get("version") != SNAPSHOT_VERSION or \
            manifest.get("index_format") != FORMAT_VERSION:
        raise SnapshotError(
            f"{src} is snapshot version {manifest.get('version')} of index format "
            f"{manifest.get('index_format')}; this Sextant reads version {SNAPSHOT_VERSION} "
            f"of format {FORMAT_VERSION}: index from scratch with `sextant index`")
    return manifest


def _safe_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and not name.startswith("/") and ".." not in parts and "\\" not in name


def _extract(tar: tarfile.TarFile, manifest: dict[str, Any], into: Path, src: Path) -> int:
    """Extract and check every member against the manifest; returns the bytes written."""
    expected: dict[str, Any] = manifest["files"]
    seen: set[str] = set()
    total = 0
    for member in tar:  # the manifest again first (a tar iterates from its start)
        name = member.name
        if member.isdir() or (member.offset == 0 and name == MANIFEST):
            continue
        if not member.isfile() or not _safe_name(name) or name not in expected or name in seen:
            raise SnapshotError(f"{src}: unexpected member {name!r}; the snapshot is damaged "
                                "or not made by `sextant index --export`")
        want = expected[name]
        if member.size != want.get("size"):
            raise SnapshotError(f"{src}: {name} has {member.size} bytes, the manifest says "
                                f"{want.get('size')}; the snapshot is damaged")
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        reader = tar.extractfile(member)
        assert reader is not None
        digest = hashlib.sha256()
        with target.open("wb") as out:
            while block := reader.read(1 << 20):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != want.get("sha256"):
            raise SnapshotError(f"{src}: {name} does not match its checksum; the snapshot "
                                "is damaged")
        seen.add(name)
        total += member.size
    missing = sorted(set(expected) - seen)
    if missing:
        raise SnapshotError(f"{src} is incomplete ({len(missing)} files missing, e.g. "
                            f"{missing[0]}); the snapshot is damaged or truncated")
    return total


def _check_store(into: Path, manifest: dict[str, Any], src: Path) -> int:
    """The generation of the extracted store, once it opens as a store of this schema."""
    path = into / "store.duckdb"
    if not path.exists():
        raise SnapshotError(f"{src} holds no store.duckdb; it is not a Sextant index")
    try:
        store = Store(path, read_only=True, cache_path=into / EMBEDDINGS)
        try:
            generation = store.generation
            schema = store.get_meta("schema_version")
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - whatever DuckDB raises: not restorable
        raise SnapshotError(f"{src}: its store does not open ({exc})") from None
    if not readable_schema(schema):  # an older schema is migrated once the store opens
        raise SnapshotError(f"{src}: its store has schema {schema}, this Sextant uses "
                            f"{SCHEMA_VERSION}: index from scratch with `sextant index`")
    if generation != manifest.get("generation"):
        raise SnapshotError(f"{src}: its store is at generation {generation}, the manifest "
                            f"says {manifest.get('generation')}; the snapshot is damaged")
    return generation


def _open(src: Path, into: Path) -> tuple[dict[str, Any], int, str]:
    try:
        with _compressed_reader(src) as (stream, compression), \
                tarfile.open(fileobj=stream, mode="r|") as tar:
            manifest = _read_manifest(tar, src)
            size = _extract(tar, manifest, into, src)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SnapshotError(f"{src} cannot be read as a snapshot ({exc}); it is damaged or "
                            "truncated") from None
    except Exception as exc:
        if type(exc).__module__.startswith("zstandard"):
            raise SnapshotError(f"{src}: the snapshot is damaged (zstd: {exc})") from None
        raise
    return manifest, size, compression


def _check_not_owned(paths: IndexPaths) -> None:
    """Fails when another process holds the index open (a live server): its files must not
    be replaced under it."""
    if not paths.exists():
        return
    try:
        Store(paths.store).close()
    except Exception as exc:  # noqa: BLE001 - StoreError (locked) or a damaged store
        if "lock" in str(exc).lower():
            raise SnapshotError(f"the index at {paths.dir} is in use by another process; "
                                "stop it before importing a snapshot") from None


def import_snapshot(src: Path, paths: IndexPaths) -> SnapshotInfo:
    """Restore the snapshot `src` as the index at `paths`, replacing what is there."""
    _check_not_owned(paths)
    paths.ensure()
    staging = paths.base / f".import-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        manifest, size, compression = _open(src, staging)
        generation = _check_store(staging, manifest, src)
        old = paths.base / f".replaced-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        if paths.dir.exists():
            os.replace(paths.dir, old)
        os.replace(staging, paths.dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return SnapshotInfo(src, len(manifest["files"]), size, generation, compression)
