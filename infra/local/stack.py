"""The local Lambda stack: CloudWatch (moto server), telemetry, environments, Function URL.

:class:`LocalLambda` is the asyncio object; :func:`running` runs it on a background
thread for tests and the pipeline; ``coldbench local`` runs it in the foreground.
Everything binds to 127.0.0.1 unless ``[local] host`` says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web

from coldbench.infra.errors import LocalLambdaError
from coldbench.infra.layers import local_layers
from coldbench.infra.local import cgroups, leftovers
from coldbench.infra.local.control import control_app
from coldbench.infra.local.environment import FunctionSpec, private_tmp_possible
from coldbench.infra.local.frontend import FunctionUrl
from coldbench.infra.local.moto_server import MotoServer
from coldbench.infra.local.pool import Pool, PoolSettings
from coldbench.infra.local.runtime import opt_dir, runtime_dir
from coldbench.infra.local.sigv4 import LOCAL_ACCOUNT_ID
from coldbench.infra.local.telemetry import Telemetry
from coldbench.infra.packaging import (
    build_package,
    check_total,
    profiled,
    source_for,
    unpack,
)
from coldbench.record.config import Config
from coldbench.record.target import FunctionSnapshot, Target, this_host

log = logging.getLogger(__name__)


def work_root() -> str | None:
    """Where the unpacked code lives: outside /tmp (each environment gets its own /tmp,
    which would hide it), in /var/tmp where there is one."""
    var_tmp = Path("/var/tmp")
    return str(var_tmp) if var_tmp.is_dir() and os.access(var_tmp, os.W_OK) else None


def run_setup(script: Path, endpoint: str, region: str, timeout_s: float = 300) -> None:
    """``[local] setup``: the user's script, run once before the load, with the local AWS
    services' endpoint and the environments' dummy credentials, so what it creates (a
    table, a bucket, items) is what the function finds.

    Raises:
        LocalLambdaError: the script is missing, fails or runs past ``timeout_s``.
    """
    if not script.is_file():
        raise LocalLambdaError(f"local.setup: {script} is not a file")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "ASIACOLDBENCHLOCALENV",
        "AWS_SECRET_ACCESS_KEY": "coldbench-local-environment-dummy",
    }
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalLambdaError(f"local.setup: {script} ran past {timeout_s:.0f} s") from exc
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise LocalLambdaError(f"local.setup: {script} exited {result.returncode}:\n{tail}")
    log.info("local.setup: %s ran", script)


def warn_if_exposed(host: str, auth: str) -> None:
    """Listening beyond loopback is the user's choice; say what it means."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return
    exposure = (
        "with url.auth = NONE anyone who reaches it can invoke the function"
        if auth == "NONE"
        else "requests still need a signature"
    )
    log.warning("local.host = %s: the Function URL listens beyond this machine; %s", host, exposure)


class LocalLambda:
    """One function behind a local Function URL."""

    def __init__(self, config: Config, cloudwatch_endpoint: str = ""):
        self.config = config
        fn = config.function
        self.function_name = f"{config.target.stack_name}-{fn.variant}"
        self.log_group = f"/aws/lambda/{self.function_name}"
        self.cloudwatch_endpoint = cloudwatch_endpoint
        self._moto: MotoServer | None = None
        self._runners: list[web.BaseRunner] = []
        root = work_root()
        leftovers.reap(Path(root or tempfile.gettempdir()))  # of local Lambdas killed before
        self._workdir = tempfile.TemporaryDirectory(prefix="coldbench-local-", dir=root)
        leftovers.claim(Path(self._workdir.name))
        self.pool: Pool | None = None
        self.target: Target | None = None
        self.cpu = cgroups.CpuScaler("off")

    async def start(self) -> Target:
        cfg, fn = self.config, self.config.function
        warn_if_exposed(cfg.local.host, cfg.url.auth)
        source_dir, handler = source_for(fn.variant, fn.source, fn.handler)
        package = build_package(source_dir, handler, profile_init=fn.profile_init)
        configured, env = profiled(handler, dict(fn.env), fn.profile_init)
        work = Path(self._workdir.name)
        task_root = unpack(package, work)
        layers = await asyncio.to_thread(local_layers, fn.layers, cfg.target.region)
        check_total(package, layers)
        opt = opt_dir([unpack(layer, work / "layers") for layer in layers], work)
        if not self.cloudwatch_endpoint:
            self._moto = MotoServer("127.0.0.1")  # CloudWatch stays on loopback, always
            self.cloudwatch_endpoint = await asyncio.to_thread(self._moto.start)
        telemetry = Telemetry(
            self.cloudwatch_endpoint,
            cfg.target.region,
            self.function_name,
            self.log_group,
            fn.log_format,
            retention_days=fn.log_retention_days,
        )
        await asyncio.to_thread(telemetry.start)
        suffix = hashlib.sha1(self._workdir.name.encode()).hexdigest()[:8]
        instance = f"{leftovers.process_token()}-{suffix}"  # stale once this process is gone
        self.cpu = cgroups.detect(cfg.local.cpu_scaling, instance)
        if cfg.local.cpu_scaling == "on" and not self.cpu.enabled:
            raise LocalLambdaError("local.cpu_scaling = on but no writable cgroup cpu controller")
        spec = FunctionSpec(
            name=self.function_name,
            handler=configured,
            task_root=task_root,
            memory_mb=fn.memory_mb,
            timeout_s=fn.timeout_s,
            region=cfg.target.region,
            log_group=self.log_group,
            log_format=fn.log_format,
            user_env=env,
            ephemeral_storage_mb=fn.ephemeral_storage_mb,
            private_tmp=await asyncio.to_thread(private_tmp_possible, task_root),
            work_dir=Path(self._workdir.name),
            runtime_dir=await asyncio.to_thread(runtime_dir, Path(self._workdir.name)),
            aws_endpoint=self.cloudwatch_endpoint,
            opt_dir=opt,
            layer_runtime=fn.runtime,
        )
        if cfg.local.setup:
            await asyncio.to_thread(
                run_setup, Path(cfg.local.setup), self.cloudwatch_endpoint, cfg.target.region
            )
        limit = cfg.local.max_environments
        if fn.reserved_concurrency:
            limit = min(limit, fn.reserved_concurrency)
        settings = PoolSettings(
            concurrency_limit=limit,
            provisioned=fn.provisioned_concurrency,
            keep_alive_min_s=cfg.local.keep_alive_min_s,
            keep_alive_max_s=cfg.local.keep_alive_max_s,
            freeze=cfg.local.freeze,
        )
        arn = f"arn:aws:lambda:{cfg.target.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"
        self.pool = Pool(spec, settings, telemetry, self.cpu, arn)
        await self.pool.start()
        url_id = hashlib.sha256(self.function_name.encode()).hexdigest()[:32]
        front = FunctionUrl(
            self.pool,
            auth=cfg.url.auth,
            region=cfg.target.region,
            url_id=url_id,
            cors_allow_origins=cfg.url.cors_allow_origins,
        )
        port = await self._serve(front.server(), cfg.local.host, cfg.local.port)
        control_port = await self._serve(control_app(self.pool), "127.0.0.1", 0)
        self.target = Target(
            kind="local",
            url=f"http://{cfg.local.host}:{port}/",
            auth=cfg.url.auth,
            region=cfg.target.region,
            function_name=self.function_name,
            log_group=self.log_group,
            cloudwatch_endpoint=self.cloudwatch_endpoint,
            control_url=f"http://127.0.0.1:{control_port}/",
            account_id=LOCAL_ACCOUNT_ID,
            owner_pid=os.getpid(),
            owner_host=this_host(),
            function=FunctionSnapshot(
                variant=fn.variant,
                handler=handler,
                memory_mb=fn.memory_mb,
                timeout_s=fn.timeout_s,
                architecture=fn.architecture,
                runtime=spec.runtime,  # what ran; the configured one is for AWS
                configured_runtime=fn.runtime if fn.runtime != spec.runtime else "",
                log_format=fn.log_format,
                reserved_concurrency=fn.reserved_concurrency,
                provisioned_concurrency=fn.provisioned_concurrency,
                concurrency_limit=limit,
                package_bytes=package.size,
                package_sha256=package.sha256,
                cpu_scaling=self.cpu.mode if self.cpu.enabled else "not emulated",
                keep_alive_s=(cfg.local.keep_alive_min_s, cfg.local.keep_alive_max_s),
                ephemeral_storage_mb=fn.ephemeral_storage_mb,
                tmp_isolation="private tmpfs" if spec.private_tmp else "TMPDIR only",
                layers=tuple(fn.layers),
                profile_init=fn.profile_init,
                layers_bytes=sum(layer.size for layer in layers),
            ),
        )
        return self.target

    async def _serve(self, app: web.Application | web.Server, host: str, port: int) -> int:
        if isinstance(app, web.Server):
            runner: web.BaseRunner = web.ServerRunner(app, access_log=None, handle_signals=False)
        else:
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        self._runners.append(runner)
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.pool is not None:
            await self.pool.stop()
            await asyncio.to_thread(self.pool.telemetry.stop)
        self.cpu.cleanup()
        if self._moto is not None:
            await asyncio.to_thread(self._moto.stop)
        self._workdir.cleanup()


@contextlib.contextmanager
def running(config: Config, cloudwatch_endpoint: str = "") -> Iterator[LocalLambda]:
    """Run a :class:`LocalLambda` on a background event loop for the ``with`` block."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="local-lambda", daemon=True)
    thread.start()
    stack = LocalLambda(config, cloudwatch_endpoint)
    try:
        asyncio.run_coroutine_threadsafe(stack.start(), loop).result(120)
        yield stack
    finally:
        try:
            asyncio.run_coroutine_threadsafe(stack.stop(), loop).result(120)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()
