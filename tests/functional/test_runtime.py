"""An environment sees its package and what Lambda's Python runtime provides, never
coldbench's virtualenv: a handler that imports what it did not ship fails as on AWS."""

from __future__ import annotations

import json

from tests.conftest import FUNCTIONS
from tests.functional.test_local_lambda import get, reports

BROKEN = str(FUNCTIONS / "broken")


def test_a_package_only_coldbench_has_is_an_import_error_as_on_aws(local_stack):
    """Handlers importing pandas, locust or moto answered 200 locally."""
    with local_stack(function={"source": BROKEN, "handler": "needs.handler"}) as stack:
        failed = get(stack)
        assert failed.status_code == 502
        record = reports(stack, 1)[failed.headers["x-amzn-RequestId"]]
        assert record["error_type"] == "Runtime.ImportModuleError"


def test_what_the_lambda_runtime_provides_is_importable(local_stack):
    with local_stack(function={"source": BROKEN, "handler": "runtime.handler"}) as stack:
        answer = get(stack)
        assert answer.status_code == 200, answer.text
        body = json.loads(answer.text)
        assert body["imported"][0] == "boto3" and body["site"] == []
