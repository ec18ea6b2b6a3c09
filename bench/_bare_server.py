"""A bare aiohttp hello-world server: the throughput baseline. Prints its port.

Benchmarks start it in a process of its own with :func:`serving`."""

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web


@contextlib.contextmanager
def serving_process(prefix: list[str] | None = None) -> Iterator[tuple[str, int]]:
    """This server in its own process (``prefix``: e.g. a ``taskset`` pinning); yields
    its URL and pid, stops it after."""
    cmd = [*(prefix or []), sys.executable, str(Path(__file__))]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{server.stdout.readline().strip()}/", server.pid
    finally:
        server.terminate()
        server.wait()


@contextlib.contextmanager
def serving(prefix: list[str] | None = None) -> Iterator[str]:
    """:func:`serving_process`, its URL only."""
    with serving_process(prefix) as (url, _pid):
        yield url


async def main() -> None:
    async def hello(_request):
        return web.Response(text='{"ok":true}', content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
