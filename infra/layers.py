"""A function's layers (``function.layers``): folders built as layers, and layer version
ARNs, as the local Lambda and the AWS provisioner both need them.

A folder is zipped by :func:`packaging.build_layer` for the function's platform. An ARN
is used as is on AWS; the local target fetches its content once through
``GetLayerVersionByArn`` (whatever endpoint boto3 is pointed at: ``AWS_ENDPOINT_URL``
reaches ``coldbench local-aws``) and keeps it under ``.coldbench/layers/`` by its
SHA-256, downloading it again only when the content differs.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from coldbench.infra.dependencies import LOCAL, Platform
from coldbench.infra.errors import PackagingError
from coldbench.infra.packaging import Package, build_layer

LAYER_CACHE = Path(".coldbench") / "layers"


@dataclass(frozen=True)
class LayerSource:
    """One entry of ``function.layers``: a folder, or a layer version ARN."""

    index: int
    value: str

    @property
    def key(self) -> str:
        return f"function.layers[{self.index}]"

    @property
    def arn(self) -> str:
        return self.value if self.value.startswith("arn:") else ""

    @property
    def folder(self) -> Path:
        return Path(self.value).expanduser()

    @property
    def name(self) -> str:
        """A short name: the folder's, or the ARN's layer name."""
        return self.arn.split(":")[-2] if self.arn else self.folder.resolve().name


def sources(layers: tuple[str, ...]) -> list[LayerSource]:
    return [LayerSource(index, value) for index, value in enumerate(layers)]


def build_folder(source: LayerSource, platform: Platform) -> Package:
    """The layer zip of a folder entry.

    Raises:
        PackagingError: naming the ``function.layers`` entry.
    """
    if not source.folder.is_dir():
        raise PackagingError(f"{source.key}: {source.value!r} is neither a folder nor an ARN")
    try:
        return build_layer(source.folder, platform)
    except PackagingError as exc:
        raise PackagingError(f"{source.key}: {exc}") from exc


def fetch(source: LayerSource, region: str, cache: Path = LAYER_CACHE) -> Package:
    """The content of an ARN entry, for the local target (fetched once, then cached).

    Raises:
        PackagingError: the endpoint does not serve the layer (or cannot be reached),
            naming the entry and what to do instead.
    """
    try:
        client = boto3.client("lambda", region_name=source.arn.split(":")[3] or region)
        content = client.get_layer_version_by_arn(Arn=source.arn)["Content"]
        expected = content.get("CodeSha256", "")
        cached = cache / f"{hashlib.sha256(expected.encode()).hexdigest()[:24]}.zip"
        if expected and cached.exists():
            data = cached.read_bytes()
            return Package(data, hashlib.sha256(data).hexdigest(), "", 0)
        with urllib.request.urlopen(content["Location"], timeout=60) as response:
            data = response.read()
    except (BotoCoreError, ClientError, OSError, KeyError) as exc:
        raise PackagingError(
            f"{source.key}: the local target could not fetch {source.arn} through "
            f"GetLayerVersionByArn ({exc}); give the layer's folder instead, or point "
            "AWS_ENDPOINT_URL at an endpoint that serves it (coldbench local-aws)"
        ) from exc
    actual = base64.b64encode(hashlib.sha256(data).digest()).decode()
    if expected and expected != actual:
        raise PackagingError(f"{source.key}: {source.arn} downloaded with a different SHA-256")
    cache.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_bytes(data)
    partial.rename(cached)
    return Package(data, hashlib.sha256(data).hexdigest(), "", 0)


def local_layers(layers: tuple[str, ...], region: str) -> list[Package]:
    """Every layer's zip for the local target, in order: folders built for this
    interpreter, ARNs fetched.

    Raises:
        PackagingError: naming the entry that cannot be built or fetched.
    """
    return [
        fetch(source, region) if source.arn else build_folder(source, LOCAL)
        for source in sources(layers)
    ]
