"""Load clients run as their own process, so they never share a GIL with a server.

python bench/_client.py sequential URL N      -> JSON list of [request_id, e2e_ms]
python bench/_client.py concurrent URL SECONDS CONNECTIONS -> JSON {"requests", "rps"}
"""

import asyncio
import http.client
import json
import sys
import time
from urllib.parse import urlsplit


def sequential(url: str, count: int) -> list:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    conn.connect()
    import socket

    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        response.read()
        out.append([response.getheader("x-amzn-RequestId"), (time.perf_counter() - start) * 1000])
    return out


async def concurrent(url: str, seconds: float, connections: int) -> dict:
    import aiohttp

    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(session):
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.get(url) as response:
                await response.read()
                done += 1

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return {"requests": done, "rps": done / elapsed}


if __name__ == "__main__":
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "sequential":
        print(json.dumps(sequential(url, int(sys.argv[3]))))
    else:
        print(json.dumps(asyncio.run(concurrent(url, float(sys.argv[3]), int(sys.argv[4])))))
