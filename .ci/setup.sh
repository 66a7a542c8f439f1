#!/usr/bin/env bash
# Installs imgpipe's Debian build dependencies if any are missing, then configures and builds.
# Usage: .ci/setup.sh [BUILD_DIR] [extra cmake args...]   (default BUILD_DIR: build)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake make pkg-config libcurl4-openssl-dev libtbb-dev libstb-dev libcli11-dev
          libcpp-httplib-dev nlohmann-json3-dev libgtest-dev libjpeg62-turbo-dev
          libturbojpeg0-dev libspng-dev liblodepng-dev libdeflate-dev libwebp-dev libexif-dev
          libbenchmark-dev libcsv-dev zlib1g-dev libssl-dev liblcms2-dev libgif-dev libheif-dev
          libtiff-dev libarchive-dev
          libvips-tools python3-numpy python3-pil  # vips, Pillow: the colour, resampling and
          # conformance tests' references
          python3-yaml  # docs_scale_test reads docs/SCALE.md's Kubernetes manifest
          nginx openssl  # tls_e2e_test's origin: TLS, HTTP/2, a self-signed certificate
          iproute2 util-linux  # dns_once_test: ip and unshare, for its network namespace
          dpkg-dev file  # cpack -G DEB: dpkg-shlibdeps for Depends; file, CPack's ELF finder
          groff-base man-db  # man_page_test's groff -ww, man --warnings and lexgrog; man -w
          chromium)  # report_e2e_test renders --report's page headless: screenshots, DOM, console
.ci/ensure-packages.sh "${packages[@]}"

build_dir="${1:-build}"
shift || true
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# Quiet on success, the whole log on failure.
if ! log=$(cmake --build "$build_dir" -j "$(nproc)" 2>&1); then
  echo "$log"
  exit 1
fi
echo "setup: built in $build_dir/"
