"""Lambda operations on layers: publish, get, list and delete layer versions.

A layer version is immutable and numbered from 1 per name; a deleted number is not
given again. Its content is kept as uploaded (``Content.Location`` downloads it, as the
presigned S3 address does on AWS) and unpacked once for the environments of every
function that uses it; a function keeps a deleted version it already uses, as on AWS.
"""

from __future__ import annotations

import base64
from typing import Any

from coldbench.infra.errors import ApiError
from coldbench.infra.localaws.model import LayerVersion, timestamp
from coldbench.infra.localaws.rules import NOT_FOUND, Rules, invalid

MAX_LAYERS = 5
CONTENT_PATH = "/_coldbench/layer-content/"  # served unsigned, like a presigned URL


class LayerOps(Rules):
    def _layer_name(self, name_or_arn: str) -> str:
        return (
            name_or_arn.split(":layer:")[1].split(":")[0]
            if ":layer:" in name_or_arn
            else name_or_arn
        )

    def _layer_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:layer:{name}"

    def publish_layer_version(self, params: dict) -> dict:
        name = self._layer_name(params["LayerName"])
        content = params.get("Content") or {}
        if "ZipFile" not in content:
            raise invalid("coldbench local-aws takes layer content as Content.ZipFile only")
        code = self.code.store(content["ZipFile"], "PublishLayerVersion")
        self.code.keep_zip(content["ZipFile"])
        number = self.layer_numbers.get(name, 0) + 1
        self.layer_numbers[name] = number
        layer = LayerVersion(
            name=name,
            number=number,
            arn=self._layer_arn(name),
            description=params.get("Description") or "",
            code=code,
            created=self.clock(),
            runtimes=tuple(params.get("CompatibleRuntimes") or ()),
            architectures=tuple(params.get("CompatibleArchitectures") or ()),
            license=params.get("LicenseInfo") or "",
        )
        self.layers.setdefault(name, {})[number] = layer
        return self._layer_out(layer)

    def _layer_out(self, layer: LayerVersion) -> dict[str, Any]:
        return {
            "Content": {
                "Location": self.content_base + CONTENT_PATH + _hex(layer.code.sha256),
                "CodeSha256": layer.code.sha256,
                "CodeSize": layer.code.size,
            },
            "LayerArn": layer.arn,
            "LayerVersionArn": layer.version_arn,
            **self._layer_item(layer),
        }

    def _layer_item(self, layer: LayerVersion) -> dict[str, Any]:
        item: dict[str, Any] = {
            "LayerVersionArn": layer.version_arn,
            "Version": layer.number,
            "Description": layer.description,
            "CreatedDate": timestamp(layer.created),
        }
        if layer.runtimes:
            item["CompatibleRuntimes"] = list(layer.runtimes)
        if layer.architectures:
            item["CompatibleArchitectures"] = list(layer.architectures)
        if layer.license:
            item["LicenseInfo"] = layer.license
        return item

    def layer_version(self, name: str, number: int) -> LayerVersion:
        found = self.layers.get(name, {}).get(number)
        if found is None:
            raise ApiError("ResourceNotFoundException", NOT_FOUND)
        return found

    def get_layer_version(self, params: dict) -> dict:
        name = self._layer_name(params["LayerName"])
        return self._layer_out(self.layer_version(name, params["VersionNumber"]))

    def get_layer_version_by_arn(self, params: dict) -> dict:
        arn = params["Arn"]
        name, _, number = arn.rpartition(":")
        if not number.isdigit():
            raise invalid(f"{arn} is not a layer version ARN")
        return self._layer_out(self.layer_version(self._layer_name(name), int(number)))

    def _matching(self, layers: dict[int, LayerVersion], params: dict) -> list[LayerVersion]:
        runtime, arch = params.get("CompatibleRuntime"), params.get("CompatibleArchitecture")
        return [
            layer
            for _, layer in sorted(layers.items(), reverse=True)
            if (not runtime or runtime in layer.runtimes)
            and (not arch or arch in layer.architectures)
        ]

    def list_layer_versions(self, params: dict) -> dict:
        name = self._layer_name(params["LayerName"])
        found = self._matching(self.layers.get(name, {}), params)
        return {"LayerVersions": [self._layer_item(layer) for layer in found]}

    def list_layers(self, params: dict) -> dict:
        listed = []
        for name, versions in sorted(self.layers.items()):
            found = self._matching(versions, params)
            if found:
                listed.append(
                    {
                        "LayerName": name,
                        "LayerArn": self._layer_arn(name),
                        "LatestMatchingVersion": self._layer_item(found[0]),
                    }
                )
        return {"Layers": listed}

    def delete_layer_version(self, params: dict) -> dict:
        name = self._layer_name(params["LayerName"])
        self.layers.get(name, {}).pop(params["VersionNumber"], None)  # idempotent, as on AWS
        if not self.layers.get(name):
            self.layers.pop(name, None)
        return {}

    def resolve_layers(self, arns: list[str], code_bytes: int) -> tuple[LayerVersion, ...]:
        """The layer versions a function configuration names, checked as Lambda checks
        them: at most five, each existing, 250 MB unzipped together with the code."""
        if len(arns) > MAX_LAYERS:
            raise invalid(f"Cannot reference more than {MAX_LAYERS} layers.")
        found = []
        for arn in arns:
            name, _, number = arn.rpartition(":")
            layer = self.layers.get(self._layer_name(name), {}).get(int(number or 0))
            if layer is None:
                raise invalid(f"Layer version {arn} does not exist.")
            found.append(layer)
        unzipped = code_bytes + sum(self.code.unzipped(layer.code) for layer in found)
        if unzipped > 262_144_000:
            raise invalid(
                "Function code combined with layers exceeds the maximum allowed size of "
                "262144000 bytes. The actual size is "
                f"{unzipped} bytes."
            )
        return tuple(found)


def _hex(sha256_b64: str) -> str:
    return base64.b64decode(sha256_b64).hex()
