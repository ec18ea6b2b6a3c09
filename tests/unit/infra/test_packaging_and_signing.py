from __future__ import annotations

import zipfile
from io import BytesIO

import pytest

from coldbench.infra.errors import PackagingError
from coldbench.infra.local import sigv4
from coldbench.infra.packaging import build_package, source_for


def test_package_is_deterministic_and_clean(tmp_path):
    src = tmp_path / "fn"
    (src / "__pycache__").mkdir(parents=True)
    (src / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (src / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"junk")
    first = build_package(src, "app.handler")
    (src / "app.py").touch()  # a new mtime changes nothing
    second = build_package(src, "app.handler")
    assert first.sha256 == second.sha256 and first.zip_bytes == second.zip_bytes
    names = zipfile.ZipFile(BytesIO(first.zip_bytes)).namelist()
    assert names == ["app.py", "coldbench_probe.py"]


def test_package_refuses_missing_handler_module(tmp_path):
    (tmp_path / "other.py").write_text("")
    with pytest.raises(PackagingError, match=r"app\.handler"):
        build_package(tmp_path, "app.handler")


def test_builtin_variants_package():
    for variant in ("probe",):
        path, handler = source_for(variant)
        assert build_package(path, handler).size > 0


def _signed(body=b"", path="/x?a=1"):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="POST", url=f"http://127.0.0.1:9/{path.lstrip('/')}", data=body)
    SigV4Auth(sigv4.LOCAL_CREDENTIALS, "lambda", "us-east-1").add_auth(request)
    return request


def test_sigv4_verifies_and_rejects_tampering():
    request = _signed(b"payload")
    headers = [*request.headers.items(), ("host", "127.0.0.1:9")]
    assert sigv4.verify("POST", request.url, headers, b"payload", "us-east-1") is None
    assert sigv4.verify("POST", request.url, headers, b"tampered", "us-east-1") is not None
    assert sigv4.verify("GET", request.url, headers, b"payload", "us-east-1") is not None
    assert sigv4.verify("POST", request.url, headers, b"payload", "eu-west-1") is not None
    assert sigv4.verify("POST", request.url, [], b"", "us-east-1") is not None
    future = sigv4.verify("POST", request.url, headers, b"payload", "us-east-1", now=9e9)
    assert future == "signature expired or not yet valid"
