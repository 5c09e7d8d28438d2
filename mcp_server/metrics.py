"""Process metrics in the Prometheus text exposition format (served at GET /metrics).

`Metrics` is fed by the protocol layer (`server._call` for tool calls, the HTTP guard for
rejections) and rendered on scrape together with index sizes read from the store. It is
thread-safe: tool functions finish in worker threads.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable

from indexer.live import LiveIndex

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # last one is +Inf
        self.total = 0.0
        self.n = 0

    def observe(self, seconds: float) -> None:
        index = next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))
        self.counts[index] += 1
        self.total += seconds
        self.n += 1


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()  # (tool, outcome) -> n
        self.latency: defaultdict[str, Histogram] = defaultdict(Histogram)
        self.rejections: Counter[int] = Counter()  # HTTP status -> n
        self.inflight = 0

    def started(self) -> None:
        with self._lock:
            self.inflight += 1

    def finished(self, tool: str, outcome: str, seconds: float) -> None:
        """Record one tool call; outcome is ok, error (tool said no), crash or cancelled."""
        with self._lock:
            self.inflight -= 1
            self.calls[(tool, outcome)] += 1
            self.latency[tool].observe(seconds)

    def rejected(self, status: int) -> None:
        with self._lock:
            self.rejections[status] += 1

    def render(self, ctx: LiveIndex | None) -> str:
        with self._lock:
            lines = [*self._calls(), *self._latency(), *self._rejections(),
                     "# HELP sextant_tool_calls_in_flight Tool calls running now.",
                     "# TYPE sextant_tool_calls_in_flight gauge",
                     f"sextant_tool_calls_in_flight {self.inflight}"]
        if ctx is not None:
            lines += list(_index_gauges(ctx))
        return "\n".join(lines) + "\n"

    def _calls(self) -> Iterable[str]:
        yield "# HELP sextant_tool_calls_total Tool calls by tool and outcome."
        yield "# TYPE sextant_tool_calls_total counter"
        for (tool, outcome), n in sorted(self.calls.items()):
            yield f'sextant_tool_calls_total{{tool="{tool}",outcome="{outcome}"}} {n}'
        yield "# HELP sextant_tool_errors_total Tool calls that ended in an error result."
        yield "# TYPE sextant_tool_errors_total counter"
        errors: Counter[str] = Counter()
        for (tool, outcome), n in self.calls.items():
            errors[tool] += n if outcome in ("error", "crash") else 0
        for tool, n in sorted(errors.items()):
            yield f'sextant_tool_errors_total{{tool="{tool}"}} {n}'

    def _latency(self) -> Iterable[str]:
        yield "# HELP sextant_tool_call_seconds Tool call latency."
        yield "# TYPE sextant_tool_call_seconds histogram"
        for tool, hist in sorted(self.latency.items()):
            running = 0
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), hist.counts, strict=True):
                running += count
                yield f'sextant_tool_call_seconds_bucket{{tool="{tool}",le="{bound}"}} {running}'
            yield f'sextant_tool_call_seconds_sum{{tool="{tool}"}} {hist.total:.6f}'
            yield f'sextant_tool_call_seconds_count{{tool="{tool}"}} {hist.n}'

    def _rejections(self) -> Iterable[str]:
        yield "# HELP sextant_http_rejections_total HTTP requests refused, by status code."
        yield "# TYPE sextant_http_rejections_total counter"
        for status, n in sorted(self.rejections.items()):
            yield f'sextant_http_rejections_total{{status="{status}"}} {n}'


def _index_gauges(ctx: LiveIndex) -> Iterable[str]:
    files, symbols, chunks = ctx.index.store.query_one(
        "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM symbols), "
        "(SELECT count(*) FROM chunks)")
    vectors = len(ctx.vectors) if ctx.vectors is not None else 0
    values = {"files": files, "symbols": symbols, "chunks": chunks, "vectors": vectors,
              "generation": ctx.index.store.generation,
              "pending_files": len(ctx.pending_paths())}
    for name, value in values.items():
        yield f"# HELP sextant_index_{name} Index size: {name.replace('_', ' ')}."
        yield f"# TYPE sextant_index_{name} gauge"
        yield f"sextant_index_{name} {value}"
    yield ("# HELP sextant_lexical_deleted_docs Deleted documents the lexical statistics count "
           "until a compaction drops them.")
    yield "# TYPE sextant_lexical_deleted_docs gauge"
    yield f"sextant_lexical_deleted_docs {ctx.lexical.deleted_docs()}"
    yield "# HELP sextant_lexical_compaction_running Whether a lexical compaction runs now."
    yield "# TYPE sextant_lexical_compaction_running gauge"
    yield f"sextant_lexical_compaction_running {int(ctx.compactor.running)}"
