#!/usr/bin/python3
"""A slow authoritative DNS server for the WAN-like benchmark (bench/wan.sh), counting queries.

Usage: dns_server.py --zone ZONE.tsv --listen ADDR [--port 53] [--delay 0.03] --counts FILE
                     [--ttl 300] [--ready FILE]

ZONE.tsv: "NAME<TAB>IPV4" lines. A query for a NAME in the zone is answered after DELAY seconds:
type A with its address, any other type (AAAA, HTTPS, ...) with an empty NOERROR answer. A name
not in the zone gets NXDOMAIN (after the same delay). Answers are scheduled on the event loop
(call_later), so a slow answer never holds up the queries behind it: thousands can wait at once.

Counts: per name and query type, written as JSON to FILE (atomically: FILE.tmp, then rename) on
SIGUSR1 (and the counters are reset, so each tool run gets its own file) and on SIGTERM (then it
exits; SIGINT is ignored). The JSON also has the datagrams received, answered, unparsable, the
most answers waiting at once, and the kernel's drop count for the socket (/proc/net/udp; a drop
there is a lookup the client has to time out and retry, which is what a too-small receive buffer
causes).

Why the receive buffer is raised: a tool starting 256 transfers at once sends 256-512 queries in
a burst; the default buffer (~200 KB of skbs, a few hundred small datagrams) overflows, the
kernel drops the rest silently and the clients see multi-second DNS stalls. SO_RCVBUFFORCE (we
run as root in the benchmark's own network namespace) ignores net.core.rmem_max.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

RCVBUF = 16 * 1024 * 1024


def load_zone(path):
    zone = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, addr = line.split("\t")[:2]
            zone[name.lower().rstrip(".")] = addr
    return zone


def udp_drops(addr, port):
    """The kernel's drop counter for our socket, from /proc/net/udp (this netns's view)."""
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr), "little"), port)
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want:
                    return int(fields[-1])
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    return None


class Server(asyncio.DatagramProtocol):
    def __init__(self, args, zone):
        self.args = args
        self.zone = zone
        self.transport = None
        self.loop = asyncio.get_event_loop()
        self.reset()
        self.drops_at_reset = udp_drops(args.listen, args.port) or 0

    def reset(self):
        self.counts = {}  # name -> {qtype: n}
        self.received = self.answered = self.bad = 0
        self.waiting = self.max_waiting = 0
        self.started = time.time()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.received += 1
        try:
            req = DNSRecord.parse(data)
            q = req.q
            name = str(q.qname).lower().rstrip(".")
            qtype = QTYPE.get(q.qtype, str(q.qtype))
        except Exception:  # noqa: BLE001 - garbage is counted, never answered
            self.bad += 1
            return
        per = self.counts.setdefault(name, {})
        per[qtype] = per.get(qtype, 0) + 1
        reply = req.reply()  # copies id and question, sets QR, AA and RA
        addr4 = self.zone.get(name)
        if addr4 is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif q.qtype == QTYPE.A:
            reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(addr4), ttl=self.args.ttl))
        # else: the name exists but has no record of this type: NOERROR, no answer (NODATA)
        packet = reply.pack()
        self.waiting += 1
        self.max_waiting = max(self.max_waiting, self.waiting)
        self.loop.call_later(self.args.delay, self.send, packet, addr)

    def send(self, packet, addr):
        self.waiting -= 1
        try:
            self.transport.sendto(packet, addr)
            self.answered += 1
        except OSError:
            pass

    def dump(self, reset):
        drops = udp_drops(self.args.listen, self.args.port)
        doc = {
            "seconds": round(time.time() - self.started, 3),
            "received": self.received,
            "answered": self.answered,
            "unparsable": self.bad,
            "max_waiting": self.max_waiting,
            "kernel_drops": None if drops is None else drops - self.drops_at_reset,
            "delay_s": self.args.delay,
            "counts": self.counts,
        }
        tmp = self.args.counts + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, sort_keys=True)
        os.replace(tmp, self.args.counts)
        if reset:
            self.reset()
            self.drops_at_reset = drops or 0


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zone", required=True)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--delay", type=float, default=0.03)
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--counts", required=True)
    ap.add_argument("--ready")
    args = ap.parse_args()
    zone = load_zone(args.zone)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), RCVBUF)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.bind((args.listen, args.port))
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(lambda: Server(args, zone), sock=sock)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, server.dump, True)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # A Ctrl-C in the terminal reaches every process of the run; bench/wan.sh's trap stops us
    # (TERM) after the tool, so the last counts are still written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    print(f"dns_server: {len(zone)} names on {args.listen}:{args.port}/udp, delay "
          f"{args.delay * 1000:.0f} ms, SO_RCVBUF {rcvbuf}", file=sys.stderr, flush=True)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write(f"{os.getpid()}\n")
    await stop.wait()
    server.dump(False)
    transport.close()


if __name__ == "__main__":
    asyncio.run(main())
