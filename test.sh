#!/usr/bin/env bash
# Quick-start command 2: set up if needed, build, and run every test (unit + end-to-end).
# Usage: ./test.sh [ctest args...], e.g. ./test.sh -R E2eTest
set -euo pipefail
cd "$(dirname "$0")"
.ci/setup.sh build
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
