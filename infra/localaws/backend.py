"""The Lambda control plane: one method per API operation, no HTTP.

:class:`LambdaBackend` is every operation local-aws serves: functions, versions and
aliases (:mod:`functions`), and here Function URLs, resource policies, reserved and
provisioned concurrency and tags, over the rules of :mod:`rules`. Each method takes the
operation's parsed input and returns its output, or raises :class:`ApiError` as Lambda
does.
"""

from __future__ import annotations

import json

from coldbench.infra.errors import ApiError
from coldbench.infra.localaws import policy
from coldbench.infra.localaws.functions import FunctionOps
from coldbench.infra.localaws.model import (
    LATEST,
    Function,
    ProvisionedConfig,
    UrlConfig,
    revision,
    timestamp,
)
from coldbench.infra.localaws.rules import (
    MIN_UNRESERVED,
    NOT_FOUND,
    ROLE_NOT_READY,
    Plane,
    conflict,
    invalid,
)

__all__ = ["ROLE_NOT_READY", "LambdaBackend", "Plane"]


class LambdaBackend(FunctionOps):
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
            raise conflict(
                f"Failed to create function url config for [functionArn = "
                f"{fn.qualified_arn(qualifier)}]. Error message:  FunctionUrlConfig exists "
                "for this Lambda function"
            )
        if params.get("InvokeMode", "BUFFERED") != "BUFFERED":
            raise invalid("coldbench local-aws emulates InvokeMode BUFFERED only")
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
            raise conflict(
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
            raise invalid(
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
            raise invalid(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
            )
        version = self.version_of(fn, qualifier)
        wanted = params["ProvisionedConcurrentExecutions"]
        if fn.reserved is not None and wanted > fn.reserved:
            raise invalid(
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
