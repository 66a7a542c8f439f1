#!/usr/bin/python3
"""Reads an imgpipe --trace file (Chrome trace JSON) of a WAN run and summarises its timeline.

Usage: trace_timeline.py TRACE.json HEAVIEST_HOST [BUCKET_S=1.0]  ->  JSON on stdout:
  buckets: per BUCKET_S of the run, the downloads in flight (time-averaged), how many of them were
           to the heaviest host, and the processing threads busy (hash, decode, resize, encode,
           write; time-averaged)
  tail_s:  how long the run went on after the last download to any other host ended: the time
           the heaviest host's queue alone kept the run going
  heaviest_done: fraction of the heaviest host's transfers finished at 25%, 50%, 75% of the run
"""
import json
import sys


def main():
    path, heavy = sys.argv[1], sys.argv[2]
    bucket = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    with open(path) as f:
        doc = json.load(f)
    ev = doc["traceEvents"] if isinstance(doc, dict) else doc
    spans = [e for e in ev if e.get("ph") == "X"]
    dl = [e for e in spans if e["name"] == "download"]
    proc = [e for e in spans if e["name"] != "download"]
    if not dl:
        print("{}")
        return
    t0 = min(e["ts"] for e in spans)
    end = max(e["ts"] + e["dur"] for e in spans)

    def host(e):
        return e.get("args", {}).get("url", "").split("/")[2].split(":")[0]

    def overlap(events, lo, hi):
        return sum(min(e["ts"] + e["dur"], hi) - max(e["ts"], lo)
                   for e in events if e["ts"] < hi and e["ts"] + e["dur"] > lo)

    heavy_dl = [e for e in dl if host(e) == heavy]
    other_dl = [e for e in dl if host(e) != heavy]
    width = bucket * 1e6
    buckets = []
    b = 0
    while t0 + b * width < end:
        lo, hi = t0 + b * width, t0 + (b + 1) * width
        buckets.append({
            "t": round(b * bucket, 2),
            "in_flight": round(overlap(dl, lo, hi) / width, 1),
            "heaviest_in_flight": round(overlap(heavy_dl, lo, hi) / width, 1),
            "processing_busy": round(overlap(proc, lo, hi) / width, 2),
            "started": sum(1 for e in dl if lo <= e["ts"] < hi),
        })
        b += 1
    last_other = max((e["ts"] + e["dur"] for e in other_dl), default=t0)
    run = end - t0
    done = sorted(e["ts"] + e["dur"] - t0 for e in heavy_dl)
    out = {
        "run_s": round(run / 1e6, 2),
        "downloads": len(dl),
        "heaviest_host": heavy,
        "heaviest_transfers": len(heavy_dl),
        "tail_s": round((end - last_other) / 1e6, 2),
        "heaviest_done": {f"{q}%": round(sum(d <= run * q / 100 for d in done) / max(1, len(done)), 2)
                          for q in (25, 50, 75)},
        "buckets": buckets,
    }
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
