"""The local Lambda's control API (loopback only): recycle the environments, read status.

``coldbench recycle`` and the locustfile's recycle at idle gaps call it; ``status`` says
how many environments are in which state, the pool's counters and the telemetry's.
"""

from __future__ import annotations

from aiohttp import web

from coldbench.infra.local.pool import Pool


def control_app(pool: Pool) -> web.Application:
    async def recycle(_: web.Request) -> web.Response:
        return web.json_response({"retired": await pool.recycle()})

    async def status(_: web.Request) -> web.Response:
        return web.json_response(pool.status())

    app = web.Application()
    app.router.add_post("/recycle", recycle)
    app.router.add_get("/status", status)
    return app
