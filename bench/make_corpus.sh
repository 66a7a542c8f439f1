#!/usr/bin/env bash
# Builds the benchmark corpus (default 1000 web-sized images cut from Debian's wallpaper photos)
# and the URL/path lists the benchmark feeds to every tool.
# Usage: bench/make_corpus.sh OUTDIR [COUNT]     (env SEED, default 20241124)
# Writes OUTDIR/img*.{jpg,png,webp}, OUTDIR/urls-fast.txt, OUTDIR/urls-slow.txt, OUTDIR/paths.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [COUNT]" >&2; exit 2; }
outdir=$1
count=${2:-1000}
seed=${SEED:-20241124}
# Must match bench/nginx.sh.
fast_port=${FAST_PORT:-18201}
slow_port=${SLOW_PORT:-18202}

# Debian's python3-pil, not whatever python3 is first on PATH (pyenv etc. may lack Pillow/WebP).
py=/usr/bin/python3
"$(dirname "$0")/../.ci/ensure-packages.sh" python3-pil plasma-workspace-wallpapers gnome-backgrounds

# One source per wallpaper variant: the largest raster file in each images/ or images_dark/ folder
# (KDE ships the same picture at several sizes), plus GNOME's raster backgrounds. SVGs and
# screenshot.png previews are not photos. Sorted so the seed always picks the same files.
mapfile -t sources < <(
  {
    for d in /usr/share/wallpapers/*/contents/images /usr/share/wallpapers/*/contents/images_dark; do
      [ -d "$d" ] || continue
      find "$d" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' \) \
        -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-
    done
    find /usr/share/backgrounds/gnome -maxdepth 1 -type f \
      \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' \)
  } | LC_ALL=C sort)
[ ${#sources[@]} -gt 0 ] || { echo "make_corpus: no wallpaper images found" >&2; exit 1; }
echo "make_corpus: $count images from ${#sources[@]} wallpapers, seed $seed"

rm -rf "$outdir"
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
"$py" "$here/make_corpus.py" "$outdir" "$count" "$seed" "${sources[@]}"

# Lists in index order. The index is interleaved over formats by the RNG, so any prefix of the
# list has the same mix as the whole.
(cd "$outdir" && find . -maxdepth 1 -name 'img*' -printf '%f\n' | LC_ALL=C sort) >"$outdir/.names"
sed "s|^|http://127.0.0.1:$fast_port/|" "$outdir/.names" >"$outdir/urls-fast.txt"
sed "s|^|http://127.0.0.1:$slow_port/|" "$outdir/.names" >"$outdir/urls-slow.txt"
sed "s|^|$outdir/|" "$outdir/.names" >"$outdir/paths.txt"
rm "$outdir/.names"

du -sh "$outdir" | cut -f1 | xargs echo "make_corpus: total size"
for ext in jpg png webp; do
  printf '  %-5s %4d files\n' "$ext" "$(grep -c "\.$ext\$" "$outdir/paths.txt" || true)"
done
