"""Verify SigV4-signed requests as an ``AWS_IAM`` Function URL does.

The local Lambda knows one credential pair, :data:`LOCAL_CREDENTIALS` — a documented
dummy, like moto's ``testing`` keys, not a secret; ``coldbench local-aws`` knows the pair it
was started with. A request is accepted only if its signature recomputes exactly with it, for service ``lambda`` and the target's
region, within five minutes of now. Nothing here logs or stores a signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from calendar import timegm

from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LOCAL_ACCESS_KEY = "AKIACOLDBENCHLOCAL00"
LOCAL_SECRET_KEY = "coldbench-local-dummy-secret"  # documented in the README: not a secret
LOCAL_CREDENTIALS = Credentials(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY)
LOCAL_ACCOUNT_ID = "123456789012"
MAX_SKEW_S = 300

_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def _lowered(headers: list[tuple[str, str]]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for key, value in headers:
        key = key.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    return lowered


def precheck(
    headers: list[tuple[str, str]],
    region: str,
    now: float | None = None,
    credentials: Credentials = LOCAL_CREDENTIALS,
) -> str | None:
    """Everything that can be checked from the headers alone: the Authorization header's
    form, the access key, the scope (service, region, and a date that is the request's),
    the request's time. Run before the body is read, so an unsigned 6 MB POST is refused
    without being read.

    Returns:
        None when the headers could belong to an authentic request, else a short reason.
    """
    lowered = _lowered(headers)
    match = _AUTH_RE.fullmatch(lowered.get("authorization", "").strip())
    if not match:
        return "missing or malformed Authorization header"
    if match["akid"] != credentials.access_key:
        return "unknown access key"
    if match["service"] != "lambda" or match["region"] != region:
        return "credential scope does not match service lambda in this region"
    amz_date = lowered.get("x-amz-date", "")
    try:
        signed_at = timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return "missing or malformed X-Amz-Date"
    if match["date"] != amz_date[:8]:
        return "credential scope date is not the request's date"
    if abs((time.time() if now is None else now) - signed_at) > MAX_SKEW_S:
        return "signature expired or not yet valid"
    if lowered.get("x-amz-content-sha256") == UNSIGNED_PAYLOAD:
        return "unsigned payload"  # Function URLs sign the body
    if "host" not in match["signed"].split(";"):
        return "host header is not signed"
    return None


def verify(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    region: str,
    now: float | None = None,
    credentials: Credentials = LOCAL_CREDENTIALS,
) -> str | None:
    """Check a request's SigV4 signature (:func:`precheck`, then the payload hash and
    the signature itself).

    Returns:
        None when the request is authentic, else a short reason (never the signature).
    """
    reason = precheck(headers, region, now, credentials)
    if reason is not None:
        return reason
    return verify_prechecked(method, url, headers, body, region, credentials)


def verify_prechecked(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    region: str,
    credentials: Credentials = LOCAL_CREDENTIALS,
) -> str | None:
    """The payload hash and the signature of a request :func:`precheck` passed (what
    needs the body); the front end checks the headers first, then this, not both twice.

    Returns:
        None when the request is authentic, else a short reason (never the signature).
    """
    lowered = _lowered(headers)
    match = _AUTH_RE.fullmatch(lowered.get("authorization", "").strip())
    if match is None:
        return "missing or malformed Authorization header"
    amz_date = lowered.get("x-amz-date", "")
    content_sha = lowered.get("x-amz-content-sha256")
    if content_sha is not None and content_sha != _sha256(body):
        return "payload hash does not match the body"
    signed_names = match["signed"].split(";")
    signed = {name: lowered.get(name, "") for name in signed_names}
    request = AWSRequest(method=method, url=url, data=body, headers=signed)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(credentials.access_key, credentials.secret_key), "lambda", region
    )
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "signature does not match"
    return None


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
