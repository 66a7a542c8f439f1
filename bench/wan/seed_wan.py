#!/usr/bin/python3
"""bench/seed_thumbnailer.py (urllib threads + a Pillow process pool) at the WAN benchmark's
concurrency: the same script, with its download thread count and per-request timeout set from
the environment instead of its built-in 16 threads and 30 s. Nothing else changes.

Usage: seed_wan.py URLS OUTDIR [SIZE]   Env: CONCURRENCY (threads, 16), TIMEOUT_S (30)
"""
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import seed_thumbnailer as seed  # noqa: E402

seed.DOWNLOAD_THREADS = int(os.environ.get("CONCURRENCY", "16"))
_timeout = float(os.environ.get("TIMEOUT_S", "30"))


def fetch(url):
    with urllib.request.urlopen(url, timeout=_timeout) as r:
        return r.read()


seed.fetch = fetch

if __name__ == "__main__":
    seed.main()
