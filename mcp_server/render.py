"""Human-readable renderings of command results (the --json output is the models as JSON)."""

from __future__ import annotations

from typing import Any


def search(r: Any) -> str:
    out = []
    for h in r.results:
        sym = f"  {h.symbol}" if h.symbol else ""
        out.append(f"{h.path}:{h.start_line}-{h.end_line}{sym}  [{h.score:.2f} {'+'.join(h.matched_by)}]")
        out.extend("    " + line for line in h.snippet.splitlines()[:8])
    if not r.results:
        out.append("no results")
    out.append(f"({len(r.results)} results in {r.took_ms:.1f} ms, mode {r.mode}"
               f"{', truncated' if r.truncated else ''})")
    return "\n".join(out)


def context(r: Any) -> str:
    """What the model reads of a get_context answer (the MCP tool's text content)."""
    from mcp_server.text import render

    return render(r)


def symbols(r: Any) -> str:
    out = []
    for s in r.symbols:
        out.append(f"{s.path}:{s.start_line}-{s.end_line}  {s.kind} {s.qualname}  ({s.match})")
        if s.signature:
            out.append(f"    {s.signature}")
        if s.doc:
            out.append(f"    {s.doc.splitlines()[0]}")
        for ref in s.references or []:
            out.append(f"    <- {ref.path}:{ref.line} [{ref.kind}] {ref.context}")
        if s.references_omitted:
            out.append(f"    <- {s.references_omitted} more uses left out")
    return "\n".join(out) if out else f"no symbol named {r.query!r}"


def deps(r: Any) -> str:
    out = [f"{r.resolved} ({r.direction}, depth {r.depth})"]
    for e in r.edges:
        out.append(f"  {e.source} -[{e.kind}]-> {e.target}")
    return "\n".join(out)


def summary(r: Any) -> str:
    out = []
    for s in r.summaries:
        langs = ", ".join(f"{k} {v}" for k, v in s.languages.items())
        out.append(f"{s.path}/  {s.files} files, {s.lines} lines ({langs})")
        if s.readme:
            out.append(f"    {s.readme[:200]}")
        out += [f"    {label}: {', '.join(values)}" for label, values in (
            ("entry points", s.entry_points), ("depends on", s.depends_on),
            ("used by", s.used_by), ("external", s.external)) if values]
        out.extend(f"    * {k}" for k in s.key_symbols[:10])
    return "\n".join(out)


def status(r: Any) -> str:
    lines = [
        f"root: {r.root}", f"index: {r.index_dir} (generation {r.generation})",
        f"files: {r.files}  symbols: {r.symbols}  chunks: {r.chunks}",
        "languages: " + ", ".join(f"{k} {v}" for k, v in r.languages.items()),
        "skipped: " + (", ".join(f"{k} {v}" for k, v in r.skipped.items()) or "none"),
        f"model vectors: {r.embedded_chunks} of {r.chunks} chunks ({r.embedding_state}), "
        f"model {r.embedding_model or 'none'}" + _eta(r) + _query_map(getattr(r, "query_map", {})),
        f"static vectors: {r.static_chunks} of {r.chunks} chunks"
        + (f", table {r.static_model}" if r.static_model else " (static tier off)"),
        _weights(r.ranking_weights),
        _history(getattr(r, "history", {})),
    ]
    if r.changed_since_indexed:
        lines.append(f"freshness: {r.changed_since_indexed} files changed since indexed "
                     "(run `sextant index`, or serve with the watcher)")
    elif r.changed_since_indexed == 0:
        lines.append("freshness: up to date")
    elif r.pending_files:
        lines.append(f"freshness: {r.pending_files} files waiting to be indexed")
    if r.lexical_deleted_docs:
        lines.append(f"lexical compaction: {r.lexical_compaction} ({r.lexical_deleted_docs} "
                     "deleted chunks still weigh in the ranking statistics)")
    return "\n".join(lines)


def _weights(w: dict[str, Any]) -> str:
    if w.get("source") != "fitted":
        return "ranking weights: defaults"
    held = w.get("held_out_score", {})
    return (f"ranking weights: fitted ({', '.join(f'{k} {v:g}' for k, v in w['weights'].items())}"
            f"; newer commits {held.get('defaults', 0):.3f} -> {held.get('fitted', 0):.3f})")


def _history(h: dict[str, Any]) -> str:
    if not h:
        return "history: off (SEXTANT_HISTORY=0)"
    if "error" in h:
        return f"history: none ({h['error']})"
    return f"history: {h['commits']} commits up to {str(h['head'])[:12]} (file answers)"


def _query_map(q: dict[str, Any]) -> str:
    return f"; query map fitted on {q['pairs']} documented functions" if q else ""


def _eta(r: Any) -> str:
    if r.embedding_rate is None:
        return ""
    eta = f", ETA {round(r.embedding_eta_s)} s" if r.embedding_eta_s is not None else ""
    return f" ({r.embedding_rate} chunks/s{eta})"


def index_stats(r: dict[str, Any]) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in r["skipped"].items()) or "none"
    text = (f"indexed {r['indexed']} files ({r['unchanged']} unchanged, {r['deleted']} deleted) "
            f"of {r['files']}: {r['symbols']} symbols, {r['chunks']} chunks in {r['seconds']} s\n"
            f"skipped: {skipped}")
    if "static" in r:
        text += f"\nstatic vectors: {r['static']['vectors']} chunks ({r['static']['model']})"
    if "embedding" in r:
        e = r["embedding"]
        stopped = " (stopped: run again to embed the rest)" if e.get("interrupted") else ""
        text += (f"\nmodel vectors: {e['embedded']} of {e['chunks']} chunks with {e['model']} "
                 f"in {e['seconds']} s ({e.get('computed', 0)} computed by the model, the rest "
                 f"from the cache){stopped}")
    if "imported" in r:
        i = r["imported"]
        text += (f"\nrestored {i['files']} index files (generation {i['generation']}) "
                 f"from {i['path']}")
    if "exported" in r:
        x = r["exported"]
        text += (f"\nwrote the index ({x['files']} files, {x['bytes']} bytes before "
                 f"{x['compression']}) to {x['path']}")
    return text


def dry_run(r: dict[str, Any]) -> str:
    embed = r["estimated_embed_seconds"]
    rate = r.get("embed_rate") or {}
    cost = (f"~{embed} s to embed at {rate['chunks_per_s']} chunks/s ({rate['source']})"
            if embed is not None else "embedding not estimated")
    approx = "" if r.get("chunks_exact") else "~"
    out = [(f"would index {r['files']} files ({r['bytes']} bytes), "
            f"{approx}{r['estimated_chunks']} chunks, {cost}")]
    out.append("languages: " + ", ".join(f"{k} {v}" for k, v in r["languages"].items()))
    out.append("top directories: " + ", ".join(f"{k} {v}" for k, v in list(r["directories"].items())[:10]))
    out.append("skipped: " + (", ".join(f"{k} {v}" for k, v in r["skipped"].items()) or "none"))
    for item in r.get("skipped_paths", []):
        detail = f" ({item['detail']})" if item["detail"] else ""
        out.append(f"  {item['reason']}: {item['path']}{detail}")
    return "\n".join(out)


def model(r: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in r.items())


def cluster_index(result: dict[str, Any]) -> str:
    """`sextant cluster index`: one line per shard, then the totals."""
    lines = [f"{s['repo']}: {s['files']} files, {s['chunks']} chunks in {s['seconds']} s "
             f"(max RSS {s['max_rss_mb']} MB)" for s in result["shards"]]
    lines.append(f"{len(result['shards'])} shards in {result['seconds']} s")
    if "embedding" in result:
        e = result["embedding"]
        lines.append(f"embedding: {e['embedded']} of {e['requested']} texts needed the model")
    return "\n".join(lines)
