#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan), writes seed corpora with the tests' image
# generators, and runs each target for SECONDS (default 1800) — in parallel, one per core.
# Crashes land in fuzz/crashes/TARGET/; copy each into fuzz/regressions/TARGET/ (the regression
# test replays that folder on every ctest run) and fix it.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]   (targets: fuzz_image fuzz_list fuzz_robots)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1800}
shift || true
if [ $# -gt 0 ]; then targets=("$@"); else targets=(fuzz_image fuzz_list fuzz_robots); fi
.ci/ensure-packages.sh clang libclang-rt-14-dev
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -DIMGPIPE_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" make_seeds
corpus=fuzz/.corpus  # grows as the fuzzers find inputs; gitignored
mkdir -p "$corpus/fuzz_image" "$corpus/fuzz_list" "$corpus/fuzz_robots"  # robots: no seeds yet
# lsan.supp: libx265's process-wide blocks (the HEIC seeds are encoded with it) and libheif's
# 40-byte dav1d leak on refused data, for make_seeds and the targets alike.
export LSAN_OPTIONS="suppressions=$PWD/tests/fixtures/lsan.supp"
"$build/fuzz/make_seeds" "$corpus/fuzz_image" "$corpus/fuzz_list"
pids=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/crashes/$t"
  # -timeout=25: --codec stb has no pre-shrink, and stb_image_resize on a megapixel takes ~2 s
  # under ASan: slow by design, not a hang.
  # -rss_limit_mb: imgpipe's own bound is 100 MP × 4 B plus the thumbnails; the fuzz targets use
  # --max-pixels 1M, so anything near 1 GB is a leak or a bomb getting through.
  "$build/fuzz/$t" "$corpus/$t" "fuzz/regressions/$t" -max_total_time="$seconds" \
    -rss_limit_mb=1024 -timeout=25 -artifact_prefix="fuzz/crashes/$t/" -print_final_stats=1 \
    >"fuzz/crashes/$t.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    echo "${targets[$i]}: no crash in ${seconds}s ($(grep -E '^stat::number_of_executed_units' "fuzz/crashes/${targets[$i]}.log" | awk '{print $2}') runs)"
  else
    echo "${targets[$i]}: FOUND A CRASH — see fuzz/crashes/${targets[$i]}/ and fuzz/crashes/${targets[$i]}.log"
    status=1
  fi
done
exit $status
