"""The Lambda Runtime API (2018-06-01) as each environment's runtime client sees it.

Every environment gets its own listener on 127.0.0.1 (as each Lambda sandbox has its
own), all served by one aiohttp runner; the listener's port tells which environment
is calling. aiohttp sets TCP_NODELAY on its sockets, so a warm round trip carries no
Nagle / delayed-ACK stall.

Routes: ``GET /2018-06-01/runtime/invocation/next``,
``POST /2018-06-01/runtime/invocation/{id}/response``,
``POST /2018-06-01/runtime/invocation/{id}/error``,
``POST /2018-06-01/runtime/init/error``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from coldbench.infra.local.environment import Environment, Outcome
from coldbench.infra.local.events import MAX_PAYLOAD_BYTES

PREFIX = "/2018-06-01/runtime"


class RuntimeApi:
    """Serves the Runtime API for every environment of one local Lambda."""

    def __init__(self, function_arn: str, on_idle: Callable[[Environment], None]):
        self.function_arn = function_arn
        self.on_idle = on_idle  # the runtime asked for work: the environment is free
        self._by_port: dict[int, Environment] = {}
        self._sites: dict[int, web.TCPSite] = {}
        self._runner: web.ServerRunner | None = None

    async def start(self) -> None:
        # A dead runtime's pending /next is cancelled; results are streamed (see
        # _read_capped), other bodies are read up to twice the payload limit.
        server = web.Server(
            self._handle, request_factory=self._make_request, handler_cancellation=True
        )
        self._server = server
        self._runner = web.ServerRunner(server, access_log=None, handle_signals=False)
        await self._runner.setup()

    def _make_request(self, message, payload, protocol, writer, task) -> web.BaseRequest:
        loop = asyncio.get_running_loop()
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=MAX_PAYLOAD_BYTES * 2
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def open(self, env: Environment) -> int:
        """Give ``env`` a listener; returns its port (for AWS_LAMBDA_RUNTIME_API)."""
        assert self._runner is not None
        site = web.TCPSite(self._runner, "127.0.0.1", 0, reuse_address=True)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._by_port[port] = env
        self._sites[port] = site
        env.port = port
        return port

    async def close(self, env: Environment) -> None:
        self._by_port.pop(env.port, None)
        site = self._sites.pop(env.port, None)
        if site is not None:
            await site.stop()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        env = self._by_port.get(sockname[1]) if sockname else None
        if env is None:
            return web.Response(status=410, text='{"errorType":"EnvironmentGone"}')
        path = request.path
        if request.method == "GET" and path == f"{PREFIX}/invocation/next":
            return await self._next(env)
        if request.method == "POST" and path == f"{PREFIX}/init/error":
            document = await request.read()  # its type is in the header too
            error_type = request.headers.get("Lambda-Runtime-Function-Error-Type", "")
            env.init_failed(error_type, document)
            return _accepted()
        if request.method == "POST" and path.startswith(f"{PREFIX}/invocation/"):
            request_id, _, kind = path[len(PREFIX) + 12 :].partition("/")
            return await self._result(env, request, request_id, kind)
        return web.Response(status=404, text='{"errorType":"InvalidRequest"}')

    async def _next(self, env: Environment) -> web.Response:
        if env.state == "init":
            env.init_complete()
        else:
            self.on_idle(env)
        invocation = await env.inbox.get()
        invocation.started = time.perf_counter()
        env.current = invocation
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
            "Content-Type": "application/json",
        }
        return web.Response(body=invocation.payload, headers=headers)

    async def _result(
        self, env: Environment, request: web.BaseRequest, request_id: str, kind: str
    ) -> web.Response:
        invocation = env.current
        if invocation is None or invocation.request_id != request_id:
            return web.Response(status=400, text='{"errorType":"InvalidRequestID"}')
        body = await _read_capped(request, MAX_PAYLOAD_BYTES + 1)
        if kind == "response":
            if len(body) > MAX_PAYLOAD_BYTES:
                # The invocation fails with Function.ResponseSizeTooLarge, but the runtime
                # did nothing wrong: it is told its response was taken and goes on, and the
                # environment is not recycled for it (a 413 here made the runtime client
                # exit, turning every oversized response into a cold start).
                invocation.finish(Outcome("too_large", body[:0], "Function.ResponseSizeTooLarge"))
                return _accepted()
            invocation.finish(Outcome("response", body))
        elif kind == "error":
            error_type = request.headers.get("Lambda-Runtime-Function-Error-Type", "Unhandled")
            invocation.finish(Outcome("error", body, error_type))
        else:
            return web.Response(status=404, text='{"errorType":"InvalidRequest"}')
        return _accepted()


async def _read_capped(request: web.BaseRequest, limit: int) -> bytes:
    """The body's first ``limit`` bytes; the rest is read and dropped, however large, so
    an oversized response is recognised as such and never held in memory whole."""
    if request.content_length is not None and request.content_length <= limit:
        return await request.read()  # the common case, in one piece
    kept = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    return bytes(kept)


def _accepted() -> web.Response:
    return web.Response(status=202, text='{"status":"OK"}', content_type="application/json")
