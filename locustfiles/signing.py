"""SigV4 signing for ``AWS_IAM`` Function URLs (botocore's signer, service ``lambda``).

Credentials come from the default chain (or a profile) and are refreshed as they
rotate; for a local target the local Lambda's documented dummy pair is used.
Signatures live only in the outgoing headers: never logged, never recorded.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from coldbench.infra.local.sigv4 import LOCAL_CREDENTIALS
from coldbench.record.target import Target

# botocore logs the string to sign and the signature at DEBUG: never let that through.
logging.getLogger("botocore.auth").setLevel(logging.WARNING)


class Signer:
    def __init__(self, target: Target, profile: str = ""):
        self.region = target.region
        self.base = target.url.rstrip("/")
        if target.kind == "local":
            self._credentials = LOCAL_CREDENTIALS
        else:
            session = boto3.Session(profile_name=profile or None)
            self._credentials = session.get_credentials()
            if self._credentials is None:
                raise RuntimeError("no AWS credentials found for signing (AWS_IAM URL)")
        self._host = urlsplit(self.base).netloc
        self._second = -1
        self._cache: dict = {}
        self._frozen = None

    def headers(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict:
        """The headers to send, Authorization and X-Amz-* added for this exact request.

        A SigV4 signature depends only on the request, the credentials and X-Amz-Date
        (one-second resolution), so identical requests within one second share one
        signature: signing happens once per second per distinct request, not per call.
        """
        second = int(time.time())
        if second != self._second:
            self._second, self._cache = second, {}
            self._frozen = self._credentials.get_frozen_credentials()
        key = (method, path, body, tuple(headers.items()))
        signed = self._cache.get(key)
        if signed is None:
            signed = self._cache[key] = self._sign(method, path, body, headers)
        return signed

    def _sign(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict:
        request = AWSRequest(method=method, url=self.base + path, data=body, headers=dict(headers))
        request.headers["host"] = self._host
        SigV4Auth(self._frozen, "lambda", self.region).add_auth(request)
        # The HTTP client sends this same Host itself (from the URL); don't send it twice.
        return {k: v for k, v in request.headers.items() if k.lower() != "host"}
