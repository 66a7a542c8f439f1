#!/usr/bin/python3
"""Writes bench/RESULTS-wan.md from the raw data of bench/wan.sh.

Usage: report.py RAW_DIR RESULTS_MD
"""
import json
import os
import statistics
import sys

TOOL_ORDER = ["imgpipe", "imgpipe-no-per-host", "aria2c+vipsthumbnail", "node-sharp", "python-seed"]


def read_kv(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    out[k] = v
    return out


def read_runs(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        rows = []
        for line in f:
            vals = line.rstrip("\n").split("\t")
            r = dict(zip(head, vals))
            for k in ("conc", "per_host", "repeat", "exit", "maxrss_kb", "tree_pss_kb",
                      "tree_rss_kb", "procs", "thumbs_ok", "thumbs_bad", "inputs", "expected_ok"):
                r[k] = int(r[k] or 0)
            for k in ("wall_s", "cpu_s", "server_cpu_s", "other_cpu_s"):
                r[k] = float(r.get(k) or 0)
            rows.append(r)
    return rows


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def dns_stats(raw, tag, summary):
    d = load_json(os.path.join(raw, tag + ".dns.json"))
    if not d:
        return None
    c = d["counts"]
    a = sum(v.get("A", 0) for v in c.values())
    aaaa = sum(v.get("AAAA", 0) for v in c.values())
    other = sum(n for v in c.values() for k, n in v.items() if k not in ("A", "AAAA"))
    nx_a = sum(v.get("A", 0) for k, v in c.items() if k.startswith("nx"))
    names = summary["names_in_list"]
    busiest = max(c.items(), key=lambda kv: sum(kv[1].values())) if c else ("-", {})
    return {
        "a": a, "aaaa": aaaa, "other": other, "names_queried": len(c), "nx_a": nx_a,
        "per_name": (a + aaaa + other) / names, "a_per_name": a / names,
        "aaaa_per_name": aaaa / names,
        "max_name": busiest[0], "max_name_n": sum(busiest[1].values()),
        "drops": d.get("kernel_drops"), "max_waiting": d.get("max_waiting"),
        "received": d.get("received"), "answered": d.get("answered"),
    }


def med(values):
    return statistics.median(values) if values else float("nan")


def fmt_mb(kb):
    return f"{kb / 1024:.0f}"


def main():
    raw, out_path = sys.argv[1], sys.argv[2]
    meta = read_kv(os.path.join(raw, "meta.txt"))
    summary = load_json(os.path.join(raw, "list", "summary.json"))
    runs = read_runs(os.path.join(raw, "runs.tsv"))
    settings = {}
    with open(os.path.join(raw, "settings.tsv")) as f:
        for line in f:
            name, lat, rate = line.rstrip("\n").split("\t")
            settings[name] = (int(lat), rate)
    with open(os.path.join(raw, "scripts.txt")) as f:
        scripts = f.read().rstrip()
    env = os.environ
    cores = int(meta.get("nproc", os.cpu_count()))
    conc = int(env.get("CONCURRENCY", 256))
    per_host = int(env.get("PER_HOST", 16))
    high_conc = int(env.get("HIGH_CONC", 0))
    new_conn = int(env.get("NEW_CONN_RTT", 1))
    dns_ms = env.get("DNS_DELAY_MS", "30")
    timeout = env.get("XFER_TIMEOUT", "30")
    repeats = int(env.get("REPEATS", 3))

    traced = [r for r in runs if r["tool"].endswith("-traced")]
    runs = [r for r in runs if not r["tool"].endswith("-traced")]
    for r in runs:
        r["dns"] = dns_stats(raw, r["tag"], summary)

    groups = {}
    for r in runs:
        groups.setdefault((r["setting"], r["conc"], r["tool"]), []).append(r)

    def agg(key):
        rs = groups[key]
        d = [r["dns"] for r in rs if r["dns"]]
        return {
            "n": len(rs),
            "wall": med([r["wall_s"] for r in rs]),
            "wall_min": min(r["wall_s"] for r in rs), "wall_max": max(r["wall_s"] for r in rs),
            "cpu": med([r["cpu_s"] for r in rs]),
            "rss": med([r["maxrss_kb"] for r in rs]),
            "pss": med([r["tree_pss_kb"] for r in rs]),
            "procs": max(r["procs"] for r in rs),
            "ok": med([r["thumbs_ok"] for r in rs]), "ok_min": min(r["thumbs_ok"] for r in rs),
            "bad": max(r["thumbs_bad"] for r in rs),
            "inputs": rs[0]["inputs"], "expected": rs[0]["expected_ok"],
            "exits": sorted({r["exit"] for r in rs}),
            "server": med([r["server_cpu_s"] for r in rs]),
            "other": med([r["other_cpu_s"] for r in rs]),
            "other_max": max(r["other_cpu_s"] for r in rs),
            "dns_per_name": med([x["per_name"] for x in d]) if d else None,
            "dns_a": med([x["a"] for x in d]) if d else None,
            "dns_aaaa": med([x["aaaa"] for x in d]) if d else None,
            "dns_nx_a": med([x["nx_a"] for x in d]) if d else None,
            "dns_max_name_n": med([x["max_name_n"] for x in d]) if d else None,
            "dns_drops": max((x["drops"] or 0) for x in d) if d else None,
            "dns_max_waiting": max((x["max_waiting"] or 0) for x in d) if d else None,
            "dns_names": med([x["names_queried"] for x in d]) if d else None,
        }

    tools = [t for t in TOOL_ORDER if any(k[2] == t for k in groups)]
    tools += sorted({k[2] for k in groups} - set(tools))
    L = []
    w = L.append
    w("# imgpipe WAN-like benchmark")
    w("")
    w("Generated by `bench/wan.sh` (do not edit by hand; re-run it). Raw per-run data: "
      "`bench/.cache/wan/raw/`.")
    w("")
    w("Command (as root):")
    w("")
    w("```sh")
    w(meta.get("command", "bench/wan.sh"))
    w("```")
    w("")
    w("## Machine and versions")
    w("")
    for k in ("date", "nproc", "cpu", "mem", "kernel", "bench_commit", "imgpipe_version",
              "imgpipe_source", "imgpipe_built", "imgpipe_tree", "imgpipe_max_concurrency",
              "aria2c", "vips", "node", "sharp", "undici", "python", "nginx", "libcurl", "corpus"):
        if k in meta:
            w(f"- **{k}**: {meta[k]}")
    w("")

    # ---- Setup ----------------------------------------------------------------------------------
    s = summary
    k = s["kinds"]
    w("## Setup")
    w("")
    w(f"- **Isolation**: the run happens in its own network, mount and PID namespaces "
      f"(`unshare --net --mount --pid --fork --mount-proc`): only `lo` exists, `/etc/resolv.conf` "
      f"(nameserver 127.53.0.1) and a minimal `/etc/hosts` are bind-mounted over the real ones, "
      f"scratch output is a private tmpfs, and every process it started ends with it.")
    w(f"- **List**: {s['lines']} URLs over {s['hosts']} host names `h001…h{s['hosts']:03d}.imgpipe.test`, "
      f"drawn from a Zipf law (exponent {s['zipf']}, seed {s['seed']}); "
      f"{s['resolvable_names_in_list']} of them occur, plus {s['nx_names_in_list']} names that do not "
      f"resolve: {s['names_in_list']} distinct names in all. Each name has its own address "
      f"127.10.x.y on `lo`, so every tool sees distinct servers. "
      f"The heaviest host ({s['heaviest_host']}) has {s['heaviest_host_http_lines']} of the lines "
      f"that reach the origin (top 5: {', '.join(map(str, s['top5_http_lines']))}); "
      f"{s['hosts_with_one_line']} names have a single line.")
    w(f"- **Lines that cannot succeed** ({s['fail']:.0%} drawn): {k['404']} × HTTP 404, "
      f"{k['nxdomain']} × NXDOMAIN, {k['refused']} × connection refused (port 81, no listener): "
      f"{s['lines'] - k['ok']} in all; **{k['ok']} lines can succeed** "
      f"({k['ok'] / s['lines']:.1%}). Images: bench/make_corpus.sh's corpus (each URL "
      f"`/imgNNNNN-LLLLLL.ext` is corpus file imgNNNNN.ext; LLLLLL = the line, so every URL is "
      f"distinct).")
    w(f"- **DNS**: bench/wan/dns_server.py (python3-dnslib, asyncio): every answer {dns_ms} ms late, "
      f"without holding up the queries behind it; A records only, AAAA and other types get an "
      f"empty NOERROR answer, unknown names NXDOMAIN; receive buffer 16 MB (SO_RCVBUFFORCE); it "
      f"counts queries per name and type, per run. `resolv.conf`: `options timeout:2 attempts:2`.")
    set_txt = "; ".join(f"*{n}*: first byte {lat} ms after the request, limit_rate {rate} per "
                        f"connection" for n, (lat, rate) in settings.items())
    w(f"- **Origin**: nginx {meta.get('nginx', '')}, one worker, `listen 80` on 0.0.0.0 "
      f"(answers on every 127.x.y.z), keep-alive. Each request waits (`echo_sleep`, a timer) and "
      f"is then served by a named location (`echo_exec`); "
      + ("a new connection's first request waits one latency more (standing in for the TCP "
         "handshake that loopback doesn't charge). " if new_conn else "")
      + f"{set_txt}.")
    w(f"- **Every tool**: the same list, {conc} transfers in flight, a 256-px box, JPEG q85, "
      f"a {timeout}-s timeout per transfer, both cores. Per-host limits: imgpipe `--per-host "
      f"{per_host}`, Node's undici Agent `connections: {per_host}` per origin; aria2c and the "
      f"Python script have no per-host limit (aria2c `-j` and the thread count are totals). "
      f"Retries as each tool does by default or as bench/run.sh has it: imgpipe `--retries 2` "
      f"(backoff 0.5 s, doubling; resets, timeouts and 5xx are retried; refused connections (without `--retry-connrefused`), 404 and NXDOMAIN are not), "
      f"aria2c `--max-tries=3 --retry-wait=1`, Node and Python none.")
    w(f"- **Repeats**: {repeats} per tool and setting, tools interleaved within each repeat (the "
      f"first tool rotating); medians reported. /usr/bin/time -v for wall, CPU (user+sys of the "
      f"whole process tree) and peak RSS.")
    w("")

    # ---- Results --------------------------------------------------------------------------------
    w("## Results")
    w("")
    w("Columns: *wall* median (min–max); *CPU* user+sys of the tool's whole process tree; "
      "*RSS* `/usr/bin/time -v`'s peak RSS, which is the **largest single process**; *tree PSS* "
      "the peak of the sum over the tool's processes (sampled every 0.2 s, shared pages counted "
      "once; the honest total for the multi-process tools); *thumbnails* that fully decode and "
      "fit the box, of all inputs and of the lines that can succeed; *DNS/name* = queries the DNS "
      "server saw (A + AAAA) ÷ distinct names in the list; *servers* = CPU of nginx and the DNS "
      "server during the run (on the same 2 cores, not in the tool's CPU); *other CPU* = the rest "
      "of the machine's busy CPU during the run, median (most): other people's work on this "
      "shared machine and the benchmark's own bookkeeping (~0.1 s per run); a large figure means "
      "that run had less than 2 cores.")
    w("")
    bounds = {}
    for setting, (lat, rate) in settings.items():
        key_i = (setting, conc, "imgpipe")
        w(f"### {setting} setting: {lat} ms to first byte, limit_rate {rate}, concurrency {conc}")
        w("")
        w("| tool | wall s (min–max) | CPU s | peak RSS MB | tree PSS MB | thumbnails / inputs | "
          "of possible | DNS/name (A, AAAA) | exit | servers CPU s | other CPU s | wall ÷ imgpipe |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|")
        base = agg(key_i)["wall"] if key_i in groups else None
        for t in tools:
            key = (setting, conc, t)
            if key not in groups:
                continue
            a = agg(key)
            dn = (f"{a['dns_per_name']:.2f} ({a['dns_a'] / s['names_in_list']:.2f}, "
                  f"{a['dns_aaaa'] / s['names_in_list']:.2f})" if a["dns_per_name"] is not None else "-")
            ratio = f"{a['wall'] / base:.2f}×" if base else "-"
            okp = a["ok"] / a["expected"] if a["expected"] else 0
            w(f"| {t} | {a['wall']:.2f} ({a['wall_min']:.1f}–{a['wall_max']:.1f}) | {a['cpu']:.2f} | "
              f"{fmt_mb(a['rss'])} | {fmt_mb(a['pss'])} | {a['ok']:.0f} / {a['inputs']} | "
              f"{a['ok']:.0f} / {a['expected']} ({okp:.1%}) | {dn} | "
              f"{','.join(map(str, a['exits']))} | {a['server']:.2f} | "
              f"{a['other']:.2f} (≤{a['other_max']:.1f}) | {ratio} |")
        w("")
        if key_i in groups:
            a = agg(key_i)
            http = s["http_lines"]
            t1 = http * lat / 1000 / conc
            t2 = s["heaviest_host_http_lines"] * lat / 1000 / per_host
            t3 = a["cpu"] / cores
            b = max(t1, t2, t3)
            bounds[setting] = (t1, t2, t3, b, a["wall"])
            which = {t1: "the transfers in flight", t2: "the heaviest host", t3: "imgpipe's CPU"}[b]
            rs_i = groups[key_i]
            avail = med([max(0.5, cores - r["other_cpu_s"] / r["wall_s"]) for r in rs_i if r["wall_s"] > 0])
            w(f"**Bound** for imgpipe = max(lines × latency ÷ concurrency, heaviest host's lines × "
              f"latency ÷ per-host limit, imgpipe's CPU s ÷ cores) = max({http} × {lat / 1000:g} ÷ "
              f"{conc}, {s['heaviest_host_http_lines']} × {lat / 1000:g} ÷ {per_host}, "
              f"{a['cpu']:.2f} ÷ {cores}) = max({t1:.2f}, {t2:.2f}, {t3:.2f}) = **{b:.2f} s** "
              f"({which}). imgpipe's median wall ÷ bound = {a['wall']:.2f} ÷ {b:.2f} = "
              f"**{a['wall'] / b:.2f}×**.")
            w("")
            if avail < cores - 0.1:
                b2 = max(t1, t2, a["cpu"] / avail)
                w(f"The machine was shared during imgpipe's runs (*other CPU s*): if all of that "
                  f"work took cores from the benchmark, only {avail:.2f} of {cores} cores were left "
                  f"(2 − other CPU s ÷ wall), the CPU term is {a['cpu']:.2f} ÷ {avail:.2f} and the "
                  f"bound {b2:.2f} s, so wall ÷ bound = {a['wall'] / b2:.2f}×. Other work also "
                  f"fills whatever cores a tool leaves idle, so the truth lies between "
                  f"{a['wall'] / b2:.2f}× and {a['wall'] / b:.2f}×; a quiet machine decides.")
                w("")
            if setting == "download" and b == t3 and t3 > 0:
                w(f"On this machine the *download* setting is **not** bound by the transfers: "
                  f"{conc} in flight at {lat} ms allow {conc / (lat / 1000):.0f} lines/s, while "
                  f"imgpipe's CPU ({a['cpu']:.2f} s for {a['ok']:.0f} thumbnails on {cores} cores) "
                  f"allows about {a['ok'] / t3:.0f}/s. The transfer term would exceed the CPU term "
                  f"only at concurrency ≤ {http * lat / 1000 / t3:.0f}, or latency ≥ "
                  f"{t3 * conc / http * 1000:.0f} ms.")
                w("")
            w(f"(Lines = the {http} that reach the origin: the {k['ok']} good ones and the "
              f"{k['404']} 404s; NXDOMAIN and refused lines never wait for a first byte. The "
              f"latency is the per-request first-byte delay; the extra round trip of each new "
              f"connection and the {dns_ms}-ms DNS answers are left out, so the bound is a little "
              f"loose, never too tight.)")
            w("")

    # ---- What stands out (computed) -------------------------------------------------------------
    notes = []
    for setting in settings:
        key_i = (setting, conc, "imgpipe")
        if key_i not in groups:
            continue
        ai = agg(key_i)
        others = [(t, agg((setting, conc, t))) for t in tools
                  if not t.startswith("imgpipe") and (setting, conc, t) in groups]
        if others:
            best = min(others, key=lambda ta: ta[1]["wall"])
            rel = ", ".join(f"{t} {a['wall'] / ai['wall']:.2f}×" for t, a in others)
            notes.append(f"- *{setting}*: imgpipe {ai['wall']:.2f} s; the others' wall ÷ "
                         f"imgpipe's: {rel}. Fastest other: {best[0]} ({best[1]['wall']:.2f} s).")
        for t in tools:
            key = (setting, conc, t)
            if key in groups:
                a = agg(key)
                if a["ok_min"] < a["expected"]:
                    notes.append(f"- *{setting}*: {t} made fewer thumbnails than possible "
                                 f"(median {a['ok']:.0f}, least {a['ok_min']} of {a['expected']}).")
                if a["dns_drops"]:
                    notes.append(f"- *{setting}*: the DNS socket dropped {a['dns_drops']} queries "
                                 f"during {t}'s runs: its lookups saw time-outs.")
    busy = [r for r in runs if r["other_cpu_s"] > 0.1 * r["wall_s"] * cores]
    if busy:
        notes.append(f"- {len(busy)} of {len(runs)} runs shared the machine with other work using "
                     f"more than 10% of its CPU during the run (most: {max(r['other_cpu_s'] for r in busy):.1f} "
                     f"CPU s in {max(busy, key=lambda r: r['other_cpu_s'])['tag']}); see *other CPU s*.")
    if notes:
        w("### What stands out")
        w("")
        L.extend(notes)
        w("")

    # ---- High concurrency -----------------------------------------------------------------------
    hi = [key for key in groups if key[1] != conc]
    if hi:
        hc = hi[0][1]
        lat, rate = settings.get(hi[0][0], (0, ""))
        asked = env.get("HIGH_CONCURRENCY", str(hc))
        hph = groups[hi[0]][0]["per_host"]
        w(f"## Memory at high concurrency: {hc} transfers in flight ({hi[0][0]} setting)")
        w("")
        note = "" if str(hc) == asked else (
            f" {asked} was asked for; this binary's `--concurrency` accepts at most "
            f"{meta.get('imgpipe_max_concurrency', hc)}, so every tool ran at {hc}.")
        w(f"One run per tool at concurrency {hc} (the tools in HIGH_TOOLS), per-host limit {hph} (imgpipe, Node), "
          f"{lat} ms to first byte.{note} Goal: imgpipe's peak RSS ≤ 400 MB.")
        w("")
        w("| tool | wall s | CPU s | peak RSS MB | tree PSS MB | processes | thumbnails / possible | "
          "DNS/name | exit | other CPU s |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for t in tools:
            key = (hi[0][0], hc, t)
            if key not in groups:
                continue
            a = agg(key)
            dn = f"{a['dns_per_name']:.2f}" if a["dns_per_name"] is not None else "-"
            w(f"| {t} | {a['wall']:.2f} | {a['cpu']:.2f} | {fmt_mb(a['rss'])} | {fmt_mb(a['pss'])} | "
              f"{a['procs']} | {a['ok']:.0f} / {a['expected']} | {dn} | {','.join(map(str, a['exits']))} | "
              f"{a['other']:.2f} |")
        w("")
        key = (hi[0][0], hc, "imgpipe")
        if key in groups:
            a = agg(key)
            met = "met" if a["rss"] / 1024 <= 400 else "**missed**"
            w(f"imgpipe at {hc}: peak RSS {fmt_mb(a['rss'])} MB — goal ≤ 400 MB {met}"
              + (f" (at {hc}, not 4096: the binary's limit)." if str(hc) != asked else "."))
            w("")

    # ---- imgpipe's timeline ---------------------------------------------------------------------
    for r in traced:
        tl = load_json(os.path.join(raw, r["tag"] + ".timeline.json"))
        if not tl or "buckets" not in tl:
            continue
        lat = settings.get(r["setting"], (0, ""))[0]
        w(f"## Where imgpipe's wall time goes ({r['setting']} setting, concurrency {r['conc']})")
        w("")
        w(f"One more imgpipe run with `--trace` (wall {r['wall_s']:.2f} s, CPU {r['cpu_s']:.2f} s; "
          f"not in the tables above), read by bench/wan/trace_timeline.py: per second of the run, "
          f"the transfers in flight (time-averaged), how many of them were to the heaviest host "
          f"({tl['heaviest_host']}, {tl['heaviest_transfers']} transfers, per-host limit "
          f"{r['per_host']}), and the processing threads busy (of {cores} cores).")
        w("")
        w("| second | transfers in flight | of them to the heaviest host | started | processing threads busy |")
        w("|---|---|---|---|---|")
        for b in tl["buckets"]:
            w(f"| {b['t']:.0f} | {b['in_flight']:.1f} | {b['heaviest_in_flight']:.1f} | "
              f"{b['started']} | {b['processing_busy']:.2f} |")
        w("")
        hd = tl["heaviest_done"]
        w(f"The run went on {tl['tail_s']:.2f} s after the last transfer to any other host ended: "
          f"the heaviest host's queue alone. Its transfers done at 25% / 50% / 75% of the run: "
          f"{hd['25%']:.0%} / {hd['50%']:.0%} / {hd['75%']:.0%}. At {r['per_host']} connections "
          f"and {lat} ms per request, its {summary['heaviest_host_http_lines']} lines need "
          f"{summary['heaviest_host_http_lines'] * lat / 1000 / r['per_host']:.2f} s of the "
          f"run whatever else happens; they can only hide under the CPU-bound part if that host "
          f"keeps its {r['per_host']} connections busy from the start.")
        w("")

    # ---- DNS detail -----------------------------------------------------------------------------
    w("## DNS queries per tool")
    w("")
    w(f"Queries the DNS server received in one run (median of the repeats), against "
      f"{s['names_in_list']} distinct names in the list ({s['nx_names_in_list']} of them NXDOMAIN). "
      f"*max on one name* = the most queries any single name got. *most waiting* = the most "
      f"answers the server held at once (a measure of how many lookups the tool had in flight). "
      f"*kernel drops* = datagrams the server's socket dropped (should be 0).")
    w("")
    w("| setting | conc | tool | A | AAAA | A on NXDOMAIN names | queries ÷ names | max on one name | "
      "most waiting | kernel drops |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(groups, key=lambda kk: (list(settings).index(kk[0]), kk[1],
                                              tools.index(kk[2]))):
        a = agg(key)
        if a["dns_a"] is None:
            continue
        w(f"| {key[0]} | {key[1]} | {key[2]} | {a['dns_a']:.0f} | {a['dns_aaaa']:.0f} | "
          f"{a['dns_nx_a']:.0f} | {a['dns_per_name']:.2f} | {a['dns_max_name_n']:.0f} | "
          f"{a['dns_max_waiting']} | {a['dns_drops']} |")
    w("")

    # ---- imgpipe's own account ------------------------------------------------------------------
    w("## imgpipe's own account (manifest, last repeat)")
    w("")
    w("| setting | conc | line kind | imgpipe's statuses |")
    w("|---|---|---|---|")
    ms_notes = []
    for key in sorted(groups, key=lambda kk: (list(settings).index(kk[0]), kk[1])):
        if key[2] != "imgpipe":
            continue
        last = max(groups[key], key=lambda r: r["repeat"])
        m = load_json(os.path.join(raw, last["tag"] + ".manifest.json"))
        if not m:
            continue
        for kind in ("ok", "404", "nxdomain", "refused"):
            st = m["by_kind"].get(kind, {})
            w(f"| {key[0]} | {key[1]} | {kind} | "
              + "; ".join(f"{n} × {v}" for v, n in sorted(st.items(), key=lambda kv: -kv[1]))
              + " |")
        o = m["ok_rows"]
        ms_notes.append(
            f"- {key[0]}, concurrency {key[1]}: {m['attempts']} attempts for {m['rows']} lines "
            f"({m['lines_retried']} lines retried); of {o['n']} good rows {o['reused_connection']} "
            f"reused a connection; DNS time p50 {o['dns_ms_p50']} ms, p99 {o['dns_ms_p99']} ms, "
            f"max {o['dns_ms_max']} ms ({o['dns_ms_over_1ms']} rows > 1 ms); first byte p50 "
            f"{o['first_byte_ms_p50']} ms, p99 {o['first_byte_ms_p99']} ms.")
    w("")
    L.extend(ms_notes)
    w("")

    # ---- Caveats --------------------------------------------------------------------------------
    w("## Caveats")
    w("")
    w("- One 2-core machine: the tools, nginx and the DNS server share both cores (the servers' "
      "CPU is in the *servers* column, not in the tool's). Medians of few repeats: treat "
      "differences under ~10% as noise.")
    w("- Latency is imitated at the origin (a timer before the first byte of every response), "
      "not on the wire: there is no packet loss, no slow start, and a connection's set-up costs "
      "one extra latency only through the first-request delay. `sch_netem` is not in this "
      "kernel, so `tc qdisc … netem` is not an option.")
    w("- nginx's `limit_rate` lets the first second's worth of bytes through at once (its budget "
      "is rate × (whole seconds elapsed + 1)), so with 1 MB/s only bodies over ~1 MB (a few "
      "percent of the corpus) are throttled at all.")
    w("- aria2c+vipsthumbnail is two phases (all downloads, then thumbnails on both cores); "
      "imgpipe, Node and Python overlap downloading and resizing. vipsthumbnail runs one "
      "process per core with VIPS_CONCURRENCY=1, as in bench/run.sh.")
    w("- Python's urllib opens a new connection per request (no keep-alive) and looks the name "
      "up every time; with the new-connection round trip that costs it one more latency per line.")
    w("- Node: undici resolves with `dns.lookup` (getaddrinfo on libuv's pool of 4 threads, which "
      "sharp's work shares) and caches nothing, so each new connection is a lookup.")
    w("- The network namespace has an IPv4 address besides 127.0.0.1 (127.255.0.1/32 on lo) "
      "so that glibc's AI_ADDRCONFIG sees an IPv4 host (without one, AF_INET lookups with "
      "AI_ADDRCONFIG find nothing). Node passes AI_ADDRCONFIG by default and so asks for A only, "
      "as on a real IPv4-only machine; aria2c asked for A only too; libcurl (imgpipe) and "
      "Python's urllib ask for A and AAAA.")
    w("")
    w("## Exact tool scripts")
    w("")
    w(f"Each runs as `/usr/bin/time -v timeout -k 10 RUN_TIMEOUT bash -c SCRIPT` with URLS (the "
      f"list), OUT and DL (empty scratch folders on the tmpfs), SIZE=256, CONC, PER_HOST_N, "
      f"XFER_TIMEOUT={timeout}, NPROC={cores}, BATCH=16 in the environment. The Node script is "
      f"bench/wan/node_thumbnailer.mjs; SEED_WAN is bench/wan/seed_wan.py (bench/seed_thumbnailer.py "
      f"with its thread count and timeout from the environment).")
    w("")
    w("```sh")
    w(scripts)
    w("```")
    w("")
    if "elapsed_s" in meta:
        e = int(meta["elapsed_s"])
        w(f"Whole benchmark: {e // 60} min {e % 60} s.")
        w("")
    with open(out_path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
