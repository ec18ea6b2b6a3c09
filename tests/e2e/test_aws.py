"""Real AWS, end to end. Skipped without credentials; never run in CI.

    COLDBENCH_E2E_AWS=1 AWS_PROFILE=... make test ARGS="tests/e2e -m e2e"

Creates a uniquely named stack, load-tests it briefly, and always tears it down,
asserting that nothing tagged with the stack is left.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("CI") == "true" or os.environ.get("COLDBENCH_E2E_AWS") != "1",
        reason="real AWS: set COLDBENCH_E2E_AWS=1 with credentials (never in CI)",
    ),
]


def up(config):
    from coldbench.infra.aws.clients import make_clients
    from coldbench.infra.aws.preflight import preflight
    from coldbench.infra.aws.provisioner import Provisioner

    clients = make_clients(config)
    return Provisioner(config, clients).up(preflight(config, clients)).target, clients


def down(config, clients):
    from coldbench.infra.aws.manage import down as teardown
    from coldbench.infra.aws.manage import status

    teardown(config, clients)
    assert status(config, clients) == [], "resources tagged with the stack are left behind"


@pytest.fixture
def aws_stack():
    import boto3

    from coldbench.record.config import build_config

    if boto3.session.Session().get_credentials() is None:
        pytest.skip("no AWS credentials")
    stack = f"cbe2e{uuid.uuid4().hex[:8]}"
    config = build_config(
        {"target": {"kind": "aws", "stack_name": stack}, "function": {"reserved_concurrency": 2}}
    )
    clients = None
    try:
        target, clients = up(config)
        yield config, target
    finally:
        if clients is None:
            from coldbench.infra.aws.clients import make_clients

            clients = make_clients(config)
        down(config, clients)


def test_signed_requests_reach_the_function_and_reports_arrive(aws_stack):
    import requests

    from coldbench.locustfiles.signing import Signer
    from coldbench.record.target import Target

    _config, target = aws_stack
    assert isinstance(target, Target)
    signer = Signer(target)
    deadline = time.monotonic() + 60
    while True:  # a new URL takes a few seconds to answer
        response = requests.get(target.url, headers=signer.headers("GET", "/", b"", {}), timeout=30)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert response.status_code == 200
    assert response.headers["x-coldbench-cold"] in ("0", "1")
    assert requests.get(target.url, timeout=30).status_code == 403
