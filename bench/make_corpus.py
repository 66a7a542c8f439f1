#!/usr/bin/python3
"""Builds the benchmark corpus: web-sized JPEG/PNG/WebP crops of Debian's wallpaper photos.

Usage: make_corpus.py OUTDIR COUNT SEED SOURCE...

Every output image gets its own random.Random seeded from (SEED, index), so the corpus is the same
bytes whatever the number of worker processes and whatever order they finish in.
"""
import os
import random
import sys
from multiprocessing import Pool

from PIL import Image, ImageDraw, features

# Mix asked for by the issue: ~70% JPEG, ~20% PNG, ~10% WebP.
JPEG_SHARE, PNG_SHARE = 0.70, 0.20
LONG_EDGE_MIN, LONG_EDGE_MAX = 300, 1600


def plan(count, seed, sources):
    """Decides, up front and in one RNG stream, which source each image comes from."""
    rng = random.Random(seed)
    jobs = {}
    for i in range(1, count + 1):
        jobs.setdefault(rng.randrange(len(sources)), []).append(i)
    return [(sources[s], idxs) for s, idxs in sorted(jobs.items())]


def make_one(src, i, seed, outdir):
    rng = random.Random(seed * 1_000_003 + i)
    w, h = src.size
    # A crop between 25% and 100% of the source's short side, aspect between 1:2 and 2:1, like
    # the mix of portrait/landscape/square photos a real list has.
    aspect = rng.uniform(0.5, 2.0)
    side = rng.uniform(0.25, 1.0) * min(w, h)
    cw, ch = (side * aspect, side) if aspect >= 1 else (side, side / aspect)
    cw, ch = int(min(cw, w)), int(min(ch, h))
    x, y = rng.randrange(0, w - cw + 1), rng.randrange(0, h - ch + 1)
    img = src.crop((x, y, x + cw, y + ch))
    long_edge = rng.randint(LONG_EDGE_MIN, LONG_EDGE_MAX)
    scale = long_edge / max(cw, ch)
    size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
    # reducing_gap keeps the big downscales fast without visible quality loss.
    img = img.resize(size, Image.LANCZOS, reducing_gap=3.0 if scale < 0.5 else None)

    r = rng.random()
    if r < JPEG_SHARE:
        path = os.path.join(outdir, f"img{i:05d}.jpg")
        if rng.random() < 0.05:  # a few grayscale photos
            img = img.convert("L")
        img.save(path, "JPEG", quality=rng.randint(75, 92), progressive=rng.random() < 0.25,
                 optimize=False)
    elif r < JPEG_SHARE + PNG_SHARE:
        path = os.path.join(outdir, f"img{i:05d}.png")
        if rng.random() < 0.35:  # some with alpha: a soft-edged cut-out, like a product shot
            mask = Image.new("L", img.size, 0)
            d = ImageDraw.Draw(mask)
            mx, my = img.size[0] // rng.randint(6, 12), img.size[1] // rng.randint(6, 12)
            d.rounded_rectangle((mx, my, img.size[0] - mx, img.size[1] - my),
                                radius=min(img.size) // 5, fill=255)
            img = img.convert("RGBA")
            img.putalpha(mask)
        img.save(path, "PNG", compress_level=6)
    else:
        path = os.path.join(outdir, f"img{i:05d}.webp")
        img.save(path, "WEBP", quality=rng.randint(75, 90), method=4)
    return path


def work(args):
    src_path, idxs, seed, outdir = args
    with Image.open(src_path) as im:
        src = im.convert("RGB")  # wallpapers with alpha/palette become plain photos first
    return [make_one(src, i, seed, outdir) for i in idxs]


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    outdir, count, seed, sources = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    if not features.check("webp"):
        sys.exit("make_corpus: this Pillow has no WebP support (need Debian's python3-pil)")
    os.makedirs(outdir, exist_ok=True)
    jobs = [(src, idxs, seed, outdir) for src, idxs in plan(count, seed, sources)]
    # Largest groups first so the last process to finish isn't stuck with a big one.
    jobs.sort(key=lambda j: -len(j[1]))
    with Pool(os.cpu_count()) as pool:
        paths = [p for group in pool.imap_unordered(work, jobs) for p in group]
    paths.sort()
    print(f"make_corpus: {len(paths)} images in {outdir}")


if __name__ == "__main__":
    main()
