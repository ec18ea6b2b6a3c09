"""The data plane behind ``coldbench local-aws``: real local Lambda environments for
every function version the control plane holds, and a listener for every Function URL.

A pool of environments exists per (function, version), created when a version is first
invoked or provisioned, with that version's code, handler, memory, timeout, environment
and log settings; its telemetry writes to the function's log group, streams named
``YYYY/MM/DD/[version]id`` as Lambda names them. A change of ``$LATEST`` retires its pool:
requests already running finish, the next ones are cold. Every version's pool counts
against the function's reserved concurrency together. Each Function URL listens on its
own loopback port and finds, per request, the version its qualifier points at.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import socket
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path

from aiohttp import web
from botocore.credentials import Credentials

from coldbench.infra.local.cgroups import CpuScaler
from coldbench.infra.local.environment import FunctionSpec, private_tmp_possible
from coldbench.infra.local.frontend import FunctionUrl
from coldbench.infra.local.pool import Pool, PoolSettings
from coldbench.infra.local.runtime import opt_dir, runtime_dir
from coldbench.infra.local.telemetry import Telemetry
from coldbench.infra.localaws.backend import LambdaBackend
from coldbench.infra.localaws.model import LATEST
from coldbench.record.config import LocalConfig

log = logging.getLogger(__name__)
_DRAIN_LIMIT_S = 905.0  # a retired pool's last invocation may run up to the 900 s timeout


class PlaneUrl(FunctionUrl):
    """A Function URL of the control plane: its pool, auth type and CORS looked up per
    request (they change with the function), ``NONE`` answered only as the policy allows."""

    def __init__(self, plane: DataPlane, function: str, qualifier: str, url_id: str):
        super().__init__(
            None,
            auth="AWS_IAM",
            region=plane.backend.region,
            url_id=url_id,
            credentials=plane.credentials,
        )
        self.plane, self.function, self.qualifier = plane, function, qualifier

    async def route(self) -> Pool:
        settings = self.plane.backend.url_settings(self.function, self.qualifier)
        if settings is not None:
            self.auth = settings.auth
            self.cors_allow_origins = tuple(settings.cors.get("AllowOrigins") or ())
        return await self.plane.pool_for(self.function, self.qualifier)

    def public_allowed(self) -> bool:
        return self.plane.backend.public_url_allowed(self.function, self.qualifier)


class DataPlane:
    def __init__(
        self,
        backend: LambdaBackend,
        local: LocalConfig,
        cloudwatch_endpoint: str,
        credentials: Credentials,
        work_dir: Path,
        cpu: CpuScaler,
        log_delay_s: float = 0.0,
    ):
        self.backend = backend
        self.local = local
        self.cloudwatch_endpoint = cloudwatch_endpoint
        self.credentials = credentials
        self.work_dir = work_dir
        self.cpu = cpu
        self.log_delay_s = log_delay_s
        self.pools: dict[tuple[str, str], Pool] = {}
        self._starting: dict[tuple[str, str], asyncio.Task] = {}
        self._provisioned: dict[tuple[str, str], tuple[str, int]] = {}  # (fn, qualifier)
        self._urls: dict[tuple[str, str], web.BaseRunner] = {}
        self._background: set[asyncio.Task] = set()
        self._draining: set[Pool] = set()
        self._before_reply: list[Awaitable] = []
        backend.plane = self

    # -- what the control plane asks (synchronous: work is scheduled) ---------------------
    def open_url(self, function: str, qualifier: str) -> str:
        sock = socket.socket()
        sock.bind((self.local.host, 0))
        sock.listen(1024)
        url_id = hashlib.sha256(f"{function}:{qualifier}".encode()).hexdigest()[:32]
        front = PlaneUrl(self, function, qualifier, url_id)
        runner = web.ServerRunner(front.server(), access_log=None, handle_signals=False)
        self._urls[(function, qualifier)] = runner
        self._before_reply.append(self._serve(runner, sock))
        return f"http://{self.local.host}:{sock.getsockname()[1]}/"

    async def _serve(self, runner: web.BaseRunner, sock: socket.socket) -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()

    def close_url(self, function: str, qualifier: str) -> None:
        runner = self._urls.pop((function, qualifier), None)
        if runner is not None:
            self._before_reply.append(runner.cleanup())

    def retire(self, function: str) -> None:
        pool = self.pools.pop((function, LATEST), None)
        if pool is not None:
            self._draining.add(pool)
            self._spawn(self._drain(pool))

    def provision(self, function: str, qualifier: str, version: str, count: int) -> None:
        before = self._provisioned.pop((function, qualifier), None)
        if count:
            self._provisioned[(function, qualifier)] = (version, count)
        for changed in {v for v, _ in filter(None, (before, (version, count)))}:
            self._spawn(self._set_provisioned(function, changed))

    def provisioned_ready(self, function: str, qualifier: str) -> int:
        version, _ = self._provisioned.get((function, qualifier), (LATEST, 0))
        pool = self.pools.get((function, version))
        return pool.provisioned_ready() if pool is not None else 0

    def concurrency_changed(self, function: str) -> None:
        limit = self._limit(function)
        for (name, _), pool in self.pools.items():
            if name == function:
                pool.settings = replace(pool.settings, concurrency_limit=limit)

    def remove(self, function: str) -> None:
        for key in [k for k in self._urls if k[0] == function]:
            self.close_url(*key)
        for key in [k for k in self._provisioned if k[0] == function]:
            del self._provisioned[key]
        for key in [k for k in self.pools if k[0] == function]:
            self._before_reply.append(self._stop_pool(self.pools.pop(key)))

    async def settle(self) -> None:
        """Finish what the last call must have done before it is answered."""
        pending, self._before_reply = self._before_reply, []
        for work in pending:
            await work

    # -- pools ---------------------------------------------------------------------------
    def _limit(self, function: str) -> int:
        reserved = self.backend.functions[function].reserved
        cap = self.local.max_environments
        return cap if reserved is None else min(cap, reserved)

    def _wanted_provisioned(self, function: str, version: str) -> int:
        return sum(
            n for (f, _), (v, n) in self._provisioned.items() if f == function and v == version
        )

    async def pool_for(self, function: str, qualifier: str) -> Pool:
        fn = self.backend.functions[function]
        version = self.backend.version_of(fn, qualifier)
        key = (function, version)
        pool = self.pools.get(key)
        if pool is not None:
            return pool
        if key not in self._starting:
            self._starting[key] = asyncio.create_task(self._start_pool(function, version))
        return await asyncio.shield(self._starting[key])

    async def _start_pool(self, function: str, version: str) -> Pool:
        key = (function, version)
        try:
            fn = self.backend.functions[function]
            config = self.backend.config_of(fn, version)
            spec = FunctionSpec(
                name=function,
                handler=config.handler,
                task_root=config.code.task_root,
                memory_mb=config.memory_mb,
                timeout_s=config.timeout_s,
                region=self.backend.region,
                log_group=config.log_group,
                log_format=config.log_format,
                version=version,
                user_env=config.environment,
                ephemeral_storage_mb=config.ephemeral_mb,
                private_tmp=await asyncio.to_thread(_private_tmp, config.code.task_root),
                work_dir=self.work_dir,
                runtime_dir=await asyncio.to_thread(runtime_dir, self.work_dir),
                aws_endpoint=self.cloudwatch_endpoint,
                opt_dir=await asyncio.to_thread(
                    opt_dir, [layer.code.task_root for layer in config.layers], self.work_dir
                ),
                layer_runtime=config.runtime,
            )
            telemetry = Telemetry(
                self.cloudwatch_endpoint,
                self.backend.region,
                function,
                config.log_group,
                config.log_format,
                version=version,
                delay_s=self.log_delay_s,
            )
            await asyncio.to_thread(telemetry.start)
            settings = PoolSettings(
                concurrency_limit=self._limit(function),
                provisioned=0,
                keep_alive_min_s=self.local.keep_alive_min_s,
                keep_alive_max_s=self.local.keep_alive_max_s,
                freeze=self.local.freeze,
            )
            arn = fn.qualified_arn("" if version == LATEST else version)
            pool = Pool(spec, settings, telemetry, self.cpu, arn)
            pool.active_elsewhere = functools.partial(self._active_elsewhere, function, pool)
            await pool.start()
            self.pools[key] = pool
            wanted = self._wanted_provisioned(function, version)
            if wanted:
                self._spawn(pool.provision(wanted))
            return pool
        finally:
            self._starting.pop(key, None)

    def _active_elsewhere(self, function: str, pool: Pool) -> int:
        return sum(
            p.active() for (f, _), p in self.pools.items() if f == function and p is not pool
        )

    async def _set_provisioned(self, function: str, version: str) -> None:
        if function not in self.backend.functions:
            return
        wanted = self._wanted_provisioned(function, version)
        pool = self.pools.get((function, version))
        if pool is None and wanted:
            await self.pool_for(function, version)  # starts it and provisions
        elif pool is not None:
            await pool.provision(wanted)

    async def _drain(self, pool: Pool) -> None:
        """Retire a pool: idle environments go now, busy ones after their invocation."""
        await pool.recycle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _DRAIN_LIMIT_S
        while pool.envs and loop.time() < deadline:
            await asyncio.sleep(0.1)
        self._draining.discard(pool)
        await self._stop_pool(pool)

    async def _stop_pool(self, pool: Pool) -> None:
        await pool.stop()
        await asyncio.to_thread(pool.telemetry.stop)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        """Close every URL and stop every pool, their logs delivered."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for runner in self._urls.values():
            await runner.cleanup()
        self._urls.clear()
        for pool in [*self.pools.values(), *self._draining]:
            with contextlib.suppress(Exception):
                await self._stop_pool(pool)
        self.pools.clear()
        self._draining.clear()


@functools.cache
def _private_tmp(task_root: Path) -> bool:
    return private_tmp_possible(task_root)
