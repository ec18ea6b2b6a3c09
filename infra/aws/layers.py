"""The stack's layers on AWS: folders published as layer versions, found and deleted again.

Lambda cannot tag a layer (``TagResource`` takes functions, event source mappings and
code signing configurations only), so a layer is this stack's by two marks together:
its name starts with ``<stack>-layer`` and its versions' description is
``coldbench stack=<stack>``. A namesake without the description is never changed. An
unchanged folder is not published again: the latest version with the same SHA-256 is
reused.
"""

from __future__ import annotations

import base64
import hashlib
import re

from botocore.exceptions import ClientError

from coldbench.infra.aws.clients import Clients, Names
from coldbench.infra.dependencies import Platform
from coldbench.infra.errors import ProvisionError
from coldbench.infra.layers import LayerSource, build_folder, sources
from coldbench.infra.packaging import Package
from coldbench.record.config import Config


def marker(stack: str) -> str:
    return f"coldbench stack={stack}"


def layer_name(stack: str, source: LayerSource) -> str:
    """``<stack>-layer<N>-<folder name>``: Lambda's layer name characters, 140 at most."""
    tail = re.sub(r"[^a-zA-Z0-9-_]", "-", source.name)
    return f"{stack}-layer{source.index + 1}-{tail}"[:140]


def publish(config: Config, clients: Clients) -> tuple[list[str], list[str], list[Package]]:
    """The layer version ARNs of ``function.layers`` in order, publishing what changed.

    Returns:
        (ARNs, changes made, the folder layers' packages, for the size limit).

    Raises:
        ProvisionError: a namesake layer that is not this stack's.
        PackagingError: a folder cannot be built (names the entry).
    """
    fn, stack = config.function, Names.of(config).stack
    platform = Platform(fn.architecture, fn.runtime)
    arns, changes, packages = [], [], []
    for source in sources(fn.layers):
        if source.arn:
            arns.append(source.arn)
            continue
        package = build_folder(source, platform)
        packages.append(package)
        name = layer_name(stack, source)
        sha = base64.b64encode(hashlib.sha256(package.zip_bytes).digest()).decode()
        found = _latest(clients, name, stack)
        if found is not None and found["sha"] == sha:
            arns.append(found["arn"])
            continue
        published = clients.lambda_.publish_layer_version(
            LayerName=name,
            Description=marker(stack),
            Content={"ZipFile": package.zip_bytes},
            CompatibleRuntimes=[fn.runtime],
            CompatibleArchitectures=[fn.architecture],
        )
        arns.append(published["LayerVersionArn"])
        changes.append(f"published layer {name} version {published['Version']}")
    return arns, changes, packages


def _latest(clients: Clients, name: str, stack: str) -> dict | None:
    """The newest version of this stack's layer ``name`` (ARN and CodeSha256), if any."""
    versions = _versions(clients, name)
    if not versions:
        return None
    if any(v.get("Description") != marker(stack) for v in versions):
        raise ProvisionError(
            f"layer {name} exists but its versions are not described {marker(stack)!r}: "
            "coldbench will not publish over what it did not create; delete it, or choose "
            "another target.stack_name"
        )
    newest = max(versions, key=lambda v: v["Version"])
    content = clients.lambda_.get_layer_version(LayerName=name, VersionNumber=newest["Version"])
    return {"arn": newest["LayerVersionArn"], "sha": content["Content"].get("CodeSha256")}


def _versions(clients: Clients, name: str) -> list[dict]:
    try:
        pages = clients.lambda_.get_paginator("list_layer_versions").paginate(LayerName=name)
        return [v for page in pages for v in page["LayerVersions"]]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return []
        raise


def ours(clients: Clients, stack: str) -> list[tuple[str, int, bool]]:
    """(layer name, version, whether it is this stack's) for every version of a layer
    named like this stack's."""
    pages = clients.lambda_.get_paginator("list_layers").paginate()
    names = [
        layer["LayerName"]
        for page in pages
        for layer in page["Layers"]
        if layer["LayerName"].startswith(f"{stack}-layer")
    ]
    return [
        (name, v["Version"], v.get("Description") == marker(stack))
        for name in names
        for v in _versions(clients, name)
    ]


def delete(clients: Clients, stack: str) -> list[str]:
    """Delete every version of this stack's layers; a namesake's are left alone and said so."""
    done = []
    for name, version, mine in ours(clients, stack):
        if not mine:
            done.append(f"left alone: layer {name} version {version} (not this stack's)")
            continue
        clients.lambda_.delete_layer_version(LayerName=name, VersionNumber=version)
        done.append(f"layer {name} version {version}")
    return done
