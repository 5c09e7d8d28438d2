#!/usr/bin/env bash
# Drive a real `sextant serve --transport http` on loopback with the MCP Inspector CLI and the
# official conformance suite (both from the npm registry). Not part of pytest; results are
# recorded in docs/http.md. Usage: scripts/conformance.sh [REPO] (default: this project).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_DIR="${1:-$PWD}"
PY="${PYTHON:-.venv/bin/python}"
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:${PORT}/mcp"
INDEX_DIR="$(mktemp -d)"
OUT="${OUT_DIR:-$(mktemp -d)}"

"$PY" -m mcp_server.cli serve --transport http --port "$PORT" --repo "$REPO_DIR" \
  --index-dir "$INDEX_DIR" --no-embed --no-watch 2>"$OUT/server.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$INDEX_DIR"' EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:${PORT}/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

inspect() {
  echo "== inspector $*" >&2
  npx -y @modelcontextprotocol/inspector --cli "$URL" --transport http "$@"
}
inspect --method tools/list >"$OUT/tools.json"
inspect --method tools/call --tool-name search_code --tool-arg query=serve --tool-arg k=2 \
  >"$OUT/search.json"
inspect --method resources/list >"$OUT/resources.json"
inspect --method resources/read --uri sextant://status >"$OUT/status.json"
inspect --method prompts/list >"$OUT/prompts.json"
"$PY" - "$OUT" <<'PYEOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
tools = [t["name"] for t in json.loads((out / "tools.json").read_text())["tools"]]
search = json.loads((out / "search.json").read_text())
print("inspector: tools", tools)
print("inspector: search_code isError", search.get("isError"), "results",
      len(search.get("structuredContent", {}).get("results", [])))
print("inspector: resources", [r["uri"] for r in json.loads((out / "resources.json").read_text())["resources"]])
print("inspector: prompts", [p["name"] for p in json.loads((out / "prompts.json").read_text())["prompts"]])
PYEOF

echo "== conformance suite (server scenarios); 0.1.14+ need Node 22 (fs.globSync)"
set +e
npx -y "${CONFORMANCE_PKG:-@modelcontextprotocol/conformance@0.1.13}" server --url "$URL" 2>&1 | tee "$OUT/conformance.txt"
STATUS=${PIPESTATUS[0]}
set -e
echo "conformance exit status: $STATUS (output in $OUT/conformance.txt)"
