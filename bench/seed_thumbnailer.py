#!/usr/bin/python3
"""The "seed" approach imgpipe competes with: urllib downloads on 16 threads, Pillow resizes in a
process pool (one per core). Usage: seed_thumbnailer.py URLS OUTDIR [SIZE]

Written the way a competent Python user would, not a straw man: downloads go into memory and each
body is handed to the pool as soon as it arrives, so downloading and resizing overlap. urllib
opens a new connection per request (no keep-alive); that is the stdlib's behaviour, left as is.
Output: OUTDIR/NNNNNNNN.jpg named by 1-based line number, JPEG quality 85 (imgpipe's default).
"""
import io
import os
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from multiprocessing import Pool

from PIL import Image

DOWNLOAD_THREADS = 16  # same connection budget as imgpipe's --per-host 16 and the other tools
QUALITY = 85


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def thumbnail(args):
    """Runs in a pool process. Returns None on success, else the error text."""
    body, out_path, size = args
    try:
        with Image.open(io.BytesIO(body)) as img:
            # draft() makes libjpeg decode at 1/2, 1/4 or 1/8 scale straight away; asking for
            # 2x the target keeps enough pixels for a clean downscale.
            if img.format == "JPEG":
                img.draft("RGB", (size * 2, size * 2))
            img.thumbnail((size, size))
            if img.mode in ("RGBA", "LA", "P"):
                img = img.convert("RGBA")
                flat = Image.new("RGB", img.size, (255, 255, 255))  # flatten onto white
                flat.paste(img, mask=img.getchannel("A"))
                img = flat
            elif img.mode != "RGB" and img.mode != "L":
                img = img.convert("RGB")
            tmp = out_path + ".tmp"
            img.save(tmp, "JPEG", quality=QUALITY)
            os.replace(tmp, out_path)
        return None
    except Exception as e:  # one bad image must not stop the batch
        return f"{out_path}: {e}"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    urls_path, outdir = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    os.makedirs(outdir, exist_ok=True)
    with open(urls_path) as f:
        urls = [(n, u.strip()) for n, u in enumerate(f, 1) if u.strip() and not u.startswith("#")]

    failed = 0
    with Pool(os.cpu_count()) as pool, ThreadPoolExecutor(DOWNLOAD_THREADS) as dl:
        futures = {dl.submit(fetch, u): n for n, u in urls}
        pending = []
        for fut in as_completed(futures):
            n = futures[fut]
            try:
                body = fut.result()
            except Exception as e:
                print(f"line {n}: download failed: {e}", file=sys.stderr)
                failed += 1
                continue
            out = os.path.join(outdir, f"{n:08d}.jpg")
            pending.append(pool.apply_async(thumbnail, ((body, out, size),)))
        for p in pending:
            err = p.get()
            if err:
                print(err, file=sys.stderr)
                failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
