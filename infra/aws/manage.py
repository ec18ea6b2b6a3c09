"""Operate on a provisioned stack: recycle (force cold starts), status, down.

``down`` and ``status`` find resources by this stack's tag and names, so they work
without the state file; ``down`` is safe to run twice.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from coldbench.infra.aws import layers
from coldbench.infra.aws.clients import (
    NONCE_VAR,
    TAG_STACK,
    Clients,
    Names,
    target_clients,
    while_busy,
)
from coldbench.infra.aws.provisioner import _code, _env
from coldbench.infra.errors import ProvisionError, WaitTimeout
from coldbench.record.config import Config
from coldbench.record.target import Target


def recycle_function(target: Target, clients: Clients | None = None, timeout_s: float = 300) -> str:
    """Force cold starts: bump an environment-variable nonce and wait for the update."""
    clients = clients or target_clients(target)
    lam, name = clients.lambda_, target.function_name
    current = lam.get_function_configuration(FunctionName=name)
    env = dict(_env(current))
    nonce = env[NONCE_VAR] = str(time.time_ns())
    updated = while_busy(
        lam.update_function_configuration, FunctionName=name, Environment={"Variables": env}
    )
    deadline = time.monotonic() + timeout_s
    while True:
        state = lam.get_function_configuration(FunctionName=name)
        revised = state.get("RevisionId") is None or state.get("RevisionId") != current.get(
            "RevisionId"
        )
        applied = revised and _env(state).get(NONCE_VAR) == nonce
        if applied and state.get("LastUpdateStatus", "Successful") == "Successful":
            return updated.get("RevisionId") or ""
        if state.get("LastUpdateStatus") == "Failed":
            raise ProvisionError(f"recycle of {name} failed: {state.get('LastUpdateStatusReason')}")
        if time.monotonic() > deadline:
            raise WaitTimeout(f"recycle of {name}: update not Successful after {timeout_s:.0f} s")
        time.sleep(1)


def tagged_functions(clients: Clients, stack: str) -> list[str]:
    """Lambda function names carrying this stack's tag (found without any state file)."""
    pages = clients.tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": TAG_STACK, "Values": [stack]}], ResourceTypeFilters=["lambda:function"]
    )
    return [
        r["ResourceARN"].split(":function:")[1].split(":")[0]
        for p in pages
        for r in p["ResourceTagMappingList"]
    ]


def status(config: Config, clients: Clients) -> list[str]:
    """Every resource of this stack that exists now."""
    names, found = Names.of(config), []
    found += [f"function {f}" for f in tagged_functions(clients, names.stack)]
    try:
        tags = clients.iam.list_role_tags(RoleName=names.role)["Tags"]
        if {"Key": TAG_STACK, "Value": names.stack} in tags:
            found.append(f"role {names.role}")
    except ClientError:
        pass
    found += [f"log group {g}" for g in _tagged_log_groups(clients, names.stack)]
    found += [f"layer {n} version {v}" for n, v, mine in layers.ours(clients, names.stack) if mine]
    return found


def _tagged_log_groups(clients: Clients, stack: str) -> list[str]:
    """This stack's log groups: named like ours *and* carrying our tag."""
    pages = clients.logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=f"/aws/lambda/{stack}-"
    )
    ours = []
    for group in (g for p in pages for g in p["logGroups"]):
        tags = clients.logs.list_tags_log_group(logGroupName=group["logGroupName"]).get("tags", {})
        if tags.get(TAG_STACK) == stack:
            ours.append(group["logGroupName"])
    return ours


def down(config: Config, clients: Clients) -> list[str]:
    """Delete every resource carrying this stack's tag; safe to run twice. A namesake
    without the tag (a function or role someone else made) is left alone and said so.
    Returns what was deleted or left alone."""
    names, lam, deleted = Names.of(config), clients.lambda_, []
    for function in sorted(set(tagged_functions(clients, names.stack))):
        try:
            lam.delete_function(FunctionName=function)  # also deletes its URL, aliases, versions
            deleted.append(f"function {function}")
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
    try:
        lam.get_function(FunctionName=names.function)
        deleted.append(f"left alone: function {names.function} (not tagged as this stack's)")
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise
    deleted += layers.delete(clients, names.stack)
    for group in _tagged_log_groups(clients, names.stack):
        clients.logs.delete_log_group(logGroupName=group)
        deleted.append(f"log group {group}")
    iam = clients.iam
    try:
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=names.role)["Tags"]}
        if tags.get(TAG_STACK) != names.stack:
            deleted.append(f"left alone: role {names.role} (not tagged as this stack's)")
            return deleted
        for policy in iam.list_attached_role_policies(RoleName=names.role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=names.role, PolicyArn=policy["PolicyArn"])
        for inline in iam.list_role_policies(RoleName=names.role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=names.role, PolicyName=inline)
        iam.delete_role(RoleName=names.role)
        deleted.append(f"role {names.role}")
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
    return deleted
