#!/usr/bin/python3
"""Summarises an imgpipe manifest against the WAN list's line kinds (bench/wan.sh).

Usage: manifest_summary.py MANIFEST.jsonl LINES.tsv  ->  JSON on stdout:
  by_kind: for each kind of line (ok, 404, nxdomain, refused), imgpipe's statuses and errors
  attempts: total attempts, and lines that took more than one
  ok_rows: DNS, connect and first-byte times (ms) of the successful rows, and the share that
           reused a connection
"""
import json
import re
import statistics
import sys


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def main():
    kinds = {}
    with open(sys.argv[2]) as f:
        next(f)
        for line in f:
            n, kind = line.split("\t")[:2]
            kinds[int(n)] = kind
    by_kind, attempts, multi = {}, 0, 0
    dns, connect, first, reused = [], [], [], 0
    rows = 0
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            rows += 1
            kind = kinds.get(r["line"], "?")
            status = r["status"]
            err = re.sub(r"[0-9]+", "N", r.get("error", ""))[:80]
            k = by_kind.setdefault(kind, {})
            key = status + (": " + err if err and status != "ok" else "")
            k[key] = k.get(key, 0) + 1
            attempts += r.get("attempts", 0)
            multi += r.get("attempts", 0) > 1
            d = r.get("download_ms", {})
            if status == "ok":
                dns.append(d.get("dns", 0))
                connect.append(d.get("connect", 0))
                first.append(d.get("first_byte", 0))
                reused += bool(d.get("reused_connection"))
    out = {
        "rows": rows,
        "by_kind": by_kind,
        "attempts": attempts,
        "lines_retried": multi,
        "ok_rows": {
            "n": len(dns),
            "reused_connection": reused,
            "dns_ms_p50": pct(dns, 0.5), "dns_ms_p99": pct(dns, 0.99), "dns_ms_max": pct(dns, 1.0),
            "dns_ms_over_1ms": sum(1 for v in dns if v > 1),
            "connect_ms_p50": pct(connect, 0.5), "connect_ms_max": pct(connect, 1.0),
            "first_byte_ms_p50": pct(first, 0.5), "first_byte_ms_p99": pct(first, 0.99),
            "first_byte_ms_mean": round(statistics.mean(first), 1) if first else None,
        },
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
