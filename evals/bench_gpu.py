"""The model tier on a GPU: chunks per second of Sextant's `GGUFEmbedder` with every layer
offloaded, against llama.cpp on the same machine's CPU cores, on real chunks.

    python -m evals.bench_gpu --prepare texts.json [--corpus moby] [--chunks 12000]
    python -m evals.bench_gpu --texts texts.json [--model M.gguf] [--batch 2048 --batch 8192]
                              [--cpu-chunks 2000] [--out result.json]

`--prepare` (where the corpora are) writes the texts the model tier would embed: chunks of
the corpus from Sextant's own pipeline (`process_file`), as `embedded_text` gives them
(header and text), in file order. The run (on the GPU machine; llama-cpp-python built with
CUDA) embeds them once to warm up, then `--rounds` times per batch size, and reports
chunks/s (the median round), tokens/s, and the time outside llama.cpp's decode (tokenizing
and filling batches in Python). The same texts' vectors from the CPU and the GPU are
compared (cosine) so that a fast wrong answer cannot pass. docs/embeddings.md has the
figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("SEXTANT_SHARED_DIR", REPO.parent / "shared")) / "corpora"


def prepare(corpus: str, chunks: int, out: Path) -> None:
    from indexer.build.pipeline import IndexOptions, process_file
    from indexer.discover.walk import walk
    from indexer.embed import embedded_text
    from indexer.parse import FileRecord

    archive = next(CORPORA.glob(f"{corpus}-*.tar.gz"))
    texts: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        root = next(p for p in Path(tmp).iterdir() if p.is_dir())
        opts = IndexOptions()
        for entry in walk(root):
            record = process_file(entry, opts) if hasattr(entry, "size") else None
            if isinstance(record, FileRecord):
                texts += [embedded_text(c.header, c.text) for c in record.chunks]
            if len(texts) >= chunks:
                break
    out.write_text(json.dumps({"corpus": corpus, "texts": texts[:chunks]}))
    print(f"{len(texts[:chunks])} chunks of {corpus} -> {out}")


def _rate(embedder: Any, texts: list[str], rounds: int) -> dict[str, Any]:
    import numpy as np

    embedder.embed_documents(texts[: min(len(texts), 256)])  # warm-up: kernels, buffers
    seconds = []
    vectors = None
    for _ in range(rounds):
        started = time.perf_counter()
        vectors = embedder.embed_documents(texts)
        seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    tokens = sum(len(embedder.tokenize(t)) for t in texts)
    tokenize_s = time.perf_counter() - started
    best = statistics.median(seconds)
    return {"chunks": len(texts), "tokens": tokens, "seconds": [round(s, 3) for s in seconds],
            "chunks_per_s": round(len(texts) / best, 1), "tokens_per_s": round(tokens / best),
            "tokenize_s": round(tokenize_s, 3), "vectors": np.asarray(vectors)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from indexer.embed.convert import provision_default_model
    from indexer.embed.gguf import GGUFEmbedder, llama_library

    if args.probe:
        probe = GGUFEmbedder(args.model or provision_default_model(), gpu_layers=-1)
        print("probe", probe.embed_documents(["x = 1"])[0][:3], flush=True)
        return {}
    data = json.loads(args.texts.read_text())
    texts: list[str] = data["texts"]
    model = args.model or provision_default_model()
    lib = llama_library()
    if args.load_mode is not None:  # e.g. 0: read the file instead of mapping it
        defaults = lib.llama_model_default_params

        def params() -> Any:
            chosen = defaults()
            chosen.load_mode = args.load_mode
            return chosen

        lib.llama_model_default_params = params
    result: dict[str, Any] = {"corpus": data.get("corpus"), "model": Path(model).name,
                              "gpu_offload": bool(lib.llama_supports_gpu_offload()),
                              "gpu": [], "cpu": None}
    for batch in args.batch or [2048, 8192, 16384]:
        embedder = GGUFEmbedder(model, gpu_layers=-1, batch_tokens=batch)
        got = _rate(embedder, texts, args.rounds)
        vectors = got.pop("vectors")
        got["batch_tokens"] = batch
        result["gpu"].append(got)
        print(json.dumps(got), flush=True)
        embedder.close()
    cpu_texts = texts[: args.cpu_chunks]
    cpu = GGUFEmbedder(model, gpu_layers=0, threads=args.threads or os.cpu_count())
    got = _rate(cpu, cpu_texts, 1)
    cpu_vectors = got.pop("vectors")
    got["threads"] = cpu.threads
    cpu.close()
    cosines = np.sum(cpu_vectors * vectors[: len(cpu_texts)], axis=1)
    got["cosine_with_gpu_min"] = round(float(cosines.min()), 5)
    got["cosine_with_gpu_mean"] = round(float(cosines.mean()), 6)
    result["cpu"] = got
    print(json.dumps(got), flush=True)
    best = max(result["gpu"], key=lambda g: g["chunks_per_s"])
    result["gpu_over_cpu"] = round(best["chunks_per_s"] / got["chunks_per_s"], 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--prepare", type=Path, help="write the texts here and stop")
    p.add_argument("--corpus", default="moby")
    p.add_argument("--chunks", type=int, default=12000)
    p.add_argument("--texts", type=Path)
    p.add_argument("--model", type=Path)
    p.add_argument("--batch", type=int, action="append", help="batch tokens (GPU)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cpu-chunks", type=int, default=2000)
    p.add_argument("--threads", type=int, help="CPU threads (default: every core)")
    p.add_argument("--out", type=Path)
    p.add_argument("--load-mode", type=int, help="llama.cpp's load mode (0: no memory map)")
    p.add_argument("--probe", action="store_true", help="load the model, embed one text, stop")
    args = p.parse_args(argv)
    if args.prepare:
        prepare(args.corpus, args.chunks, args.prepare)
        return 0
    if not args.texts and not args.probe:
        p.error("--texts (or --prepare) is required")
    result = run(args)
    if args.probe:
        return 0
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
