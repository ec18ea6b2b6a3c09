"""Preflight: check the account can run the plan before anything is created.

Caller identity, region, account concurrency limit and unreserved concurrency (new
accounts may have only 10), the reserved concurrency the account allows, the planned
resources, and a worst-case cost estimate for the configured load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from coldbench.infra.aws.clients import Clients, Names
from coldbench.infra.errors import PreflightError
from coldbench.record.config import Config
from coldbench.record.shapes import planned_seconds

MIN_UNRESERVED = 10  # Lambda keeps at least this much concurrency unreserved


@dataclass(frozen=True)
class Plan:
    account_id: str
    region: str
    account_limit: int
    unreserved: int
    reserved_concurrency: int  # what will be set (0 = none)
    provisioned_concurrency: int
    resources: list[str]
    worst_case_cost_usd: float
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"account {self.account_id} in {self.region}: concurrency limit {self.account_limit}, "
            f"unreserved {self.unreserved}",
            *(f"  will ensure {r}" for r in self.resources),
            f"reserved concurrency {self.reserved_concurrency or 'none'}, provisioned "
            f"{self.provisioned_concurrency}",
            f"worst-case cost of the configured load: ${self.worst_case_cost_usd:.4f}",
            *(f"WARNING: {w}" for w in self.warnings),
        ]
        return "\n".join(lines)


def worst_case_cost(config: Config, concurrency: int) -> float:
    """Every environment busy for the whole run at full timeout-bound duration."""
    load, fn, prices = config.load, config.function, config.cost
    seconds = planned_seconds(config)
    gb = fn.memory_mb / 1024
    arch = fn.architecture
    busy = min(load.users, concurrency) if concurrency else load.users
    compute = busy * seconds * gb * getattr(prices, f"gb_second_{arch}")
    requests = busy * seconds / max(load.wait_min_s, 0.001) / 1e6 * prices.per_million_requests
    provisioned = (
        fn.provisioned_concurrency
        * gb
        * (seconds + 900)
        * getattr(prices, f"provisioned_gb_second_{arch}")
    )
    return compute + requests + provisioned


def preflight(config: Config, clients: Clients) -> Plan:
    """Check credentials, limits and the plan.

    Raises:
        PreflightError: no credentials, or the account cannot run the plan.
    """
    try:
        identity = clients.sts.get_caller_identity()
    except NoCredentialsError as exc:
        raise PreflightError(
            "no AWS credentials: configure a profile or environment credentials"
        ) from exc
    except (ClientError, BotoCoreError) as exc:
        raise PreflightError(f"cannot verify AWS credentials: {exc}") from exc
    try:
        settings = clients.lambda_control.get_account_settings()["AccountLimit"]
    except (ClientError, BotoCoreError) as exc:
        raise PreflightError(f"cannot read Lambda account settings: {exc}") from exc
    limit = int(settings.get("ConcurrentExecutions", 0))
    unreserved = int(settings.get("UnreservedConcurrentExecutions", limit))
    fn, warnings = config.function, []
    allowed = max(0, unreserved - MIN_UNRESERVED)
    reserved = min(fn.reserved_concurrency, allowed)
    if fn.reserved_concurrency and reserved < fn.reserved_concurrency:
        warnings.append(
            f"reserved concurrency lowered from {fn.reserved_concurrency} to {reserved}: "
            f"the account has {unreserved} unreserved"
        )
    if config.url.auth == "NONE" and not fn.reserved_concurrency:
        raise PreflightError(
            "url.auth = NONE makes the URL public and needs a cap on what strangers can "
            "run up: set function.reserved_concurrency (e.g. --set "
            "function.reserved_concurrency=10)"
        )
    if config.url.auth == "NONE" and reserved < 1:
        raise PreflightError(
            "url.auth = NONE needs reserved concurrency as a cap, but the account keeps "
            f"only {unreserved} unreserved (Lambda holds {MIN_UNRESERVED} back): ask AWS "
            "for a higher concurrency limit, or use url.auth = AWS_IAM"
        )
    if fn.provisioned_concurrency > max(reserved, allowed):
        raise PreflightError(
            f"function.provisioned_concurrency {fn.provisioned_concurrency} exceeds "
            f"what the account allows ({max(reserved, allowed)})"
        )
    if config.url.auth == "NONE":
        warnings.append(
            "url.auth = NONE: the Function URL will be public (capped by reserved concurrency)"
        )
    names = Names.of(config)
    resources = [
        f"IAM role {names.role} (AWSLambdaBasicExecutionRole only)",
        f"log group {names.log_group} ({fn.log_retention_days} days)",
        f"function {names.function} ({fn.memory_mb} MB, {fn.architecture}, {fn.runtime})",
        f"Function URL ({config.url.auth})",
    ]
    if fn.provisioned_concurrency:
        resources.append(f"version + alias live with {fn.provisioned_concurrency} provisioned")
    return Plan(
        account_id=identity["Account"],
        region=config.target.region,
        account_limit=limit,
        unreserved=unreserved,
        reserved_concurrency=reserved,
        provisioned_concurrency=fn.provisioned_concurrency,
        resources=resources,
        worst_case_cost_usd=worst_case_cost(config, reserved),
        warnings=warnings,
    )
