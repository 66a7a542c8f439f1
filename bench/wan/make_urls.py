#!/usr/bin/python3
"""The WAN-like benchmark's URL list: LINES URLs over HOSTS host names drawn from a Zipf law, with
a share of lines that cannot succeed. Deterministic for a given seed.

Usage: make_urls.py OUTDIR CORPUS_PATHS LINES HOSTS [--zipf 1.0] [--fail 0.10] [--seed N]
                    [--domain imgpipe.test] [--nx-names 30] [--refused-port 81]

Writes to OUTDIR:
  urls.txt     one URL a line, the list every tool gets
  lines.tsv    line, kind (ok | 404 | nxdomain | refused), host, url
  zone.tsv     the DNS server's zone: NAME<TAB>IPV4, one loopback address per host name
  summary.json counts for the report (lines per kind, distinct names, the heaviest host, ...)

Host hNNN (rank NNN) is drawn with probability ∝ 1/NNN^s, so h001 is the heaviest; it resolves to
its own address 127.10.x.y (all of 127/8 is on lo), so to every tool it is a distinct server.
A failing line is, in equal measure: a 404 (a path the origin does not have, on a real host),
an NXDOMAIN (a name nxNN.DOMAIN the DNS server does not know) or a refused connection (a real
host on REFUSED_PORT, where nothing listens). A good line is /imgNNNN-LLLLLL.ext: corpus file
imgNNNN.ext, LLLLLL the line number, so every URL and every natural file name is unique.
"""
import argparse
import bisect
import itertools
import json
import os
import random


def host_name(i, domain):
    return f"h{i:03d}.{domain}"


def host_addr(i):
    # 250 addresses per /24, never .0 or .255: 127.10.0.1 ... 127.10.0.250, 127.10.1.1 ...
    return f"127.10.{(i - 1) // 250}.{(i - 1) % 250 + 1}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("corpus_paths")
    ap.add_argument("lines", type=int)
    ap.add_argument("hosts", type=int)
    ap.add_argument("--zipf", type=float, default=1.0)
    ap.add_argument("--fail", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--domain", default="imgpipe.test")
    ap.add_argument("--nx-names", type=int, default=30)
    ap.add_argument("--refused-port", type=int, default=81)
    a = ap.parse_args()
    if not 1 <= a.hosts <= 250 * 250:
        ap.error("HOSTS must be 1..62500")

    with open(a.corpus_paths) as f:
        images = [os.path.basename(p.strip()) for p in f if p.strip()]
    rng = random.Random(a.seed)
    weights = [1.0 / (i ** a.zipf) for i in range(1, a.hosts + 1)]
    cum = list(itertools.accumulate(weights))

    def draw_host():
        return bisect.bisect_left(cum, rng.random() * cum[-1]) + 1

    os.makedirs(a.outdir, exist_ok=True)
    kinds = {"ok": 0, "404": 0, "nxdomain": 0, "refused": 0}
    http_per_host = {}  # lines that reach the origin on port 80 (ok and 404), per host
    all_per_host = {}
    names_in_list = set()
    rows = []
    for line in range(1, a.lines + 1):
        img = images[rng.randrange(len(images))]
        stem, ext = os.path.splitext(img)
        h = draw_host()
        name = host_name(h, a.domain)
        kind = "ok"
        if rng.random() < a.fail:
            kind = ("404", "nxdomain", "refused")[rng.randrange(3)]
        if kind == "ok":
            url = f"http://{name}/{stem}-{line:06d}{ext}"
        elif kind == "404":
            url = f"http://{name}/missing-{line:06d}{ext}"
        elif kind == "refused":
            url = f"http://{name}:{a.refused_port}/{stem}-{line:06d}{ext}"
        else:
            name = f"nx{rng.randrange(1, a.nx_names + 1):02d}.{a.domain}"
            url = f"http://{name}/{stem}-{line:06d}{ext}"
        kinds[kind] += 1
        names_in_list.add(name)
        if kind in ("ok", "404"):
            http_per_host[name] = http_per_host.get(name, 0) + 1
        all_per_host[name] = all_per_host.get(name, 0) + 1
        rows.append((line, kind, name, url))

    with open(os.path.join(a.outdir, "urls.txt"), "w") as f:
        f.writelines(r[3] + "\n" for r in rows)
    with open(os.path.join(a.outdir, "lines.tsv"), "w") as f:
        f.write("line\tkind\thost\turl\n")
        f.writelines("%d\t%s\t%s\t%s\n" % r for r in rows)
    with open(os.path.join(a.outdir, "zone.tsv"), "w") as f:
        for i in range(1, a.hosts + 1):
            f.write(f"{host_name(i, a.domain)}\t{host_addr(i)}\n")
    heaviest = max(http_per_host.items(), key=lambda kv: kv[1])
    top = sorted(http_per_host.values(), reverse=True)
    summary = {
        "lines": a.lines,
        "hosts": a.hosts,
        "zipf": a.zipf,
        "fail": a.fail,
        "seed": a.seed,
        "kinds": kinds,
        "http_lines": kinds["ok"] + kinds["404"],
        "names_in_list": len(names_in_list),
        "resolvable_names_in_list": sum(1 for n in names_in_list if not n.startswith("nx")),
        "nx_names_in_list": sum(1 for n in names_in_list if n.startswith("nx")),
        "heaviest_host": heaviest[0],
        "heaviest_host_http_lines": heaviest[1],
        "heaviest_host_lines": all_per_host[heaviest[0]],
        "top5_http_lines": top[:5],
        "hosts_with_one_line": sum(1 for v in all_per_host.values() if v == 1),
    }
    with open(os.path.join(a.outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
