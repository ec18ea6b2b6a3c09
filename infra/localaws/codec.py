"""The wire side of a REST-JSON AWS service, as botocore's service model says it.

Routes come from each operation's ``http`` trait (method and request URI); a request is
parsed into the operation's input (URI labels, query string, headers, JSON body, base64
blobs) and checked against the model's constraints (required members, ranges, lengths,
patterns, enums) the way AWS answers a bad value, with a ``ValidationException`` naming
it. Output and errors are serialised the way botocore's parser reads them back. Nothing
here knows Lambda's rules: that is the backend's job.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import botocore.session
from botocore.model import NoShapeFoundError, OperationModel, Shape

from coldbench.infra.errors import ApiError


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern
    fixed_query: tuple[tuple[str, str], ...]
    literal_length: int  # longer literal paths win over labels


def service_model(service: str):
    return botocore.session.get_session().get_service_model(service)


def routes(service: str) -> list[Route]:
    """Every operation of the service as a route, the most specific first."""
    model = service_model(service)
    found = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = operation.http["requestUri"]
        path, _, query = uri.partition("?")
        regex, literal = "", 0
        for piece in re.split(r"(\{[^}]+\})", path):
            if piece.startswith("{"):
                label = piece[1:-1]
                greedy = label.endswith("+")
                regex += f"(?P<{label.rstrip('+')}>{'.+' if greedy else '[^/]+'})"
            else:
                regex += re.escape(piece)
                literal += len(piece)
        fixed = tuple(parse_qsl(query, keep_blank_values=True))
        found.append(
            Route(operation, operation.http["method"], re.compile(regex + "/?"), fixed, literal)
        )
    return sorted(found, key=lambda r: (-len(r.fixed_query), -r.literal_length))


def match(
    table: list[Route], method: str, raw_path: str, query: list[tuple[str, str]]
) -> tuple[Route, dict[str, str]] | None:
    present = set(query)
    for route in table:
        if route.method != method or not set(route.fixed_query) <= present:
            continue
        found = route.pattern.fullmatch(raw_path)
        if found:
            return route, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def parse_input(
    operation: OperationModel,
    labels: dict[str, str],
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The operation's input as botocore would have built it, validated.

    Raises:
        ApiError: a body that is not JSON, or a value the model does not allow.
    """
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    try:
        document = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        raise ApiError("SerializationException", f"the body is not JSON: {exc}") from exc
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in labels:
                params[name] = _scalar(member, labels[wire], wire)
        elif location == "querystring":
            values = [v for k, v in query if k == wire]
            if values:
                params[name] = (
                    values if member.type_name == "list" else _scalar(member, values[-1], wire)
                )
        elif location == "header":
            if wire.lower() in lowered:
                params[name] = _scalar(member, lowered[wire.lower()], wire)
        elif name in document:
            params[name] = _from_json(member, document[name])
    problems = validate(shape, params)
    if problems:
        raise ApiError(
            "ValidationException",
            f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: "
            + "; ".join(problems),
        )
    return params


def _scalar(member: Shape, text: str, wire: str) -> Any:
    try:
        if member.type_name in ("integer", "long"):
            return int(text)
        if member.type_name == "boolean":
            return text.lower() == "true"
    except ValueError as exc:
        raise ApiError(
            "ValidationException", f"Value '{text}' at '{wire}' is not a {member.type_name}"
        ) from exc
    return text


def _from_json(shape: Shape, value: Any) -> Any:
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ApiError("SerializationException", "a blob is not valid base64") from exc
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            k: _from_json(shape.members[k], v) if k in shape.members else v
            for k, v in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_json(shape.member, v) for v in value]
    return value


def validate(shape: Shape, value: Any, path: str = "") -> list[str]:
    """AWS's validation messages for one value (``Value 'x' at 'memorySize' failed ...``)."""
    problems: list[str] = []
    where = path or "input"
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"Value at '{where}' must be a structure"]
        for required in meta.get("required", []):
            if value.get(required) is None:
                problems.append(
                    f"Value null at '{_path(path, required)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, item in value.items():
            if name in shape.members and item is not None:
                problems += validate(shape.members[name], item, _path(path, name))
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"Value at '{where}' must be a list"]
        problems += _length(value, meta, where)
        for i, item in enumerate(value):
            problems += validate(shape.member, item, f"{where}.{i + 1}")
        return problems
    if kind == "map":
        if not isinstance(value, dict):
            return [f"Value at '{where}' must be a map"]
        for key, item in value.items():
            problems += validate(shape.key, key, f"{where}.key")
            problems += validate(shape.value, item, f"{where}.{key}")
        return problems
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"Value '{value}' at '{where}' must be an integer"]
        if "min" in meta and value < meta["min"]:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have "
                f"value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have "
                f"value less than or equal to {meta['max']}"
            )
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"Value at '{where}' must be a string"]
        problems += _length(value, meta, where)
        if shape.enum and value not in shape.enum:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must "
                f"satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        pattern = _pattern(meta.get("pattern", ""))
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {pattern.pattern}"
            )
        return problems
    if kind == "boolean" and not isinstance(value, bool):
        return [f"Value '{value}' at '{where}' must be a boolean"]
    return problems


@functools.cache
def _pattern(text: str) -> re.Pattern | None:
    """A model pattern as a Python regex; None when empty or written in Java's dialect
    (``\\p{L}``), which Python cannot compile: that check is left to the backend."""
    if not text:
        return None
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None


def _length(value: Any, meta: dict, where: str) -> list[str]:
    problems = []
    if "min" in meta and len(value) < meta["min"]:
        problems.append(
            f"Value at '{where}' failed to satisfy constraint: Member must have length "
            f"greater than or equal to {meta['min']}"
        )
    if "max" in meta and len(value) > meta["max"]:
        problems.append(
            f"Value at '{where}' failed to satisfy constraint: Member must have length "
            f"less than or equal to {meta['max']}"
        )
    return problems


def _path(path: str, name: str) -> str:
    camel = name[:1].lower() + name[1:]
    return f"{path}.{camel}" if path else camel


def serialize_output(
    operation: OperationModel, result: dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a successful call, as botocore parses it back."""
    status = int(operation.http.get("responseCode", 200))
    headers: dict[str, str] = {}
    document: dict[str, Any] = {}
    shape = operation.output_shape
    for name, value in result.items():
        if value is None:
            continue
        member = shape.members.get(name) if shape is not None else None
        if member is None:
            continue
        location = member.serialization.get("location")
        if location == "header":
            headers[member.serialization.get("name", name)] = str(value)
        elif location == "statusCode":
            status = int(value)
        else:
            document[name] = _to_json(member, value)
    body = json.dumps(document).encode() if status != 204 else b""
    headers["Content-Type"] = "application/json"
    return status, headers, body


def _to_json(shape: Shape, value: Any) -> Any:
    if shape.type_name == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            k: _to_json(shape.members[k], v)
            for k, v in value.items()
            if k in shape.members and v is not None
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_json(shape.member, v) for v in value]
    return value


def serialize_error(model, error: ApiError) -> tuple[int, dict[str, str], bytes]:
    """An error as the service answers it: the model's HTTP status for the code, the
    ``x-amzn-ErrorType`` header and a ``{"Type", "message"}`` body."""
    status = error.status
    if status is None:
        try:
            status = model.shape_for(error.code).metadata.get("error", {}).get("httpStatusCode")
        except NoShapeFoundError:  # not a shape of this service (ValidationException, ...)
            status = None
    status = status or 400
    kind = "Service" if status >= 500 else "User"
    body = json.dumps({"Type": kind, "message": error.message}).encode()
    return (
        status,
        {"x-amzn-ErrorType": error.code, "Content-Type": "application/json"},
        body,
    )
