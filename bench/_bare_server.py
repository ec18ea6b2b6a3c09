"""A bare aiohttp hello-world server: the throughput baseline. Prints its port."""

import asyncio
import sys

from aiohttp import web


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
