#!/usr/bin/python3
"""Counts the thumbnails in a folder that really are thumbnails: image files that decode fully and
fit the box. Usage: count_thumbs.py DIR [SIZE=256]. Prints "OK BAD" (BAD = present but broken or
too big), so a tool can't score by leaving empty or truncated files behind.
"""
import os
import sys

from PIL import Image

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")


def main():
    folder = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    ok = bad = 0
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if not name.lower().endswith(IMAGE_EXTS):
            continue  # manifests, metrics, temp files
        try:
            with Image.open(os.path.join(folder, name)) as img:
                img.load()  # decode every pixel: a truncated file fails here
                # +1: tools round the short side differently; the long side must fit the box.
                if max(img.size) > size + 1 or min(img.size) < 1:
                    raise ValueError(f"size {img.size}")
            ok += 1
        except Exception:
            bad += 1
    print(ok, bad)


if __name__ == "__main__":
    main()
