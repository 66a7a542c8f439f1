#!/usr/bin/python3
"""Turns the raw data bench/run.sh collected into bench/RESULTS.md and prints the table.
Usage: report.py RAW_DIR RESULTS_MD
"""
import csv
import glob
import json
import os
import re
import statistics
import sys

TOOLS = ["imgpipe", "aria2c+vipsthumbnail", "curl+mogrify", "python-seed"]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def load(raw):
    with open(os.path.join(raw, "runs.tsv")) as f:
        runs = list(csv.DictReader(f, delimiter="\t"))
    for r in runs:
        for k in ("wall_s", "cpu_s", "server_cpu_s"):
            r[k] = float(r[k]) if r.get(k) else float("nan")
        for k in ("maxrss_kb", "thumbs_ok", "thumbs_bad", "inputs", "exit"):
            r[k] = int(r[k]) if r[k] else 0
    meta = {}
    with open(os.path.join(raw, "meta.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    with open(os.path.join(raw, "scripts.txt")) as f:
        scripts = f.read()
    return runs, meta, scripts


def load_floor(raw):
    """Median over passes of total and per-format decode seconds."""
    passes = []
    for path in sorted(glob.glob(os.path.join(raw, "floor.*.txt"))):
        per = {}
        with open(path) as f:
            for line in f:
                m = re.match(r"^(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", line.strip())
                if m and m.group(1) != "format":
                    per[m.group(1)] = (int(m.group(2)), int(m.group(3)), float(m.group(4)))
        if "total" in per:
            passes.append(per)
    if not passes:
        return None
    fmts = sorted({k for p in passes for k in p})
    return {k: (passes[0][k][0], passes[0][k][1], med([p[k][2] for p in passes if k in p]))
            for k in fmts}


def load_profile(raw):
    """perf report --sort dso,sym lines → [(percent, dso, symbol)], or [] if perf did not run."""
    path = os.path.join(raw, "perf.txt")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*?)\s*$", line)
            if m:
                rows.append((float(m.group(1)), m.group(2), m.group(3)))
    return rows


RESIZE_SYMBOLS = re.compile(r"box|BoxShrinker|add_row|sum_k_columns|divide_sums|pick_every|emit|"
                            r"lanczos|transpose|add_weighted|to_floats|to_bytes|make_axis|"
                            r"filter_rows|flatten|stbir")
DECODE_CATEGORIES = ("JPEG (libjpeg-turbo: decode, and the thumbnails' encode)",
                     "PNG decode (libdeflate + imgpipe's unfiltering, or lodepng; libspng + zlib)",
                     "WebP decode (libwebp)")
# imgpipe's own PNG code (image/png_stored.cc) is decoding, not overhead.
PNG_SYMBOLS = re.compile(r"paeth_row|unfilter|decode_stored_png")


def category(dso, sym):
    if dso.startswith(("libturbojpeg", "libjpeg")):
        return DECODE_CATEGORIES[0]
    if dso.startswith(("liblodepng", "libdeflate", "libspng", "libz.")):
        return DECODE_CATEGORIES[1]
    if dso.startswith(("libwebp", "libsharpyuv")):
        return DECODE_CATEGORIES[2]
    if dso.startswith("imgpipe"):
        if PNG_SYMBOLS.search(sym):
            return DECODE_CATEGORIES[1]
        if RESIZE_SYMBOLS.search(sym):
            return "resize (alpha flattening, box pre-shrink, Lanczos)"
        return "imgpipe, other"
    if dso.startswith("libcrypto"):
        return "sha256 (OpenSSL)"
    if dso == "[kernel.kallsyms]":
        return "kernel (file reads, file creation and writes, page faults)"
    if dso.startswith("libc.so"):
        return "libc (memcpy, memset, malloc)"
    return "other (TBB, libstdc++, libexif, …)"


def load_codec_bench(raw):
    """Median rows of Google Benchmark's JSON: name → counters."""
    path = os.path.join(raw, "codec_bench.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return {b["run_name"].removeprefix("thumbnail/"): b for b in data.get("benchmarks", [])
            if b.get("aggregate_name") == "median"}


def summarise(runs, tool, origin, lst="1x"):
    rs = [r for r in runs if r["tool"] == tool and r["origin"] == origin and r["list"] == lst]
    if not rs:
        return None
    return {
        "wall": med([r["wall_s"] for r in rs]),
        "wall_min": min(r["wall_s"] for r in rs),
        "wall_max": max(r["wall_s"] for r in rs),
        "cpu": med([r["cpu_s"] for r in rs]),
        "server_cpu": med([r["server_cpu_s"] for r in rs]),
        "rss": med([r["maxrss_kb"] for r in rs]) / 1024,
        "ok_min": min(r["thumbs_ok"] for r in rs),
        "ok_max": max(r["thumbs_ok"] for r in rs),
        "bad": max(r["thumbs_bad"] for r in rs),
        "inputs": rs[0]["inputs"],
        "exits": sorted({r["exit"] for r in rs}),
        "n": len(rs),
    }


def profile_section(profile, proc):
    md = ["## Where imgpipe's CPU goes\n"]
    if not profile or not proc:
        md.append("No profile (perf did not run; see bench/run.sh step 7b).\n")
        return md
    total = sum(p for p, _, _ in profile)
    by = {}
    for p, dso, sym in profile:
        by[category(dso, sym)] = by.get(category(dso, sym), 0.0) + p / total
    md.append("`perf record -e cpu-clock` of one processing-only run (the corpus as local files), "
              f"samples grouped by library; CPU s = share × that run's median CPU ({proc['cpu']:.2f} "
              "s). Raw: `bench/.cache/raw/perf.txt`.\n")
    md.append("| where | share | CPU s |")
    md.append("|---|---|---|")
    for name, share in sorted(by.items(), key=lambda kv: -kv[1]):
        md.append(f"| {name} | {100 * share:.1f}% | {share * proc['cpu']:.2f} |")
    md.append("")
    decode = sum(by.get(c, 0.0) for c in DECODE_CATEGORIES) * proc["cpu"]
    rest = proc["cpu"] - decode
    md.append(f"The codecs take {decode:.2f} s (the libraries, and imgpipe's own PNG unfiltering; "
              f"JPEG's share includes encoding the thumbnails); everything else — resize, hashing, "
              f"file I/O, memory, scheduling — {rest:.2f} s.")
    md.append("The budget below adds the download, the server and the scheduling of a full run.")
    top = sorted(((p / total, sym) for p, dso, sym in profile if dso.startswith("imgpipe")),
                 reverse=True)[:6]
    if top:
        md.append("imgpipe's own hottest functions: " +
                  ", ".join(f"`{s}` {100 * p:.1f}%" for p, s in top) + ".")
    md.append("")
    return md


def codec_section(bench):
    md = ["## Per-image cost by codec path (Google Benchmark)\n"]
    if not bench:
        md.append("codec_bench did not run (see bench/.cache/raw/codec_bench.err).\n")
        return md
    md.append("`build/codec_bench` on the corpus (IMGPIPE_BENCH_CORPUS; each iteration one real "
              "image of that format, round-robin; 256-px box; one core; median of 3 repetitions). "
              "*fast* = imgpipe's default codecs (shrink-on-load, box pre-shrink, `--resizer "
              "lanczos` or `stb`); *stb* = `--codec stb` (full-size decode, stb_image_resize and "
              "stb_image_write; JPEG and PNG still decoded by libjpeg-turbo and imgpipe's PNG "
              "path).\n")
    md.append("| path | ms per image (CPU) | decode ms | resize ms | encode ms |")
    md.append("|---|---|---|---|---|")
    for name, b in sorted(bench.items()):
        if name.startswith("corpus_pass"):
            continue  # budget_section's
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}.get(b.get("time_unit", "ms"), 1.0)
        md.append(f"| {name.replace('_median', '')} | {b['cpu_time'] * scale:.2f} | "
                  f"{b.get('decode_ms', 0):.2f} | {b.get('resize_ms', 0):.2f} | "
                  f"{b.get('encode_ms', 0):.2f} |")
    md.append("")
    return md


def budget_section(bench, floor, fast, nproc):
    """Where the fast run's core-seconds go, against the floor: what the 1.3× target leaves."""
    md = ["## Budget: the fast run's CPU against the decode floor\n"]
    cp = next((b for name, b in bench.items() if name.startswith("corpus_pass")), None)
    if not (cp and floor and fast):
        md.append("Not available (needs codec_bench's corpus_pass, the floor and the fast runs).\n")
        return md
    fl = floor["total"][2]
    work = sum(cp[k] for k in ("hash_s", "decode_s", "resize_s", "encode_s"))
    server = fast["server_cpu"]
    total = fast["cpu"] + (server if server == server else 0)  # NaN: no server figure
    md.append("`build/codec_bench --benchmark_filter=corpus_pass` runs every corpus image through "
              "a default run's per-image work on one core (median of 3 passes); the rest comes "
              "from the fast-origin runs above (median CPU, and the nginx worker's CPU over the "
              "same runs, read from /proc).\n")
    md.append("| work | CPU s |")
    md.append("|---|---|")
    md.append(f"| decode floor (for comparison) | {fl:.2f} |")
    md.append(f"| imgpipe's decode (header, EXIF, shrink-on-load, PNG box pre-shrink) | "
              f"{cp['decode_s']:.2f} |")
    md.append(f"| sha256 of the downloaded bytes (manifest, --dedup) | {cp['hash_s']:.2f} |")
    md.append(f"| resize (alpha flattening for JPEG output, box pre-shrink, Lanczos) | {cp['resize_s']:.2f} |")
    md.append(f"| encode (JPEG q85) | {cp['encode_s']:.2f} |")
    md.append(f"| **per-image work, one core** | **{work:.2f}** |")
    md.append(f"| the rest of a full run: download thread, file writes, manifest, hand-offs "
              f"between threads (run CPU − the line above) | {fast['cpu'] - work:.2f} |")
    if server == server:
        md.append(f"| nginx serving the run, on the same cores | {server:.2f} |")
    md.append(f"| **all CPU of a fast run** | **{total:.2f}** |")
    md.append("")
    best = total / nproc
    allowed = 1.3 * fl
    beyond = total - cp["decode_s"]
    md.append(f"With every core busy the whole time, a run can take no less than {total:.2f} / "
              f"{nproc} = {best:.2f} s (measured: {fast['wall']:.2f} s). The 1.3 × floor/cores "
              f"target allows {allowed:.2f} core-seconds in all: with decoding at "
              f"{cp['decode_s']:.2f} s, everything else (hash, resize, encode, download, writes, "
              f"the server) would have to fit in {allowed - cp['decode_s']:.2f} s; it takes "
              f"{beyond:.2f} s, and the hash, resize and encode alone take "
              f"{cp['hash_s'] + cp['resize_s'] + cp['encode_s']:.2f} s.")
    md.append("")
    return md


def processing_concurrency(raw):
    """Median over the fast-origin imgpipe runs of the processing stages' effective concurrency."""
    values = []
    for path in glob.glob(os.path.join(raw, "imgpipe.fast.1x.*.metrics.json")):
        with open(path) as f:
            values.append(json.load(f).get("processing", {}).get("effective_concurrency", 0.0))
    return med(values) if values else None


def targets_section(raw, sums, proc, runs, floor, lower_bound, long_, short):
    md = ["## Targets (issue 3)\n", "| target | measured | met? |", "|---|---|---|"]

    def row(name, value, limit, text, lower_is_better=True):
        ok = value <= limit if lower_is_better else value >= limit
        miss = (f"no: {value / limit:.2f}× the limit" if lower_is_better
                else f"no: {value:.2f} < {limit}")
        md.append(f"| {name} | {text} | {'yes' if ok else miss} |")

    fast = sums.get(("imgpipe", "fast"))
    if fast and lower_bound:
        r = fast["wall"] / lower_bound
        row("fast origin: wall ≤ 1.3 × floor/cores", r, 1.3,
            f"{fast['wall']:.2f} / {lower_bound:.3f} = {r:.2f}×")
    others = [(sums[(t, "fast")]["wall"], t) for t in TOOLS[1:] if (t, "fast") in sums]
    if fast and others:
        best, tool = min(others)
        r = fast["wall"] / best
        row("fast origin: wall ≤ 0.40 × the fastest other tool", r, 0.40,
            f"{fast['wall']:.2f} / {best:.2f} ({tool}) = {r:.2f}×")
        if lower_bound and 0.40 * best < lower_bound:
            impossible = (f"0.40 × {best:.2f} s = {0.40 * best:.2f} s is below the decode floor / "
                          f"cores ({lower_bound:.3f} s): on this corpus and machine the target "
                          "asks for less time than decoding every image once, before any "
                          "download, resize, encode or write, so no thumbnailer can meet it.")
    slow = sums.get(("imgpipe", "slow"))
    dl = summarise(runs, "imgpipe-download-only", "slow")
    if slow and dl and proc:
        longer = max(dl["wall"], proc["wall"])
        r = slow["wall"] / longer
        row("slow origin: wall ≤ 1.15 × max(download only, processing only)", r, 1.15,
            f"{slow['wall']:.2f} / {longer:.2f} = {r:.2f}×")
    conc = processing_concurrency(raw)
    if conc is not None:
        row("processing effective concurrency ≥ 1.8 (fast origin)", conc, 1.8, f"{conc:.2f}",
            lower_is_better=False)
    if short:
        row("peak RSS ≤ 100 MB (1000 images)", short["rss"], 100, f"{short['rss']:.0f} MB")
    if short and long_:
        r = long_["rss"] / short["rss"]
        row("peak RSS on the 10× list ≤ +10%", r, 1.10,
            f"{long_['rss']:.0f} MB vs {short['rss']:.0f} MB = {r:.2f}×")
    md.append("")
    if fast and others and lower_bound and 0.40 * min(others)[0] < lower_bound:
        md.append(impossible)
        md.append("")
    return md


def main():
    raw, out_path = sys.argv[1], sys.argv[2]
    runs, meta, scripts = load(raw)
    floor = load_floor(raw)
    nproc = int(meta.get("nproc", "1"))
    floor_total = floor["total"][2] if floor else None
    lower_bound = floor_total / nproc if floor else None

    rows = []
    header = ("| tool | origin | median wall s (min–max) | median CPU s | median peak RSS MB¹ | thumbnails "
              "(of inputs) | exit | wall ÷ imgpipe | wall ÷ floor/cores |")
    rows.append(header)
    rows.append("|" + "---|" * 9)
    sums = {}
    for origin in ("fast", "slow"):
        base = summarise(runs, "imgpipe", origin)
        for tool in TOOLS:
            s = summarise(runs, tool, origin)
            if not s:
                continue
            sums[(tool, origin)] = s
            ok = str(s["ok_min"]) if s["ok_min"] == s["ok_max"] else f"{s['ok_min']}–{s['ok_max']}"
            if s["bad"]:
                ok += f" (+{s['bad']} broken)"
            ratio = f"{s['wall'] / base['wall']:.2f}×" if base and base["wall"] > 0 else "–"
            fl = f"{s['wall'] / lower_bound:.1f}×" if lower_bound else "–"
            spread = f" ({s['wall_min']:.1f}–{s['wall_max']:.1f})" if s["n"] > 1 else ""
            rows.append(f"| {tool} | {origin} | {s['wall']:.2f}{spread} | {s['cpu']:.2f} | {s['rss']:.0f} | "
                        f"{ok} / {s['inputs']} | {','.join(map(str, s['exits']))} | {ratio} | {fl} |")
    table = "\n".join(rows)

    # imgpipe's own account of what failed (from its --metrics-json), last fast and slow run.
    statuses = []
    for origin in ("fast", "slow"):
        files = sorted(glob.glob(os.path.join(raw, f"imgpipe.{origin}.1x.*.metrics.json")))
        if files:
            with open(files[-1]) as f:
                by = json.load(f).get("by_status", {})
            statuses.append(f"{origin}: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))

    long_ = summarise(runs, "imgpipe", "fast", "10x")
    short = sums.get(("imgpipe", "fast"))

    # Observations computed from the numbers, so they stay true whatever the run shows.
    notes = []
    for origin in ("fast", "slow"):
        base = sums.get(("imgpipe", origin))
        if not base:
            continue
        for tool in TOOLS[1:]:
            s = sums.get((tool, origin))
            if s and base["wall"] <= s["wall"] < 1.05 * base["wall"]:
                notes.append(f"- {tool} ties imgpipe on the {origin} origin ({s['wall']:.2f} s vs "
                             f"{base['wall']:.2f} s median wall, within 5%): there the run is "
                             "bound by the transfers, not by the tool.")
            if s and s["wall"] < base["wall"]:
                notes.append(f"- **{tool} beat imgpipe on the {origin} origin**: {s['wall']:.2f} s "
                             f"vs {base['wall']:.2f} s median wall ({base['wall'] / s['wall']:.2f}× "
                             f"faster), producing {s['ok_max']} thumbnails vs imgpipe's "
                             f"{base['ok_max']}.")
        for tool in TOOLS:
            s = sums.get((tool, origin))
            if s and s["ok_max"] < s["inputs"]:
                notes.append(f"- {tool} on {origin}: {s['inputs'] - s['ok_max']} of {s['inputs']} "
                             f"inputs gave no thumbnail.")
    fast_cpu, slow_cpu = sums.get(("imgpipe", "fast")), sums.get(("imgpipe", "slow"))
    if fast_cpu and slow_cpu and slow_cpu["cpu"] > 1.5 * fast_cpu["cpu"]:
        others = [t for t in TOOLS[1:] if (t, "slow") in sums and (t, "fast") in sums
                  and sums[(t, "slow")]["cpu"] <= 1.2 * sums[(t, "fast")]["cpu"]]
        notes.append(f"- **imgpipe spends more CPU when the origin is slow**: {slow_cpu['cpu']:.1f} s "
                     f"on the slow origin vs {fast_cpu['cpu']:.1f} s on the fast one for the same "
                     f"images" + (f", while {', '.join(others)} stay flat" if others else "")
                     + ". Waiting on slow transfers should cost no CPU; this points at a loop "
                     "that spins while transfers are in flight.")
    if statuses:
        text = ("- imgpipe's own outcome counts (--metrics-json `by_status`, last run): "
                + "; ".join(statuses) + ".")
        if "not_an_image" in text:
            text += (" `not_an_image` here means a format imgpipe's decoder does not read (the "
                     "stb_image codec has no WebP); every other tool thumbnails WebP.")
        notes.append(text)

    md = []
    md.append("# imgpipe benchmark results\n")
    md.append("Generated by `bench/run.sh` (do not edit by hand; re-run it). Raw per-run data: "
              "`bench/.cache/raw/`.\n")
    md.append("## Machine and versions\n")
    for k in ("date", "nproc", "cpu", "mem", "kernel", "imgpipe", "imgpipe_commit", "imgpipe_flags",
              "aria2c", "vips", "curl", "imagemagick", "python", "nginx", "turbojpeg"):
        md.append(f"- **{k}**: {meta.get(k, '') or '(none)'}")
    md.append("")
    md.append("## Setup\n")
    md.append(f"- Corpus: {meta.get('count')} images ({meta.get('corpus_mix').strip()}), "
              f"{meta.get('corpus_size')} in all, cut from Debian's wallpaper packages by "
              "`bench/make_corpus.sh` (fixed seed; long edge 300–1600 px).")
    md.append(f"- Origins: nginx on 127.0.0.1 — *fast* (loopback speed) and *slow* "
              f"(`limit_rate {meta.get('slow_rate')}` per connection, keep-alive).")
    md.append(f"- Every tool: {meta.get('conns')} transfers at once, 256 px box, JPEG quality 85, "
              f"all {nproc} cores. Repeats: {meta.get('repeats')} per tool and origin, tools "
              f"interleaved within each repeat; medians reported. Timeout {meta.get('timeout')} s "
              "per run.")
    md.append(f"- Whole benchmark (tool runs + 10× run + floor): {int(meta.get('elapsed_s', 0)) // 60} min "
              f"{int(meta.get('elapsed_s', 0)) % 60} s.")
    md.append("")
    md.append("## Results\n")
    md.append(table)
    md.append("")
    md.append("¹ `/usr/bin/time -v` reports the peak RSS of the **largest single process** in the "
              "tree, not the sum. For the multi-process tools (xargs running one vipsthumbnail or "
              "mogrify per core, Python's worker pool) the real total is roughly that figure times "
              "the number of processes alive at once; for imgpipe (one process) it is the total.")
    md.append("")
    md.append("CPU s = user + sys of the whole process tree (children included). The nginx "
              "server's CPU is not counted for any tool. Thumbnails = files in the output folder "
              "that fully decode (Pillow) with a long edge ≤ 256 px.")
    md.append("")
    if notes:
        md.append("### What stands out\n")
        md.extend(notes)
        md.append("")

    md.append("## Overlap: imgpipe against its own two halves\n")
    proc = summarise(runs, "imgpipe-process-only", "local")
    if proc:
        md.append("imgpipe run on the same list twice more: *download only* (`--max-pixels 1` "
                  "refuses every image from its header as soon as its bytes arrive, so the CPU "
                  "stages cost next to nothing) and *processing only* (the corpus as local "
                  "files). A perfect overlap of the two halves makes the full run as long as "
                  "the longer half: overlap ratio = full wall ÷ max(download only, processing "
                  "only); 1.00× is perfect.\n")
        md.append("| origin | full run s | download only s | processing only s | "
                  "full ÷ max(halves) |")
        md.append("|---|---|---|---|---|")
        for origin in ("fast", "slow"):
            full = sums.get(("imgpipe", origin))
            dl = summarise(runs, "imgpipe-download-only", origin)
            if full and dl:
                longer = max(dl["wall"], proc["wall"])
                md.append(f"| {origin} | {full['wall']:.2f} | {dl['wall']:.2f} | "
                          f"{proc['wall']:.2f} | **{full['wall'] / longer:.2f}×** |")
        md.append("")
    md.append("## Decode floor\n")
    if floor:
        md.append("`build-bench/decode_floor` decodes every corpus image once on one core: JPEG "
                  "with TurboJPEG at the smallest DCT scale whose long edge stays ≥ 512 px "
                  "(TJFLAG_FASTDCT), WebP with libwebp's scaled decode to a long edge ≥ 512, PNG "
                  "in full and unconverted: inflated by libdeflate, 8-bit gray/RGB/RGBA unfiltered "
                  "by imgpipe's own code (image/png_stored.cc), other layouts by lodepng. Files "
                  "are in memory before the clock starts. Median of "
                  f"{meta.get('repeats')} passes:\n")
        md.append("| format | images | decode s (1 core) | images/s |")
        md.append("|---|---|---|---|")
        for k in sorted(floor, key=lambda k: (k == "total", k)):  # total last
            n, failed, s = floor[k]
            fail = f" ({failed} failed)" if failed else ""
            md.append(f"| {k} | {n}{fail} | {s:.3f} | {n / s if s else 0:.0f} |")
        md.append("")
        md.append(f"Lower bound on wall time with {nproc} cores = floor / cores = "
                  f"{floor_total:.3f} / {nproc} = **{lower_bound:.3f} s** (decode only: no "
                  "download, resize, encode or write).")
        base = sums.get(("imgpipe", "fast"))
        if base:
            md.append(f"imgpipe's fast-origin median wall ÷ that bound = {base['wall']:.2f} / "
                      f"{lower_bound:.3f} = **{base['wall'] / lower_bound:.1f}×**.")
            sub = sum(floor[k][2] for k in ("jpeg", "png") if k in floor)
            if "webp" in floor and sub > 0 and any("not_an_image" in x for x in statuses):
                md.append(f"Counting only the formats imgpipe can decode (JPEG + PNG: "
                          f"{sub:.3f} s), the bound is {sub / nproc:.3f} s and the ratio "
                          f"{base['wall'] / (sub / nproc):.1f}×.")
    else:
        md.append("decode_floor did not run (see bench/.cache/raw/floor.*.txt).")
    md.append("")

    md.extend(profile_section(load_profile(raw), proc))
    bench = load_codec_bench(raw)
    md.extend(budget_section(bench, floor, sums.get(("imgpipe", "fast")), nproc))
    md.extend(codec_section(bench))
    md.extend(targets_section(raw, sums, proc, runs, floor, lower_bound, long_, short))
    md.append("## Memory on a 10× longer list\n")
    if long_ and short:
        md.append("imgpipe on the fast URL list repeated 10 times (one run):\n")
        md.append("| list | inputs | wall s | CPU s | peak RSS MB | thumbnails |")
        md.append("|---|---|---|---|---|---|")
        md.append(f"| 1× (median) | {short['inputs']} | {short['wall']:.2f} | {short['cpu']:.2f} | "
                  f"{short['rss']:.0f} | {short['ok_max']} |")
        md.append(f"| 10× | {long_['inputs']} | {long_['wall']:.2f} | {long_['cpu']:.2f} | "
                  f"{long_['rss']:.0f} | {long_['ok_max']} |")
        md.append("")
        md.append("(Each of the 10 copies of a URL is downloaded and thumbnailed again into its "
                  "own line-numbered file, so the 10× run does 10× the work; a bounded pipeline "
                  "keeps its peak RSS flat.)")
    else:
        md.append("Not run (LONG_LIST=0).")
    md.append("")

    md.append("## Caveats\n")
    md.append("- One noisy 2-core machine; server and tools share the cores, and other work "
              "(e.g. compiler jobs) may run at the same time: the min–max column shows how much "
              "a tool's wall time moved between repeats. Medians of few repeats: treat "
              "differences under ~10% as noise.")
    md.append("- nginx's `limit_rate` lets the first second's worth of bytes through at once "
              "(its budget is rate × (seconds elapsed + 1)), so on the slow origin files smaller "
              f"than ~{meta.get('slow_rate')} arrive at loopback speed and only the larger ones "
              "are throttled. There is no added latency: loopback RTT is microseconds, so "
              "connection reuse matters less here than across the internet.")
    md.append("- Downloads and thumbnails go to a tmpfs (/dev/shm) for every tool: on ext4, "
              "creating 1000 files right after the previous run deleted 1000 walks the "
              "recently deleted inodes and cost ~1 s of kernel CPU per run here, a cost of "
              "the benchmark's repetition, not of the tools.")
    md.append("- Python's urllib opens a new connection per request (no keep-alive); aria2c, curl "
              "and imgpipe reuse connections. On loopback that costs little.")
    md.append("- vipsthumbnail and mogrify run one process per core with their own threading "
              "turned off (VIPS_CONCURRENCY=1, MAGICK_THREAD_LIMIT=1), so every tool uses the "
              f"same {nproc} cores; they process files only after the whole download finishes "
              "(two phases), unlike imgpipe and the Python script, which overlap the two.")
    md.append("- `mogrify -define jpeg:size=512x512` and Pillow's `draft()` let libjpeg decode "
              "JPEGs at reduced scale, as `vipsthumbnail` does by itself (shrink-on-load).")
    md.append("")
    md.append("## Exact commands\n")
    md.append("Each tool's script runs as `/usr/bin/time -v timeout -k 10 TIMEOUT bash -c SCRIPT` "
              "with URLS (urls-fast.txt or urls-slow.txt), OUT and DL (empty scratch folders), "
              f"SIZE=256, CONNS={meta.get('conns')}, NPROC={nproc}, BATCH={meta.get('batch')} in "
              "the environment.\n")
    md.append("```sh\n" + scripts.strip() + "\n```")
    md.append("")
    md.append("Reproduce: `bench/run.sh` (env COUNT, REPEATS, TIMEOUT, IMGPIPE_FLAGS, SLOW_RATE).")

    with open(out_path, "w") as f:
        f.write("\n".join(md) + "\n")
    print(table)
    if floor:
        print(f"\ndecode floor {floor_total:.3f} s on 1 core; floor/cores {lower_bound:.3f} s")
        if ("imgpipe", "fast") in sums:
            w = sums[("imgpipe", "fast")]["wall"]
            print(f"imgpipe fast wall / (floor/cores) = {w:.2f} / {lower_bound:.3f} = "
                  f"{w / lower_bound:.1f}x")
    if long_ and short:
        print(f"imgpipe peak RSS: {short['rss']:.0f} MB (1x list) vs {long_['rss']:.0f} MB (10x list)")
    for n in notes:
        print(n)


if __name__ == "__main__":
    main()
