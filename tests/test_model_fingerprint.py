"""A model file's fingerprint is remembered (in the process and in the cache dir) by the
file's identity and times, and hashed again when the file changes. No model needed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from indexer.embed import convert


def test_a_fingerprint_is_hashed_once_and_again_when_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEXTANT_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"a" * 4096)
    hashed: list[Path] = []
    real = convert.file_sha256

    def counted(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(convert, "file_sha256", counted)
    first = convert.model_fingerprint(model)
    assert first == hashlib.sha256(b"a" * 4096).hexdigest() and len(hashed) == 1
    assert convert.model_fingerprint(model) == first and len(hashed) == 1
    convert._FINGERPRINTS.clear()  # another process: the memo in the cache dir
    assert convert.model_fingerprint(model) == first and len(hashed) == 1
    # the same size and modification time, other bytes: the change time tells
    stat = model.stat()
    with model.open("r+b") as handle:
        handle.write(b"b")
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = convert.model_fingerprint(model)
    assert changed == hashlib.sha256(b"b" + b"a" * 4095).hexdigest() and len(hashed) == 2
    # a damaged memo is hashed again, not trusted
    convert._FINGERPRINTS.clear()
    for memo in (tmp_path / "cache" / "fingerprints").iterdir():
        memo.write_text("{not json")
    assert convert.model_fingerprint(model) == changed and len(hashed) == 3
    # another file at another path never takes this one's fingerprint
    other = tmp_path / "n.gguf"
    other.write_bytes(b"c" * 4096)
    assert convert.model_fingerprint(other) == hashlib.sha256(b"c" * 4096).hexdigest()


def test_a_cache_that_cannot_be_written_still_gives_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache dir should be")  # fails even for root
    monkeypatch.setenv("SEXTANT_CACHE_DIR", str(cache))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x" * 100)
    assert convert.model_fingerprint(model) == hashlib.sha256(b"x" * 100).hexdigest()
    assert convert.model_fingerprint(model) == hashlib.sha256(b"x" * 100).hexdigest()
