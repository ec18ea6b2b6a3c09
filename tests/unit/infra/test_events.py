from __future__ import annotations

import base64
import json
import re
import uuid

import pytest

from coldbench.infra.local.events import (
    HttpRequest,
    build_event,
    error_response,
    new_request_id,
    result_to_response,
)


def make(**kw) -> HttpRequest:
    base = dict(
        method="get",
        raw_path="/a/b",
        raw_query="",
        headers=[("Host", "x.example")],
        body=b"",
        source_ip="1.2.3.4",
    )
    base.update(kw)
    return HttpRequest(**base)


def event(request: HttpRequest, **kw) -> dict:
    return build_event(request, request_id="rid", url_id="u" * 32, account_id="123", now=0, **kw)


def test_minimal_event_leaves_out_what_aws_leaves_out():
    e = event(make())
    assert e["version"] == "2.0" and e["routeKey"] == "$default"
    assert "cookies" not in e and "queryStringParameters" not in e and "body" not in e
    assert e["isBase64Encoded"] is False
    ctx = e["requestContext"]
    assert ctx["http"] == {
        "method": "GET",
        "path": "/a/b",
        "protocol": "HTTP/1.1",
        "sourceIp": "1.2.3.4",
        "userAgent": "",
    }
    assert ctx["requestId"] == "rid" and ctx["stage"] == "$default" and ctx["timeEpoch"] == 0
    assert ctx["time"] == "01/Jan/1970:00:00:00 +0000"
    assert "authorizer" not in ctx and ctx["accountId"] == "anonymous"


def test_headers_lowercased_duplicates_joined_cookies_split():
    e = event(
        make(
            headers=[
                ("X-A", "1"),
                ("x-a", "2"),
                ("Cookie", "a=1; b=2"),
                ("Connection", "keep-alive"),
            ]
        )
    )
    assert e["headers"]["x-a"] == "1,2"
    assert "cookie" not in e["headers"] and "connection" not in e["headers"]
    assert e["cookies"] == ["a=1", "b=2"]


def test_query_string_duplicates_joined_and_raw_kept():
    e = event(make(raw_query="a=1&a=2&b=&c=%20x"))
    assert e["rawQueryString"] == "a=1&a=2&b=&c=%20x"
    assert e["queryStringParameters"] == {"a": "1,2", "b": "", "c": " x"}


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/json", b'{"a":1}', False),
        ("text/plain", b"hi", False),
        ("image/png", b"\x89PNG", True),
        ("text/plain", "é".encode(), True),
    ],
)
def test_body_base64_unless_ascii_text(content_type, body, encoded):
    e = event(make(headers=[("content-type", content_type)], body=body))
    assert e["isBase64Encoded"] is encoded
    assert (base64.b64decode(e["body"]) if encoded else e["body"].encode()) == body


def test_iam_authorizer_present_under_aws_iam():
    e = event(make(), iam={"accountId": "123"})
    assert e["requestContext"]["authorizer"] == {"iam": {"accountId": "123"}}
    assert e["requestContext"]["accountId"] == "123"


def test_result_rules():
    assert result_to_response(b'"hi"').body == b"hi"
    r = result_to_response(
        json.dumps(
            {"statusCode": 201, "headers": {"x": "1"}, "body": "ok", "cookies": ["a=1", "b=2"]}
        ).encode()
    )
    assert r.status == 201 and r.body == b"ok"
    assert ("set-cookie", "a=1") in r.headers and ("set-cookie", "b=2") in r.headers
    whole = result_to_response(b'{"statusCode": 200, "x": 1}')
    assert json.loads(whole.body) == {"statusCode": 200, "x": 1}
    assert result_to_response(b'{"a": 1}').body == b'{"a":1}'
    assert result_to_response(b"[1, 2]").body == b"[1,2]"
    binary = result_to_response(
        json.dumps(
            {"statusCode": 200, "body": base64.b64encode(b"\x00").decode(), "isBase64Encoded": True}
        ).encode()
    )
    assert binary.body == b"\x00"
    assert ("Content-Type", "application/json") in result_to_response(b"1").headers
    with pytest.raises(ValueError):
        result_to_response(b"not json")


def test_error_responses():
    assert error_response(502, None).body == b"Internal Server Error"
    throttled = error_response(429, "Rate Exceeded.", "TooManyRequestsException")
    assert json.loads(throttled.body) == {"Message": "Rate Exceeded."}
    assert ("x-amzn-ErrorType", "TooManyRequestsException") in throttled.headers


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 0},
        {"statusCode": 99},
        {"statusCode": 1000},
        {"statusCode": -200},
        {"statusCode": True},
        {"statusCode": "abc"},
        {"statusCode": 200, "headers": {"x-bad": "a\r\nInjected: 1"}},
        {"statusCode": 200, "headers": {"bad name": "v"}},
        {"statusCode": 200, "headers": {"x": "nul\x00"}},
        {"statusCode": 200, "cookies": ["a=1\r\nx: y"]},
    ],
)
def test_a_result_http_cannot_carry_is_invalid_so_the_url_answers_502(result):
    """Bad results gave ``HTTP/1.1 0``, a closed connection, or a header name with a space."""
    with pytest.raises(ValueError):
        result_to_response(json.dumps(result).encode())


def test_request_ids_are_random_version_4_uuids_in_their_text_form():
    ids = [new_request_id() for _ in range(500)]
    assert len(set(ids)) == 500
    for rid in ids:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_trace_id_is_made_unless_the_client_sent_one():
    made = event(make())["headers"]["x-amzn-trace-id"]
    assert re.fullmatch(r"Root=1-00000000-[0-9a-f]{24}", made)
    sent = make(headers=[("Host", "x"), ("X-Amzn-Trace-Id", "Root=1-abc-def")])
    assert event(sent)["headers"]["x-amzn-trace-id"] == "Root=1-abc-def"
