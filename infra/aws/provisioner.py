"""Stand a Lambda Function URL up on AWS with plain boto3, and take it down again.

``up`` is create-or-update and idempotent: it compares what exists with the config
and changes only what differs, returning the list of changes (empty on a second run).
``down`` finds resources by name and by tag, so a lost state file still tears down,
and is safe to run twice. Every wait is bounded and names what it waited for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError, WaiterError

from coldbench.infra.aws import layers
from coldbench.infra.aws.clients import (
    ALIAS,
    BASIC_EXECUTION_POLICY,
    NONCE_VAR,
    TAG_STACK,
    URL_STATEMENTS,
    Clients,
    Names,
    while_busy,
)
from coldbench.infra.aws.preflight import Plan
from coldbench.infra.dependencies import Platform
from coldbench.infra.errors import ProvisionError, WaitTimeout
from coldbench.infra.packaging import (
    Package,
    build_package,
    check_total,
    profiled,
    source_for,
)
from coldbench.record.config import Config
from coldbench.record.target import FunctionSnapshot, Target

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
ROLE_NOT_READY = "cannot be assumed by Lambda"


@dataclass
class UpResult:
    target: Target
    changes: list[str] = field(default_factory=list)


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _wait(clients: Clients, waiter: str, what: str, **kwargs) -> None:
    try:
        clients.lambda_.get_waiter(waiter).wait(
            WaiterConfig={"Delay": 2, "MaxAttempts": 150}, **kwargs
        )
    except WaiterError as exc:
        raise WaitTimeout(f"gave up waiting for {what} after 300 s: {exc}") from exc


class Provisioner:
    def __init__(
        self, config: Config, clients: Clients, sleep: Callable[[float], None] = time.sleep
    ):
        self.config = config
        self.clients = clients
        self.names = Names.of(config)
        self.sleep = sleep
        self.changes: list[str] = []
        self.layer_arns: list[str] = []
        self.layers_bytes = 0

    # -- up ------------------------------------------------------------------------
    def up(self, plan: Plan) -> UpResult:
        role_arn = self._role()
        self._log_group()
        self._function(role_arn)
        self._reserved(plan.reserved_concurrency)
        qualifier = self._provisioned() if self.config.function.provisioned_concurrency else ""
        url = self._url(qualifier)
        self._permissions(qualifier)
        return UpResult(self._target(url, qualifier, plan), self.changes)

    def _refuse_foreign(self, what: str, tags: dict[str, str]) -> None:
        """Only what carries this stack's tag is ever changed: never adopt a namesake."""
        if tags.get(TAG_STACK) != self.names.stack:
            raise ProvisionError(
                f"{what} exists but is not tagged {TAG_STACK}={self.names.stack}: coldbench "
                "will not change what it did not create; delete it, or choose another "
                "target.stack_name"
            )

    def _role(self) -> str:
        iam, name = self.clients.iam, self.names.role
        try:
            role = iam.get_role(RoleName=name)["Role"]
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
            self._refuse_foreign(f"IAM role {name}", tags)
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            role = iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=TRUST_POLICY,
                Description="coldbench function role: CloudWatch Logs only",
                Tags=[{"Key": k, "Value": v} for k, v in self.names.tags().items()],
            )["Role"]
            self.changes.append(f"created role {name}")
        # Exactly the planned permissions: AWSLambdaBasicExecutionRole and nothing else.
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        for policy in attached:
            if policy["PolicyArn"] != BASIC_EXECUTION_POLICY:
                iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
                self.changes.append(f"detached {policy['PolicyName']} from role {name}")
        for inline in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=inline)
            self.changes.append(f"deleted inline policy {inline} of role {name}")
        if not any(p["PolicyArn"] == BASIC_EXECUTION_POLICY for p in attached):
            iam.attach_role_policy(RoleName=name, PolicyArn=BASIC_EXECUTION_POLICY)
            self.changes.append("attached AWSLambdaBasicExecutionRole")
        return role["Arn"]

    def _log_group(self) -> None:
        logs, name = self.clients.logs, self.names.log_group
        found = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        group = next((g for g in found if g["logGroupName"] == name), None)
        if group is not None:
            tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
            self._refuse_foreign(f"log group {name}", tags)
        if group is None:
            logs.create_log_group(logGroupName=name, tags=self.names.tags())
            self.changes.append(f"created log group {name}")
        days = self.config.function.log_retention_days
        if group is None or group.get("retentionInDays") != days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
            if group is not None:
                self.changes.append(f"log retention {days} days")

    def _layers(self, package: Package) -> None:
        """Publish the folder layers that changed; check the function and its layers
        against Lambda's 250 MB together."""
        self.layer_arns, changes, packages = layers.publish(self.config, self.clients)
        check_total(package, packages)
        self.layers_bytes = sum(p.size for p in packages)
        self.changes += changes

    def _desired_configuration(self, role_arn: str, existing_env: dict) -> dict:
        fn = self.config.function
        handler, env = profiled(
            source_for(fn.variant, fn.source, fn.handler)[1], dict(fn.env), fn.profile_init
        )
        if NONCE_VAR in existing_env:
            env[NONCE_VAR] = existing_env[NONCE_VAR]  # keep recycle's nonce: not a change
        return {
            "Role": role_arn,
            "Handler": handler,
            "Runtime": fn.runtime,
            "MemorySize": fn.memory_mb,
            "Timeout": fn.timeout_s,
            "Environment": {"Variables": env},
            "LoggingConfig": {"LogFormat": fn.log_format, "LogGroup": self.names.log_group},
            "EphemeralStorage": {"Size": fn.ephemeral_storage_mb},
            "Layers": list(self.layer_arns),
        }

    def _function(self, role_arn: str) -> None:
        fn, lam, name = self.config.function, self.clients.lambda_, self.names.function
        package = build_package(
            *source_for(fn.variant, fn.source, fn.handler),
            platform=Platform(fn.architecture, fn.runtime),
            profile_init=fn.profile_init,
        )
        self._layers(package)
        code_sha = base64.b64encode(hashlib.sha256(package.zip_bytes).digest()).decode()
        try:
            found = lam.get_function(FunctionName=name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            self._create_function(role_arn, package.zip_bytes)
            return
        self._refuse_foreign(f"function {name}", found.get("Tags") or {})
        current = found["Configuration"]
        desired = self._desired_configuration(role_arn, _env(current))
        if current.get("CodeSha256") != code_sha or current.get("Architectures", ["x86_64"]) != [
            fn.architecture
        ]:
            while_busy(
                lam.update_function_code,
                self.sleep,
                FunctionName=name,
                ZipFile=package.zip_bytes,
                Architectures=[fn.architecture],
            )
            self.changes.append(f"updated code of {name} ({package.size} bytes)")
            _wait(self.clients, "function_updated_v2", f"code update of {name}", FunctionName=name)
        if _differs(current, desired):
            while_busy(lam.update_function_configuration, self.sleep, FunctionName=name, **desired)
            self.changes.append(f"updated configuration of {name}")
            _wait(
                self.clients, "function_updated_v2", f"configuration of {name}", FunctionName=name
            )

    def _create_function(self, role_arn: str, zip_bytes: bytes) -> None:
        fn, name = self.config.function, self.names.function
        kwargs = self._desired_configuration(role_arn, {})
        delay = 1.0
        for attempt in range(8):  # a new role takes a few seconds to become assumable
            try:
                self.clients.lambda_.create_function(
                    FunctionName=name,
                    Code={"ZipFile": zip_bytes},
                    Architectures=[fn.architecture],
                    Tags=self.names.tags(),
                    **kwargs,
                )
                break
            except ClientError as exc:
                if (
                    _code(exc) != "InvalidParameterValueException"
                    or ROLE_NOT_READY not in str(exc)
                    or attempt == 7
                ):
                    raise
                self.sleep(delay)
                delay = min(delay * 2, 16)
        self.changes.append(f"created function {name}")
        _wait(
            self.clients,
            "function_active_v2",
            f"function {name} to become Active",
            FunctionName=name,
        )

    def _reserved(self, reserved: int) -> None:
        lam, name = self.clients.lambda_, self.names.function
        current = lam.get_function_concurrency(FunctionName=name).get(
            "ReservedConcurrentExecutions"
        )
        if reserved and current != reserved:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
            self.changes.append(f"reserved concurrency {reserved}")
        elif not reserved and current is not None:
            lam.delete_function_concurrency(FunctionName=name)
            self.changes.append("removed reserved concurrency")

    def _provisioned(self) -> str:
        """Publish a version, point the alias at it, provision it and wait until READY."""
        lam, name = self.clients.lambda_, self.names.function
        wanted = self.config.function.provisioned_concurrency
        # Same code and configuration: Lambda returns the same version.
        version = while_busy(lam.publish_version, self.sleep, FunctionName=name)["Version"]
        try:
            alias = lam.get_alias(FunctionName=name, Name=ALIAS)
            if alias["FunctionVersion"] != version:
                lam.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
                self.changes.append(f"alias {ALIAS} -> version {version}")
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
            self.changes.append(f"created alias {ALIAS} -> version {version}")
        control = self.clients.lambda_control
        try:
            current = control.get_provisioned_concurrency_config(FunctionName=name, Qualifier=ALIAS)
        except ClientError as exc:
            if _code(exc) != "ProvisionedConcurrencyConfigNotFoundException":
                raise
            current = {}
        if current.get("RequestedProvisionedConcurrentExecutions") != wanted:
            control.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier=ALIAS, ProvisionedConcurrentExecutions=wanted
            )
            self.changes.append(f"provisioned concurrency {wanted} on {ALIAS}")
        self._wait_provisioned_ready(name)
        return ALIAS

    def _wait_provisioned_ready(self, name: str, timeout_s: float = 900) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.clients.lambda_control.get_provisioned_concurrency_config(
                FunctionName=name, Qualifier=ALIAS
            )
            if status["Status"] == "READY":
                return
            if status["Status"] == "FAILED":
                raise ProvisionError(
                    f"provisioned concurrency on {name}:{ALIAS} failed: {status.get('StatusReason')}"
                )
            if time.monotonic() > deadline:
                raise WaitTimeout(
                    f"provisioned concurrency on {name}:{ALIAS} not READY after {timeout_s:.0f} s"
                )
            self.sleep(5)

    def _url(self, qualifier: str) -> str:
        lam, name = self.clients.lambda_, self.names.function
        cors = (
            {"AllowOrigins": list(self.config.url.cors_allow_origins)}
            if self.config.url.cors_allow_origins
            else {}
        )
        args = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
        try:
            current = lam.get_function_url_config(**args)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            created = lam.create_function_url_config(
                AuthType=self.config.url.auth, Cors=cors, **args
            )
            self.changes.append(f"created Function URL ({self.config.url.auth})")
            return created["FunctionUrl"]
        if current["AuthType"] != self.config.url.auth or (current.get("Cors") or {}) != cors:
            lam.update_function_url_config(AuthType=self.config.url.auth, Cors=cors, **args)
            self.changes.append(f"Function URL auth {self.config.url.auth}")
        return current["FunctionUrl"]

    def _permissions(self, qualifier: str) -> None:
        """NONE needs both statements Function URLs now require; AWS_IAM needs neither."""
        lam, name = self.clients.lambda_, self.names.function
        args = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
        try:
            policy = json.loads(lam.get_policy(**args)["Policy"])
            existing = {s.get("Sid") for s in policy.get("Statement", [])}
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            existing = set()
        public = self.config.url.auth == "NONE"
        url_sid, invoke_sid = URL_STATEMENTS
        if public and url_sid not in existing:
            lam.add_permission(
                StatementId=url_sid,
                Action="lambda:InvokeFunctionUrl",
                Principal="*",
                FunctionUrlAuthType="NONE",
                **args,
            )
            self.changes.append("allowed public lambda:InvokeFunctionUrl")
        if public and invoke_sid not in existing:
            lam.add_permission(
                StatementId=invoke_sid,
                Action="lambda:InvokeFunction",
                Principal="*",
                InvokedViaFunctionUrl=True,
                **args,
            )
            self.changes.append("allowed public lambda:InvokeFunction via the URL")
        for sid in URL_STATEMENTS if not public else ():
            if sid in existing:
                lam.remove_permission(StatementId=sid, **args)
                self.changes.append(f"removed public statement {sid}")

    def _target(self, url: str, qualifier: str, plan: Plan) -> Target:
        fn = self.config.function
        return Target(
            kind="aws",
            url=url if url.endswith("/") else url + "/",
            auth=self.config.url.auth,
            region=self.config.target.region,
            profile=self.config.target.profile,
            function_name=self.names.function,
            qualifier=qualifier,
            log_group=self.names.log_group,
            account_id=plan.account_id,
            function=FunctionSnapshot(
                variant=fn.variant,
                handler=source_for(fn.variant, fn.source, fn.handler)[1],
                memory_mb=fn.memory_mb,
                timeout_s=fn.timeout_s,
                architecture=fn.architecture,
                runtime=fn.runtime,
                log_format=fn.log_format,
                reserved_concurrency=plan.reserved_concurrency,
                provisioned_concurrency=fn.provisioned_concurrency,
                stack_name=self.names.stack,
                layers=tuple(self.layer_arns),
                profile_init=fn.profile_init,
                layers_bytes=self.layers_bytes,
            ),
        )


def _env(configuration: dict) -> dict:
    return (configuration.get("Environment") or {}).get("Variables") or {}


def _differs(current: dict, desired: dict) -> bool:
    """Whether the function's configuration differs from the desired one.

    A field the API leaves out (``LoggingConfig`` on older functions) counts as unknown,
    not as different.
    """
    current_env = _env(current)
    current_logging = current.get("LoggingConfig") or desired["LoggingConfig"]
    return (
        current.get("Role") != desired["Role"]
        or current.get("Handler") != desired["Handler"]
        or current.get("Runtime") != desired["Runtime"]
        or current.get("MemorySize") != desired["MemorySize"]
        or current.get("Timeout") != desired["Timeout"]
        or (current.get("EphemeralStorage") or desired["EphemeralStorage"])
        != desired["EphemeralStorage"]
        or current_env != desired["Environment"]["Variables"]
        or [layer["Arn"] for layer in current.get("Layers") or []] != desired["Layers"]
        or current_logging.get("LogFormat") != desired["LoggingConfig"]["LogFormat"]
        or current_logging.get("LogGroup", desired["LoggingConfig"]["LogGroup"])
        != desired["LoggingConfig"]["LogGroup"]
    )
