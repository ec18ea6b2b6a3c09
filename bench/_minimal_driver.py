"""The limit of the local Lambda's design, for ``bench_local_cost`` only.

A Function URL that hands each request to the same ``awslambdaric`` environments through
the same Runtime API (aiohttp, one listener per environment) and does nothing else: no
telemetry, no auth, no accounting, no freezing, no memory reading, no timeouts. What
coldbench's local Lambda costs beyond this is its own.

    python bench/_minimal_driver.py TASK_ROOT RUNTIME_DIR HANDLER ENVIRONMENTS

Prints its port once every environment has asked for work, then the environments'
pids (one line, space-separated); runs until terminated.
"""

import asyncio
import json
import os
import subprocess
import sys
import uuid

from aiohttp import web

PREFIX = "/2018-06-01/runtime/invocation/"


class Env:
    def __init__(self):
        self.inbox: asyncio.Queue = asyncio.Queue(maxsize=1)
        self.current: tuple[str, asyncio.Future] | None = None
        self.ready = asyncio.get_running_loop().create_future()


async def main(task_root: str, runtime: str, handler: str, count: int) -> None:
    idle: asyncio.Queue[Env] = asyncio.Queue()
    by_port: dict[int, Env] = {}

    async def runtime_api(request: web.BaseRequest) -> web.Response:
        env = by_port[request.transport.get_extra_info("sockname")[1]]
        if request.path.endswith("/next"):
            if not env.ready.done():
                env.ready.set_result(None)
            else:
                idle.put_nowait(env)
            request_id, payload, result = await env.inbox.get()
            env.current = (request_id, result)
            headers = {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": "9999999999999",
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:0:function:f",
                "Content-Type": "application/json",
            }
            return web.Response(body=payload, headers=headers)
        body = await request.read()
        env.current[1].set_result(body)
        return web.Response(status=202, text='{"status":"OK"}')

    async def function_url(request: web.BaseRequest) -> web.Response:
        body = await request.read()
        path, _, query = request.raw_path.partition("?")
        event = {
            "version": "2.0",
            "rawPath": path,
            "rawQueryString": query,
            "headers": dict(request.headers),
            "requestContext": {"http": {"method": request.method, "path": path}},
            "body": body.decode("latin-1"),
            "isBase64Encoded": False,
        }
        request_id = str(uuid.uuid4())
        result = asyncio.get_running_loop().create_future()
        env = await idle.get()
        env.inbox.put_nowait((request_id, json.dumps(event).encode(), result))
        answer = json.loads(await result)
        return web.Response(
            status=answer.get("statusCode", 200),
            body=answer.get("body", "").encode(),
            headers=answer.get("headers") or {},
        )

    api = web.ServerRunner(web.Server(runtime_api), access_log=None)
    await api.setup()
    procs = []
    for _ in range(count):
        env = Env()
        site = web.TCPSite(api, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        by_port[port] = env
        environ = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join([task_root, runtime]),
            "LAMBDA_TASK_ROOT": task_root,
            "_HANDLER": handler,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": "minimal",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": "us-east-1",
        }
        cmd = [sys.executable, "-S", "-m", "awslambdaric", handler]
        procs.append(
            subprocess.Popen(
                cmd,
                env=environ,
                cwd=task_root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        await env.ready
        idle.put_nowait(env)
    front = web.ServerRunner(web.Server(function_url), access_log=None)
    await front.setup()
    site = web.TCPSite(front, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    print(" ".join(str(p.pid) for p in procs), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for proc in procs:
            proc.kill()


if __name__ == "__main__":
    root, libs, name, environments = sys.argv[1:5]
    asyncio.run(main(root, libs, name, int(environments)))
