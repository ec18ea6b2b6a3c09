"""The Lambda control plane's rules: one method per API operation, no HTTP.

Each method takes the operation's parsed input and returns its output, or raises
:class:`ApiError` as Lambda does. The rules a provisioner must cope with are here:
``State`` Pending then Active after create, ``LastUpdateStatus`` InProgress then
Successful after an update, a new ``RevisionId`` on every change, a
``ResourceConflictException`` for an update while one is in progress, a
``PreconditionFailedException`` for a stale ``RevisionId``, the limits Lambda enforces
beyond the service model (memory, timeout, storage, concurrency), and a role that must
exist and have settled before Lambda can assume it. Time comes from ``clock``, so the
rules are tested without waiting.

What runs is the :class:`Plane`'s business: the backend tells it when code or
configuration changes, when URLs open and close and how much concurrency to provision.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from coldbench.infra.errors import ApiError
from coldbench.infra.localaws import policy
from coldbench.infra.localaws.code import CodeStore
from coldbench.infra.localaws.model import (
    LATEST,
    Alias,
    Function,
    ProvisionedConfig,
    UrlConfig,
    Version,
    VersionConfig,
    configuration,
    revision,
    timestamp,
)
from coldbench.infra.localaws.names import parse_function_name
from coldbench.record.config import RESERVED_ENV

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


def _conflict(message: str) -> ApiError:
    return ApiError("ResourceConflictException", message)


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


def _no_weights(params: dict[str, Any]) -> None:
    if (params.get("RoutingConfig") or {}).get("AdditionalVersionWeights"):
        raise _invalid("coldbench local-aws does not emulate aliases with weights")


class LambdaBackend:
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
            raise _invalid("The derived qualifier from the function name does not match.")
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
            raise _invalid(ROLE_NOT_READY)

    def _check_updatable(self, fn: Function, revision_id: str | None = None) -> None:
        now = self.clock()
        if fn.state(now) == "Pending":
            raise _conflict(
                "The operation cannot be performed at this time. The function is currently "
                "in the following state: Pending"
            )
        if fn.update_status(now) == "InProgress":
            raise _conflict(
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
            "Layers": bool(params.get("Layers")),
            "VpcConfig": bool((params.get("VpcConfig") or {}).get("SubnetIds")),
            "SnapStart": (params.get("SnapStart") or {}).get("ApplyOn", "None") != "None",
            "FileSystemConfigs": bool(params.get("FileSystemConfigs")),
            "CodeSigningConfigArn": bool(params.get("CodeSigningConfigArn")),
            "ImageConfig": bool(params.get("ImageConfig")),
        }
        for key, used in unsupported.items():
            if used:
                raise _invalid(f"coldbench local-aws does not emulate {key}")
        logging = params.get("LoggingConfig") or {}
        env = (params.get("Environment") or {}).get("Variables")
        reserved = sorted(set(env or {}) & RESERVED_ENV)
        if reserved:
            raise _invalid(
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

    # -- account -------------------------------------------------------------------------
    def get_account_settings(self, params: dict) -> dict:
        reserved = sum(f.reserved or 0 for f in self.functions.values())
        return {
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800,
                "CodeSizeUnzipped": 262_144_000,
                "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": self.account_limit,
                "UnreservedConcurrentExecutions": self.account_limit - reserved,
            },
            "AccountUsage": {
                "TotalCodeSize": sum(f.latest.code.size for f in self.functions.values()),
                "FunctionCount": len(self.functions),
            },
        }

    # -- functions -----------------------------------------------------------------------
    def create_function(self, params: dict) -> dict:
        name, _ = parse_function_name(params["FunctionName"])
        if name in self.functions:
            raise _conflict(f"Function already exist: {name}")
        if params.get("PackageType", "Zip") != "Zip":
            raise _invalid("coldbench local-aws runs .zip functions only (PackageType Zip)")
        code = params.get("Code") or {}
        if "ZipFile" not in code:
            raise _invalid("coldbench local-aws takes code as Code.ZipFile only (not from S3)")
        if not params.get("Runtime") or not params.get("Handler"):
            raise _invalid(
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages."
            )
        fields = self._config(params, None, name)
        self._check_limits(fields["memory_mb"], fields["timeout_s"], fields["ephemeral_mb"])
        self._check_role(fields["role"])
        stored = self.code.store(code["ZipFile"], "CreateFunction")
        architecture = (params.get("Architectures") or ["x86_64"])[0]
        latest = VersionConfig(**fields, architecture=architecture, code=stored)
        now = self.clock()
        fn = Function(
            name=name,
            arn=f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}",
            latest=latest,
            revision_id=revision(),
            last_modified=now,
            pending_until=now + self.settle_s,
            tags=dict(params.get("Tags") or {}),
        )
        self.functions[name] = fn
        if params.get("Publish"):
            self._publish(fn)
        return configuration(fn, LATEST, now)

    def get_function(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        version = self.version_of(fn, qualifier)
        result: dict[str, Any] = {
            "Configuration": configuration(fn, version, self.clock()),
            "Code": {"RepositoryType": "S3", "Location": ""},
            "Tags": dict(fn.tags),
        }
        if fn.reserved is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": fn.reserved}
        return result

    def get_function_configuration(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        return configuration(fn, self.version_of(fn, qualifier), self.clock())

    def list_functions(self, params: dict) -> dict:
        now = self.clock()
        return {"Functions": [configuration(f, LATEST, now) for f in self.functions.values()]}

    def update_function_code(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        self._check_updatable(fn, params.get("RevisionId"))
        if "ZipFile" not in params:
            raise _invalid("coldbench local-aws takes code as ZipFile only (not from S3)")
        stored = self.code.store(params["ZipFile"], "UpdateFunctionCode")
        architecture = (params.get("Architectures") or [fn.latest.architecture])[0]
        fn.latest = fn.latest.with_changes(code=stored, architecture=architecture)
        self._changed(fn)
        if params.get("Publish"):
            self._publish(fn)
        return configuration(fn, LATEST, self.clock())

    def update_function_configuration(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        self._check_updatable(fn, params.get("RevisionId"))
        changes = self._config(params, fn.latest, fn.name)
        updated = fn.latest.with_changes(**changes)
        self._check_limits(updated.memory_mb, updated.timeout_s, updated.ephemeral_mb)
        if "role" in changes:
            self._check_role(updated.role)
        fn.latest = updated
        self._changed(fn)
        return configuration(fn, LATEST, self.clock())

    def delete_function(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        if qualifier and qualifier != LATEST:
            if qualifier not in fn.versions:
                raise ApiError("ResourceNotFoundException", f"Function not found: {fn.arn}")
            if any(a.version == qualifier for a in fn.aliases.values()):
                raise _conflict("Unable to delete version because it is used by an alias.")
            del fn.versions[qualifier]
            return {}
        self._plane().remove(fn.name)
        del self.functions[fn.name]
        return {}

    # -- versions and aliases ------------------------------------------------------------
    def _publish(self, fn: Function) -> Version:
        if fn.versions:
            last = fn.versions[max(fn.versions, key=int)]
            if last.config == fn.latest:
                return last  # nothing changed since: Lambda returns the same version
        number = str(fn.next_version)
        fn.next_version += 1
        fn.versions[number] = Version(number, fn.latest, revision(), self.clock())
        return fn.versions[number]

    def publish_version(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        self._check_updatable(fn, params.get("RevisionId"))
        sha = params.get("CodeSha256")
        if sha and sha != fn.latest.code.sha256:
            raise ApiError(
                "PreconditionFailedException",
                "CodeSHA256 does not match the current $LATEST code",
            )
        version = self._publish(fn)
        return configuration(fn, version.number, self.clock())

    def list_versions_by_function(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        now = self.clock()
        numbers = [LATEST, *sorted(fn.versions, key=int)]
        return {"Versions": [configuration(fn, v, now) for v in numbers]}

    def _alias_out(self, fn: Function, alias: Alias) -> dict:
        return {
            "AliasArn": fn.qualified_arn(alias.name),
            "Name": alias.name,
            "FunctionVersion": alias.version,
            "Description": alias.description,
            "RevisionId": alias.revision_id,
        }

    def _alias(self, fn: Function, name: str) -> Alias:
        if name not in fn.aliases:
            raise ApiError(
                "ResourceNotFoundException", f"Alias not found: {fn.qualified_arn(name)}"
            )
        return fn.aliases[name]

    def create_alias(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        name, version = params["Name"], params["FunctionVersion"]
        if name in fn.aliases:
            raise _conflict(f"Alias already exists: {fn.qualified_arn(name)}")
        if version != LATEST and version not in fn.versions:
            raise ApiError(
                "ResourceNotFoundException", f"Function not found: {fn.qualified_arn(version)}"
            )
        _no_weights(params)
        fn.aliases[name] = Alias(name, version, revision(), params.get("Description") or "")
        return self._alias_out(fn, fn.aliases[name])

    def get_alias(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        return self._alias_out(fn, self._alias(fn, params["Name"]))

    def update_alias(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        alias = self._alias(fn, params["Name"])
        _no_weights(params)
        if params.get("RevisionId") and params["RevisionId"] != alias.revision_id:
            raise ApiError("PreconditionFailedException", "The Revision Id provided does not match")
        version = params.get("FunctionVersion") or alias.version
        if version != LATEST and version not in fn.versions:
            raise ApiError(
                "ResourceNotFoundException", f"Function not found: {fn.qualified_arn(version)}"
            )
        moved = version != alias.version
        alias.version, alias.revision_id = version, revision()
        if params.get("Description") is not None:
            alias.description = params["Description"]
        provisioned = fn.provisioned.get(alias.name)
        if moved and provisioned:  # provisioned concurrency follows the alias
            provisioned.version, provisioned.modified = version, self.clock()
            self._plane().provision(fn.name, alias.name, version, provisioned.requested)
        return self._alias_out(fn, alias)

    def delete_alias(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        name = params["Name"]
        if name in fn.aliases:
            if name in fn.urls:
                self._plane().close_url(fn.name, name)
                del fn.urls[name]
            if fn.provisioned.pop(name, None):
                self._plane().provision(fn.name, name, LATEST, 0)
            fn.policies.pop(name, None)
            del fn.aliases[name]
        return {}

    def list_aliases(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        return {"Aliases": [self._alias_out(fn, a) for a in fn.aliases.values()]}

    # -- Function URLs -------------------------------------------------------------------
    def _url_qualifier(self, fn: Function, qualifier: str) -> str:
        if qualifier in ("", LATEST):
            return ""
        if qualifier not in fn.aliases:
            raise ApiError("ResourceNotFoundException", NOT_FOUND)
        return qualifier

    def _url_out(self, fn: Function, qualifier: str, url: UrlConfig) -> dict:
        return {
            "FunctionUrl": url.url,
            "FunctionArn": fn.qualified_arn(qualifier),
            "AuthType": url.auth,
            "Cors": url.cors or None,
            "CreationTime": timestamp(url.created),
            "LastModifiedTime": timestamp(url.modified),
            "InvokeMode": "BUFFERED",
        }

    def create_function_url_config(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        qualifier = self._url_qualifier(fn, qualifier)
        if qualifier in fn.urls:
            raise _conflict(
                f"Failed to create function url config for [functionArn = "
                f"{fn.qualified_arn(qualifier)}]. Error message:  FunctionUrlConfig exists "
                "for this Lambda function"
            )
        if params.get("InvokeMode", "BUFFERED") != "BUFFERED":
            raise _invalid("coldbench local-aws emulates InvokeMode BUFFERED only")
        now = self.clock()
        url = self._plane().open_url(fn.name, qualifier)
        fn.urls[qualifier] = UrlConfig(params["AuthType"], params.get("Cors") or {}, url, now, now)
        return self._url_out(fn, qualifier, fn.urls[qualifier])

    def _url(self, params: dict) -> tuple[Function, str, UrlConfig]:
        fn, qualifier = self._qualified(params)
        qualifier = self._url_qualifier(fn, qualifier)
        if qualifier not in fn.urls:
            raise ApiError("ResourceNotFoundException", NOT_FOUND)
        return fn, qualifier, fn.urls[qualifier]

    def get_function_url_config(self, params: dict) -> dict:
        return self._url_out(*self._url(params))

    def update_function_url_config(self, params: dict) -> dict:
        fn, qualifier, url = self._url(params)
        url.auth = params.get("AuthType") or url.auth
        if "Cors" in params:
            url.cors = params["Cors"] or {}
        url.modified = self.clock()
        return self._url_out(fn, qualifier, url)

    def delete_function_url_config(self, params: dict) -> dict:
        fn, qualifier, _ = self._url(params)
        self._plane().close_url(fn.name, qualifier)
        del fn.urls[qualifier]
        return {}

    def list_function_url_configs(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        return {"FunctionUrlConfigs": [self._url_out(fn, q, u) for q, u in fn.urls.items()]}

    def url_settings(self, function: str, qualifier: str) -> UrlConfig | None:
        """What a URL listener needs at each request (None once the URL is gone)."""
        fn = self.functions.get(function)
        return fn.urls.get(qualifier) if fn else None

    def public_url_allowed(self, function: str, qualifier: str) -> bool:
        fn = self.functions.get(function)
        return fn is not None and policy.allows_public_url(fn.policies.get(qualifier, []))

    # -- resource policy -----------------------------------------------------------------
    def _policy_qualifier(self, fn: Function, qualifier: str) -> str:
        if qualifier in ("", LATEST):
            return ""
        self.version_of(fn, qualifier)  # must exist
        return qualifier

    def add_permission(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        qualifier = self._policy_qualifier(fn, qualifier)
        if params.get("RevisionId") and params["RevisionId"] != fn.revision_id:
            raise ApiError("PreconditionFailedException", "The Revision Id provided does not match")
        statements = fn.policies.setdefault(qualifier, [])
        if any(s["Sid"] == params["StatementId"] for s in statements):
            raise _conflict(
                "The statement id (sid) provided already exists. Please choose another "
                "statement id."
            )
        found = policy.statement(fn.qualified_arn(qualifier), params)
        statements.append(found)
        fn.revision_id = revision()
        return {"Statement": json.dumps(found)}

    def remove_permission(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        qualifier = self._policy_qualifier(fn, qualifier)
        statements = fn.policies.get(qualifier, [])
        kept = [s for s in statements if s["Sid"] != params["StatementId"]]
        if len(kept) == len(statements):
            raise ApiError(
                "ResourceNotFoundException", "Statement sid is not found in resource policy."
            )
        fn.policies[qualifier] = kept
        fn.revision_id = revision()
        return {}

    def get_policy(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        statements = fn.policies.get(self._policy_qualifier(fn, qualifier))
        if not statements:
            raise ApiError("ResourceNotFoundException", NOT_FOUND)
        document = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
        return {"Policy": json.dumps(document), "RevisionId": fn.revision_id}

    # -- concurrency ---------------------------------------------------------------------
    def put_function_concurrency(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        wanted = params["ReservedConcurrentExecutions"]
        others = sum(f.reserved or 0 for f in self.functions.values() if f is not fn)
        if self.account_limit - others - wanted < MIN_UNRESERVED:
            raise _invalid(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            )
        fn.reserved = wanted
        self._plane().concurrency_changed(fn.name)
        return {"ReservedConcurrentExecutions": wanted}

    def get_function_concurrency(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        return {"ReservedConcurrentExecutions": fn.reserved}

    def delete_function_concurrency(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        fn.reserved = None
        self._plane().concurrency_changed(fn.name)
        return {}

    def put_provisioned_concurrency_config(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        if qualifier in ("", LATEST):
            raise _invalid(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
            )
        version = self.version_of(fn, qualifier)
        wanted = params["ProvisionedConcurrentExecutions"]
        if fn.reserved is not None and wanted > fn.reserved:
            raise _invalid(
                f"Requested Provisioned Concurrency ({wanted}) exceeds the reserved "
                f"concurrency of the function ({fn.reserved})."
            )
        fn.provisioned[qualifier] = ProvisionedConfig(wanted, version, self.clock())
        self._plane().provision(fn.name, qualifier, version, wanted)
        return self._provisioned_out(fn, qualifier)

    def _provisioned_out(self, fn: Function, qualifier: str) -> dict:
        config = fn.provisioned[qualifier]
        ready = min(config.requested, self._plane().provisioned_ready(fn.name, qualifier))
        return {
            "FunctionArn": fn.qualified_arn(qualifier),
            "RequestedProvisionedConcurrentExecutions": config.requested,
            "AvailableProvisionedConcurrentExecutions": ready,
            "AllocatedProvisionedConcurrentExecutions": ready,
            "Status": "READY" if ready >= config.requested else "IN_PROGRESS",
            "LastModified": timestamp(config.modified),
        }

    def get_provisioned_concurrency_config(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        if qualifier not in fn.provisioned:
            raise ApiError(
                "ProvisionedConcurrencyConfigNotFoundException",
                "No Provisioned Concurrency Config found for this function",
            )
        return self._provisioned_out(fn, qualifier)

    def delete_provisioned_concurrency_config(self, params: dict) -> dict:
        fn, qualifier = self._qualified(params)
        if fn.provisioned.pop(qualifier, None) is not None:
            self._plane().provision(fn.name, qualifier, LATEST, 0)
        return {}

    def list_provisioned_concurrency_configs(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        found = [self._provisioned_out(fn, q) for q in fn.provisioned]
        return {"ProvisionedConcurrencyConfigs": found}

    # -- tags ----------------------------------------------------------------------------
    def tag_resource(self, params: dict) -> dict:
        fn, _ = self.function(params["Resource"])
        fn.tags.update(params["Tags"])
        return {}

    def untag_resource(self, params: dict) -> dict:
        fn, _ = self.function(params["Resource"])
        for key in params["TagKeys"]:
            fn.tags.pop(key, None)
        return {}

    def list_tags(self, params: dict) -> dict:
        fn, _ = self.function(params["Resource"])
        return {"Tags": dict(fn.tags)}

    def tagged(self) -> list[tuple[str, dict[str, str]]]:
        """Every function's ARN and tags (the tagging API's view of Lambda)."""
        return [(f.arn, dict(f.tags)) for f in self.functions.values()]
