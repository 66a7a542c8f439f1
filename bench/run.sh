#!/usr/bin/env bash
# The imgpipe benchmark from one command: imgpipe against aria2c+vipsthumbnail, curl+mogrify and a
# Python seed script, on a fast and a slow loopback origin, plus a decode floor; writes RESULTS.md.
# Usage: bench/run.sh
# Env: COUNT (images, default 1000), REPEATS (3), TIMEOUT (s per tool run, 600), IMGPIPE_FLAGS
#      (extra imgpipe flags, e.g. "--codec ..."), SKIP_BUILD=1 (use build/imgpipe as it is),
#      SLOW_RATE (nginx limit_rate of the slow origin, 256k), LONG_LIST=0 (skip the 10x run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

count=${COUNT:-1000}
repeats=${REPEATS:-3}
timeout_s=${TIMEOUT:-600}
imgpipe_flags=${IMGPIPE_FLAGS:-}
size=256
conns=16  # transfers at once for every tool: imgpipe's --per-host default, aria2 -j, curl, Python
nproc=$(nproc)
py=/usr/bin/python3  # Debian's, with python3-pil; a pyenv python3 on PATH may lack Pillow
export SLOW_RATE=${SLOW_RATE:-256k}

cache=$here/.cache                 # git-ignored (bench/.gitignore)
corpus=$cache/corpus-$count
raw=$cache/raw                     # per-run /usr/bin/time output and the runs table
# Scratch downloads and thumbnails, emptied after every run, on a tmpfs when there is one: on
# ext4, creating files right after thousands were deleted walks the recently-deleted inodes
# (ext4's recently_deleted()), which cost ~1 s of kernel CPU per 1000 thumbnails here; that is
# the filesystem paying for the previous run, not the tool being measured.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then work=/dev/shm/imgpipe-bench-work; else work=$cache/work; fi
results=$here/RESULTS.md

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- 1. Debian packages -------------------------------------------------------------------------
packages=(nginx aria2 libvips-tools imagemagick python3-pil time curl cmake g++ pkg-config
          libturbojpeg0-dev libwebp-dev libdeflate-dev liblodepng-dev plasma-workspace-wallpapers
          gnome-backgrounds
          linux-perf)
"$root/.ci/ensure-packages.sh" "${packages[@]}"
# Debian's imagemagick puts mogrify/identify in /usr/bin; a stand-in convert may sit earlier on PATH.
mogrify=/usr/bin/mogrify

# --- 2. Builds ----------------------------------------------------------------------------------
# Rebuild imgpipe only when a source is newer than the binary: the other side of the project may
# be compiling in build/ at the same time, and a no-op build still costs a cmake run.
imgpipe=$root/build/imgpipe
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -x "$imgpipe" ] || [ -n "$(find cli core image pipeline stages CMakeLists.txt -newer "$imgpipe" \
       -print -quit 2>/dev/null)" ]; then
    log "building imgpipe (.ci/setup.sh build)"
    .ci/setup.sh build >&2
  fi
fi
[ -x "$imgpipe" ] || { echo "bench: $imgpipe missing (build failed?)" >&2; exit 2; }
# Measure a private copy: a rebuild of build/imgpipe in the middle of the benchmark would
# otherwise mix two binaries in one table.
mkdir -p "$cache"
cp "$imgpipe" "$cache/imgpipe"
imgpipe=$cache/imgpipe
log "building decode_floor (build-bench/)"
cmake -S "$here" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-bench" -j "$nproc" >/dev/null
floor_bin=$root/build-bench/decode_floor

# --- 3. Corpus (cached: rebuilt only when missing or its generator changed) -----------------------
if [ ! -f "$corpus/paths.txt" ] || [ "$here/make_corpus.py" -nt "$corpus/paths.txt" ] ||
   [ "$here/make_corpus.sh" -nt "$corpus/paths.txt" ]; then
  log "building corpus of $count images in $corpus"
  "$here/make_corpus.sh" "$corpus" "$count" >&2
fi
n_images=$(wc -l <"$corpus/paths.txt")

# --- 4. Servers; everything we start is stopped on exit ----------------------------------------------
cleanup() {
  "$here/nginx.sh" stop || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$here/nginx.sh" start "$corpus" >&2
# Warm the page cache so the first tool doesn't pay the disk reads for the others.
cat "$corpus"/img* >/dev/null
for port_url in "$corpus/urls-fast.txt" "$corpus/urls-slow.txt"; do
  curl -sS --fail -o /dev/null "$(head -1 "$port_url")"
done

rm -rf "$raw"
mkdir -p "$raw" "$work"
runs=$raw/runs.tsv
printf 'tool\torigin\trepeat\tlist\texit\twall_s\tcpu_s\tmaxrss_kb\tthumbs_ok\tthumbs_bad\tinputs\tserver_cpu_s\n' >"$runs"

# --- 5. The tools. Each is one bash -c script so /usr/bin/time sees all of its children. -------
# Variables the scripts use are exported, so RESULTS.md can show the scripts verbatim.
export IMGPIPE=$imgpipe IMGPIPE_FLAGS=$imgpipe_flags SIZE=$size CONNS=$conns NPROC=$nproc
export MOGRIFY=$mogrify PY=$py SEED_SCRIPT=$here/seed_thumbnailer.py
export BATCH=16  # files per vipsthumbnail/mogrify process: amortises start-up, still balances cores

declare -A script
tools=(imgpipe aria2c+vipsthumbnail curl+mogrify python-seed)
# shellcheck disable=SC2016  # these are run by bash -c later; expansion must happen there
{
script[imgpipe]='"$IMGPIPE" -i "$URLS" -o "$OUT" -s "$SIZE" --quiet --metrics-json "$OUT/m.json" $IMGPIPE_FLAGS'
script[aria2c+vipsthumbnail]='aria2c -i "$URLS" -d "$DL" -j "$CONNS" --max-connection-per-server=1 --split=1 --file-allocation=none --auto-file-renaming=false --allow-overwrite=true --max-tries=3 --retry-wait=1 --summary-interval=0 --download-result=hide --console-log-level=error --quiet=true
mkdir -p "$OUT"
find "$DL" -type f -print0 | xargs -0 -r -n "$BATCH" -P "$NPROC" env VIPS_CONCURRENCY=1 vipsthumbnail --size "$SIZE" -o "$OUT/%s.jpg[Q=85]"'
script[curl+mogrify]='mkdir -p "$DL" "$OUT"
sed "s/.*/url = \"&\"/" "$URLS" | curl --parallel --parallel-max "$CONNS" -sS --no-progress-meter --fail --retry 2 --remote-name-all --output-dir "$DL" --config -
find "$DL" -type f -print0 | xargs -0 -r -n "$BATCH" -P "$NPROC" env MAGICK_THREAD_LIMIT=1 "$MOGRIFY" -path "$OUT" -format jpg -quality 85 -define jpeg:size=512x512 -thumbnail "${SIZE}x${SIZE}"'
script[python-seed]='"$PY" "$SEED_SCRIPT" "$URLS" "$OUT" "$SIZE"'
# imgpipe's two halves, for the overlap figure. Download only: --max-pixels 1 refuses every image
# from its header, right after its bytes arrive, so the CPU stages cost next to nothing.
# Processing only: the same corpus as local files (read by the workers, no network).
script[imgpipe-download-only]='"$IMGPIPE" -i "$URLS" -o "$OUT" -s "$SIZE" --quiet --max-pixels 1 $IMGPIPE_FLAGS'
script[imgpipe-process-only]='"$IMGPIPE" -i "$PATHS" -o "$OUT" -s "$SIZE" --quiet $IMGPIPE_FLAGS'
}
export PATHS=$corpus/paths.txt

# CPU seconds nginx (master and worker) has used so far: it shares the cores with the tool under
# test, so its share of a run belongs in the budget for that run's wall time.
server_pids=$("$here/nginx.sh" pids || true)
tick=$(getconf CLK_TCK)
server_cpu() {
  local pid total=0
  for pid in $server_pids; do
    [ -r "/proc/$pid/stat" ] || continue
    # utime and stime are fields 14 and 15; the name field (2) has no spaces for nginx.
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total"
}

# Runs one tool once; appends a row to runs.tsv. Never fails the benchmark: a tool's failure is a
# result (its exit code and thumbnail count are in the table).
run_one() {
  local tool=$1 origin=$2 rep=$3 urls=$4 list=$5
  local tag="$tool.$origin.$list.$rep" status=0
  export URLS=$urls OUT=$work/out DL=$work/dl
  rm -rf "$work/out" "$work/dl"
  mkdir -p "$work"
  log "$tool  $origin  $list  repeat $rep"
  local server_before
  server_before=$(server_cpu)
  # timeout -k: a tool that ignores TERM is killed 10 s later; time -v still reports it.
  /usr/bin/time -v -o "$raw/$tag.time" timeout -k 10 "$timeout_s" bash -c "${script[$tool]}" \
    >"$raw/$tag.out" 2>"$raw/$tag.err" || status=$?
  local wall cpu rss ok bad server
  server=$(awk -v a="$server_before" -v b="$(server_cpu)" -v t="$tick" \
    'BEGIN { printf "%.2f", (b - a) / t }')
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
         for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$raw/$tag.time")
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$raw/$tag.time")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$raw/$tag.time")
  read -r ok bad < <("$py" "$here/count_thumbs.py" "$OUT" "$size")
  [ "$tool" = imgpipe ] && [ -f "$OUT/m.json" ] && cp "$OUT/m.json" "$raw/$tag.metrics.json"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$origin" "$rep" "$list" \
    "$status" "$wall" "$cpu" "$rss" "$ok" "$bad" "$(grep -c . "$urls")" "$server" >>"$runs"
  log "  -> exit $status, wall ${wall}s, cpu ${cpu}s, rss ${rss}KB, thumbnails $ok ok / $bad bad"
  rm -rf "$work/out" "$work/dl"
}

started=$(date +%s)
# Repeats are the outer loop and tools the inner one, so slow drift in machine noise spreads over
# every tool instead of landing on whichever ran last.
for origin in fast slow; do
  for rep in $(seq "$repeats"); do
    for tool in "${tools[@]}" imgpipe-download-only; do
      run_one "$tool" "$origin" "$rep" "$corpus/urls-$origin.txt" 1x
    done
    [ "$origin" = fast ] && run_one imgpipe-process-only local "$rep" "$corpus/paths.txt" 1x
  done
done

# --- 6. Memory on a 10x longer list: imgpipe's peak RSS should not grow with the list -----------
if [ "${LONG_LIST:-1}" != 0 ]; then
  long=$cache/urls-fast-10x.txt
  for _ in $(seq 10); do cat "$corpus/urls-fast.txt"; done >"$long"
  run_one imgpipe fast 1 "$long" 10x
fi

# --- 7. Decode floor: median of REPEATS single-core passes --------------------------------------
for rep in $(seq "$repeats"); do
  log "decode floor, pass $rep"
  "$floor_bin" "$corpus/paths.txt" $((2 * size)) >"$raw/floor.$rep.txt" || true
done

# --- 7b. Where imgpipe's CPU goes: a perf profile of one processing-only run ---------------------
# cpu-clock (a software event) works where hardware counters are not exposed, as in most VMs.
export URLS=$corpus/paths.txt OUT=$work/out
rm -rf "$OUT"
log "perf profile of imgpipe-process-only"
if perf record -q -e cpu-clock -F 999 -o "$raw/perf.data" -- \
     "$imgpipe" -i "$PATHS" -o "$OUT" -s "$size" --quiet $imgpipe_flags >/dev/null 2>&1; then
  perf report -i "$raw/perf.data" --no-children --sort dso,sym --stdio -g none \
    --percent-limit 0.05 >"$raw/perf.txt" 2>/dev/null || true
fi
rm -rf "$OUT"

# --- 7c. Per-image cost of each codec path (Google Benchmark, one core, the real corpus) --------
codec_bench=$root/build/codec_bench
if [ -x "$codec_bench" ]; then
  log "codec_bench on the corpus"
  IMGPIPE_BENCH_CORPUS=$corpus "$codec_bench" --benchmark_min_time=2 --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_format=json \
    >"$raw/codec_bench.json" 2>"$raw/codec_bench.err" || true
fi
elapsed=$(($(date +%s) - started))

# --- 8. Facts about the machine and the tools, then the report ----------------------------------
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc=$nproc"
  echo "cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "mem=$(free -g | awk '/Mem:/ { print $2 " GiB" }')"
  echo "kernel=$(uname -r)"
  echo "imgpipe=$("$imgpipe" --version 2>&1 | head -1) (copy of build/imgpipe built $(date -r "$root/build/imgpipe" '+%Y-%m-%d %H:%M'))"
  echo "imgpipe_commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- cli core image pipeline stages CMakeLists.txt 2>/dev/null || echo ' + uncommitted changes')"
  echo "aria2c=$(aria2c --version | head -1)"
  echo "vips=$(vips --version)"
  echo "curl=$(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "imagemagick=$("$mogrify" -version | head -1 | sed 's/^Version: //; s/ http.*//')"
  echo "python=$("$py" --version) / Pillow $("$py" -c 'import PIL; print(PIL.__version__)')"
  echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
  echo "turbojpeg=$(pkg-config --modversion libturbojpeg) libwebp=$(pkg-config --modversion libwebp) libspng=$(pkg-config --modversion spng)"
  echo "corpus=$corpus"
  echo "corpus_mix=$(for e in jpg png webp; do printf '%s %s  ' "$(grep -c "\.$e\$" "$corpus/paths.txt")" "$e"; done)"
  echo "corpus_size=$(du -sh --apparent-size "$corpus" | cut -f1)"
  echo "count=$n_images"
  echo "repeats=$repeats"
  echo "timeout=$timeout_s"
  echo "slow_rate=$SLOW_RATE"
  echo "conns=$conns"
  echo "batch=$BATCH"
  echo "imgpipe_flags=$imgpipe_flags"
  echo "elapsed_s=$elapsed"
} >"$raw/meta.txt"
for tool in "${tools[@]}" imgpipe-download-only imgpipe-process-only; do
  printf '%s\n%s\n\n' "### $tool" "${script[$tool]}"
done >"$raw/scripts.txt"

"$py" "$here/report.py" "$raw" "$results"
log "wrote $results (raw data in $raw); benchmark took ${elapsed}s"
