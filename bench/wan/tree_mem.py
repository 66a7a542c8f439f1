#!/usr/bin/python3
"""Samples the memory of a process tree until its root exits; prints the peaks.

Usage: tree_mem.py ROOT_PID [INTERVAL_S=0.2]  ->  "PEAK_PSS_KB PEAK_RSS_KB PROCS" on stdout

/usr/bin/time -v reports the largest single process's peak RSS; for a tool that runs several
processes at once (a Python pool, xargs running vipsthumbnail per core) the real footprint is
their sum. This adds up every descendant of ROOT_PID every INTERVAL_S: PSS (proportional set
size, from /proc/PID/smaps_rollup, so pages a forked worker shares with its parent are counted
once) and RSS (pages shared between processes counted in each). A sampled peak can miss a spike
shorter than the interval, so it is a lower bound; time -v's figure stays the exact one for a
single process.
"""
import os
import sys
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def field_kb(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    root = int(sys.argv[1])
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    peak_pss = peak_rss = peak_procs = 0
    while os.path.exists(f"/proc/{root}"):
        kids = children_map()
        tree, todo = [], [root]
        while todo:
            p = todo.pop()
            tree.append(p)
            todo.extend(kids.get(p, ()))
        pss = sum(field_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree)
        rss = sum(field_kb(f"/proc/{p}/status", "VmRSS:") for p in tree)
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        peak_procs = max(peak_procs, len(tree))
        time.sleep(interval)
    print(peak_pss, peak_rss, peak_procs)


if __name__ == "__main__":
    main()
