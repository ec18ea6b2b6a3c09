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


LAYERED_APP = """
import os
import sys

import cbdemo
import shared
from importlib.metadata import version


def handler(event, context):
    opt = os.path.exists('/opt/python/shared.py') and open('/opt/python/shared.py').read()
    return {'statusCode': 200, 'body': '|'.join([
        shared.WHO, cbdemo.VALUE, version('cbdemo'),
        str(sys.path.index(os.path.dirname(shared.__file__)) > 0), str(bool(opt)),
    ])}
"""


def test_layers_are_built_and_seen_as_lambda_lays_them_out(local_stack, tmp_path, monkeypatch):
    """Two folder layers: the second's file replaces the first's (Lambda unpacks them in
    order into /opt), a layer's requirements are built into its python/ folder, and the
    handler imports from them after its own task root."""
    from tests.unit.infra.test_dependencies import make_wheel

    make_wheel(tmp_path / "wheels")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    monkeypatch.chdir(tmp_path)
    first, second, source = tmp_path / "first", tmp_path / "second", tmp_path / "fn"
    for folder in (first, second / "python", source):
        folder.mkdir(parents=True)
    (first / "shared.py").write_text("WHO = 'first'\n")
    (first / "requirements.txt").write_text("cbdemo==1.0\n")
    (second / "python" / "shared.py").write_text("WHO = 'second'\n")  # laid out as is
    (source / "app.py").write_text(LAYERED_APP)
    function = {
        "source": str(source),
        "handler": "app.handler",
        "layers": [str(first), str(second)],
    }
    with local_stack(function=function) as stack:
        answer = get(stack)
        assert answer.status_code == 200, answer.text
        who, value, version, after_task_root, opt_seen = answer.text.split("|")
        assert (who, value, version, after_task_root) == ("second", "cbdemo 1.0", "1.0", "True")
        assert stack.target.function.layers == (str(first), str(second))
        assert stack.target.function.layers_bytes > 0
        if stack.target.function.tmp_isolation == "private tmpfs":
            assert opt_seen == "True"  # the layers are at /opt itself in its namespace


def test_a_layer_the_local_target_cannot_fetch_is_refused_naming_it(local_stack, monkeypatch):
    import socket

    from coldbench.infra.errors import PackagingError

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"
    with (
        pytest.raises(PackagingError, match=r"function.layers\[0\].*could not fetch.*folder"),
        local_stack(function={"layers": [arn]}),
    ):
        pass
