"""Loading llama.cpp imports its ctypes bindings only, not llama-cpp-python's high-level
`Llama` (chat templates, jinja2): every process that loads a vocabulary, each parse worker
with the static tier among them, paid ~0.1 CPU s for it. A later `import llama_cpp` still
gets the whole package, over the same bindings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                reason="llama-cpp-python is not installed")

PROBE = """
import sys
from indexer.embed.gguf import llama_library
lib = llama_library()
print(sorted(m for m in ("llama_cpp", "llama_cpp.llama", "jinja2") if m in sys.modules))
print(lib.llama_vocab_n_tokens is not None)
import llama_cpp
print(llama_cpp.llama_cpp is lib, hasattr(llama_cpp, "Llama"))
"""


def test_the_bindings_load_without_the_high_level_api_which_still_imports_later() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, check=True)
    assert done.stdout.split("\n")[:3] == ["[]", "True", "True True"], done.stdout + done.stderr
