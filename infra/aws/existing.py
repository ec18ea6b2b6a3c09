"""A function that already exists (SAM, CDK, Terraform, the console): measured as it is.

``target.kind = "existing"`` with ``target.function = "name-or-arn[:qualifier]"``:
coldbench reads the function's URL (and its auth type), memory, architecture, runtime,
log group and log format, runs the load against the URL and collects its REPORT records
and metrics, and creates, updates and deletes nothing. What would change the function
(recycling at idle gaps, a sweep over memory sizes) needs ``--allow-changes``; its
configuration is then put back exactly as found afterwards, on Ctrl-C too
(:class:`Restorer`).
"""

from __future__ import annotations

import time

from botocore.exceptions import BotoCoreError, ClientError

from coldbench.infra.aws.clients import Clients, while_busy
from coldbench.infra.errors import ProvisionError
from coldbench.record.config import Config
from coldbench.record.target import FunctionSnapshot, Target


def parse(function: str) -> tuple[str, str]:
    """(name or ARN, qualifier) of ``name``, ``name:alias``, or an ARN with or without one."""
    parts = function.split(":")
    if function.startswith("arn:"):
        return ":".join(parts[:7]), parts[7] if len(parts) > 7 else ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def existing_target(config: Config, clients: Clients) -> Target:
    """Describe an existing function's URL and configuration, changing nothing.

    Raises:
        ProvisionError: no such function, or no Function URL (says how to add one).
    """
    name, qualifier = parse(config.target.function)
    args = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
    lam = clients.lambda_
    try:
        fn = lam.get_function_configuration(**args)
    except ClientError as exc:
        raise ProvisionError(f"target.function {config.target.function!r}: {exc}") from exc
    try:
        url = lam.get_function_url_config(**args)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        raise ProvisionError(
            f"function {fn['FunctionName']}{':' + qualifier if qualifier else ''} has no "
            "Function URL; add one (it changes nothing else), e.g.\n  aws lambda "
            f"create-function-url-config --function-name {fn['FunctionName']}"
            + (f" --qualifier {qualifier}" if qualifier else "")
            + " --auth-type AWS_IAM"
        ) from exc
    logging = fn.get("LoggingConfig") or {}
    reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    account = clients.sts.get_caller_identity()["Account"]
    return Target(
        kind="aws",
        url=url["FunctionUrl"] if url["FunctionUrl"].endswith("/") else url["FunctionUrl"] + "/",
        auth=url["AuthType"],
        region=config.target.region,
        profile=config.target.profile,
        function_name=fn["FunctionName"],
        qualifier=qualifier,
        log_group=logging.get("LogGroup") or f"/aws/lambda/{fn['FunctionName']}",
        account_id=account,
        existing=True,
        function=FunctionSnapshot(
            variant="existing",
            handler=fn.get("Handler", ""),
            memory_mb=fn["MemorySize"],
            timeout_s=fn["Timeout"],
            architecture=(fn.get("Architectures") or ["x86_64"])[0],
            runtime=fn.get("Runtime", ""),
            log_format=logging.get("LogFormat", "Text"),
            reserved_concurrency=reserved or 0,
            package_bytes=fn.get("CodeSize", 0),
            ephemeral_storage_mb=(fn.get("EphemeralStorage") or {}).get("Size", 512),
        ),
    )


class Restorer:
    """With ``--allow-changes``: the configuration as found, put back on ``restore``."""

    KEYS = ("Environment", "MemorySize", "Timeout", "Handler", "Runtime", "Role")

    def __init__(self, clients: Clients, target: Target):
        self.lam, self.name = clients.lambda_, target.function_name
        found = self.lam.get_function_configuration(FunctionName=self.name)
        self.found = {k: found.get(k) for k in self.KEYS if found.get(k) is not None}
        self.found.setdefault("Environment", {"Variables": {}})

    def apply(self, changes: dict, timeout_s: float = 300) -> None:
        """Change the configuration (a sweep's memory size) and wait until it is in
        effect; :meth:`restore` puts it back.

        Raises:
            ProvisionError: the update failed or did not finish.
        """
        try:
            while_busy(self.lam.update_function_configuration, FunctionName=self.name, **changes)
            self._wait_successful(timeout_s)
        except (ClientError, BotoCoreError) as exc:
            raise ProvisionError(f"could not change {self.name} ({changes}): {exc}") from exc

    def _wait_successful(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.lam.get_function_configuration(FunctionName=self.name)
            if state.get("LastUpdateStatus") == "Failed":
                raise ProvisionError(
                    f"{self.name}: update failed: {state.get('LastUpdateStatusReason')}"
                )
            if state.get("LastUpdateStatus", "Successful") == "Successful":
                return
            time.sleep(1)
        raise ProvisionError(f"{self.name}: the update did not finish in {timeout_s:.0f} s")

    def restore(self, timeout_s: float = 300) -> bool:
        """Put the configuration back where it differs; True when something changed."""
        try:
            now = self.lam.get_function_configuration(FunctionName=self.name)
            current = {k: now.get(k) for k in self.KEYS if now.get(k) is not None}
            current.setdefault("Environment", {"Variables": {}})
            if current == self.found:
                return False
            while_busy(self.lam.update_function_configuration, FunctionName=self.name, **self.found)
            self._wait_successful(timeout_s)
            return True
        except (ClientError, BotoCoreError, ProvisionError) as exc:
            raise ProvisionError(
                f"could not put {self.name}'s configuration back: {exc}; as found: {self.found}"
            ) from exc
