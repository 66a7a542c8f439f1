#!/usr/bin/python3
"""Reads webdataset tars with Python's tarfile, for tests/webdataset_e2e_test.cc.

Usage: read_tars.py TAR...  Prints one JSON object: for each tar (by file name) its members in
tar order, each [name, base64 of its bytes], and "layout": the first breach of the webdataset
layout rules found, or "" (every member a regular file with a plain name, no name twice, and
the members of one sample, which share the name up to its first dot, consecutive).
"""
import base64
import json
import os
import sys
import tarfile


def layout_problem(members):
    seen_names, done_keys, current = set(), set(), None
    for m in members:
        if not m.isreg():
            return m.name + " is not a regular file"
        if "/" in m.name or m.name.startswith("."):
            return m.name + " is not a plain name"
        if m.name in seen_names:
            return m.name + " appears twice"
        seen_names.add(m.name)
        key = m.name.split(".", 1)[0]
        if key != current:
            if key in done_keys:
                return "sample " + key + " is split: its members are not consecutive"
            if current is not None:
                done_keys.add(current)
            current = key
    return ""


def read(path):
    with tarfile.open(path, "r:") as tar:  # "r:": plain tar, no compression guessed
        members = tar.getmembers()
        listed = [[m.name, base64.b64encode(tar.extractfile(m).read()).decode()]
                  for m in members if m.isreg()]
        return {"members": listed, "layout": layout_problem(members)}


print(json.dumps({os.path.basename(p): read(p) for p in sys.argv[1:]}))
