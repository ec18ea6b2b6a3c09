"""Function URL payload format 2.0: requests into events, results into responses.

Pure functions, no I/O, so the rules can be read and tested in one place. The rules
follow what real Function URLs do (checked against AWS-validated emulator snapshots),
which differs from the documentation in places: a string result is returned as-is, a
dict without ``body`` is returned whole as compact JSON.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # 6 MB synchronous invoke limit, request and response
_TEXT_MARKERS = ("text", "json", "xml", "javascript", "x-www-form-urlencoded")
# Hop-by-hop or front-end headers that Function URLs do not pass to the function.
_DROPPED_HEADERS = {"connection", "keep-alive", "proxy-connection", "te", "upgrade", "cookie"}


@dataclass(frozen=True)
class HttpRequest:
    """What the front end received, independent of any server library."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]  # in arrival order, duplicates kept
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def is_text(content_type: str) -> bool:
    content_type = content_type.lower()
    return any(marker in content_type for marker in _TEXT_MARKERS)


def new_request_id() -> str:
    """A random (version 4) UUID's text, as Lambda's request ids are: the same bits as
    ``str(uuid.uuid4())`` at a third of its cost (one per request)."""
    data = bytearray(os.urandom(16))
    data[6] = data[6] & 0x0F | 0x40  # version 4
    data[8] = data[8] & 0x3F | 0x80  # RFC 4122 variant
    h = data.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@functools.lru_cache(maxsize=4)
def _clf_time(second: int) -> str:
    """``requestContext.time`` (common log format), the same for a whole second."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for key, value in pairs:
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def build_event(
    request: HttpRequest,
    *,
    request_id: str,
    url_id: str,
    account_id: str,
    now: float | None = None,
    iam: dict | None = None,
) -> dict:
    """Build the payload-format-2.0 event a Function URL sends for ``request``.

    Keys that AWS leaves out are absent: ``cookies`` without cookies,
    ``queryStringParameters`` without a query, ``body`` without a body,
    ``authorizer`` unless the URL uses AWS_IAM.
    """
    now = time.time() if now is None else now
    lowered = [(k.lower(), v) for k, v in request.headers]
    headers = _joined((k, v) for k, v in lowered if k not in _DROPPED_HEADERS)
    headers.setdefault("x-forwarded-for", request.source_ip)
    # What a Function URL's edge adds: it is reached over HTTPS on port 443 (the local
    # URL is plain HTTP on loopback, but the function sees what it would see on AWS).
    headers.setdefault("x-forwarded-proto", "https")
    headers.setdefault("x-forwarded-port", "443")
    headers.setdefault("x-amzn-tls-version", "TLSv1.3")
    headers.setdefault("x-amzn-tls-cipher-suite", "TLS_AES_128_GCM_SHA256")
    if "x-amzn-trace-id" not in headers:
        headers["x-amzn-trace-id"] = f"Root=1-{int(now):08x}-{os.urandom(12).hex()}"
    host = headers.get("host", "")
    cookies = [c.strip() for k, v in lowered if k == "cookie" for c in v.split(";") if c.strip()]
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path or "/",
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = _joined(
            parse_qsl(request.raw_query, keep_blank_values=True)
        )
    context = {
        "accountId": account_id if iam else "anonymous",
        "apiId": url_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0] if host else url_id,
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path or "/",
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": _clf_time(int(now)),
        "timeEpoch": int(now * 1000),
    }
    if iam:
        context["authorizer"] = {"iam": iam}
    event["requestContext"] = context
    if request.body:
        text = is_text(headers.get("content-type", "")) and request.body.isascii()
        event["body"] = request.body.decode() if text else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = not text
    else:
        event["isBase64Encoded"] = False
    return event


def _json_body(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def result_to_response(payload: bytes) -> HttpResponse:
    """Turn a function's result into the HTTP response a Function URL returns.

    Raises:
        ValueError: the payload is not JSON, or not a response HTTP can carry (a status
            outside 100-599, a header name that is not a token, a control character in
            a header value): a Function URL answers 502 for that.
    """
    result = json.loads(payload)
    headers: list[tuple[str, str]] = []
    status = 200
    if isinstance(result, str):
        body = result.encode()
    elif isinstance(result, dict):
        result_headers = result.get("headers")
        if isinstance(result_headers, dict):
            headers.extend((_name(k), _value(v)) for k, v in result_headers.items())
        cookies = result.get("cookies")
        if isinstance(cookies, list):
            headers.extend(("set-cookie", _value(c)) for c in cookies)
        if "statusCode" in result:
            status = _status(result["statusCode"])
        if "body" not in result:
            body = _json_body(result)
        elif isinstance(result["body"], dict | list):
            body = _json_body(result["body"])
        elif result.get("isBase64Encoded"):
            body = base64.b64decode(str(result["body"]))
        elif result["body"] is None:
            body = b""
        else:
            body = str(result["body"]).encode()
    else:
        body = _json_body(result)
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, body)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _status(value: object) -> int:
    """A status code HTTP can carry (100-599); anything else is an invalid result."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"statusCode {value!r} is not an integer")
    status = int(value)
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status} is not an HTTP status")
    return status


def _name(key: object) -> str:
    name = str(key)
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"header name {name!r} is not an HTTP token")
    return name


def _value(value: object) -> str:
    text = str(value)
    if _BAD_VALUE.search(text):
        raise ValueError("a header value holds a control character (CR, LF, NUL, ...)")
    return text


def error_response(status: int, message: str | None, error_type: str = "") -> HttpResponse:
    """An error as a Function URL returns it (JSON ``Message`` body, error-type header)."""
    if status == 502:
        return HttpResponse(502, [("Content-Type", "application/json")], b"Internal Server Error")
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    body = json.dumps({"Message": message}, separators=(",", ":"))  # compact, as AWS's
    return HttpResponse(status, headers, body.encode())


THROTTLED = (429, "Rate Exceeded.", "TooManyRequestsException")
FORBIDDEN = (  # AWS-validated body (LAMBDA-FACTS.md, Function URLs)
    403,
    "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
    "AccessDeniedException",
)
TOO_LARGE = (
    413,
    f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation",
    "RequestTooLargeException",
)
