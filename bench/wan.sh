#!/usr/bin/env bash
# The WAN-like benchmark from one command: imgpipe against aria2c+vipsthumbnail, a Node script
# (undici + sharp) and the Python seed script, on thousands of URLs over hundreds of host names,
# each its own loopback address, behind a slow DNS server and an nginx origin that holds every
# response back (echo_sleep) and limits each connection's rate. All of it runs in a private
# network + mount + PID namespace: nothing outside changes, no packet leaves the machine, and
# every process it starts dies with it. Writes bench/RESULTS-wan.md; raw data in bench/.cache/wan/.
#
# Usage: bench/wan.sh          (as root: it uses unshare, ip and mount)
# Env (defaults in brackets):
#   LINES [3000] URLs; HOSTS [300] host names; ZIPF [1.0] exponent of the host law; FAIL [0.10]
#     share of lines that cannot succeed; URL_SEED [20261207]
#   REPEATS [3]; CONCURRENCY [256] transfers in flight for every tool; PER_HOST [16] imgpipe's
#     --per-host and the Node agent's connections per origin
#   DOWNLOAD_LATENCY_MS [200], DOWNLOAD_RATE [1m]: the download-bound setting's first-byte delay
#     and per-connection limit_rate; CPU_LATENCY_MS [5], CPU_RATE [20m]: the CPU-bound setting's
#   NEW_CONN_RTT [1]: a new connection's first request waits one latency more (the TCP handshake)
#   DNS_DELAY_MS [30] per answer; XFER_TIMEOUT [30] s per transfer; RUN_TIMEOUT [600] s per run
#   HIGH_CONCURRENCY [4096] for the memory run (clamped to what the binary accepts);
#     HIGH_TOOLS ["imgpipe node-sharp python-seed"] the tools run at it (aria2c+vipsthumbnail
#     takes ~50 s there and is left out by default); HIGH_PER_HOST [PER_HOST]
#   TRACE_RUN [1]: one more imgpipe run in the download setting with --trace, not timed in the
#     tables, for the report's timeline of what imgpipe had in flight
#   TOOLS ["imgpipe aria2c+vipsthumbnail node-sharp python-seed"]; SETTINGS ["download cpu"]
#   IMGPIPE [build/imgpipe] the binary to measure (copied first); IMGPIPE_FLAGS extra flags
#   CORPUS_COUNT [1000] images in bench/make_corpus.sh's corpus (the URLs reuse them)
#   WAN_OUT [bench/.cache/wan] raw data folder; WAN_RESULTS [bench/RESULTS-wan.md] the report
#     (set both for a side experiment that must not replace the main results)
# shellcheck disable=SC2317  # the stop_* functions and cleanup run from traps
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
wan=$here/wan
cache=$here/.cache
out_dir=${WAN_OUT:-$cache/wan}   # raw data of the last run (git-ignored, like all of .cache)
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)  # absolute: nginx and the inner run need it so
raw=$out_dir/raw
state=$out_dir/state             # configs, logs, pid files of the servers
work=$out_dir/work               # scratch downloads/thumbnails: a private tmpfs inside the run
py=/usr/bin/python3              # Debian's, with python3-pil and python3-dnslib
results=${WAN_RESULTS:-$here/RESULTS-wan.md}

# The knobs the caller set, for the report's exact command.
user_env=""
for v in LINES HOSTS ZIPF FAIL URL_SEED REPEATS CONCURRENCY PER_HOST DOWNLOAD_LATENCY_MS \
         DOWNLOAD_RATE CPU_LATENCY_MS CPU_RATE NEW_CONN_RTT DNS_DELAY_MS XFER_TIMEOUT RUN_TIMEOUT \
         HIGH_CONCURRENCY HIGH_TOOLS HIGH_PER_HOST TRACE_RUN TOOLS SETTINGS IMGPIPE IMGPIPE_FLAGS \
         CORPUS_COUNT; do
  if [ -n "${!v+x}" ]; then user_env+="$v=$(printf '%q' "${!v}") "; fi
done
export LINES=${LINES:-3000} HOSTS=${HOSTS:-300} ZIPF=${ZIPF:-1.0} FAIL=${FAIL:-0.10}
export URL_SEED=${URL_SEED:-20261207} REPEATS=${REPEATS:-3}
export CONCURRENCY=${CONCURRENCY:-256} PER_HOST=${PER_HOST:-16}
export DOWNLOAD_LATENCY_MS=${DOWNLOAD_LATENCY_MS:-200} DOWNLOAD_RATE=${DOWNLOAD_RATE:-1m}
export CPU_LATENCY_MS=${CPU_LATENCY_MS:-5} CPU_RATE=${CPU_RATE:-20m}
export NEW_CONN_RTT=${NEW_CONN_RTT:-1} DNS_DELAY_MS=${DNS_DELAY_MS:-30}
export XFER_TIMEOUT=${XFER_TIMEOUT:-30} RUN_TIMEOUT=${RUN_TIMEOUT:-600}
export HIGH_CONCURRENCY=${HIGH_CONCURRENCY:-4096} HIGH_TOOLS=${HIGH_TOOLS:-imgpipe node-sharp python-seed}
export TRACE_RUN=${TRACE_RUN:-1}
export HIGH_PER_HOST=${HIGH_PER_HOST:-$PER_HOST}
export TOOLS=${TOOLS:-imgpipe aria2c+vipsthumbnail node-sharp python-seed}
export SETTINGS=${SETTINGS:-download cpu}
export IMGPIPE_FLAGS=${IMGPIPE_FLAGS:-} CORPUS_COUNT=${CORPUS_COUNT:-1000}
NPROC=$(nproc)
export SIZE=256 BATCH=16 NPROC
dns_addr=127.53.0.1
domain=imgpipe.test

log() { printf '[wan %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

# =================================================================================================
# Outside the namespaces: everything that needs the network or the real /etc, then the run itself
# in its namespaces, then the report.
# =================================================================================================
if [ "${WAN_INNER:-0}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || die "run as root (unshare -n -m, ip link, mount)"
  started=$(date +%s)

  # --- Debian packages: servers, peers, and what the namespaces need ------------------------------
  "$root/.ci/ensure-packages.sh" nginx libnginx-mod-http-echo python3-dnslib python3-pil aria2 \
    libvips-tools time curl iproute2 util-linux
  # Node: whatever node/npm the machine has (often not Debian's); Debian's only if there is none.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    "$root/.ci/ensure-packages.sh" nodejs npm
  fi
  for cmd in unshare ip mount nginx aria2c vipsthumbnail curl /usr/bin/time; do
    command -v "$cmd" >/dev/null || die "$cmd missing after installing packages"
  done
  [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || die "nginx echo module missing"

  # --- The binary: a private copy, so a rebuild mid-run can't mix two binaries in one table -------
  src=${IMGPIPE:-$root/build/imgpipe}
  [ -x "$src" ] || die "no imgpipe binary at $src (build it, or set IMGPIPE=path)"
  mkdir -p "$out_dir"
  rm -rf "$raw" "$state"
  mkdir -p "$raw" "$state" "$work"
  cp "$src" "$out_dir/imgpipe"
  export IMGPIPE=$out_dir/imgpipe
  # The largest --concurrency the binary accepts, from its --help ("INT in [1 - 1000]").
  max_conc=$("$IMGPIPE" --help | sed -n 's/.*--concurrency INT:INT in \[1 - \([0-9]*\)\].*/\1/p')
  max_conc=${max_conc:-1000}
  max_host=$("$IMGPIPE" --help | sed -n 's/.*--per-host INT:INT in \[1 - \([0-9]*\)\].*/\1/p')
  max_host=${max_host:-1000}
  [ "$CONCURRENCY" -le "$max_conc" ] || die "CONCURRENCY $CONCURRENCY > $max_conc, the binary's limit"
  export HIGH_CONC=$HIGH_CONCURRENCY
  [ "$HIGH_CONC" -le "$max_conc" ] || HIGH_CONC=$max_conc
  [ "$HIGH_PER_HOST" -le "$max_host" ] || HIGH_PER_HOST=$max_host
  export MAX_CONC=$max_conc
  { echo "imgpipe_source=$src"
    echo "imgpipe_built=$(date -u -r "$src" '+%Y-%m-%d %H:%M UTC')"
    echo "imgpipe_version=$("$IMGPIPE" --version 2>&1 | head -1)"
    # The source tree it was built in, when it sits in one's build folder (TREE/build*/imgpipe).
    src_repo=$(git -C "$(dirname "$src")" rev-parse --show-toplevel 2>/dev/null || true)
    case "$(cd "$(dirname "$src")" && pwd)" in "$src_repo"/build*) ;; *) src_repo="" ;; esac
    if [ -n "$src_repo" ]; then
      dirty=$(git -C "$src_repo" status --porcelain -- cli core image pipeline stages CMakeLists.txt 2>/dev/null | head -1)
      echo "imgpipe_tree=$src_repo @ $(git -C "$src_repo" rev-parse --short HEAD) ($(git -C "$src_repo" rev-parse --abbrev-ref HEAD))${dirty:+ + uncommitted changes}"
    fi
    echo "imgpipe_max_concurrency=$max_conc"
  } >"$raw/imgpipe.txt"

  # --- Corpus (bench/make_corpus.sh's, cached) and the URL list ---------------------------------
  corpus=$cache/corpus-$CORPUS_COUNT
  if [ ! -f "$corpus/paths.txt" ] || [ "$here/make_corpus.py" -nt "$corpus/paths.txt" ] ||
     [ "$here/make_corpus.sh" -nt "$corpus/paths.txt" ]; then
    log "building corpus of $CORPUS_COUNT images in $corpus"
    "$here/make_corpus.sh" "$corpus" "$CORPUS_COUNT" >&2
  fi
  export CORPUS=$corpus
  "$py" "$wan/make_urls.py" "$raw/list" "$corpus/paths.txt" "$LINES" "$HOSTS" --zipf "$ZIPF" \
    --fail "$FAIL" --seed "$URL_SEED" --domain "$domain" >/dev/null
  log "list: $(grep -c . "$raw/list/urls.txt") URLs, $("$py" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["names_in_list"], "names;", s["kinds"])' "$raw/list/summary.json")"

  # --- Node peer: sharp + undici from the npm registry, pinned by bench/wan/package-lock.json -----
  # (undici 7 needs Node >= 20.18; with an older node the Node peer is left out, and said so.)
  node_dir=$cache/wan-node
  mkdir -p "$node_dir"
  if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 18) ? 0 : 1)'; then
    log "node $(node --version) is older than 20.18: leaving node-sharp out"
    TOOLS=$(echo " $TOOLS " | sed 's/ node-sharp / /; s/^ *//; s/ *$//')
  elif ! cmp -s "$wan/package-lock.json" "$node_dir/package-lock.json" || [ ! -d "$node_dir/node_modules/sharp" ]; then
    log "npm ci (sharp, undici) in $node_dir"
    cp "$wan/package.json" "$wan/package-lock.json" "$node_dir/"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  # ESM resolves imports next to the script, so the script lives beside its node_modules.
  cp "$wan/node_thumbnailer.mjs" "$node_dir/"
  export NODE_SCRIPT=$node_dir/node_thumbnailer.mjs

  # --- Machine and versions --------------------------------------------------------------------
  {
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc=$NPROC"
    echo "cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "mem=$(free -g | awk '/Mem:/ { print $2 " GiB" }')"
    echo "kernel=$(uname -r)"
    echo "bench_commit=$(git -C "$root" rev-parse --short HEAD) ($(git -C "$root" rev-parse --abbrev-ref HEAD))"
    echo "aria2c=$(aria2c --version | head -1)"
    echo "vips=$(vips --version)"
    echo "node=$(node --version)"
    echo "sharp=$(cd "$node_dir" && node -p 'const s=require("sharp"); s.versions.sharp + " (libvips " + s.versions.vips + ", prebuilt in the npm package)"' 2>/dev/null || echo n/a)"
    echo "undici=$(cd "$node_dir" && node -p 'require("undici/package.json").version' 2>/dev/null || echo n/a)"
    echo "python=$("$py" --version) / Pillow $("$py" -c 'import PIL; print(PIL.__version__)') / dnslib $("$py" -c 'import dnslib; print(dnslib.version)')"
    echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //') + echo module $(dpkg-query -W -f='${Version}' libnginx-mod-http-echo)"
    echo "libcurl=$(curl --version | head -1 | cut -d' ' -f2-3)"
    echo "corpus=$corpus ($(du -sh --apparent-size "$corpus" | cut -f1); $(for e in jpg png webp; do printf '%s %s ' "$(grep -c "\.$e\$" "$corpus/paths.txt")" "$e"; done))"
  } >"$raw/meta.txt"
  cat "$raw/imgpipe.txt" >>"$raw/meta.txt"
  # The exact command, for the report.
  echo "command=${user_env}bench/wan.sh" >>"$raw/meta.txt"

  # --- The run, in its own namespaces -------------------------------------------------------------
  # -n: a network namespace with only lo (down until we raise it): nothing can leave the machine.
  # -m: our own mounts (resolv.conf, hosts, a tmpfs), gone when the run ends.
  # -p -f --mount-proc: our own PID namespace; if the run dies, the kernel ends every process in
  #   it (nginx, the DNS server, a tool) — nothing is left behind. --kill-child ends the run if
  #   unshare itself is killed.
  log "entering the namespaces"
  status=0 interrupted=0
  # A Ctrl-C reaches the run too (same process group); wait for its cleanup, then say so.
  trap 'interrupted=1' INT TERM HUP
  WAN_INNER=1 unshare --net --mount --pid --fork --mount-proc --kill-child --propagation private \
    bash "$0" || status=$?
  trap - INT TERM HUP
  [ "$interrupted" = 0 ] || { log "interrupted; partial raw data in $raw"; exit 130; }
  [ "$status" -eq 0 ] || { log "the run failed (exit $status); see $state and $raw"; exit "$status"; }
  echo "elapsed_s=$(($(date +%s) - started))" >>"$raw/meta.txt"
  "$py" "$wan/report.py" "$raw" "$results"
  log "wrote $results (raw data in $raw); took $(($(date +%s) - started)) s"
  exit 0
fi

# =================================================================================================
# Inside the namespaces (PID 1 of our PID namespace).
# =================================================================================================
dns_pid="" nginx_pid="" tool_pid="" mem_pid=""

stop_pid() {  # PID [SIGNAL]: signal it, wait up to 5 s, then KILL
  local pid=$1 sig=${2:-TERM}
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_tool() {
  [ -n "$tool_pid" ] || return 0
  # time -> timeout (its own process group) -> bash -c -> the tool: TERM timeout's group.
  local t kids
  kids=$(cat "/proc/$tool_pid/task/$tool_pid/children" 2>/dev/null || true)
  for t in $kids; do kill -TERM -- "-$t" 2>/dev/null || true; done
  stop_pid "$tool_pid"
  stop_pid "$mem_pid"
  tool_pid="" mem_pid=""
}
stop_nginx() { stop_pid "$nginx_pid" QUIT; nginx_pid=""; }
cleanup() {
  stop_tool
  stop_nginx
  stop_pid "$dns_pid"
  dns_pid=""
  umount "$work" 2>/dev/null || true
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM HUP

ulimit -n "$(ulimit -Hn)"   # the same file-descriptor budget for every tool
ip link set lo up
# An IPv4 address glibc counts as the machine's own (it discounts 127.0.0.1 only): with nothing but
# 127.0.0.1, getaddrinfo(AF_INET, AI_ADDRCONFIG) finds no name at all. A real IPv4-only host has
# one; with it, AI_ADDRCONFIG callers also skip AAAA queries there, as they would on such a host.
ip addr add 127.255.0.1/32 dev lo
# A burst of queries must not overflow the DNS socket; SO_RCVBUFFORCE covers it, this is backup.
sysctl -qw net.core.rmem_max=16777216 2>/dev/null || true
sysctl -qw net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192 2>/dev/null || true

# Names go to our DNS server and nowhere else: our own resolv.conf and a minimal hosts file,
# bind-mounted over the real ones in this mount namespace only.
printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$dns_addr" >"$state/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$state/hosts"
mount --bind "$state/resolv.conf" /etc/resolv.conf
mount --bind "$state/hosts" /etc/hosts
mount -t tmpfs -o size=8g,mode=0755 wan-work "$work"

# --- DNS server ----------------------------------------------------------------------------------
dns_counts=$state/dns-counts.json
rm -f "$state/dns.ready"
"$py" "$wan/dns_server.py" --zone "$raw/list/zone.tsv" --listen "$dns_addr" --port 53 \
  --delay "$(awk -v d="$DNS_DELAY_MS" 'BEGIN { print d / 1000 }')" --counts "$dns_counts" \
  --ready "$state/dns.ready" 2>"$state/dns.log" &
dns_pid=$!
for _ in $(seq 100); do [ -s "$state/dns.ready" ] && break; sleep 0.05; done
[ -s "$state/dns.ready" ] || { cat "$state/dns.log" >&2; die "DNS server did not start"; }

# Writes the DNS server's counts since the last call to $1 (or drops them) and resets them.
dns_dump() {
  rm -f "$dns_counts"
  kill -USR1 "$dns_pid"
  for _ in $(seq 200); do [ -s "$dns_counts" ] && break; sleep 0.02; done
  if [ -n "${1:-}" ]; then mv "$dns_counts" "$1"; else rm -f "$dns_counts"; fi
}

# --- nginx, one config per setting ---------------------------------------------------------------
start_nginx() {  # LATENCY_MS RATE
  local lat=$1 rate=$2 first
  first=$(awk -v l="$lat" -v n="$NEW_CONN_RTT" 'BEGIN { printf "%.3f", l * (1 + n) / 1000 }')
  mkdir -p "$state/nginx/tmp"
  sed -e "s|@STATE@|$state/nginx|g; s|@CORPUS@|$CORPUS|g; s|@WORKERS@|1|g" \
      -e "s|@NOFILE@|65536|g; s|@WORKER_CONNECTIONS@|32768|g; s|@ACCESS_LOG@|off|g" \
      -e "s|@DELAY@|$(awk -v l="$lat" 'BEGIN { printf "%.3f", l / 1000 }')|g" \
      -e "s|@FIRST_DELAY@|$first|g; s|@RATE@|$rate|g" \
      "$wan/nginx.conf.in" >"$state/nginx/nginx.conf"
  nginx -t -q -p "$state/nginx" -c "$state/nginx/nginx.conf" -e "$state/nginx/error.log"
  nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" -e "$state/nginx/error.log" -g 'daemon off;' &
  nginx_pid=$!
  for _ in $(seq 100); do [ -s "$state/nginx/nginx.pid" ] && break; sleep 0.05; done
  [ -s "$state/nginx/nginx.pid" ] || die "nginx did not start ($(cat "$state/nginx/error.log"))"
}

# Checks the setting does what it says, through DNS like the tools: the heaviest and the last
# host answer on their own addresses, a 404 is a 404, NXDOMAIN and the refused port fail, and the
# first request on a connection waits latency x (1 + NEW_CONN_RTT).
check_setting() {
  local lat=$1 first_url last code t
  first_url=$(awk -F'\t' '$2 == "ok" { print $4; exit }' "$raw/list/lines.tsv")
  getent ahostsv4 "h001.$domain" | grep -q '^127\.10\.0\.1 ' || die "DNS: h001 does not resolve to 127.10.0.1"
  last=$(tail -1 "$raw/list/zone.tsv")
  getent ahostsv4 "${last%%$'\t'*}" | grep -q "^${last##*$'\t'} " || die "DNS: $last"
  ! getent hosts "nx01.$domain" >/dev/null || die "DNS: nx01 resolves"
  # The same path on the last host's address: nginx answers on every 127.x (listen 0.0.0.0:80).
  code=$(curl -s -o /dev/null -w '%{http_code}' --resolve "check.$domain:80:${last##*$'\t'}" \
    "http://check.$domain/$(basename "$first_url")")
  [ "$code" = 200 ] || die "origin on ${last##*$'\t'}: HTTP $code"
  read -r code t < <(curl -s -o /dev/null -w '%{http_code} %{time_starttransfer}\n' "$first_url")
  [ "$code" = 200 ] || die "origin: $first_url -> HTTP $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://h001.$domain/missing-000000.jpg")
  [ "$code" = 404 ] || die "origin: a missing path gave HTTP $code"
  ! curl -s -o /dev/null "http://h001.$domain:81/x.jpg" || die "port 81 answered"
  log "  check: $first_url first byte after ${t}s (DNS ${DNS_DELAY_MS} ms + ${lat} ms x $((1 + NEW_CONN_RTT)))"
}

server_ticks() {  # CPU ticks of nginx (master, workers) and the DNS server so far
  local pid total=0 workers
  workers=$(cat "/proc/$nginx_pid/task/$nginx_pid/children" 2>/dev/null || true)
  for pid in $dns_pid $nginx_pid $workers; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
tick=$(getconf CLK_TCK)
# Busy CPU ticks of the whole machine (/proc/stat is not namespaced): user nice system irq softirq
# steal. Minus the tool's and the servers' CPU, what is left over a run is other work on the
# machine (other users' builds and tests, and this script's own bookkeeping), which the report shows
# so that a run that had to share the cores is visible as such.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# --- The tools: each one bash -c script, so /usr/bin/time sees all of its children --------------
export URLS=$raw/list/urls.txt PY=$py SEED_WAN=$wan/seed_wan.py
declare -A script
# shellcheck disable=SC2016  # expanded by bash -c at run time, shown verbatim in the report
{
script[imgpipe]='"$IMGPIPE" -i "$URLS" -o "$OUT" -s "$SIZE" --concurrency "$CONC" --per-host "$PER_HOST_N" --timeout "$XFER_TIMEOUT" --quiet --metrics-json "$OUT/m.json" $IMGPIPE_FLAGS'
# Optional (add to TOOLS): imgpipe without the politeness limit, as the peers without one run.
# Not in the tables: the same imgpipe run with --trace, for the timeline.
script[imgpipe-traced]='"$IMGPIPE" -i "$URLS" -o "$OUT" -s "$SIZE" --concurrency "$CONC" --per-host "$PER_HOST_N" --timeout "$XFER_TIMEOUT" --quiet --metrics-json "$OUT/m.json" --trace "$OUT/trace.json" $IMGPIPE_FLAGS'
script[imgpipe-no-per-host]='"$IMGPIPE" -i "$URLS" -o "$OUT" -s "$SIZE" --concurrency "$CONC" --per-host "$CONC" --timeout "$XFER_TIMEOUT" --quiet --metrics-json "$OUT/m.json" $IMGPIPE_FLAGS'
script[aria2c+vipsthumbnail]='aria2c -i "$URLS" -d "$DL" -j "$CONC" --max-connection-per-server=1 --split=1 --file-allocation=none --auto-file-renaming=false --allow-overwrite=true --max-tries=3 --retry-wait=1 --timeout="$XFER_TIMEOUT" --connect-timeout="$XFER_TIMEOUT" --summary-interval=0 --download-result=hide --console-log-level=error --quiet=true
mkdir -p "$OUT"
find "$DL" -type f ! -name "*.aria2" -print0 | xargs -0 -r -n "$BATCH" -P "$NPROC" env VIPS_CONCURRENCY=1 vipsthumbnail --size "$SIZE" -o "$OUT/%s.jpg[Q=85]"'
script[node-sharp]='CONCURRENCY="$CONC" PER_HOST="$PER_HOST_N" TIMEOUT_S="$XFER_TIMEOUT" node "$NODE_SCRIPT" "$URLS" "$OUT" "$SIZE"'
script[python-seed]='CONCURRENCY="$CONC" TIMEOUT_S="$XFER_TIMEOUT" "$PY" "$SEED_WAN" "$URLS" "$OUT" "$SIZE"'
}
for t in $TOOLS; do [ -n "${script[$t]:-}" ] || die "unknown tool $t (have: ${!script[*]})"; done
for t in $TOOLS; do printf '### %s\n%s\n\n' "$t" "${script[$t]}"; done >"$raw/scripts.txt"
if [ "$TRACE_RUN" = 1 ]; then printf '### imgpipe-traced\n%s\n\n' "${script[imgpipe-traced]}" >>"$raw/scripts.txt"; fi

runs=$raw/runs.tsv
printf 'setting\tconc\tper_host\ttool\trepeat\texit\twall_s\tcpu_s\tmaxrss_kb\ttree_pss_kb\ttree_rss_kb\tprocs\tthumbs_ok\tthumbs_bad\tinputs\texpected_ok\tserver_cpu_s\tother_cpu_s\ttag\n' >"$runs"
expected_ok=$(awk -F'\t' '$2 == "ok"' "$raw/list/lines.tsv" | wc -l)
heaviest=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["heaviest_host"])' "$raw/list/summary.json")
inputs=$(grep -c . "$URLS")

run_one() {  # SETTING CONC PER_HOST TOOL REPEAT
  local setting=$1 conc=$2 per_host=$3 tool=$4 rep=$5
  local tag="$setting.c$conc.$tool.$rep" status=0 before wall cpu rss ok bad server pss trss procs
  local machine_before machine other
  export CONC=$conc PER_HOST_N=$per_host OUT=$work/out DL=$work/dl
  rm -rf "$OUT" "$DL"
  log "$setting  c=$conc  $tool  repeat $rep"
  dns_dump ""
  before=$(server_ticks)
  machine_before=$(machine_ticks)
  # In the background, so a signal reaches our trap at once instead of after the tool ends.
  /usr/bin/time -v -o "$raw/$tag.time" timeout -k 10 "$RUN_TIMEOUT" bash -c "${script[$tool]}" \
    >"$raw/$tag.out" 2>"$raw/$tag.err" &
  tool_pid=$!
  "$py" "$wan/tree_mem.py" "$tool_pid" 0.2 >"$raw/$tag.mem" &
  mem_pid=$!
  wait "$tool_pid" || status=$?
  wait "$mem_pid" || true
  tool_pid="" mem_pid=""
  server=$(awk -v a="$before" -v b="$(server_ticks)" -v t="$tick" 'BEGIN { printf "%.2f", (b - a) / t }')
  machine=$(awk -v a="$machine_before" -v b="$(machine_ticks)" -v t="$tick" 'BEGIN { printf "%.2f", (b - a) / t }')
  dns_dump "$raw/$tag.dns.json"
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
         for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$raw/$tag.time")
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$raw/$tag.time")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$raw/$tag.time")
  read -r pss trss procs < <(cat "$raw/$tag.mem"; echo)
  read -r ok bad < <("$py" "$here/count_thumbs.py" "$OUT" "$SIZE")
  if [ -f "$OUT/manifest.jsonl" ]; then
    "$py" "$wan/manifest_summary.py" "$OUT/manifest.jsonl" "$raw/list/lines.tsv" >"$raw/$tag.manifest.json" || true
    cp "$OUT/m.json" "$raw/$tag.metrics.json" 2>/dev/null || true
    gzip -c "$OUT/manifest.jsonl" >"$raw/$tag.manifest.jsonl.gz"
  fi
  if [ -f "$OUT/trace.json" ]; then
    "$py" "$wan/trace_timeline.py" "$OUT/trace.json" "$heaviest" 1.0 >"$raw/$tag.timeline.json" || true
    gzip -c "$OUT/trace.json" >"$raw/$tag.trace.json.gz"
  fi
  other=$(awk -v m="$machine" -v c="$cpu" -v s="$server" 'BEGIN { o = m - c - s; printf "%.2f", o < 0 ? 0 : o }')
  printf '%s\t' "$setting" "$conc" "$per_host" "$tool" "$rep" "$status" "$wall" "$cpu" "$rss" \
    "${pss:-0}" "${trss:-0}" "${procs:-0}" "$ok" "$bad" "$inputs" "$expected_ok" "$server" \
    "$other" >>"$runs"
  printf '%s\n' "$tag" >>"$runs"
  log "  -> exit $status, wall ${wall}s, cpu ${cpu}s, rss $((rss / 1024)) MB, thumbnails $ok ok / $bad bad (of $expected_ok possible), servers ${server}s CPU, other work on the machine ${other}s CPU"
  rm -rf "$OUT" "$DL"
}

# Page cache warm, so the first tool doesn't pay the disk reads for the others.
cat "$CORPUS"/img* >/dev/null

read -ra tools <<<"$TOOLS"
n_tools=${#tools[@]}
for setting in $SETTINGS; do
  case $setting in
    download) lat=$DOWNLOAD_LATENCY_MS rate=$DOWNLOAD_RATE ;;
    cpu) lat=$CPU_LATENCY_MS rate=$CPU_RATE ;;
    *) die "unknown setting $setting (download, cpu)" ;;
  esac
  log "setting $setting: first byte after $lat ms (+$((lat * NEW_CONN_RTT)) ms on a new connection), limit_rate $rate, DNS $DNS_DELAY_MS ms"
  start_nginx "$lat" "$rate"
  printf '%s\t%s\t%s\n' "$setting" "$lat" "$rate" >>"$raw/settings.tsv"
  check_setting "$lat"
  # Repeats outside, tools inside, the starting tool rotating by repeat: drift and warm-up spread
  # over every tool instead of landing on one.
  for rep in $(seq "$REPEATS"); do
    for i in $(seq 0 $((n_tools - 1))); do
      run_one "$setting" "$CONCURRENCY" "$PER_HOST" "${tools[$(((i + rep - 1) % n_tools))]}" "$rep"
    done
  done
  # The memory run: as many transfers in flight as the binary allows, on the latency-bound setting.
  if [ "$setting" = download ] && [ "$HIGH_CONC" -gt "$CONCURRENCY" ]; then
    for tool in "${tools[@]}"; do
      case " $HIGH_TOOLS " in *" $tool "*) run_one "$setting" "$HIGH_CONC" "$HIGH_PER_HOST" "$tool" 1 ;; esac
    done
  fi
  # Where imgpipe's wall time goes: one traced run (its wall is not in the tables).
  if [ "$setting" = download ] && [ "$TRACE_RUN" = 1 ] && [ -n "${script[imgpipe]:-}" ] &&
     [[ " $TOOLS " == *" imgpipe "* ]]; then
    run_one "$setting" "$CONCURRENCY" "$PER_HOST" imgpipe-traced 1
  fi
  stop_nginx
done
exit 0
