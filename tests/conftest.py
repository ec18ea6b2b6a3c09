"""Shared fixtures: a real local Lambda on 127.0.0.1 with test-sized settings."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from coldbench.record.config import build_config
from coldbench.record.target import Target

FUNCTIONS = Path(__file__).parent / "functional" / "functions"

# Tests never reach real AWS: dummy credentials and no metadata service.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # AWSLambdaBasicExecutionRole exists


def local_config(**sections):
    """A config for a local stack: short keep-alive, modes function, no auth by default."""
    raw = {
        "url": {"auth": "NONE"},
        "function": {
            "variant": "custom",
            "source": str(FUNCTIONS / "modes"),
            "handler": "app.handler",
            "timeout_s": 3,
            "memory_mb": 512,
        },
        "local": {"keep_alive_min_s": 60, "keep_alive_max_s": 60},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return build_config(raw)


def local_aws_client(service: str, endpoint: str):
    """A boto3 client for a local endpoint (moto), with the tests' dummy credentials."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def moto_server():
    """A real moto server on loopback, CloudWatch Logs and metrics for the tests."""
    from coldbench.infra.local.moto_server import MotoServer

    server = MotoServer()
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture
def local_stack(moto_server):
    """Factory: ``with local_stack(**sections) as stack`` runs a real local Lambda.

    Stacks share the session's moto server (starting one costs seconds) and each has a
    stack name of its own, so no two share a log group.
    """
    from coldbench.infra.local.stack import running

    def make(**sections):
        target = {"stack_name": f"t{uuid.uuid4().hex[:10]}", **sections.pop("target", {})}
        return running(local_config(target=target, **sections), cloudwatch_endpoint=moto_server)

    return make


def signed_get(target: Target, path: str = "/", **kwargs) -> requests.Response:
    from coldbench.locustfiles.signing import Signer

    headers = Signer(target).headers("GET", path, b"", {})
    return requests.get(target.url.rstrip("/") + path, headers=headers, timeout=30, **kwargs)


def coldbench(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``coldbench ARGS`` as a user runs it, in ``cwd`` (its coldbench.toml applies)."""
    return subprocess.run(
        [sys.executable, "-m", "coldbench.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
