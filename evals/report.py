"""Plain-text and JSON rendering of evaluation outcomes."""

from __future__ import annotations

from collections.abc import Mapping

from evals.harness import Outcome

COLUMNS = ("MRR@10", "R@1", "R@5", "R@10", "Acc@1", "Acc@5", "All@5", "All@10", "n")


def render_table(title: str, outcome: Outcome) -> str:
    table = outcome.table()
    lines = [f"## {title}", "", "| level/system | " + " | ".join(COLUMNS) + " |",
             "| --- |" + " ---: |" * len(COLUMNS)]
    for key, row in table.items():
        cells = [f"{int(row[c])}" if c == "n" else f"{row[c]:.3f}" for c in COLUMNS]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lat = outcome.latency()
    if lat:
        lines.append("")
        lines.append(f"search_code took_ms: p50 {lat['p50_ms']}, p95 {lat['p95_ms']}")
    return "\n".join(lines) + "\n"


def as_json(outcomes: Mapping[str, Outcome]) -> dict[str, object]:
    return {name: {"metrics": o.table(), "latency": o.latency(),
                   "misses": {k: v[:50] for k, v in o.misses.items()}}
            for name, o in outcomes.items()}
