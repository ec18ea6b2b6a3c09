"""boto3 clients for the provisioner, with adaptive retries and names in one place."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from coldbench.record.config import Config
from coldbench.record.target import Target

TAG_STACK = "coldbench:stack"
TAG_MANAGED = "coldbench:managed"
BASIC_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
NONCE_VAR = "COLDBENCH_NONCE"
ALIAS = "live"
URL_STATEMENTS = ("coldbench-url-public", "coldbench-url-public-invoke")


BUSY = "The operation cannot be performed at this time"  # Lambda: an update is running
BUSY_TRIES = 12  # about 80 s of waiting, 1 s doubling to 10 s apart


def while_busy(
    call: Callable[..., Any], sleep: Callable[[float], None] = time.sleep, **kwargs: Any
) -> Any:
    """Call a Lambda API that changes a function; while another change of it is still
    in progress (``ResourceConflictException``, "The operation cannot be performed at
    this time"), wait and try again rather than fail. Any other conflict is raised."""
    for attempt in range(BUSY_TRIES):
        try:
            return call(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            busy = error.get("Code") == "ResourceConflictException" and BUSY in str(
                error.get("Message", "")
            )
            if not busy or attempt == BUSY_TRIES - 1:
                raise
            sleep(min(2.0**attempt, 10.0))
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Clients:
    """The clients the provisioner uses.

    ``lambda_control`` carries the calls moto does not implement (account settings,
    provisioned concurrency); it is the same client as ``lambda_`` in real use, and a
    botocore Stubber in tests.
    """

    lambda_: Any
    iam: Any
    logs: Any
    sts: Any
    tagging: Any
    lambda_control: Any


def make_clients(config: Config, session: boto3.session.Session | None = None) -> Clients:
    return session_clients(
        session
        or boto3.session.Session(
            profile_name=config.target.profile or None, region_name=config.target.region
        )
    )


def target_clients(target: Target) -> Clients:
    """Clients acting on a stood-up target with the region and profile it was made with."""
    return session_clients(
        boto3.session.Session(profile_name=target.profile or None, region_name=target.region)
    )


def session_clients(session: boto3.session.Session) -> Clients:
    cfg = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10})
    lambda_ = session.client("lambda", config=cfg)
    return Clients(
        lambda_=lambda_,
        iam=session.client("iam", config=cfg),
        logs=session.client("logs", config=cfg),
        sts=session.client("sts", config=cfg),
        tagging=session.client("resourcegroupstaggingapi", config=cfg),
        lambda_control=lambda_,
    )


@dataclass(frozen=True)
class Names:
    stack: str
    function: str
    role: str
    log_group: str

    @classmethod
    def of(cls, config: Config) -> Names:
        stack = config.target.stack_name
        function = f"{stack}-{config.function.variant}"
        return cls(stack, function, f"{stack}-lambda-role", f"/aws/lambda/{function}")

    def tags(self) -> dict[str, str]:
        return {TAG_STACK: self.stack, TAG_MANAGED: "true"}
