"""Lambda operations on functions, versions and aliases (one method per API operation,
taking its parsed input and returning its output, or raising :class:`ApiError`)."""

from __future__ import annotations

from typing import Any

from coldbench.infra.errors import ApiError
from coldbench.infra.localaws.layers import LayerOps
from coldbench.infra.localaws.model import (
    LATEST,
    Alias,
    Function,
    Version,
    VersionConfig,
    configuration,
    revision,
)
from coldbench.infra.localaws.names import parse_function_name
from coldbench.infra.localaws.rules import conflict, invalid, no_weights


class FunctionOps(LayerOps):
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
            raise conflict(f"Function already exist: {name}")
        if params.get("PackageType", "Zip") != "Zip":
            raise invalid("coldbench local-aws runs .zip functions only (PackageType Zip)")
        code = params.get("Code") or {}
        if "ZipFile" not in code:
            raise invalid("coldbench local-aws takes code as Code.ZipFile only (not from S3)")
        if not params.get("Runtime") or not params.get("Handler"):
            raise invalid(
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages."
            )
        fields = self._config(params, None, name)
        self._check_limits(fields["memory_mb"], fields["timeout_s"], fields["ephemeral_mb"])
        self._check_role(fields["role"])
        stored = self.code.store(code["ZipFile"], "CreateFunction")
        layers = self.resolve_layers(params.get("Layers") or [], self.code.unzipped(stored))
        architecture = (params.get("Architectures") or ["x86_64"])[0]
        latest = VersionConfig(**fields, architecture=architecture, code=stored, layers=layers)
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
            raise invalid("coldbench local-aws takes code as ZipFile only (not from S3)")
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
        if "Layers" in params:
            code_bytes = self.code.unzipped(fn.latest.code)
            changes["layers"] = self.resolve_layers(params["Layers"] or [], code_bytes)
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
                raise conflict("Unable to delete version because it is used by an alias.")
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
            raise conflict(f"Alias already exists: {fn.qualified_arn(name)}")
        if version != LATEST and version not in fn.versions:
            raise ApiError(
                "ResourceNotFoundException", f"Function not found: {fn.qualified_arn(version)}"
            )
        no_weights(params)
        fn.aliases[name] = Alias(name, version, revision(), params.get("Description") or "")
        return self._alias_out(fn, fn.aliases[name])

    def get_alias(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        return self._alias_out(fn, self._alias(fn, params["Name"]))

    def update_alias(self, params: dict) -> dict:
        fn, _ = self.function(params["FunctionName"])
        alias = self._alias(fn, params["Name"])
        no_weights(params)
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
