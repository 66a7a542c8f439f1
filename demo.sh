#!/usr/bin/env bash
# Quick-start command 1: install what is missing, build, and run imgpipe on the demo list against
# a local server that answers like a distant one (50 ms latency, 8 MB/s per connection).
# Usage: ./demo.sh [imgpipe flags...]   e.g. ./demo.sh --concurrency 1   or   ./demo.sh --threads 1
set -euo pipefail
cd "$(dirname "$0")"
.ci/setup.sh build

port=18080  # the port sample_urls/demo.txt points at
out=demo-out
log=$(mktemp)
build/imgpipe-fixture-server --port "$port" --latency-ms 50 --rate-kbps 8000 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do
  grep -q listening "$log" && break
  kill -0 "$server" 2>/dev/null || { echo "demo: server failed to start:"; cat "$log"; exit 2; }
  sleep 0.1
done

# The server generates its images on first request; a warm-up pass keeps that CPU work out of the
# measured run (a real origin has its files ready).
build/imgpipe -i sample_urls/demo.txt -o "$out" --overwrite --quiet >/dev/null || true

# The demo origin is one host; --per-host 64 lets it take the full --concurrency, as a list spread
# over many hosts would. --overwrite: each demo run starts afresh in the same folder. Flags given
# to demo.sh come after and win.
flags=(--per-host 64 --overwrite --metrics-json "$out/metrics.json" --report "$out/report.html" "$@")
echo "imgpipe -i sample_urls/demo.txt -o $out ${flags[*]}"
status=0
build/imgpipe -i sample_urls/demo.txt -o "$out" "${flags[@]}" || status=$?
echo
echo "thumbnails: $out/   manifest: $out/manifest.jsonl   metrics: $out/metrics.json (exit $status)"
echo "report: $out/report.html (open it in a browser: where the time went)"
echo "compare: ./demo.sh --concurrency 1 (download speedup)   ./demo.sh --threads 1 (processing speedup)"
exit "$status"
