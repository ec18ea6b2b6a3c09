"""SigV4 signing for ``AWS_IAM`` Function URLs (botocore's signer, service ``lambda``).

Credentials come from the default chain (or a profile) and are refreshed as they
rotate; for a local target the local Lambda's documented dummy pair is used.
Signatures live only in the outgoing headers: never logged, never recorded.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from coldbench.target import Target

# botocore logs the string to sign and the signature at DEBUG: never let that through.
logging.getLogger("botocore.auth").setLevel(logging.WARNING)


class Signer:
    def __init__(self, target: Target, profile: str = ""):
        self.region = target.region
        self.base = target.url.rstrip("/")
        if target.kind == "local":
            from infra.local.sigv4 import LOCAL_CREDENTIALS

            self._credentials = LOCAL_CREDENTIALS
        else:
            session = boto3.Session(profile_name=profile or None)
            self._credentials = session.get_credentials()
            if self._credentials is None:
                raise RuntimeError("no AWS credentials found for signing (AWS_IAM URL)")

    def headers(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict:
        """The headers to send, Authorization and X-Amz-* added for this exact request."""
        frozen = self._credentials.get_frozen_credentials()
        request = AWSRequest(method=method, url=self.base + path, data=body, headers=dict(headers))
        request.headers["host"] = urlsplit(self.base).netloc
        SigV4Auth(frozen, "lambda", self.region).add_auth(request)
        return dict(request.headers.items())
