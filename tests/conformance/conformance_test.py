#!/usr/bin/python3
"""Conformance: imgpipe's thumbnails of ~900 public test images against libvips's and Pillow's.

For every image in the conformance folder (../shared/conformance, see its README) this makes three
256-px PNG thumbnails: imgpipe's (one run over all files, as local paths), libvips's (`vips
thumbnail`, autorotated, exported as sRGB) and Pillow's (EXIF transpose, ICC profile converted to
sRGB, LANCZOS). Then it judges imgpipe only where the two references agree with each other:

  - decoding: a file both references decode, imgpipe must decode; a PngSuite `x*` file
    (deliberately corrupt) imgpipe must refuse;
  - pixels: where the references' thumbnails agree (PSNR >= 30 dB flattened onto white and onto
    black), imgpipe's must be within 30 dB of them too, on both backgrounds.

Files where vips and Pillow disagree are listed but not judged: nobody knows the right answer.

known_disagreements.txt (beside this file) lists the disagreements not fixed yet, each with its
reason: a ratchet. Exit 1 on a disagreement not listed there, and on a listed file that no longer
disagrees (take it off the list); 0 otherwise; 77 (ctest's SKIP) when the conformance folder is
absent.

Usage: conformance_test.py IMGPIPE_BINARY CONFORMANCE_DIR WORK_DIR [--keep]
"""
import concurrent.futures
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image, ImageCms, ImageOps

BOX = 256
MIN_PSNR_DB = 30.0
SKIP_SUFFIXES = {".md", ".txt", ".icc", ".scan", ".license", ".readme", ""}  # notes, profiles


def images(root):
    """Every image file under root, sorted (the list's line order)."""
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.splitext(name)[1].lower() in SKIP_SUFFIXES or name.startswith("LICENSE"):
                continue
            found.append(path)
    return sorted(found)


def pillow_thumbnail(path):
    """Pillow's thumbnail as RGBA, or None if Pillow cannot decode the file."""
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            profile = im.info.get("icc_profile")
            if profile and im.mode in ("RGB", "RGBA", "CMYK", "L", "LA"):
                src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
                srgb = ImageCms.createProfile("sRGB")
                mode = "RGBA" if im.mode in ("RGBA", "LA") else "RGB"
                im = ImageCms.profileToProfile(im, src, srgb, outputMode=mode)
            im = im.convert("RGBA")
            im.thumbnail((BOX, BOX), Image.LANCZOS)
            return np.asarray(im, dtype=np.float64)
    except Exception:  # any failure to decode is "Pillow refuses it"
        return None


def vips_thumbnail(path, out_png):
    """libvips's thumbnail as RGBA, or None if vips cannot decode the file."""
    # --height: fit the box, not just its width; --size down: never enlarge (imgpipe's default).
    base = ["vips", "thumbnail", path, out_png, str(BOX), "--height", str(BOX), "--size", "down"]
    # --import-profile: an untagged image is sRGB (without it vips 8.14 turns pure blue into
    # (85, 15, 253) on the way to --export-profile); a tagged one is converted from its own.
    # Gray images refuse an RGB import profile: they are tried again without the profiles.
    for extra in (["--import-profile", "srgb", "--export-profile", "srgb"], []):
        try:
            subprocess.run(base + extra, check=True, capture_output=True, timeout=60)
            with Image.open(out_png) as im:
                return np.asarray(im.convert("RGBA"), dtype=np.float64)
        except Exception:
            continue
    return None


def flatten(rgba, background):
    alpha = rgba[..., 3:4] / 255.0
    return rgba[..., :3] * alpha + background * (1 - alpha)


def resized(rgba, shape):
    """rgba resampled to `shape` (h, w): tools round thumbnail sides differently by a pixel."""
    if rgba.shape[:2] == shape:
        return rgba
    im = Image.fromarray(np.clip(rgba, 0, 255).astype(np.uint8), "RGBA")
    return np.asarray(im.resize((shape[1], shape[0]), Image.LANCZOS), dtype=np.float64)


def psnr(a, b):
    """The lower PSNR of a and b flattened onto white and onto black, in dB."""
    b = resized(b, a.shape[:2])
    worst = float("inf")
    for background in (255.0, 0.0):
        mse = np.mean((flatten(a, background) - flatten(b, background)) ** 2)
        worst = min(worst, float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse))
    return worst


def sizes_close(a, b):
    return a is not None and b is not None and all(abs(x - y) <= 1 for x, y in zip(a.shape, b.shape))


def references(paths, work):
    """(vips, pillow) thumbnails per path, computed on every core."""
    os.makedirs(os.path.join(work, "vips"), exist_ok=True)

    def both(i_path):
        i, path = i_path
        return vips_thumbnail(path, os.path.join(work, "vips", f"{i}.png")), pillow_thumbnail(path)

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(both, enumerate(paths)))


def run_imgpipe(binary, paths, work):
    """imgpipe's manifest rows by line (1-based, the paths' order) and its output folder."""
    listing = os.path.join(work, "list.txt")
    with open(listing, "w") as f:
        f.writelines(p + "\n" for p in paths)
    out = os.path.join(work, "imgpipe")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [binary, "-i", listing, "-o", out, "-s", str(BOX), "-f", "png", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode not in (0, 1):
        sys.exit(f"conformance: imgpipe exited {proc.returncode}: {proc.stderr}")
    rows = {}
    with open(os.path.join(out, "manifest.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            rows[row["line"]] = row
    return rows, out


def judge(path, row, out, vips, pil):
    """A disagreement with the references, in words, or None; and whether the file was judged."""
    name = os.path.basename(path)
    ok = row is not None and row["status"] == "ok"
    if os.path.dirname(path).endswith("pngsuite") and name.startswith("x"):
        return (None if not ok else "decoded a deliberately corrupt PngSuite file"), True
    if vips is None or pil is None:
        return None, False  # at most one reference decodes it: no agreed answer
    if not ok:
        status = row["status"] if row else "no row"
        return f"both references decode it, imgpipe: {status} {row.get('error', '') if row else ''}", True
    if not sizes_close(vips, pil) or psnr(vips, pil) < MIN_PSNR_DB:
        return None, False  # the references disagree on the pixels
    with Image.open(os.path.join(out, row["output"])) as im:
        ours = np.asarray(im.convert("RGBA"), dtype=np.float64)
    if not sizes_close(ours, vips):
        return f"size {ours.shape[1]}x{ours.shape[0]}, vips {vips.shape[1]}x{vips.shape[0]}", True
    worst = min(psnr(ours, vips), psnr(ours, pil))
    if worst < MIN_PSNR_DB:
        return f"PSNR {worst:.1f} dB against the references (vips vs Pillow: {psnr(vips, pil):.1f})", True
    return None, True


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    binary, root, work = sys.argv[1:4]
    if not os.path.isdir(root):
        print(f"conformance: SKIPPED: no conformance images at {root} (see the test's docstring)")
        return 77
    os.makedirs(work, exist_ok=True)
    paths = images(root)
    refs = references(paths, work)
    rows, out = run_imgpipe(binary, paths, work)
    known = known_disagreements()
    judged, problems, listed = 0, [], []
    for line, (path, (vips, pil)) in enumerate(zip(paths, refs), start=1):
        problem, counted = judge(path, rows.get(line), out, vips, pil)
        judged += counted
        name = os.path.relpath(path, root)
        if problem:
            (listed if name in known else problems).append(f"{name}: {problem}")
    fixed = sorted(set(known) - {p.split(": ")[0] for p in listed})
    unjudged = len(paths) - judged
    print(f"conformance: {len(paths)} files, {judged} judged, {unjudged} where vips and Pillow "
          f"disagree or neither decodes; {len(problems) + len(listed)} disagreements with "
          f"imgpipe, {len(listed)} of them known")
    for p in problems:
        print("  NEW " + p)
    for name in fixed:
        print(f"  FIXED {name}: agrees now; take it off known_disagreements.txt")
    for p in listed:
        print(f"  known {p} ({known[p.split(': ')[0]]})")
    failed = bool(problems or fixed)
    if "--keep" not in sys.argv and not failed:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def known_disagreements():
    """{relative path: reason} from known_disagreements.txt: `path  # reason` lines."""
    known = {}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "known_disagreements.txt")) as f:
        for line in f:
            path, _, reason = line.partition("#")
            if path.strip():
                known[path.strip()] = reason.strip()
    return known


if __name__ == "__main__":
    sys.exit(main())
