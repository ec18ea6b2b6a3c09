"""``coldbench local-aws``: one endpoint on loopback answering every AWS API the AWS path
calls, so that with ``AWS_ENDPOINT_URL`` pointing at it the AWS code runs unchanged.

Requests are dispatched by the service in their SigV4 credential scope: ``lambda`` goes
to the control plane here (routes and wire format from botocore's model, rules in
:mod:`backend`, functions run by :mod:`plane`); everything else (IAM, STS, CloudWatch
Logs and metrics, tagging) goes to a moto server behind it, whose tagging API also
lists the control plane's functions. Nothing here logs a signature or a secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import aiohttp
import boto3
from aiohttp import web
from botocore import xform_name
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from coldbench.infra.errors import ApiError
from coldbench.infra.local import cgroups, leftovers
from coldbench.infra.local.moto_server import MotoServer
from coldbench.infra.local.sigv4 import LOCAL_ACCOUNT_ID
from coldbench.infra.local.stack import work_root
from coldbench.infra.localaws import codec
from coldbench.infra.localaws.backend import LambdaBackend
from coldbench.infra.localaws.code import CodeStore
from coldbench.infra.localaws.layers import CONTENT_PATH
from coldbench.infra.localaws.plane import DataPlane
from coldbench.record.config import Config

log = logging.getLogger(__name__)

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding", "host"}
_GET_RESOURCES = "ResourceGroupsTaggingAPI_20170126.GetResources"
_MAX_BODY = 80 * 1024 * 1024  # a 50 MB zip, base64-encoded, and its JSON


def service_of(authorization: str) -> str:
    """The service a request is signed for (empty when it is not signed)."""
    found = _SCOPE.search(authorization)
    return found.group(1) if found else ""


def role_lookup(iam) -> Callable[[str], float | None]:
    """When the role named by an ARN was created, from IAM; None when it does not exist."""

    def created(role_arn: str) -> float | None:
        try:
            role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        except ClientError:
            return None
        return role["CreateDate"].timestamp() if role["Arn"] == role_arn else None

    return created


class Endpoint:
    """The aiohttp application: the Lambda control plane, and moto for the rest."""

    def __init__(self, backend: LambdaBackend, plane: DataPlane, moto_endpoint: str):
        self.backend, self.plane, self.moto = backend, plane, moto_endpoint
        self.model = codec.service_model("lambda")
        self.routes = codec.routes("lambda")
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        service = service_of(request.headers.get("Authorization", ""))
        if request.method == "GET" and request.path.startswith(CONTENT_PATH):
            content = self.backend.code.zip_of(request.path.removeprefix(CONTENT_PATH))
            if content is None:
                return web.Response(status=404, text="NoSuchKey")
            return web.Response(body=content, content_type="application/zip")
        if service == "lambda":
            return await self._lambda(request, body)
        status, headers, payload = await self._forward(request, body)
        if service == "tagging" and request.headers.get("X-Amz-Target") == _GET_RESOURCES:
            payload = self._with_functions(json.loads(body or b"{}"), payload)
        return web.Response(status=status, headers=headers, body=payload)

    async def _lambda(self, request: web.Request, body: bytes) -> web.Response:
        raw_path, _, raw_query = request.raw_path.partition("?")
        query = parse_qsl(raw_query, keep_blank_values=True)
        found = codec.match(self.routes, request.method, raw_path, query)
        try:
            if found is None:
                raise ApiError("UnknownOperationException", "Unknown operation", 404)
            route, labels = found
            params = codec.parse_input(route.operation, labels, query, dict(request.headers), body)
            method = getattr(self.backend, xform_name(route.operation.name), None)
            if method is None:
                raise ApiError(
                    "NotImplementedException",
                    f"coldbench local-aws does not emulate Lambda {route.operation.name}",
                    501,
                )
            result = method(params)
            await self.plane.settle()
            status, headers, payload = codec.serialize_output(route.operation, result)
        except ApiError as exc:
            await self.plane.settle()
            status, headers, payload = codec.serialize_error(self.model, exc)
        except Exception as exc:  # a defect of ours: answer as AWS does, say what it was
            log.exception("local-aws failed on %s %s", request.method, raw_path)
            error = ApiError("ServiceException", f"coldbench local-aws failed: {exc!r}", 500)
            status, headers, payload = codec.serialize_error(self.model, error)
        headers["x-amzn-RequestId"] = _request_id()
        return web.Response(status=status, headers=headers, body=payload)

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, dict, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=True)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method, self.moto + request.raw_path, headers=headers, data=body
        ) as response:
            payload = await response.read()
            out = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
            return response.status, out, payload

    def _with_functions(self, query: dict, payload: bytes) -> bytes:
        """moto's GetResources answer, with the control plane's functions that match."""
        if query.get("PaginationToken"):
            return payload  # ours went out with the first page
        types = query.get("ResourceTypeFilters") or ["lambda"]
        if not any(t in ("lambda", "lambda:function") for t in types):
            return payload
        document = json.loads(payload)
        for arn, tags in self.backend.tagged():
            if all(_matches(f, tags) for f in query.get("TagFilters") or []):
                document.setdefault("ResourceTagMappingList", []).append(
                    {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                )
        return json.dumps(document).encode()


def _matches(tag_filter: dict, tags: dict[str, str]) -> bool:
    key, values = tag_filter.get("Key"), tag_filter.get("Values") or []
    return key in tags and (not values or tags[key] in values)


def _request_id() -> str:
    return str(uuid.uuid4())


class LocalAws:
    """Everything ``coldbench local-aws`` runs: moto, the control plane, the data plane."""

    def __init__(self, config: Config, credentials: Credentials, log_delay_s: float = 0.0):
        self.config = config
        self.credentials = credentials
        self.log_delay_s = log_delay_s
        self.moto = MotoServer(config.local.host, env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"})
        root = work_root()
        leftovers.reap(Path(root or tempfile.gettempdir()))
        self._workdir = tempfile.TemporaryDirectory(prefix="coldbench-local-aws-", dir=root)
        leftovers.claim(Path(self._workdir.name))
        self._runner: web.AppRunner | None = None
        self.plane: DataPlane | None = None
        self.cpu = cgroups.CpuScaler("off")
        self.endpoint = ""

    async def start(self, port: int = 0) -> str:
        moto_endpoint = await asyncio.to_thread(self.moto.start)
        iam = boto3.client(
            "iam",
            endpoint_url=moto_endpoint,
            region_name=self.config.target.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        work = Path(self._workdir.name)
        backend = LambdaBackend(
            self.config.target.region,
            LOCAL_ACCOUNT_ID,
            CodeStore(work / "code"),
            role_lookup(iam),
            account_limit=1000,
        )
        instance = f"{leftovers.process_token()}-{work.name[-8:]}"
        self.cpu = cgroups.detect(self.config.local.cpu_scaling, instance)
        self.plane = DataPlane(
            backend,
            self.config.local,
            moto_endpoint,
            self.credentials,
            work,
            self.cpu,
            log_delay_s=self.log_delay_s,
        )
        endpoint = Endpoint(backend, self.plane, moto_endpoint)
        self._runner = web.AppRunner(endpoint.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.local.host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.endpoint = f"http://{self.config.local.host}:{bound}"
        backend.content_base = self.endpoint
        return self.endpoint

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.plane is not None:
            await self.plane.stop()
        self.cpu.cleanup()
        await asyncio.to_thread(self.moto.stop)
        self._workdir.cleanup()
