"""Fuzz the per-file pipeline (read, classify, parse, chunk) for N seconds.

    python -m evals.fuzz_pipeline [--seconds 120] [--seed 1] [--slow 5] [--out fuzz.json]
                                  [--crashes DIR]

Inputs rotate over every language's extension: random bytes, token soups (brackets, keywords,
quotes, comment markers, NUL and invalid UTF-8), and mutations of the language fixtures
(byte flips, spliced token runs, truncation, duplicated slices, deep-nesting splices).
Each input goes through `indexer.build.pipeline.process_file` in a worker process; an exception,
a worker death (a crash in native code) or an input slower than `--slow` seconds is
recorded (and its bytes saved under `--crashes`); the worker is restarted when it dies or
hangs (`--hang` seconds). Writes a JSON report on stdout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import platform
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "languages"
EXTENSIONS = ["py", "js", "ts", "tsx", "go", "rs", "java", "c", "cpp", "cs", "rb", "php", "sh",
              "kt", "swift", "scala", "lua", "md", "json", "txt"]
TOKENS = [b"(", b")", b"{", b"}", b"[", b"]", b"def ", b"class ", b"fn ", b"function ",
          b"func ", b"import ", b"#include ", b'"', b"'", b"`", b"/*", b"*/", b"//", b"#",
          b"\n", b"    ", b"\t", b"x", b"=>", b"<", b">", b";", b":", b"\\", b"\x00", b"\xff",
          b"\xc3", b"$", b"@", b"<?php", b"<<EOF\n", b"\"\"\"", b"r#\"", b"${", b"\r\n"]


# -- worker process -------------------------------------------------------------------------


def _worker(conn: Connection, workdir: str) -> None:
    from indexer.build import IndexOptions, process_file
    from indexer.discover import FileEntry

    opts = IndexOptions()
    while True:
        try:
            ext, data = conn.recv()
        except EOFError:
            return
        path = Path(workdir) / f"input.{ext}"
        path.write_bytes(data)
        st = path.stat()
        started = time.perf_counter()
        try:
            out = process_file(FileEntry(path.name, path, st.st_size, st.st_mtime_ns), opts)
            reason = getattr(out, "reason", None)
            kind = f"skipped:{reason}" if reason else "indexed"
            error = getattr(getattr(out, "parsed", None), "error", None) or getattr(out, "detail", "")
            conn.send(("ok", kind, str(error)[:200], time.perf_counter() - started))
        except Exception:  # noqa: BLE001 - the fuzzer records every failure
            conn.send(("exception", "", traceback.format_exc(limit=4),
                       time.perf_counter() - started))


class Worker:
    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.proc: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None
        self.start()

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, self.workdir), daemon=True)
        self.proc.start()
        self.conn = parent

    def run(self, ext: str, data: bytes, hang_s: float) -> tuple[str, str, str, float]:
        assert self.conn is not None and self.proc is not None
        started = time.perf_counter()
        self.conn.send((ext, data))
        try:
            ready = self.conn.poll(hang_s)
            if ready:
                return self.conn.recv()  # type: ignore[no-any-return]
        except EOFError:
            ready = False
        dead = not self.proc.is_alive()
        self.restart()
        return ("crash" if dead else "hang", "", "", time.perf_counter() - started)

    def restart(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.join(5)
        self.start()

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(5)


# -- inputs ---------------------------------------------------------------------------------


def _seeds() -> dict[str, list[bytes]]:
    seeds: dict[str, list[bytes]] = {ext: [] for ext in EXTENSIONS}
    for path in FIXTURES.glob("*.*"):
        ext = path.suffix.lstrip(".")
        if ext in seeds:
            seeds[ext].append(path.read_bytes())
    return seeds


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data or b"x")
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = b"".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 40)))
        elif op == 2:
            del buf[pos:]
        elif op == 3 and buf:
            a = rng.randrange(len(buf))
            buf[pos:pos] = buf[a:a + rng.randint(1, 2000)]
        else:
            depth = rng.choice([100, 1000, 10_000, 50_000])
            opener, closer = rng.choice([(b"(", b")"), (b"[", b"]"), (b"{", b"}")])
            buf[pos:pos] = opener * depth + b"\n" + closer * rng.choice([0, depth])
    return bytes(buf[: 2 << 20])


def generate(rng: random.Random, ext: str, seeds: dict[str, list[bytes]]) -> bytes:
    """An input for `ext`; mostly without NUL bytes, which make the walk skip it as binary."""
    choice = rng.randrange(3)
    if choice == 0:
        data = rng.randbytes(rng.randint(0, 4096))
    elif choice == 1:
        data = b"".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 3000)))
    else:
        data = _mutate(rng, rng.choice(seeds.get(ext) or [b""]))
    return data if rng.random() < 0.1 else data.replace(b"\0", b" ")


# -- driver ---------------------------------------------------------------------------------


def fuzz(seconds: float, seed: int, slow_s: float, hang_s: float,
         crashes: Path | None) -> dict[str, Any]:
    rng = random.Random(seed)
    seeds = _seeds()
    outcomes: Counter[str] = Counter()
    findings: list[dict[str, Any]] = []
    per_ext: Counter[str] = Counter()
    slowest = (0.0, "")
    with tempfile.TemporaryDirectory() as workdir:
        worker = Worker(workdir)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                ext = EXTENSIONS[sum(per_ext.values()) % len(EXTENSIONS)]
                data = generate(rng, ext, seeds)
                status, kind, detail, took = worker.run(ext, data, hang_s)
                per_ext[ext] += 1
                outcomes[status if status != "ok" else kind] += 1
                if took > slowest[0]:
                    slowest = (took, ext)
                if status != "ok" or took > slow_s:
                    findings.append(_finding(status, ext, data, detail, took, crashes))
        finally:
            worker.close()
    return {"inputs": sum(per_ext.values()), "seconds": seconds, "seed": seed,
            "outcomes": dict(outcomes), "slowest_s": round(slowest[0], 3),
            "slowest_ext": slowest[1], "findings": findings[:50],
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}"}


def _finding(status: str, ext: str, data: bytes, detail: str, took: float,
             crashes: Path | None) -> dict[str, Any]:
    saved = None
    if crashes is not None:
        crashes.mkdir(parents=True, exist_ok=True)
        saved = crashes / f"{status}-{int(time.time() * 1000)}.{ext}"
        saved.write_bytes(data)
    return {"status": status if status != "ok" else "slow", "ext": ext, "bytes": len(data),
            "seconds": round(took, 3), "detail": detail[-500:], "saved": str(saved or "")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slow", type=float, default=5.0, help="report inputs slower than this")
    parser.add_argument("--hang", type=float, default=60.0, help="kill the worker after this")
    parser.add_argument("--crashes", type=Path, default=None, help="save failing inputs here")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    report = fuzz(args.seconds, args.seed, args.slow, args.hang, args.crashes)
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    bad = sum(1 for f in report["findings"] if f["status"] in ("exception", "crash", "hang"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
