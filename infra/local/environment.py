"""One execution environment: an OS process running AWS's ``awslambdaric``.

The process talks to its own Runtime API listener (see :mod:`runtime_api`); this module
owns its life: spawn with Lambda's environment variables, freeze between invocations
(SIGSTOP/SIGCONT), real peak memory from ``/proc``, kill on timeout, out-of-memory,
reaping or recycle.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from coldbench.infra.local import sandbox

RUNTIME_PATHS = list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
# The runtime environments really run: this interpreter. Lambda's runtime client keys
# behaviour on AWS_EXECUTION_ENV (JSON encoding, how it polls for events), so it names
# this one, whatever the function is configured with for AWS.
LOCAL_RUNTIME = "python{}.{}".format(*sys.version_info[:2])
SETPRIV = shutil.which("setpriv")  # util-linux; sets the parent-death signal, then execs
UNSHARE = shutil.which("unshare")  # util-linux; a mount namespace for a private /tmp


def private_tmp_possible(task_root: Path) -> bool:
    """Whether each environment can have its own tmpfs at /tmp: a mount namespace (root or
    CAP_SYS_ADMIN), and nothing the environment runs from under /tmp (the tmpfs hides
    it). Elsewhere it gets its own TMPDIR, which code that writes to /tmp by name does
    not honour: the target records which one ran."""
    needed = [Path(sys.executable), task_root, *map(Path, RUNTIME_PATHS)]
    if any(_under_tmp(path) for path in needed):
        return False
    return _mount_namespaces()


def _under_tmp(path: Path) -> bool:
    resolved = path.resolve()
    return resolved == Path("/tmp") or Path("/tmp") in resolved.parents


@functools.cache
def _mount_namespaces() -> bool:
    if UNSHARE is None:
        return False
    probe = [UNSHARE, "--mount", "--propagation", "private", "--"]
    probe += ["/bin/sh", "-c", "mount -t tmpfs -o size=1m coldbench-probe /tmp"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@dataclass
class Outcome:
    """How an invocation ended."""

    kind: str  # response | error | timeout | crash | oom | init_error | too_large
    body: bytes = b""
    error_type: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "response"


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    trace_id: str
    result: asyncio.Future = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    started: float = 0.0  # perf_counter when handed to the runtime

    def finish(self, outcome: Outcome) -> None:
        if not self.result.done():
            self.result.set_result(outcome)


@dataclass(frozen=True)
class FunctionSpec:
    """What every environment of one function shares."""

    name: str
    handler: str
    task_root: Path
    memory_mb: int
    timeout_s: int
    region: str
    log_group: str
    log_format: str
    version: str = "$LATEST"
    user_env: dict = field(default_factory=dict)
    runtime: str = LOCAL_RUNTIME
    ephemeral_storage_mb: int = 512  # the size of each environment's own /tmp
    private_tmp: bool = False  # a tmpfs at /tmp per environment (private_tmp_possible)
    work_dir: Path | None = None  # where environments' TMPDIRs live without private /tmp
    runtime_dir: Path | None = None  # the runtime's libraries alone (runtime.runtime_dir)
    aws_endpoint: str = ""  # locally: where the AWS services it calls are (moto)
    opt_dir: Path | None = None  # its layers, merged as Lambda unpacks them under /opt
    layer_runtime: str = ""  # the python3.x of /opt/python/lib/python3.x/site-packages

    @property
    def layer_paths(self) -> list[str]:
        """Lambda's layer folders on the path, after the task root (LAMBDA-FACTS)."""
        if self.opt_dir is None:
            return []
        runtime = self.layer_runtime or self.runtime
        python = self.opt_dir / "python"
        return [str(python / "lib" / runtime / "site-packages"), str(python)]

    @property
    def mount_opt(self) -> bool:
        """Whether the layers can also be seen at /opt itself (code that opens
        ``/opt/...`` by name): in the environment's own mount namespace, unless the
        interpreter or its libraries live under /opt."""
        if self.opt_dir is None or not self.private_tmp:
            return False
        needed = [Path(sys.executable), *map(Path, RUNTIME_PATHS), *map(Path, self.library_paths)]
        return not any(Path("/opt") in p.resolve().parents for p in needed)

    @property
    def library_paths(self) -> list[str]:
        """After the task root: the runtime's libraries (all of this interpreter's
        site-packages only when no runtime folder was made, as in unit tests)."""
        return [str(self.runtime_dir)] if self.runtime_dir else RUNTIME_PATHS


_MEMORY = re.compile(rb"VmHWM:\s+(\d+).*?VmRSS:\s+(\d+)", re.S)  # VmRSS follows VmHWM


def read_memory_kb(status: bytes) -> tuple[int, int]:
    """Peak (VmHWM) and current (VmRSS) resident memory in kB from a /proc status text
    (read on every invocation: one regular-expression search, not a parse of each line)."""
    found = _MEMORY.search(status)
    return (int(found[1]), int(found[2])) if found else (0, 0)


class Environment:
    """A single execution environment; at most one invocation at a time."""

    def __init__(
        self, spec: FunctionSpec, init_type: str, keep_alive_s: float, log_stream: str = ""
    ):
        self.spec = spec
        self.id = uuid.uuid4().hex
        date = time.strftime("%Y/%m/%d", time.gmtime())
        # A suppressed init re-runs in the same execution environment: same log stream.
        self.log_stream = log_stream or f"{date}/[{spec.version}]{self.id}"
        self.init_type = init_type
        self.keep_alive_s = keep_alive_s
        self.state = "init"  # init | idle | busy | dead
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future = loop.create_future()  # -> "" or an init error type
        self.inbox: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=1)
        self.current: Invocation | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.init_started = 0.0  # perf_counter
        self.init_duration_ms: float | None = None
        self.init_reported = False  # Init Duration goes on the first REPORT only
        self.idle_since = time.monotonic()
        self.frozen = False
        self._freeze_timer: asyncio.TimerHandle | None = None
        self._status_fd: int | None = None  # /proc/<pid>/status, kept open: one pread
        self._children_fd: int | None = None  # /proc/<pid>/task/<pid>/children, the same
        self._peak_mb = 1
        self.retire = False  # recycle: do not return to the pool
        self.telemetry_fd: int | None = None  # read end of the framed log channel
        self.tmp_dir: Path | None = None  # its own TMPDIR, without a private /tmp
        self.init_error = b""  # what the runtime posted to /init/error
        self.procs_file: Path | None = None  # its cgroup's member list, with CPU scaling
        self.exit: asyncio.Future | None = None  # done when its runtime process exits

    @property
    def on_demand(self) -> bool:
        return self.init_type == "on-demand"

    def environ(self) -> dict[str, str]:
        spec = self.spec
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin"
            + (f":{spec.opt_dir}/bin" if spec.opt_dir else ""),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            # Like Lambda: the task root first, then the layers, then the runtime's
            # libraries (awslambdaric, boto3 and their dependencies). No site processing (-S): the environment
            # never sees coldbench or its virtualenv.
            "PYTHONPATH": os.pathsep.join(
                [str(spec.task_root), *spec.layer_paths, *spec.library_paths]
            ),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(spec.task_root),
            "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": self.init_type,
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_LOG_FORMAT": spec.log_format,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.port}",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            # Dummy session credentials, as Lambda injects the execution role's.
            "AWS_ACCESS_KEY_ID": "ASIACOLDBENCHLOCALENV",
            "AWS_SECRET_ACCESS_KEY": "coldbench-local-environment-dummy",
            "AWS_SESSION_TOKEN": "coldbench-local-environment-dummy-token",
            sandbox.MARKER: self.id,  # every process it starts is found by this
        }
        if spec.opt_dir is not None:
            env["LD_LIBRARY_PATH"] = f"{spec.opt_dir}/lib"
        if spec.aws_endpoint:  # the AWS services it calls are the local ones (moto)
            env["AWS_ENDPOINT_URL"] = spec.aws_endpoint
        env.update({str(k): str(v) for k, v in spec.user_env.items()})
        return env

    def command(self, procs_file: Path | None) -> list[str]:
        """The environment's process: the runtime client, in its own empty /tmp and CPU
        cgroup when the machine allows, dying with the local Lambda."""
        cmd = [sys.executable, "-S", "-m", "awslambdaric", self.spec.handler]
        script = []
        if self.spec.private_tmp:
            # A tmpfs of the ephemeral storage's size, seen by this environment alone and
            # gone with it (its mount namespace ends with its last process).
            size = self.spec.ephemeral_storage_mb
            script.append(f"mount -t tmpfs -o size={size}m,mode=1777 coldbench-tmp /tmp || exit 97")
        if self.spec.mount_opt:
            script.append(f"mount --bind {shlex.quote(str(self.spec.opt_dir))} /opt || exit 97")
        if procs_file is not None:
            # Join the CPU cgroup before exec so all of init runs at the memory's CPU share.
            script.append('echo $$ > "$0"')
        if script:
            script.append('exec "$@"')
            cmd = ["/bin/sh", "-c", " && ".join(script), str(procs_file or "-"), *cmd]
        if self.spec.private_tmp:
            cmd = [str(UNSHARE), "--mount", "--propagation", "private", "--", *cmd]
        if SETPRIV:
            # Die with the local Lambda even if it is killed without a chance to clean up.
            cmd = [SETPRIV, "--pdeathsig", "KILL", "--", *cmd]
        return cmd

    async def spawn(self, procs_file: Path | None) -> None:
        """Start the process; init runs until the runtime's first ``/next``. Its log
        records arrive framed on a pipe of their own (``_LAMBDA_TELEMETRY_LOG_FD``), its
        ``print`` output on stdout."""
        environ = self.environ()
        read_fd, write_fd = os.pipe()
        environ["_LAMBDA_TELEMETRY_LOG_FD"] = str(write_fd)
        if not self.spec.private_tmp and self.spec.work_dir is not None:
            self.tmp_dir = self.spec.work_dir / f"tmp-{self.id}"
            self.tmp_dir.mkdir(parents=True)
            environ["TMPDIR"] = str(self.tmp_dir)
        self.init_started = time.perf_counter()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.command(procs_file),
                env=environ,
                cwd=str(self.spec.task_root),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(write_fd,),
                limit=1 << 20,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child holds it now: the pipe ends when the child does
        self.telemetry_fd = read_fd
        self.procs_file = procs_file
        self.exit = self._exit_of(self.proc)

    @staticmethod
    def _exit_of(proc: asyncio.subprocess.Process) -> asyncio.Future:
        try:
            return sandbox.exited(proc.pid)
        except (AttributeError, OSError):  # no pidfds (Linux < 5.3): the process's own wait
            return asyncio.ensure_future(proc.wait())

    def init_complete(self) -> None:
        if self.init_duration_ms is None:
            self.init_duration_ms = (time.perf_counter() - self.init_started) * 1000
        if not self.ready.done():
            self.ready.set_result("")

    def init_failed(self, error_type: str, document: bytes = b"") -> None:
        if document and not self.init_error:
            self.init_error = document  # the runtime's error document, for the console
        if self.init_duration_ms is None:
            self.init_duration_ms = (time.perf_counter() - self.init_started) * 1000
        self.memory_mb()  # its peak while the process still exists, for the REPORT
        if not self.ready.done():
            self.ready.set_result(error_type or "Runtime.Unknown")

    def _signal(self, sig: int) -> None:
        """Signal the whole environment (its process group): freezing or ending it
        freezes or ends what its function started too."""
        if self.proc is not None:
            sandbox.signal_group(self.proc.pid, sig)

    def freeze(self) -> None:
        self._freeze_timer = None
        if not self.frozen and self.state == "idle":
            self._signal(signal.SIGSTOP)
            self.frozen = True

    def freeze_after(self, grace_s: float) -> None:
        """Freeze once idle for ``grace_s``: an environment reused at once is never
        stopped and continued, which under load costs two signals and two context
        switches per invocation for no observable difference."""
        loop = asyncio.get_running_loop()
        self._freeze_timer = loop.call_later(grace_s, self.freeze)

    def thaw(self) -> None:
        if self._freeze_timer is not None:
            self._freeze_timer.cancel()
            self._freeze_timer = None
        if self.frozen:
            self._signal(signal.SIGCONT)
            self.frozen = False

    def kill(self) -> None:
        self.state = "dead"
        if self._freeze_timer is not None:
            self._freeze_timer.cancel()
            self._freeze_timer = None
        self._signal(signal.SIGKILL)
        self.frozen = False

    def close(self) -> None:
        """Release what the environment holds once its process has exited."""
        for fd in (self._status_fd, self._children_fd):
            if fd is not None:
                os.close(fd)
        self._status_fd = self._children_fd = None
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None

    def memory_mb(self) -> tuple[int, float]:
        """(Max Memory Used in whole MB as REPORT shows it, current RSS in MB)."""
        if self.proc is None or self.proc.returncode is not None:
            return self._peak_mb, 0.0  # gone: its peak as last seen
        pid = self.proc.pid
        try:
            if self._status_fd is None:
                self._status_fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
                self._children_fd = os.open(f"/proc/{pid}/task/{pid}/children", os.O_RDONLY)
            peak_kb, rss_kb = read_memory_kb(os.pread(self._status_fd, 4096, 0))
            children = os.pread(self._children_fd, 4096, 0) if self._children_fd else b""
        except (OSError, ValueError):
            return self._peak_mb, 0.0
        if children.strip():  # what its function started counts against the memory size too
            rss_kb += sum(sandbox.rss_kb(c) for c in sandbox.children_of(pid))
        self._peak_mb = max(self._peak_mb, -(-max(peak_kb, rss_kb) // 1024))
        return self._peak_mb, rss_kb / 1024
