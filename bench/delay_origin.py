#!/usr/bin/env python3
"""A far-away origin on loopback: serves FOLDER's files over HTTP/1.1 keep-alive, each response
held back LATENCY seconds, so a client's throughput is bounded by transfers in flight ÷ latency.

Usage: bench/delay_origin.py FOLDER PORT LATENCY_S
  GET /NAME[?anything] -> FOLDER/NAME (basename only; a query makes distinct URLs of one file)

Why not the fixture server or tc: imgpipe-fixture-server holds a thread for each delayed reply,
so its small pool caps it near 25 replies/s at 200 ms; `tc qdisc ... netem` needs the sch_netem
module, which the build machines' kernel lacks. asyncio holds thousands of replies waiting at
once on one thread. Files are read once and kept in memory: give it a corpus, not a disk.
Used by docs/SCALE.md's download-bound figures.
"""
import asyncio
import os
import sys

root, port, latency = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
cache = {}


def body(path):
    name = os.path.basename(path.split("?", 1)[0])
    if name not in cache:
        try:
            with open(os.path.join(root, name), "rb") as f:
                cache[name] = f.read()
        except OSError:
            cache[name] = None
    return cache[name]


async def handle(reader, writer):
    try:
        while True:  # one request after another on the connection (keep-alive)
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1")
            await asyncio.sleep(latency)
            data = body(path)
            if data is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(data))
                writer.write(data)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    print("listening on http://127.0.0.1:%d" % port, flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
