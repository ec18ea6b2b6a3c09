"""The target description: what ``up`` stood up, written to ``.coldbench/target.json``.

It is the only thing the load generator and the analysis learn about the function from
the provisioner: where the URL is, how to authenticate, where its logs and metrics are.
It never holds credentials, only the name of the profile to take them from, so that
whatever acts on the target later (recycle at an idle gap) uses the run's own.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coldbench.record.errors import TargetError
from coldbench.record.files import write_text_atomic

STATE_DIR = Path(".coldbench")
TARGET_FILE = STATE_DIR / "target.json"


@dataclass(frozen=True)
class FunctionSnapshot:
    """The function's configuration when the target was stood up: one type, built the
    same way by the local Lambda and by the AWS provisioner, so readers never probe."""

    variant: str = "probe"
    handler: str = ""
    memory_mb: int = 128
    timeout_s: int = 3
    architecture: str = "x86_64"
    runtime: str = ""  # what runs: the local interpreter's, or the configured one on AWS
    log_format: str = "JSON"
    reserved_concurrency: int = 0
    provisioned_concurrency: int = 0
    configured_runtime: str = ""  # local: the runtime configured for AWS, when it differs
    concurrency_limit: int = 0  # local: environments allowed at once
    package_bytes: int = 0
    package_sha256: str = ""
    cpu_scaling: str = "AWS"  # local: the cgroup mode, or "not emulated"
    keep_alive_s: tuple[float, float] | None = None  # local: the keep-alive range
    ephemeral_storage_mb: int = 512
    tmp_isolation: str = "AWS"  # local: "private tmpfs" per environment, or "TMPDIR only"
    stack_name: str = ""
    layers: tuple[str, ...] = ()  # layer version ARNs on AWS; locally the configured entries
    layers_bytes: int = 0  # the layers' zips together
    profile_init: bool = False  # import-time profiling on: init is slower than unprofiled

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionSnapshot:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("keep_alive_s") is not None:
            known["keep_alive_s"] = tuple(known["keep_alive_s"])
        known["layers"] = tuple(known.get("layers") or ())
        return cls(**known)


@dataclass(frozen=True)
class Target:
    kind: str  # local | aws
    url: str  # Function URL, ending in /
    auth: str  # AWS_IAM | NONE
    region: str
    function_name: str
    profile: str = ""  # AWS: the named profile whose credentials act on the function
    qualifier: str = ""  # alias when provisioned concurrency is on
    log_group: str = ""
    cloudwatch_endpoint: str = ""  # local only; empty means AWS's own endpoint
    control_url: str = ""  # local only: recycle and status endpoints
    account_id: str = ""
    function: FunctionSnapshot = field(default_factory=FunctionSnapshot)
    owner_pid: int = 0  # local: the process serving the target; the file is its own
    owner_host: str = (
        ""  # local: the machine of owner_pid (this_host()); a pid elsewhere means nothing
    )
    existing: bool = False  # AWS: a function coldbench did not create and must not change

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["function"] = FunctionSnapshot.from_dict(known.get("function") or {})
        try:
            return cls(**known)
        except TypeError as exc:
            raise TargetError(f"target description is incomplete: {exc}") from exc


def write_target(target: Target, path: Path = TARGET_FILE) -> Path:
    """Write atomically so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps(target.to_dict(), indent=2, sort_keys=True))


def read_target(path: Path | str | None = None) -> Target:
    """Read the target description (``$COLDBENCH_TARGET_FILE`` or .coldbench/target.json)
    and check that the target is alive: a local target whose process has ended is
    refused (and its file, which belonged to that process, removed).

    Raises:
        TargetError: no file, not a target, or a local target that is no longer served.
    """
    path = Path(path or os.environ.get("COLDBENCH_TARGET_FILE") or TARGET_FILE)
    try:
        target = Target.from_dict(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise TargetError(f"no target at {path}: {_START_ONE}") from exc
    except json.JSONDecodeError as exc:
        raise TargetError(f"{path} is not valid JSON: {exc}") from exc
    if not target_alive(target):
        if _owned_here(target) and target.owner_pid and not _pid_alive(target.owner_pid):
            path.unlink(missing_ok=True)
        raise TargetError(
            f"the local target in {path} ({target.url}) is no longer running: {_START_ONE}"
        )
    return target


_START_ONE = (
    "start one with `coldbench local` (it serves until Ctrl-C), or `coldbench up` for AWS; "
    "`make loadtest` starts and stops its own"
)


def target_alive(target: Target, timeout_s: float = 2.0) -> bool:
    """A local target is alive while its process runs and its control API answers; an
    AWS target is taken as alive (what stands there is ``coldbench status``'s to say).

    From another machine (a distributed worker given a copy of the file) the owner's
    process cannot be looked up and its control API, on the owner's loopback, cannot
    be reached: there the target is alive while its Function URL accepts connections.
    """
    if target.kind != "local":
        return True
    if _owned_here(target) and target.owner_pid and not _pid_alive(target.owner_pid):
        return False
    if not target.control_url:
        return True  # a description written by hand: nothing to check it against
    try:
        with urllib.request.urlopen(target.control_url + "status", timeout=timeout_s):
            return True
    except OSError:
        return _accepts(target.url, timeout_s)


def this_host() -> str:
    """This machine, as a target file names its owner's: host name and boot id."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"


def _owned_here(target: Target) -> bool:
    return target.owner_host in ("", this_host())


def _accepts(url: str, timeout_s: float) -> bool:
    """Whether something listens at the URL's host and port (a connection, no request)."""
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
