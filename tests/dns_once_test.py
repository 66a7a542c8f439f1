#!/usr/bin/python3
"""One DNS lookup per host name per run, counted at a DNS server the test runs itself.

imgpipe over 38 lines: 6 host names that resolve (5 lines each, --per-host 8, so several transfers
would start at once to each new name), one of them also with 4 lines to a port nothing listens on
(libcurl caches a lookup by name and port: that name is looked up once per port), and 2 names
that do not resolve (2 lines each). libcurl 7.88 looks a name
up once per transfer that finds it uncached and caches no failure; imgpipe starts one transfer
to a new host until that one ends, and remembers the names that did not resolve. Each name must
be asked for exactly once (A; AAAA at most once), and every line must get its row.

Runs in a private network and mount namespace (unshare -n -m, so root): loopback only, our own
/etc/resolv.conf and /etc/hosts bind-mounted there, a DNS server on 127.0.0.1:53 and
imgpipe-fixture-server as the origin; nothing outside changes, nothing leaves the machine.
Exit 77 (skipped) without root or unshare.
Usage: dns_once_test.py IMGPIPE FIXTURE_SERVER
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections import Counter

RESOLVING = ["h%d.imgpipe.test" % i for i in range(1, 7)]
MISSING = ["gone%d.imgpipe.test" % i for i in range(1, 3)]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


class DnsServer:
    """Answers A queries for RESOLVING with 127.0.0.1, NXDOMAIN for other names, an empty answer
    to other types of a known name; counts every query by (name, type)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Bursts of queries must not be dropped (a drop looks like a second lookup: a retry).
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 53))
        self.queries = Counter()
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            data, peer = self.sock.recvfrom(4096)
            reply = self.answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, data):
        if len(data) < 12:
            return None
        ident, _flags, qdcount = struct.unpack(">HHH", data[:6])
        labels, i = [], 12
        while i < len(data) and data[i] != 0:
            n = data[i]
            labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace").lower())
            i += 1 + n
        question = data[12:i + 5]
        name = ".".join(labels)
        qtype = struct.unpack(">H", data[i + 1:i + 3])[0] if i + 3 <= len(data) else 0
        with self.lock:
            self.queries[(name, {1: "A", 28: "AAAA"}.get(qtype, str(qtype)))] += 1
        known = name in RESOLVING
        answers = b""
        if known and qtype == 1:  # a pointer to the question's name, A, IN, TTL 60, 127.0.0.1
            answers = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        flags = 0x8180 if known else 0x8183  # response, recursion available; NXDOMAIN if unknown
        header = struct.pack(">HHHHHH", ident, flags, qdcount, 1 if answers else 0, 0, 0)
        return header + question + answers


def inside(imgpipe, fixture_server):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = tempfile.mkdtemp(prefix="imgpipe-dns-")
    try:
        for name, text in (("resolv.conf", "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n"),
                           ("hosts", "127.0.0.1 localhost\n")):
            path = os.path.join(work, name)
            with open(path, "w") as f:
                f.write(text)
            subprocess.run(["mount", "--bind", path, "/etc/" + name], check=True)
        dns = DnsServer()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([fixture_server, "--port", str(port), "--latency-ms", "50"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            if "listening" not in server.stdout.readline():
                fail("the fixture server did not start")
            check(imgpipe, port, dns, work)
        finally:
            server.kill()
            server.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(imgpipe, port, dns, work):
    lines = []
    for h, name in enumerate(RESOLVING):
        lines += ["http://%s:%d/image/%dx%d.jpg" % (name, port, 20 + h, 20 + i) for i in range(5)]
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    lines += ["http://%s:%d/image/%dx9.jpg" % (RESOLVING[0], closed, 9 + i) for i in range(4)]
    for name in MISSING:
        lines += ["http://%s:%d/image/9x9.jpg" % (name, port)] * 2
    listing = os.path.join(work, "list.txt")
    with open(listing, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = os.path.join(work, "out")
    run = subprocess.run([imgpipe, "-i", listing, "-o", out, "--per-host", "8", "-j", "64",
                          "--retries", "0", "--quiet"], capture_output=True, text=True,
                         timeout=120)
    if run.returncode != 1:
        fail("exit %d, expected 1 (the unresolvable lines): %s" % (run.returncode, run.stderr))
    with open(os.path.join(out, "manifest.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    statuses = Counter(r["status"] for r in rows)
    if len(rows) != len(lines) or statuses != Counter(ok=30, network_error=8):
        fail("rows: %d, statuses %s" % (len(rows), dict(statuses)))
    errors = [r["error"] for r in rows
              if r["status"] == "network_error" and "resolve" in r["error"]]
    if sum("looked up once in this run" in e for e in errors) != 2:
        fail("the second line of each missing name should reuse the first's answer: %s" % errors)
    queries = dict(dns.queries)
    print("DNS queries:", json.dumps({"%s %s" % k: v for k, v in sorted(queries.items())}))
    for name in RESOLVING + MISSING:
        ports = 2 if name == RESOLVING[0] else 1
        if queries.get((name, "A"), 0) != ports or queries.get((name, "AAAA"), 0) > ports:
            fail("%s: %d A and %d AAAA queries, expected %d and at most %d" %
                 (name, queries.get((name, "A"), 0), queries.get((name, "AAAA"), 0), ports, ports))
    print("ok: one lookup per name for %d names, %d lines" % (len(RESOLVING + MISSING), len(rows)))


def main():
    imgpipe, fixture_server = (os.path.abspath(a) for a in sys.argv[1:3])
    if os.environ.get("IMGPIPE_DNS_TEST_INSIDE") == "1":
        inside(imgpipe, fixture_server)
        return
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("skipped: needs root, unshare and ip (a private network namespace)")
        sys.exit(77)
    env = dict(os.environ, IMGPIPE_DNS_TEST_INSIDE="1")
    result = subprocess.run(["unshare", "-n", "-m", "--propagation", "private", sys.executable,
                             os.path.abspath(__file__), imgpipe, fixture_server], env=env)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
