"""local-aws's wire format against botocore's own serializer and parser: what a boto3
client sends is parsed back to the same input, and what we answer parses to the output."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from coldbench.infra.errors import ApiError
from coldbench.infra.localaws import codec

MODEL = codec.service_model("lambda")
ROUTES = codec.routes("lambda")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def sent(operation: str, params: dict):
    """What a boto3 client puts on the wire for this call."""
    op = MODEL.operation_model(operation)
    request = create_serializer("rest-json", include_validation=False).serialize_to_request(
        params, op
    )
    query = request["query_string"]
    pairs = query if isinstance(query, list) else list(parse_qsl(urlencode(query, doseq=True)))
    path, _, fixed = request["url_path"].partition("?")  # e.g. ?List=ALL, as sent
    pairs = parse_qsl(fixed, keep_blank_values=True) + pairs
    body = request["body"] if isinstance(request["body"], bytes) else request["body"].encode()
    return request["method"], path, pairs, dict(request["headers"]), body


def parsed(operation: str, params: dict) -> dict:
    method, path, query, headers, body = sent(operation, params)
    route, labels = codec.match(ROUTES, method, path, query)
    assert route.operation.name == operation
    return codec.parse_input(route.operation, labels, query, headers, body)


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("app.py", "def handler(e, c): return 1\n")
    return buffer.getvalue()


def test_a_create_function_call_parses_back_to_what_the_client_sent():
    params = {
        "FunctionName": "f",
        "Role": "arn:aws:iam::123456789012:role/r",
        "Handler": "app.handler",
        "Runtime": "python3.12",
        "Code": {"ZipFile": zipped()},
        "MemorySize": 512,
        "Environment": {"Variables": {"AB": "1"}},
        "Tags": {"k": "v"},
    }
    assert parsed("CreateFunction", params) == params


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("GetFunctionConfiguration", {"FunctionName": "f", "Qualifier": "live"}),
        ("GetProvisionedConcurrencyConfig", {"FunctionName": "f", "Qualifier": "live"}),
        ("ListProvisionedConcurrencyConfigs", {"FunctionName": "f"}),
        ("RemovePermission", {"FunctionName": "f", "StatementId": "s1", "Qualifier": "live"}),
        ("ListTags", {"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f"}),
        ("UntagResource", {"Resource": ARN, "TagKeys": ["a", "b"]}),
        ("GetFunction", {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f"}),
        ("GetLayerVersion", {"LayerName": "deps", "VersionNumber": 3}),  # an integer label
        ("DeleteLayerVersion", {"LayerName": "deps", "VersionNumber": 12}),
        ("GetLayerVersionByArn", {"Arn": "arn:aws:lambda:us-east-1:123456789012:layer:d:1"}),
    ],
)
def test_routes_find_the_operation_and_its_labels(operation, params):
    assert parsed(operation, params) == params


def test_a_value_out_of_the_models_range_is_a_validation_exception_naming_it():
    with pytest.raises(ApiError) as refused:
        parsed("PutFunctionConcurrency", {"FunctionName": "f", "ReservedConcurrentExecutions": -1})
    assert refused.value.code == "ValidationException"
    assert "'reservedConcurrentExecutions'" in refused.value.message


def test_output_and_errors_parse_back_as_botocore_reads_them():
    op = MODEL.operation_model("GetFunctionConcurrency")
    status, headers, body = codec.serialize_output(op, {"ReservedConcurrentExecutions": 7})
    parser = create_parser("rest-json")
    response = {"status_code": status, "headers": headers, "body": body}
    assert parser.parse(response, op.output_shape)["ReservedConcurrentExecutions"] == 7

    error = ApiError("ResourceNotFoundException", "Function not found: arn:x")
    status, headers, body = codec.serialize_error(MODEL, error)
    assert status == 404
    received = {k.lower(): v for k, v in headers.items()}  # HTTP headers: any case
    parsed_error = parser.parse(
        {"status_code": status, "headers": received, "body": body}, op.output_shape
    )["Error"]
    assert parsed_error == {
        "Code": "ResourceNotFoundException",
        "Message": "Function not found: arn:x",
    }
