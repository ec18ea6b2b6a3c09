"""The control plane's records: a function, its versions, aliases, URLs and settings.

Plain data with the shapes Lambda's API returns them in (:meth:`VersionConfig.to_api`);
the rules that change them live in :mod:`backend`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from coldbench.infra.localaws.code import Code

LATEST = "$LATEST"


def timestamp(epoch_s: float) -> str:
    """Lambda's ``LastModified`` form: ``2026-11-30T07:27:35.123+0000``."""
    millis = int(epoch_s * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{millis:03d}+0000"


def revision() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class LayerVersion:
    """A published layer version: immutable, its content unpacked once like a package."""

    name: str
    number: int
    arn: str  # the layer's ARN; the version's is arn:number
    description: str
    code: Code
    created: float
    runtimes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    license: str = ""

    @property
    def version_arn(self) -> str:
        return f"{self.arn}:{self.number}"


@dataclass(frozen=True)
class VersionConfig:
    """What a version runs with: code and configuration (immutable; a change is a new one)."""

    role: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    env: tuple[tuple[str, str], ...]
    description: str
    log_format: str
    log_group: str
    ephemeral_mb: int
    architecture: str
    code: Code
    layers: tuple[LayerVersion, ...] = ()

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.env)

    def with_changes(self, **changes: Any) -> VersionConfig:
        return replace(self, **changes)


@dataclass
class Version:
    number: str
    config: VersionConfig
    revision_id: str
    last_modified: float


@dataclass
class Alias:
    name: str
    version: str
    revision_id: str
    description: str = ""


@dataclass
class UrlConfig:
    auth: str
    cors: dict[str, Any]
    url: str
    created: float
    modified: float


@dataclass
class ProvisionedConfig:
    requested: int
    version: str
    modified: float


@dataclass
class Function:
    name: str
    arn: str
    latest: VersionConfig
    revision_id: str
    last_modified: float
    pending_until: float  # State Pending until then, then Active
    updating_until: float = 0.0  # LastUpdateStatus InProgress until then
    updated: bool = False  # LastUpdateStatus exists once creation or an update completes
    versions: dict[str, Version] = field(default_factory=dict)
    next_version: int = 1
    aliases: dict[str, Alias] = field(default_factory=dict)
    urls: dict[str, UrlConfig] = field(default_factory=dict)  # "" = unqualified
    policies: dict[str, list[dict]] = field(default_factory=dict)  # by qualifier
    reserved: int | None = None
    provisioned: dict[str, ProvisionedConfig] = field(default_factory=dict)  # by qualifier
    tags: dict[str, str] = field(default_factory=dict)

    def qualified_arn(self, qualifier: str) -> str:
        return f"{self.arn}:{qualifier}" if qualifier else self.arn

    def state(self, now: float) -> str:
        return "Pending" if now < self.pending_until else "Active"

    def update_status(self, now: float) -> str | None:
        if now < self.updating_until:
            return "InProgress"
        if now >= self.pending_until:
            return "Successful"
        return None


def configuration(fn: Function, version: str, now: float) -> dict[str, Any]:
    """``FunctionConfiguration`` of ``$LATEST`` or a published version."""
    if version == LATEST:
        config, revision_id, modified = fn.latest, fn.revision_id, fn.last_modified
        state, update = fn.state(now), fn.update_status(now)
    else:
        found = fn.versions[version]
        config, revision_id, modified = found.config, found.revision_id, found.last_modified
        state, update = "Active", "Successful"
    result: dict[str, Any] = {
        "FunctionName": fn.name,
        "FunctionArn": fn.qualified_arn(version if version != LATEST else ""),
        "Runtime": config.runtime,
        "Role": config.role,
        "Handler": config.handler,
        "CodeSize": config.code.size,
        "CodeSha256": config.code.sha256,
        "Description": config.description,
        "Timeout": config.timeout_s,
        "MemorySize": config.memory_mb,
        "LastModified": timestamp(modified),
        "Version": version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": revision_id,
        "State": state,
        "PackageType": "Zip",
        "Architectures": [config.architecture],
        "EphemeralStorage": {"Size": config.ephemeral_mb},
        "LoggingConfig": {"LogFormat": config.log_format, "LogGroup": config.log_group},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
    }
    if config.log_format == "JSON":
        result["LoggingConfig"].update(ApplicationLogLevel="INFO", SystemLogLevel="INFO")
    if config.env:
        result["Environment"] = {"Variables": config.environment}
    if config.layers:
        result["Layers"] = [
            {"Arn": layer.version_arn, "CodeSize": layer.code.size} for layer in config.layers
        ]
    if state == "Pending":
        result.update(StateReason="The function is being created.", StateReasonCode="Creating")
    if update is not None:
        result["LastUpdateStatus"] = update
        if update == "InProgress":
            result.update(
                LastUpdateStatusReason="The function is being created.",
                LastUpdateStatusReasonCode="Creating",
            )
    return result
