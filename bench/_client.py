"""Load clients run as their own process, so they never share a GIL with a server.

python bench/_client.py sequential URL N      -> JSON list of [request_id, e2e_ms]
python bench/_client.py cold URL RECYCLE_URL   -> JSON [request_id, e2e_ms] of one cold start
python bench/_client.py concurrent URL SECONDS CONNECTIONS -> JSON {"requests", "rps", "cpu_s"}
"""

import asyncio
import http.client
import json
import socket
import sys
import time
from urllib.parse import urlsplit


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _timed_get(conn: http.client.HTTPConnection, path: str) -> list:
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return [response.getheader("x-amzn-RequestId"), (time.perf_counter() - start) * 1000]


def sequential(url: str, count: int) -> list:
    conn = _connect(url)
    return [_timed_get(conn, urlsplit(url).path or "/") for _ in range(count)]


def cold(url: str, recycle_url: str) -> list:
    """One cold start as a load-test user sees it after an idle gap: on a connection
    and a client already used (a fresh process's first request costs ~0.8 ms of its
    own), then ``recycle``, then the timed request. -> [request_id, e2e_ms]"""
    conn = _connect(url)
    path = urlsplit(url).path or "/"
    _timed_get(conn, path)
    control = _connect(recycle_url)
    control.request("POST", urlsplit(recycle_url).path)
    control.getresponse().read()
    time.sleep(0.3)  # retired environments exit
    return _timed_get(conn, path)


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
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {"requests": done, "rps": done / elapsed, "cpu_s": cpu_s}


async def soak(url: str, seconds: float, connections: int, fault_every: int) -> list:
    """Each user loops with 0.5-1.5 s think time; every ``fault_every``-th request asks
    for the next fault in turn."""
    import itertools
    import random

    import aiohttp

    faults = itertools.cycle(["exception", "crash", "hang", "oversize", "memory", "noisy"])
    counter = itertools.count(1)
    deadline = time.perf_counter() + seconds
    out = []

    async def user(session):
        while time.perf_counter() < deadline:
            fault = next(faults) if next(counter) % fault_every == 0 else "none"
            start = time.perf_counter()
            try:
                async with session.get(f"{url}?fault={fault}") as response:
                    await response.read()
                    status, rid, error = (
                        response.status,
                        response.headers.get("x-amzn-RequestId", ""),
                        "",
                    )
            except Exception as exc:  # no answer: what the soak must never see
                status, rid, error = 0, "", type(exc).__name__
            out.append([fault, status, rid, (time.perf_counter() - start) * 1000, error])
            await asyncio.sleep(random.uniform(0.5, 1.5))

    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(user(session) for _ in range(connections)))
    return out


if __name__ == "__main__":
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "soak":
        args = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(asyncio.run(soak(url, *args))))
    elif mode == "cold":
        print(json.dumps(cold(url, sys.argv[3])))
    elif mode == "sequential":
        print(json.dumps(sequential(url, int(sys.argv[3]))))
    else:
        print(json.dumps(asyncio.run(concurrent(url, float(sys.argv[3]), int(sys.argv[4])))))
