"""An environment sees its package and what Lambda's Python runtime provides, never
coldbench's virtualenv: a handler that imports what it did not ship fails as on AWS."""

from __future__ import annotations

import json

import pytest

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


def test_a_requirement_is_built_into_the_package_with_its_metadata(
    local_stack, tmp_path, monkeypatch
):
    """Dependencies came only from vendor.txt, copied from coldbench's own virtualenv
    without their dist-info: importlib.metadata.version() failed inside the function."""
    from tests.unit.infra.test_dependencies import make_wheel

    make_wheel(tmp_path / "wheels")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "fn"
    source.mkdir()
    (source / "requirements.txt").write_text("cbdemo==1.0\n")
    (source / "app.py").write_text(
        "from importlib.metadata import version\n\nimport cbdemo\n\n\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'body': cbdemo.VALUE + ' ' + version('cbdemo')}\n"
    )
    with local_stack(function={"source": str(source), "handler": "app.handler"}) as stack:
        answer = get(stack)
        assert answer.status_code == 200 and answer.text == "cbdemo 1.0 1.0", answer.text


def test_the_aws_services_a_function_calls_are_local_and_set_up_first(local_stack, moto_server):
    """A handler reading DynamoDB went to the real AWS endpoint with dummy credentials."""
    orders = FUNCTIONS / "orders"
    with local_stack(
        function={"source": str(orders), "handler": "app.handler"},
        local={"setup": str(orders / "setup.py")},
    ) as stack:
        answer = get(stack)
        assert answer.status_code == 200, answer.text
        assert json.loads(answer.text) == {"status": "shipped"}


def test_a_setup_script_that_fails_stops_the_start_with_its_error(local_stack, tmp_path):
    from coldbench.infra.errors import LocalLambdaError

    script = tmp_path / "setup.py"
    script.write_text("raise SystemExit('the bucket name is taken')\n")
    with (
        pytest.raises(LocalLambdaError, match="the bucket name is taken"),
        local_stack(local={"setup": str(script)}),
    ):
        pass
