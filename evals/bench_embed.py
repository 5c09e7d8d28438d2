"""Embedding throughput: Sextant's embedders vs raw llama-cpp-python vs PyTorch.

    python -m evals.bench_embed [--corpus flask --corpus requests] [--chunks 200]
                                [--threads 2] [--out bench.json]

Texts are real code chunks: each Python file of the corpus (from ../shared/corpora) cut into
consecutive line windows of about `--target-tokens` WordPiece tokens (227 by default, the
size the design targets), counted with the model's own tokenizer.json. Every engine embeds
the same texts with the same truncation (256 tokens, as sentence-transformers does).
Prints a table; `--out` writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("SEXTANT_SHARED_DIR", REPO.parent / "shared")) / "corpora"


def _wordpiece_counter() -> Callable[[str], int]:
    from tokenizers import Tokenizer

    from indexer.embed.convert import source_model_dir

    tokenizer = Tokenizer.from_file(str(source_model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return lambda text: len(tokenizer.encode(text).ids)


def extract(name: str, dest: Path) -> Path:
    archives = sorted(CORPORA.glob(f"{name}-*.tar.gz"))
    if not archives:
        raise SystemExit(f"corpus {name!r} not found under {CORPORA}")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(dest, filter="data")
    return dest


def line_windows(text: str, count: Callable[[str], int], target: int) -> list[str]:
    """Consecutive line windows of about `target` tokens (the last may be shorter)."""
    chunks: list[str] = []
    lines: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        lines.append(line)
        used += count(line) - 2  # [CLS]/[SEP] counted once per chunk
        if used + 2 >= target:
            chunks.append("".join(lines))
            lines, used = [], 0
    if lines and "".join(lines).strip():
        chunks.append("".join(lines))
    return chunks


SOURCE_SUFFIXES = (".py", ".go", ".rs", ".ts", ".js", ".md")


def code_chunks(
    corpora: Sequence[str], target_tokens: int = 227, suffixes: Sequence[str] = (".py",)
) -> list[str]:
    """All chunks of the corpora's source files with `suffixes`, in path order."""
    count = _wordpiece_counter()
    chunks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sextant-bench-") as tmp:
        for name in corpora:
            root = extract(name, Path(tmp) / name)
            files = (p for p in sorted(root.rglob("*")) if p.suffix in suffixes)
            for path in files:
                if not path.is_file():
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
                chunks.extend(c for c in line_windows(text, count, target_tokens) if c.strip())
    return chunks


_cpu_seconds: list[float] = []


def _timed(run: Callable[[], Any]) -> float:
    """Wall seconds of `run()`; its process CPU seconds go to `_cpu_seconds` (a busy machine
    inflates wall time, not CPU time)."""
    cpu = time.process_time()
    start = time.perf_counter()
    run()
    _cpu_seconds.append(time.process_time() - cpu)
    return time.perf_counter() - start


def bench_sextant(texts: list[str], quant: str, threads: int, batch: int) -> dict[str, Any]:
    from indexer.embed.convert import provision_default_model
    from indexer.embed.gguf import GGUFEmbedder

    embedder = GGUFEmbedder(provision_default_model(quant), threads=threads, batch_tokens=batch)
    embedder.embed_documents(texts[:8])  # warm-up
    seconds = _timed(lambda: embedder.embed_documents(texts))
    tokens = sum(len(embedder.tokenize(t)) for t in texts)
    return {"engine": f"sextant GGUFEmbedder {quant} (batch {batch})", "seconds": seconds,
            "cpu": _cpu_seconds[-1], "tokens": tokens}


def bench_numpy(texts: list[str], quant: str, threads: int, batch: int) -> dict[str, Any]:
    from indexer.embed.bert_cpu import NumpyBertEmbedder
    from indexer.embed.convert import provision_default_model

    embedder = NumpyBertEmbedder(provision_default_model(quant), threads=threads,
                                 batch_tokens=batch)
    embedder.embed_documents(texts[:8])  # warm-up
    seconds = _timed(lambda: embedder.embed_documents(texts))
    tokens = sum(len(embedder.tokenize(t)) for t in texts)
    return {"engine": f"sextant NumpyBertEmbedder {quant} (batch {batch})", "seconds": seconds,
            "cpu": _cpu_seconds[-1], "tokens": tokens}


def bench_raw_llama(texts: list[str], quant: str, threads: int) -> dict[str, Any]:
    """`Llama.embed` one text at a time, the way a naive integration would call it."""
    from llama_cpp import Llama

    from indexer.embed.convert import provision_default_model

    # use_extra_bufts is not exposed by Llama; this is the build's default behaviour.
    llm = Llama(str(provision_default_model(quant)), embedding=True, n_ctx=512, n_batch=512,
                n_ubatch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    texts = [_truncate_for_llama(llm, t) for t in texts]
    llm.embed(texts[0], normalize=True)
    seconds = _timed(lambda: [llm.embed(t, normalize=True) for t in texts])
    tokens = sum(len(llm.tokenize(t.encode())) for t in texts)
    return {"engine": f"raw llama-cpp-python Llama.embed {quant}, one text per call",
            "seconds": seconds, "cpu": _cpu_seconds[-1], "tokens": tokens}


def _truncate_for_llama(llm: Any, text: str, limit: int = 256) -> str:
    ids = llm.tokenize(text.encode())
    if len(ids) <= limit:
        return text
    return llm.detokenize(ids[1 : limit - 1]).decode("utf-8", "replace")


def bench_torch(texts: list[str], threads: int) -> dict[str, Any] | None:
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    from indexer.embed.convert import source_model_dir

    torch.set_num_threads(threads)
    model = SentenceTransformer(str(source_model_dir()), device="cpu")
    model.encode(texts[:8], batch_size=32)
    seconds = _timed(lambda: model.encode(texts, batch_size=32))
    tokens = sum(len(model.tokenizer(t, truncation=True, max_length=256)["input_ids"])
                 for t in texts)
    return {"engine": f"sentence-transformers {sys.modules['sentence_transformers'].__version__}"
            f" / torch {torch.__version__} CPU, batch 32", "seconds": seconds,
            "cpu": _cpu_seconds[-1], "tokens": tokens}


def _row(result: dict[str, Any], n: int) -> dict[str, Any]:
    result["chunks"] = n
    result["cpu_seconds"] = round(result.pop("cpu"), 2)
    result["chunks_per_cpu_s"] = round(n / result["cpu_seconds"], 2)
    result["chunks_per_s"] = round(n / result["seconds"], 2)
    result["tokens_per_s"] = round(result["tokens"] / result["seconds"], 1)
    result["seconds"] = round(result["seconds"], 2)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", help="corpus name (default: flask)")
    parser.add_argument("--chunks", type=int, default=200, help="number of chunks to embed")
    parser.add_argument("--target-tokens", type=int, default=227)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, action="append", help="GGUFEmbedder batch tokens")
    parser.add_argument("--numpy-batch", type=int, action="append",
                        help="NumpyBertEmbedder batch tokens")
    parser.add_argument("--skip", action="append", default=[],
                        help="raw, torch, q8_0, f16, llama, numpy")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--engine", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:  # child process: one engine, one JSON object on stdout
        texts = json.loads(args.texts_file.read_text())
        sys.stdout.write(json.dumps(run_engine(args.engine, texts, args.threads)) + "\n")
        return 0

    chunks = code_chunks(args.corpus or ["flask"], args.target_tokens)
    stride = max(1, len(chunks) // args.chunks)
    texts = chunks[::stride][: args.chunks]
    load_before = os.getloadavg()[0]
    results = _run_all(texts, args)
    report = {
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs available, {args.threads} threads",
        "cpu": _cpu_model(),
        "corpus": args.corpus or ["flask"],
        "chunks": len(texts),
        "mean_tokens": next((round(r["tokens"] / len(texts), 1) for r in results
                             if "tokens" in r), None),
        "results": results,
    }
    _print_table(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _engines(args: argparse.Namespace) -> list[list[str]]:
    engines = [] if "torch" in args.skip else [["torch"]]
    for quant in ("q8_0", "f16"):
        if quant in args.skip:
            continue
        if "numpy" not in args.skip:
            engines += [["numpy", quant, str(b)] for b in args.numpy_batch or [1024]]
        if "llama" not in args.skip:
            engines += [["sextant", quant, str(batch)] for batch in args.batch or [256]]
        if "raw" not in args.skip:
            engines.append(["raw", quant])
    return engines


def _run_all(texts: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each engine in a fresh process: OpenMP settings and thread pools do not leak across."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts))
        for engine in _engines(args):
            command = [sys.executable, "-m", "evals.bench_embed", "--engine", *engine,
                       "--texts-file", str(texts_file), "--threads", str(args.threads)]
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
            if done.returncode != 0:
                results.append({"engine": " ".join(engine), "error":
                                f"exit code {done.returncode}: {done.stderr.strip()[-300:]}"})
                continue
            results.append(_row(json.loads(done.stdout), len(texts)))
    return results


def run_engine(engine: list[str], texts: list[str], threads: int) -> dict[str, Any]:
    if engine[0] == "torch":
        result = bench_torch(texts, threads)
        if result is None:
            raise SystemExit("sentence-transformers/torch not importable")
        return result
    if engine[0] == "sextant":
        return bench_sextant(texts, engine[1], threads, int(engine[2]))
    if engine[0] == "numpy":
        return bench_numpy(texts, engine[1], threads, int(engine[2]))
    return bench_raw_llama(texts, engine[1], threads)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _print_table(report: dict[str, Any]) -> None:
    out = sys.stdout
    out.write(f"{report['date']}  {report['cpu']}  ({report['machine']})\n")
    out.write(f"{report['chunks']} chunks from {', '.join(report['corpus'])}\n\n")
    out.write(f"{'engine':<72} {'chunks/s':>9} {'tokens/s':>9} {'seconds':>8} {'chunks/cpu-s':>12}\n")
    for r in report["results"]:
        if "error" in r:
            out.write(f"{r['engine']:<72} failed: {r['error'].splitlines()[0]}\n")
            continue
        out.write(f"{r['engine']:<72} {r['chunks_per_s']:>9} {r['tokens_per_s']:>9} "
                  f"{r['seconds']:>8} {r['chunks_per_cpu_s']:>12}\n")
    out.write(f"\nload average before: {report['load_before']}, after: {report['load_after']}\n")


if __name__ == "__main__":
    raise SystemExit(main())
