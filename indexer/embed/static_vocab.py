"""A GGUF model's vocabulary through llama.cpp, loaded vocab-only: fast tokens as numpy.

The static tier (`indexer.embed.static`) needs the model's own tokenizer (its token ids
index the distilled table) and, to distil, each token's attributes and the special tokens
the model wraps an input in. A vocab-only load reads the metadata and no weights (~0.1 s
for MiniLM); tokenizing runs in llama.cpp's C++ and comes back as an int32 array without
a Python list in between.

`tokenize` may be called from several threads: it only reads the vocabulary.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import numpy as np

from indexer.embed.protocol import EmbedderError, ModelUnavailableError

# llama_token_attr bits (llama.h)
_ATTR_UNKNOWN = 1 << 0
_ATTR_UNUSED = 1 << 1
_ATTR_NORMAL = 1 << 2
_ATTR_CONTROL = 1 << 3
_ATTR_USER_DEFINED = 1 << 4
_ATTR_BYTE = 1 << 5
_KEEP = _ATTR_NORMAL | _ATTR_USER_DEFINED | _ATTR_BYTE
_SKIP = _ATTR_UNKNOWN | _ATTR_UNUSED | _ATTR_CONTROL
# BERT vocabularies reserve "[unused0]".."[unused993]": stored as normal tokens, never
# produced from text (the pre-tokenizer splits "[" off).
_PLACEHOLDER = re.compile(r"^\u2581?\[unused\d+\]$")
_CHARS_PER_TOKEN_CAP = 32  # text beyond max_tokens * this many characters is never tokenized


class ModelVocab:
    """The vocabulary of the GGUF file at `path` (llama.cpp, no weights loaded)."""

    def __init__(self, path: Path | str) -> None:
        from indexer.embed.gguf import llama_library

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelUnavailableError(f"GGUF model {str(self.path)!r} not found")
        self._lib = llama_library()
        params = self._lib.llama_model_default_params()
        params.vocab_only = True
        self._model = self._lib.llama_model_load_from_file(str(self.path).encode(), params)
        if not self._model:
            raise EmbedderError(f"llama.cpp could not read the vocabulary of {self.path}")
        self._vocab = self._lib.llama_model_get_vocab(self._model)
        self.size = int(self._lib.llama_vocab_n_tokens(self._vocab))

    def tokenize(self, text: str, max_tokens: int, add_special: bool = False) -> np.ndarray:
        """The first `max_tokens` token ids of `text` (int32), without special tokens unless
        `add_special`."""
        data = text[: max_tokens * _CHARS_PER_TOKEN_CAP].encode("utf-8", "replace")
        capacity = len(data) + 8
        buf = (ctypes.c_int32 * capacity)()
        n = self._lib.llama_tokenize(
            self._vocab, data, len(data), buf, capacity, add_special, False
        )
        if n < 0:  # buffer too small: -n is the size needed
            capacity = -n
            buf = (ctypes.c_int32 * capacity)()
            n = self._lib.llama_tokenize(
                self._vocab, data, len(data), buf, capacity, add_special, False
            )
        return np.frombuffer(memoryview(buf), dtype=np.int32, count=min(n, max_tokens)).copy()

    def window(self) -> int:
        """Tokens the transformer reads per input: its training context, or the window
        Sextant's converter declared (`sextant.max_seq_length`: 256 for MiniLM)."""
        arch = self._meta("general.architecture") or ""
        sizes = [self._meta(f"{arch}.context_length"), self._meta("sextant.max_seq_length")]
        known = [int(x) for x in sizes if x is not None and x.isdigit() and int(x) > 0]
        return min(known) if known else 0

    def _meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(256)
        n = self._lib.llama_model_meta_val_str(self._model, key.encode(), buf, len(buf))
        return buf.value.decode() if n >= 0 else None

    def text(self, token: int) -> str:
        raw = self._lib.llama_vocab_get_text(self._vocab, token)
        return (raw or b"").decode("utf-8", "replace")

    def distillable(self) -> np.ndarray:
        """Ids of the tokens text can produce (normal, user-defined and byte tokens), in id
        order: no control, unknown, unused or BERT `[unusedN]` placeholder tokens."""
        keep = []
        for token in range(self.size):
            attr = int(self._lib.llama_vocab_get_attr(self._vocab, token))
            if attr & _KEEP and not attr & _SKIP and not _PLACEHOLDER.match(self.text(token)):
                keep.append(token)
        return np.array(keep, dtype=np.int32)

    def special_wrap(self) -> tuple[list[int], list[int]]:
        """The special tokens the model puts before and after an input (BERT: [CLS], [SEP];
        a decoder: perhaps BOS, perhaps EOS), read from how it tokenizes a sample."""
        plain = self.tokenize("a", 16).tolist()
        full = self.tokenize("a", 16, add_special=True).tolist()
        for start in range(len(full) - len(plain) + 1):
            if full[start : start + len(plain)] == plain:
                return full[:start], full[start + len(plain) :]
        return [], []

    def close(self) -> None:
        if getattr(self, "_model", None):
            self._lib.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        if getattr(self, "_lib", None) is not None:
            self.close()
