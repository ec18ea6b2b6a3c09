"""The environment lifecycle: cold starts, reuse, throttling, reaping, recycling.

Rules, as Lambda applies them:

- one invocation at a time per environment; an idle environment is reused (provisioned
  ones first, then the most recently used);
- with none idle, a new on-demand environment starts (a cold start), unless the
  concurrency limit is reached: then the request is throttled (429);
- an idle on-demand environment is reaped after its keep-alive, drawn per environment
  from the configured range; provisioned environments are initialised ahead and kept;
- a timeout, a crash or going over the memory size ends the environment;
- ``recycle`` retires every environment so the next requests are cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from coldbench.infra.local.cgroups import CpuScaler
from coldbench.infra.local.children import watch_children_with_pidfd
from coldbench.infra.local.environment import Environment, FunctionSpec, Invocation, Outcome
from coldbench.infra.local.errorlog import ErrorLog
from coldbench.infra.local.output import pump_frames, pump_lines
from coldbench.infra.local.records import PoolRecords
from coldbench.infra.local.runtime_api import RuntimeApi
from coldbench.infra.local.sandbox import kill_stragglers
from coldbench.infra.local.telemetry import RUNTIME_VERSION, Telemetry, iso_ms

log = logging.getLogger(__name__)
echo_log = logging.getLogger("coldbench.function.output")  # -v: the function's output
_INIT_TIMEOUT_S = 10.0  # Lambda's init phase limit for on-demand environments
_WATCH_INTERVAL_S = 0.1
# An idle environment is frozen (SIGSTOP) once idle this long, not at once: reuse within
# the grace skips a stop/continue pair, the bulk of the per-invocation cost under load.
_FREEZE_GRACE_S = 0.02


class Throttled(Exception):
    """The concurrency limit is reached."""


@dataclass(frozen=True)
class PoolSettings:
    concurrency_limit: int
    provisioned: int
    keep_alive_min_s: float
    keep_alive_max_s: float
    freeze: bool


class Pool(PoolRecords):
    def __init__(
        self,
        spec: FunctionSpec,
        settings: PoolSettings,
        telemetry: Telemetry,
        cpu: CpuScaler,
        function_arn: str,
        rng: random.Random | None = None,
    ):
        self.spec = spec
        self.settings = settings
        self.telemetry = telemetry
        self.cpu = cpu
        self.api = RuntimeApi(function_arn, self._on_idle)
        self.rng = rng or random.Random()
        self.envs: dict[str, Environment] = {}
        self._idle_provisioned: list[Environment] = []
        self._idle_on_demand: list[Environment] = []
        self._tasks: set[asyncio.Task] = set()
        self._watcher: asyncio.Task | None = None
        self.counters = {
            "invocations": 0,
            "cold_starts": 0,
            "throttles": 0,
            "reaped": 0,
            "replaced": 0,
        }
        self._stopping = False
        self.errors = ErrorLog(spec.name)
        # Environments of the same function that this pool does not hold (other versions'
        # pools) count against the same concurrency limit.
        self.active_elsewhere: Callable[[], int] = lambda: 0

    # -- lifecycle of the pool ---------------------------------------------------------
    async def start(self) -> None:
        watch_children_with_pidfd()
        await self.api.start()
        self._watcher = asyncio.create_task(self._watch())
        await asyncio.gather(*(self._provision_one() for _ in range(self.settings.provisioned)))

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher:
            self._watcher.cancel()
        for env in list(self.envs.values()):
            env.kill()
        for env in list(self.envs.values()):
            if env.exit is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(env.exit), 5)
        for task in [t for t in self._tasks if t.get_name().startswith("exit-")]:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), 10)  # stragglers killed
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.api.stop()
        self.errors.tally()

    async def recycle(self) -> int:
        """Retire every environment; provisioned ones are initialised afresh."""
        retired = list(self.envs.values())
        self._idle_on_demand.clear()
        self._idle_provisioned.clear()
        for env in retired:
            env.retire = True
            if env.state == "idle":
                env.kill()
        await asyncio.gather(*(self._provision_one() for _ in range(self.settings.provisioned)))
        return len(retired)

    async def provision(self, count: int) -> None:
        """Keep ``count`` provisioned environments: more are initialised, extra ones retire."""
        self.settings = replace(self.settings, provisioned=count)
        kept = [e for e in self.envs.values() if not e.on_demand and not e.retire]
        for env in kept[count:]:
            env.retire = True
            if env in self._idle_provisioned:
                self._idle_provisioned.remove(env)
                env.kill()
        await asyncio.gather(*(self._provision_one() for _ in range(count - len(kept))))

    def provisioned_ready(self) -> int:
        """Provisioned environments initialised and serving (idle or busy)."""
        return sum(
            1
            for e in self.envs.values()
            if not e.on_demand and not e.retire and e.state in ("idle", "busy")
        )

    def active(self) -> int:
        """Environments initialising or busy: what counts against the concurrency limit."""
        return sum(1 for e in self.envs.values() if e.state in ("init", "busy") and not e.retire)

    def status(self) -> dict:
        states: dict[str, int] = {}
        for env in self.envs.values():
            states[env.state] = states.get(env.state, 0) + 1
        return {
            "environments": len(self.envs),
            "states": states,
            **self.counters,
            "telemetry": dict(self.telemetry.counts),
        }

    # -- environments ------------------------------------------------------------------
    async def _spawn(self, init_type: str, log_stream: str = "") -> Environment:
        """A new environment; with ``log_stream``, the suppressed init of one whose init
        ran out of time (the same execution environment: no new INIT_START)."""
        keep_alive = self.rng.uniform(
            self.settings.keep_alive_min_s, self.settings.keep_alive_max_s
        )
        env = Environment(self.spec, init_type, keep_alive, log_stream)
        self.envs[env.id] = env
        await self.api.open(env)
        procs_file = self.cpu.create(env.id, self.spec.memory_mb)
        if not log_stream:
            record = {
                "initializationType": init_type,
                "phase": "init",
                "runtimeVersion": RUNTIME_VERSION,
                "functionName": self.spec.name,
                "functionVersion": self.spec.version,
            }
            text = f"INIT_START Runtime Version: {RUNTIME_VERSION}\tRuntime Version ARN: local"
            self.telemetry.platform(env.log_stream, "initStart", record, text, time.time())
        try:
            await env.spawn(procs_file)
        except (OSError, ValueError) as exc:
            # The sandbox could not start: a failed init, and nothing it took is kept
            # (its slot, Runtime API listener and cgroup), or every later request is 429.
            message = f"the environment could not start: {exc}"
            env.init_failed("Runtime.Unknown", json.dumps({"errorMessage": message}).encode())
            env.state = "dead"
            self._forget(env)
            return env
        assert env.proc is not None and env.proc.stdout is not None
        assert env.telemetry_fd is not None
        sink = self._echoed if echo_log.isEnabledFor(logging.DEBUG) else self.telemetry.log
        self._track(pump_lines(env.proc.stdout, env.log_stream, sink))
        self._track(pump_frames(env.telemetry_fd, env.log_stream, sink))
        env.telemetry_fd = None  # the pump owns it now
        self._track(self._wait_exit(env), name=f"exit-{env.id}")
        return env

    def _echoed(self, stream: str, message: str, epoch_s: float | None = None) -> None:
        """``-v``: every line of the function's output on the console too."""
        self.telemetry.log(stream, message, epoch_s)
        echo_log.debug("%s %s", stream.rsplit("]", 1)[-1][:8], message.rstrip("\n"))

    def _track(self, coro, name: str | None = None) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _provision_one(self) -> None:
        env = await self._spawn("provisioned-concurrency")
        error = await self._await_init(env)
        if error:
            log.error("provisioned environment failed to initialise: %s", error)
            self._init_report(env, "init", error)
            env.kill()
            return
        self._on_idle(env)

    async def _await_init(self, env: Environment, limit_s: float = _INIT_TIMEOUT_S) -> str:
        try:
            return await asyncio.wait_for(asyncio.shield(env.ready), limit_s)
        except TimeoutError:
            env.kill()
            return "Sandbox.Timedout"

    async def _wait_exit(self, env: Environment) -> None:
        """The runtime process exited (killed, crashed, or its own doing): the whole
        environment ends with it, whatever it started."""
        assert env.proc is not None and env.exit is not None
        await env.exit
        was_dead = env.state == "dead"
        env.kill()  # its process group
        stragglers = await asyncio.to_thread(kill_stragglers, env.id, env.procs_file)
        if stragglers:
            log.debug("environment %s: %d processes outlived it, killed", env.id, stragglers)
        code = env.proc.returncode
        env.state = "dead"
        env.init_failed("Runtime.ExitError")  # no-op unless still initialising
        kind = "killed" if was_dead else "crash"
        if env.current is not None:
            env.current.finish(Outcome(kind, b"", "Runtime.ExitError"))
            log.debug("environment %s exited with %s during an invocation", env.id, code)
        while not env.inbox.empty():  # handed over just as it died, never picked up
            env.inbox.get_nowait().finish(Outcome(kind, b"", "Runtime.ExitError"))
        self._forget(env)

    def _forget(self, env: Environment) -> None:
        known = self.envs.pop(env.id, None) is not None
        initialised = env.ready.done() and env.ready.result() == ""
        if known and initialised and not env.on_demand and not env.retire and not self._stopping:
            # Provisioned concurrency is kept: a provisioned environment that died is
            # replaced (one whose init failed is not, or a broken function would loop).
            self.counters["replaced"] += 1
            self._track(self._provision_one())
        for idle in (self._idle_on_demand, self._idle_provisioned):
            if env in idle:
                idle.remove(env)
        self.cpu.remove(env.id)
        env.close()
        self._track(self.api.close(env))

    def _on_idle(self, env: Environment) -> None:
        """The runtime called /next after an invocation: freeze and park it."""
        env.current = None
        if env.retire or env.state == "dead":
            env.kill()
            return
        env.state = "idle"
        env.idle_since = time.monotonic()
        if self.settings.freeze:
            env.freeze_after(_FREEZE_GRACE_S)
        (self._idle_on_demand if env.on_demand else self._idle_provisioned).append(env)

    async def _watch(self) -> None:
        """Reap idle environments past their keep-alive; kill any over its memory size."""
        while True:
            await asyncio.sleep(_WATCH_INTERVAL_S)
            self._sample_concurrency()
            now = time.monotonic()
            for env in list(self._idle_on_demand):
                if now - env.idle_since > env.keep_alive_s:
                    self._idle_on_demand.remove(env)
                    self.counters["reaped"] += 1
                    env.kill()
            for env in list(self.envs.values()):
                if env.state == "busy" and env.current and env.memory_mb()[1] > self.spec.memory_mb:
                    env.current.finish(Outcome("oom", b"", "Runtime.OutOfMemory"))
                    env.kill()

    # -- invocations -------------------------------------------------------------------
    async def _acquire(self) -> tuple[Environment, bool]:
        for idle in (self._idle_provisioned, self._idle_on_demand):
            if idle:
                env = idle.pop()
                env.state = "busy"
                return env, False
        if self.active() + self.active_elsewhere() >= self.settings.concurrency_limit:
            self.counters["throttles"] += 1
            self.telemetry.metric("Throttles", 1)
            raise Throttled
        env = await self._spawn("on-demand")
        self.counters["cold_starts"] += 1
        return env, True

    async def invoke(self, payload: bytes, request_id: str, trace_id: str) -> Outcome:
        """Run one invocation; raises :class:`Throttled` at the concurrency limit."""
        env, cold = await self._acquire()
        timeout_s = float(self.spec.timeout_s)
        remaining_s = timeout_s  # less a suppressed init's time, when there was one
        invoke_started = None  # perf_counter when a suppressed init began the invocation
        if cold:
            error = await self._await_init(env)
            if error == "Sandbox.Timedout":
                env, error = await self._suppressed_init(env)
                invoke_started = env.init_started
            elif error:
                self._init_report(env, "init", error)
            if error:
                max_used_mb = env.memory_mb()[0]
                env.kill()
                outcome = Outcome("init_error", b"", error)
                waited_ms = (time.perf_counter() - (invoke_started or time.perf_counter())) * 1000
                if error == "Sandbox.Timedout":  # the suppressed init ran out of time too
                    message = (
                        f"{_iso_now()} {request_id} Task timed out after {timeout_s:.2f} seconds"
                    )
                    self.telemetry.log(env.log_stream, message)
                    outcome = Outcome("timeout", b"", error)
                return self._finish(env, request_id, outcome, waited_ms, max_used_mb)
            if invoke_started is not None:  # what is left of the timeout after the re-init
                remaining_s -= time.perf_counter() - invoke_started
        env.state = "busy"
        invocation = Invocation(
            request_id, payload, int((time.time() + remaining_s) * 1000), trace_id
        )
        # Telemetry is recorded on the next loop turn, off the request's path, with the
        # timestamp of the moment it describes.
        asyncio.get_running_loop().call_soon(
            self.telemetry.platform,
            env.log_stream,
            "start",
            {"requestId": request_id, "version": self.spec.version},
            f"START RequestId: {request_id} Version: {self.spec.version}",
            time.time(),
        )
        self._sample_concurrency()
        env.thaw()
        dispatched = time.perf_counter()
        env.inbox.put_nowait(invocation)
        loop = asyncio.get_running_loop()
        timer = loop.call_later(
            max(0.0, remaining_s), invocation.finish, Outcome("timeout", b"", "Sandbox.Timedout")
        )
        try:
            outcome = await invocation.result
        finally:
            timer.cancel()
        if outcome.kind == "timeout":
            message = f"{_iso_now()} {request_id} Task timed out after {timeout_s:.2f} seconds"
            self.telemetry.log(env.log_stream, message)
            env.kill()
        began = invoke_started or invocation.started or dispatched
        duration_ms = (time.perf_counter() - began) * 1000
        max_used_mb, rss_mb = env.memory_mb()
        if outcome.kind in ("oom", "crash") or rss_mb > self.spec.memory_mb:
            if outcome.kind == "response":
                outcome = Outcome("oom", b"", "Runtime.OutOfMemory")
            env.kill()
        return self._finish(env, request_id, outcome, duration_ms, max_used_mb)

    async def _suppressed_init(self, env: Environment) -> tuple[Environment, str]:
        """Lambda's on-demand init is limited to 10 s; past it, Lambda reports the init
        as timed out and runs init again inside the first invocation, under the function
        timeout ("suppressed init"). Returns the re-initialised environment, or an error
        when the second init fails or runs out of the timeout too."""
        env.init_duration_ms = _INIT_TIMEOUT_S * 1000
        self._init_report(env, "init", "Sandbox.Timedout")
        env.kill()
        again = await self._spawn(env.init_type, log_stream=env.log_stream)
        again.init_reported = True  # its init is inside the invocation: no Init Duration
        error = await self._await_init(again, float(self.spec.timeout_s))
        if error:
            self._init_report(again, "invoke", "Runtime.Unknown", status="error")
            return again, "Sandbox.Timedout" if error == "Sandbox.Timedout" else error
        return again, ""


def _iso_now() -> str:
    return iso_ms(time.time())
