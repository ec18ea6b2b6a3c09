"""The Function URL front end: HTTP in, payload-format-2.0 event to the pool, HTTP out.

Status codes as Function URLs give them: 403 for a missing or bad signature under
AWS_IAM, 413 for a request over the 6 MB payload limit, 429 when throttled, 502 for a
function error, crash, timeout, init failure or an unusable result. Every response
carries ``x-amzn-RequestId``; when the function ran, it is the invocation's request id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import web
from botocore.credentials import Credentials

from coldbench.infra.local import sigv4
from coldbench.infra.local.events import (
    FORBIDDEN,
    MAX_PAYLOAD_BYTES,
    THROTTLED,
    TOO_LARGE,
    HttpRequest,
    HttpResponse,
    build_event,
    error_response,
    new_request_id,
    result_to_response,
)
from coldbench.infra.local.pool import Pool, Throttled

log = logging.getLogger(__name__)
# Assumed, not published by AWS: an idle keep-alive connection (or one whose request
# headers have not all arrived) is closed after this; a body must arrive within that.
IDLE_TIMEOUT_S = 20.0
BODY_TIMEOUT_S = 20.0


class FunctionUrl:
    """One Function URL in front of one pool. ``coldbench local-aws`` subclasses it: its
    URLs find their pool, auth type and CORS per request, and ``NONE`` needs the
    resource policy's permissions."""

    def __init__(
        self,
        pool: Pool | None,
        *,
        auth: str,
        region: str,
        url_id: str,
        cors_allow_origins: tuple[str, ...] = (),
        credentials: Credentials = sigv4.LOCAL_CREDENTIALS,
    ):
        self.pool = pool
        self.auth = auth
        self.region = region
        self.url_id = url_id
        self.cors_allow_origins = cors_allow_origins
        self.credentials = credentials

    async def route(self) -> Pool:
        """The pool that serves this request."""
        assert self.pool is not None
        return self.pool

    def public_allowed(self) -> bool:
        """Whether an ``NONE`` URL may answer (on AWS: both resource-policy permissions)."""
        return True

    def server(self) -> web.Server:
        """aiohttp's low-level server: every path is the function, so no router."""
        quiet_bad_requests()
        # keepalive_timeout also bounds how long a request's headers may take to arrive
        # (from the connection's start or the last response): a slowloris is closed.
        return web.Server(
            self.handle, request_factory=self._make_request, keepalive_timeout=IDLE_TIMEOUT_S
        )

    def _make_request(self, message, payload, protocol, writer, task) -> web.BaseRequest:
        # Bodies up to the limit plus one byte are read; anything larger is refused.
        loop = asyncio.get_running_loop()
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=MAX_PAYLOAD_BYTES + 1
        )

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter()
        pool = await self.route()
        response = await self._respond(request, pool)
        status = response.status
        pool.telemetry.metrics(
            [
                ("UrlRequestCount", 1, "Count"),
                ("Url4xxCount", 1 if 400 <= status < 500 else 0, "Count"),
                ("Url5xxCount", 1 if status >= 500 else 0, "Count"),
                ("UrlRequestLatency", (time.perf_counter() - started) * 1000, "Milliseconds"),
            ]
        )
        return response

    async def _respond(self, request: web.BaseRequest, pool: Pool) -> web.StreamResponse:
        request_id = new_request_id()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        if self.auth == "AWS_IAM":
            # What the headers alone can refuse is refused before the body is read.
            reason = sigv4.precheck(headers, self.region, credentials=self.credentials)
            if reason is not None:
                log.debug("refused unsigned or badly signed request: %s", reason)
                response = _send(error_response(*FORBIDDEN), request_id)
                if request.body_exists:
                    response.force_close()  # its unread body is not read just to drop it
                return response
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return _send(error_response(*TOO_LARGE), request_id)
        try:
            body = b""
            if request.body_exists:  # no timer for the common bodiless request
                async with asyncio.timeout(BODY_TIMEOUT_S):
                    body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _send(error_response(*TOO_LARGE), request_id)
        except TimeoutError:  # a body trickling in holds nothing of ours for long
            response = _send(error_response(408, "Request Timeout"), request_id)
            response.force_close()
            return response
        raw_path, _, raw_query = request.raw_path.partition("?")
        iam = None
        if self.auth == "AWS_IAM":
            url = f"http://{request.host}{request.raw_path}"
            reason = sigv4.verify_prechecked(
                request.method, url, headers, body, self.region, credentials=self.credentials
            )
            if reason is not None:
                log.debug("refused unsigned or badly signed request: %s", reason)
                return _send(error_response(*FORBIDDEN), request_id)
            iam = _iam_identity(self.credentials.access_key)
        elif not self.public_allowed():
            log.debug("refused: the resource policy does not allow a public URL")
            return _send(error_response(*FORBIDDEN), request_id)
        cors = self._cors_headers(request)
        if (
            cors
            and request.method == "OPTIONS"
            and "access-control-request-method" in {k.lower() for k in request.headers}
        ):
            return _send(HttpResponse(200, cors), request_id)
        event = build_event(
            HttpRequest(request.method, raw_path, raw_query, headers, body, request.remote or ""),
            request_id=request_id,
            url_id=self.url_id,
            account_id=sigv4.LOCAL_ACCOUNT_ID,
            iam=iam,
        )
        payload = json.dumps(event, separators=(",", ":")).encode()
        if len(payload) > MAX_PAYLOAD_BYTES:
            return _send(error_response(*TOO_LARGE), request_id)
        trace_id = event["headers"]["x-amzn-trace-id"]
        try:
            result = await pool.invoke(payload, request_id, trace_id)
        except Throttled:
            return _send(error_response(*THROTTLED), request_id)
        if not result.ok:
            return _send(error_response(502, None), request_id)
        try:
            http = result_to_response(result.body)
        except (ValueError, TypeError):
            return _send(error_response(502, None), request_id)
        http.headers.extend(cors)
        return _send(http, request_id)

    def _cors_headers(self, request: web.BaseRequest) -> list[tuple[str, str]]:
        origin = request.headers.get("Origin")
        allowed = self.cors_allow_origins
        if not origin or not allowed or ("*" not in allowed and origin not in allowed):
            return []
        return [
            ("Access-Control-Allow-Origin", "*" if "*" in allowed else origin),
            ("Access-Control-Allow-Methods", "*"),
            ("Access-Control-Allow-Headers", "*"),
        ]


class _OneLine(logging.Filter):
    """A malformed request is the client's problem: one line (its traceback, ~1 KB,
    only when debugging), not a traceback per request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not log.isEnabledFor(logging.DEBUG):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}".replace(
                "\n", " "
            )[:300]
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


def quiet_bad_requests() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _OneLine) for f in server_log.filters):
        server_log.addFilter(_OneLine())


def _iam_identity(access_key: str) -> dict:
    account = sigv4.LOCAL_ACCOUNT_ID
    return {
        "accessKey": access_key,
        "accountId": account,
        "callerId": "AIDACOLDBENCHLOCAL",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:iam::{account}:user/coldbench-local",
        "userId": "AIDACOLDBENCHLOCAL",
    }


def _send(http: HttpResponse, request_id: str) -> web.Response:
    response = web.Response(status=http.status, body=http.body)
    for key, value in http.headers:
        if key.lower() == "content-length":
            continue
        if key.lower() == "set-cookie":
            response.headers.add(key, value)
        else:
            response.headers[key] = value
    response.headers["x-amzn-RequestId"] = request_id
    return response
