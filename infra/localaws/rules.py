"""The Lambda control plane's rules, shared by every operation: lookups, limits, the
role check, update conflicts and revisions, and what a configuration change does.

The rules a provisioner must cope with are here: ``State`` Pending then Active after
create, ``LastUpdateStatus`` InProgress then Successful after an update, a new
``RevisionId`` on every change, a ``ResourceConflictException`` for an update while one
is in progress, a ``PreconditionFailedException`` for a stale ``RevisionId``, the limits
Lambda enforces beyond the service model (memory, timeout, storage, concurrency), and a
role that must exist and have settled before Lambda can assume it. Time comes from
``clock``, so the rules are tested without waiting.

What runs is the :class:`Plane`'s business: the backend tells it when code or
configuration changes, when URLs open and close and how much concurrency to provision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from coldbench.infra.errors import ApiError
from coldbench.infra.localaws.code import CodeStore
from coldbench.infra.localaws.model import (
    LATEST,
    Function,
    LayerVersion,
    VersionConfig,
    revision,
)
from coldbench.infra.localaws.names import parse_function_name
from coldbench.record.checks import RESERVED_ENV

MIN_UNRESERVED = 10
ROLE_NOT_READY = "The role defined for the function cannot be assumed by Lambda."
NOT_FOUND = "The resource you requested does not exist."


class Plane(Protocol):
    """What the backend asks of whatever runs the functions."""

    def open_url(self, function: str, qualifier: str) -> str: ...
    def close_url(self, function: str, qualifier: str) -> None: ...
    def retire(self, function: str) -> None: ...
    def provision(self, function: str, qualifier: str, version: str, count: int) -> None: ...
    def provisioned_ready(self, function: str, qualifier: str) -> int: ...
    def concurrency_changed(self, function: str) -> None: ...
    def remove(self, function: str) -> None: ...


def conflict(message: str) -> ApiError:
    return ApiError("ResourceConflictException", message)


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


def no_weights(params: dict[str, Any]) -> None:
    if (params.get("RoutingConfig") or {}).get("AdditionalVersionWeights"):
        raise invalid("coldbench local-aws does not emulate aliases with weights")


class Rules:
    """State, lookups and the rules every operation applies."""

    def __init__(
        self,
        region: str,
        account_id: str,
        code: CodeStore,
        role_created: Callable[[str], float | None],
        *,
        account_limit: int = 1000,
        settle_s: float = 1.0,
        role_settle_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ):
        self.region = region
        self.account_id = account_id
        self.code = code
        self.role_created = role_created  # role ARN -> when it was created, None if missing
        self.account_limit = account_limit
        self.settle_s = settle_s  # how long Pending and InProgress last
        self.role_settle_s = role_settle_s  # a new role is not assumable before this
        self.clock = clock
        self.functions: dict[str, Function] = {}
        self.plane: Plane | None = None
        self.layers: dict[str, dict[int, LayerVersion]] = {}  # by name, then number
        self.layer_numbers: dict[str, int] = {}  # the last number given, per name
        self.content_base = ""  # where this endpoint is reached, for download addresses

    # -- lookups -------------------------------------------------------------------------
    def function(self, name_or_arn: str) -> tuple[Function, str]:
        """The function and the qualifier named in ``FunctionName`` (``name:alias``)."""
        name, qualifier = parse_function_name(name_or_arn)
        found = self.functions.get(name)
        if found is None:
            arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
            raise ApiError("ResourceNotFoundException", f"Function not found: {arn}")
        return found, qualifier

    def _qualified(self, params: dict[str, Any]) -> tuple[Function, str]:
        fn, qualifier = self.function(params["FunctionName"])
        given = params.get("Qualifier") or ""
        if qualifier and given and qualifier != given:
            raise invalid("The derived qualifier from the function name does not match.")
        return fn, qualifier or given

    def version_of(self, fn: Function, qualifier: str) -> str:
        """The version a qualifier runs: ``$LATEST``, a version number, or an alias's."""
        if qualifier in ("", LATEST):
            return LATEST
        if qualifier in fn.versions:
            return qualifier
        if qualifier in fn.aliases:
            return fn.aliases[qualifier].version
        raise ApiError("ResourceNotFoundException", f"Function not found: {fn.arn}:{qualifier}")

    def config_of(self, fn: Function, version: str) -> VersionConfig:
        return fn.latest if version == LATEST else fn.versions[version].config

    def _plane(self) -> Plane:
        assert self.plane is not None, "the backend runs with a plane"
        return self.plane

    # -- rules ---------------------------------------------------------------------------
    def _check_limits(self, memory: int, timeout: int, storage: int) -> None:
        problems = []
        if not 128 <= memory <= 10240:
            bound = (
                "greater than or equal to 128" if memory < 128 else "less than or equal to 10240"
            )
            problems.append(
                f"Value '{memory}' at 'memorySize' failed to satisfy constraint: "
                f"Member must have value {bound}"
            )
        if not 1 <= timeout <= 900:
            bound = "greater than or equal to 1" if timeout < 1 else "less than or equal to 900"
            problems.append(
                f"Value '{timeout}' at 'timeout' failed to satisfy constraint: "
                f"Member must have value {bound}"
            )
        if not 512 <= storage <= 10240:
            problems.append(
                f"Value '{storage}' at 'ephemeralStorage.size' failed to satisfy constraint: "
                "Member must have value between 512 and 10240"
            )
        if problems:
            raise ApiError(
                "ValidationException",
                f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} "
                f"detected: {'; '.join(problems)}",
            )

    def _check_role(self, role: str) -> None:
        created = self.role_created(role)
        if created is None or self.clock() - created < self.role_settle_s:
            raise invalid(ROLE_NOT_READY)

    def _check_updatable(self, fn: Function, revision_id: str | None = None) -> None:
        now = self.clock()
        if fn.state(now) == "Pending":
            raise conflict(
                "The operation cannot be performed at this time. The function is currently "
                "in the following state: Pending"
            )
        if fn.update_status(now) == "InProgress":
            raise conflict(
                "The operation cannot be performed at this time. An update is in progress "
                f"for resource: {fn.arn}"
            )
        if revision_id and revision_id != fn.revision_id:
            raise ApiError(
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id",
            )

    def _changed(self, fn: Function) -> None:
        now = self.clock()
        fn.revision_id, fn.last_modified = revision(), now
        fn.updating_until = now + self.settle_s
        self._plane().retire(fn.name)  # the running environments do not outlive the change

    def _config(self, params: dict[str, Any], base: VersionConfig | None, name: str):
        """A version configuration from CreateFunction / UpdateFunctionConfiguration input."""
        unsupported = {
            "VpcConfig": bool((params.get("VpcConfig") or {}).get("SubnetIds")),
            "SnapStart": (params.get("SnapStart") or {}).get("ApplyOn", "None") != "None",
            "FileSystemConfigs": bool(params.get("FileSystemConfigs")),
            "CodeSigningConfigArn": bool(params.get("CodeSigningConfigArn")),
            "ImageConfig": bool(params.get("ImageConfig")),
        }
        for key, used in unsupported.items():
            if used:
                raise invalid(f"coldbench local-aws does not emulate {key}")
        logging = params.get("LoggingConfig") or {}
        env = (params.get("Environment") or {}).get("Variables")
        reserved = sorted(set(env or {}) & RESERVED_ENV)
        if reserved:
            raise invalid(
                "Lambda was unable to configure your environment variables because the "
                "environment variables you have provided contains reserved keys that are "
                f"currently not supported for modification. Reserved keys used in this "
                f"request: {', '.join(reserved)}"
            )
        default_group = f"/aws/lambda/{name}"
        changes = {
            "role": params.get("Role"),
            "handler": params.get("Handler"),
            "runtime": params.get("Runtime"),
            "memory_mb": params.get("MemorySize"),
            "timeout_s": params.get("Timeout"),
            "env": tuple(sorted(env.items())) if env is not None else None,
            "description": params.get("Description"),
            "log_format": logging.get("LogFormat"),
            "log_group": logging.get("LogGroup"),
            "ephemeral_mb": (params.get("EphemeralStorage") or {}).get("Size"),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if base is None:
            defaults = {
                "memory_mb": 128,
                "timeout_s": 3,
                "env": (),
                "description": "",
                "log_format": "Text",
                "log_group": default_group,
                "ephemeral_mb": 512,
            }
            return {**defaults, **changes}
        return changes
