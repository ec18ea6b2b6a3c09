from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

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


def test_a_link_out_of_the_source_folder_is_refused_naming_it(tmp_path):
    """A link to a file outside (a credentials file) was zipped with its contents."""
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = not-for-the-zip\n")
    source = tmp_path / "fn"
    source.mkdir()
    (source / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (source / "inside.txt").write_text("ok")
    (source / "alias.txt").symlink_to(source / "inside.txt")  # inside: fine
    assert build_package(source, "app.handler").files >= 2
    (source / "creds").symlink_to(secret)
    with pytest.raises(PackagingError, match=r"creds links outside"):
        build_package(source, "app.handler")


def test_an_unsigned_payload_is_refused_as_function_urls_refuse_it():
    """AWS_IAM Function URLs need the payload hash: UNSIGNED-PAYLOAD let a body be swapped."""
    url = "http://127.0.0.1:9/path"
    request = AWSRequest(
        method="POST",
        url=url,
        data=b"signed body",
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    SigV4Auth(sigv4.LOCAL_CREDENTIALS, "lambda", "us-east-1").add_auth(request)
    headers = list(request.headers.items())
    assert sigv4.verify("POST", url, headers, b"another body", "us-east-1") == "unsigned payload"


def test_a_scope_date_that_is_not_the_requests_date_is_refused():
    """A correctly signed request whose Credential= date was edited was accepted."""
    url = "http://127.0.0.1:9/"
    request = AWSRequest(method="GET", url=url, data=b"", headers={})
    SigV4Auth(sigv4.LOCAL_CREDENTIALS, "lambda", "us-east-1").add_auth(request)
    headers = {**dict(request.headers.items()), "Host": "127.0.0.1:9"}
    assert sigv4.verify("GET", url, list(headers.items()), b"", "us-east-1") is None
    for date in ("19990101", "20261127"):
        scope = headers["Authorization"].split("/")[1]
        edited = {**headers, "Authorization": headers["Authorization"].replace(scope, date)}
        if date == scope:
            continue
        reason = sigv4.verify("GET", url, list(edited.items()), b"", "us-east-1")
        assert reason == "credential scope date is not the request's date"
