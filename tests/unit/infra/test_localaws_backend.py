"""The Lambda control plane's rules, without HTTP and without waiting: the clock is ours."""

from __future__ import annotations

import io
import zipfile

import pytest

from coldbench.infra.aws.clients import BUSY
from coldbench.infra.errors import ApiError
from coldbench.infra.localaws.backend import ROLE_NOT_READY, LambdaBackend
from coldbench.infra.localaws.code import CodeStore

ROLE = "arn:aws:iam::123456789012:role/r"


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class RecordingPlane:
    """Stands in for the data plane: records what the rules asked of it."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.ready = 0

    def open_url(self, function, qualifier):
        self.calls.append(("open_url", function, qualifier))
        return "http://127.0.0.1:1/"

    def close_url(self, function, qualifier):
        self.calls.append(("close_url", function, qualifier))

    def retire(self, function):
        self.calls.append(("retire", function))

    def provision(self, function, qualifier, version, count):
        self.calls.append(("provision", function, qualifier, version, count))

    def provisioned_ready(self, function, qualifier):
        return self.ready

    def concurrency_changed(self, function):
        self.calls.append(("concurrency", function))

    def remove(self, function):
        self.calls.append(("remove", function))


def package(text: str = "x = 1") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("app.py", text)
    return buffer.getvalue()


@pytest.fixture
def lam(tmp_path):
    clock = Clock()
    roles = {ROLE: clock.now - 60}
    backend = LambdaBackend(
        "us-east-1", "123456789012", CodeStore(tmp_path), roles.get, clock=clock
    )
    backend.plane = RecordingPlane()
    backend.clock_ = clock
    backend.roles_ = roles
    return backend


def create(lam, name="f", **extra):
    params = {
        "FunctionName": name,
        "Role": ROLE,
        "Handler": "app.handler",
        "Runtime": "python3.12",
        "Code": {"ZipFile": package()},
        **extra,
    }
    return lam.create_function(params)


def refused(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def test_a_new_function_is_pending_then_active_and_updates_are_in_progress_then_done(lam):
    created = create(lam)
    assert created["State"] == "Pending" and "LastUpdateStatus" not in created
    assert refused(lam.update_function_configuration, {"FunctionName": "f"}).code == (
        "ResourceConflictException"
    )
    lam.clock_.now += 1.5
    current = lam.get_function({"FunctionName": "f"})["Configuration"]
    assert current["State"] == "Active" and current["LastUpdateStatus"] == "Successful"

    updated = lam.update_function_configuration({"FunctionName": "f", "MemorySize": 256})
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["RevisionId"] != current["RevisionId"]
    assert ("retire", "f") in lam.plane.calls, "a change retires the running environments"
    busy = refused(lam.update_function_code, {"FunctionName": "f", "ZipFile": package("y=2")})
    assert busy.code == "ResourceConflictException" and BUSY in busy.message
    lam.clock_.now += 1.5
    stale = {"FunctionName": "f", "Timeout": 9, "RevisionId": current["RevisionId"]}
    assert refused(lam.update_function_configuration, stale).code == "PreconditionFailedException"
    assert lam.get_function_configuration({"FunctionName": "f"})["MemorySize"] == 256


@pytest.mark.parametrize(
    ("change", "named"),
    [({"MemorySize": 10241}, "'memorySize'"), ({"Timeout": 901}, "'timeout'")],
)
def test_limits_beyond_the_service_model_are_refused_naming_the_value(lam, change, named):
    error = refused(lambda: create(lam, "g", **change))
    assert error.code == "ValidationException" and named in error.message
    assert "g" not in lam.functions


def test_a_role_that_is_missing_or_too_new_cannot_be_assumed(lam):
    other = "arn:aws:iam::123456789012:role/new"
    error = refused(lambda: create(lam, "g", Role=other))
    assert error.code == "InvalidParameterValueException" and error.message == ROLE_NOT_READY
    lam.roles_[other] = lam.clock_.now
    assert refused(lambda: create(lam, "g", Role=other)).message == ROLE_NOT_READY
    lam.clock_.now += 3
    assert create(lam, "g", Role=other)["FunctionName"] == "g"


def test_publishing_unchanged_code_and_configuration_returns_the_same_version(lam):
    create(lam)
    lam.clock_.now += 2
    assert lam.publish_version({"FunctionName": "f"})["Version"] == "1"
    assert lam.publish_version({"FunctionName": "f"})["Version"] == "1"
    lam.update_function_configuration({"FunctionName": "f", "MemorySize": 1024})
    lam.clock_.now += 2
    assert lam.publish_version({"FunctionName": "f"})["Version"] == "2"
    assert lam.get_function_configuration({"FunctionName": "f:1"})["MemorySize"] == 128


def test_a_public_url_needs_both_permissions(lam):
    create(lam)
    lam.create_function_url_config({"FunctionName": "f", "AuthType": "NONE"})
    assert not lam.public_url_allowed("f", "")
    lam.add_permission(
        {
            "FunctionName": "f",
            "StatementId": "url",
            "Action": "lambda:InvokeFunctionUrl",
            "Principal": "*",
            "FunctionUrlAuthType": "NONE",
        }
    )
    assert not lam.public_url_allowed("f", ""), "InvokeFunctionUrl alone is not enough"
    lam.add_permission(
        {
            "FunctionName": "f",
            "StatementId": "invoke",
            "Action": "lambda:InvokeFunction",
            "Principal": "*",
            "InvokedViaFunctionUrl": True,
        }
    )
    assert lam.public_url_allowed("f", "")
    again = {"FunctionName": "f", "StatementId": "url", "Action": "lambda:*", "Principal": "*"}
    assert refused(lam.add_permission, again).code == "ResourceConflictException"
    lam.remove_permission({"FunctionName": "f", "StatementId": "url"})
    assert not lam.public_url_allowed("f", "")


def test_provisioned_concurrency_is_for_published_versions_and_ready_when_initialised(lam):
    create(lam)
    lam.clock_.now += 2
    latest = {"FunctionName": "f", "ProvisionedConcurrentExecutions": 2}
    assert refused(lam.put_provisioned_concurrency_config, latest).code == (
        "InvalidParameterValueException"
    )
    version = lam.publish_version({"FunctionName": "f"})["Version"]
    lam.create_alias({"FunctionName": "f", "Name": "live", "FunctionVersion": version})
    placed = lam.put_provisioned_concurrency_config({**latest, "Qualifier": "live"})
    assert placed["Status"] == "IN_PROGRESS"
    assert ("provision", "f", "live", "1", 2) in lam.plane.calls
    lam.plane.ready = 2
    status = lam.get_provisioned_concurrency_config({"FunctionName": "f", "Qualifier": "live"})
    assert status["Status"] == "READY" and status["AllocatedProvisionedConcurrentExecutions"] == 2


def test_reserved_concurrency_keeps_ten_unreserved_and_delete_removes_everything(lam):
    create(lam)
    too_much = {"FunctionName": "f", "ReservedConcurrentExecutions": 991}
    assert refused(lam.put_function_concurrency, too_much).code == "InvalidParameterValueException"
    lam.put_function_concurrency({**too_much, "ReservedConcurrentExecutions": 990})
    settings = lam.get_account_settings({})["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == 10
    lam.delete_function({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f"})
    assert ("remove", "f") in lam.plane.calls
    assert refused(lam.get_function, {"FunctionName": "f"}).code == "ResourceNotFoundException"


def test_a_package_that_is_not_a_zip_is_refused_as_lambda_refuses_it(lam):
    error = refused(lambda: create(lam, "g", Code={"ZipFile": b"not a zip"}))
    assert error.code == "InvalidParameterValueException" and "unzip" in error.message


def test_reserved_environment_names_are_refused_as_lambda_refuses_them(lam):
    error = refused(lambda: create(lam, "g", Environment={"Variables": {"_HANDLER": "x"}}))
    assert error.code == "InvalidParameterValueException" and "_HANDLER" in error.message


def layer_zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("python/shared.py", text)
    return buffer.getvalue()


def test_layer_versions_are_numbered_listed_attached_and_kept_by_their_functions(lam):
    lam.content_base = "http://127.0.0.1:4566"
    first = lam.publish_layer_version(
        {"LayerName": "deps", "Content": {"ZipFile": layer_zip("A = 1")}, "Description": "d"}
    )
    second = lam.publish_layer_version(
        {"LayerName": "deps", "Content": {"ZipFile": layer_zip("A = 2")}}
    )
    assert (first["Version"], second["Version"]) == (1, 2)
    assert first["LayerVersionArn"].endswith(":layer:deps:1")
    location = first["Content"]["Location"]
    assert location.startswith("http://127.0.0.1:4566/_coldbench/layer-content/")
    assert lam.code.zip_of(location.rsplit("/", 1)[1]) == layer_zip("A = 1")
    assert lam.get_layer_version_by_arn({"Arn": second["LayerVersionArn"]})["Version"] == 2
    listed = lam.list_layer_versions({"LayerName": "deps"})["LayerVersions"]
    assert [v["Version"] for v in listed] == [2, 1] and listed[1]["Description"] == "d"
    latest = lam.list_layers({})["Layers"][0]["LatestMatchingVersion"]
    assert latest["Version"] == 2

    created = create(lam, "g", Layers=[first["LayerVersionArn"]])
    assert created["Layers"] == [
        {"Arn": first["LayerVersionArn"], "CodeSize": len(layer_zip("A = 1"))}
    ]
    lam.delete_layer_version({"LayerName": "deps", "VersionNumber": 1})
    lam.delete_layer_version({"LayerName": "deps", "VersionNumber": 1})  # idempotent
    kept = lam.get_function_configuration({"FunctionName": "g"})["Layers"]
    assert kept[0]["Arn"] == first["LayerVersionArn"], "a function keeps what it uses"
    assert (
        lam.config_of(lam.functions["g"], "$LATEST").layers[0].code.task_root / "python"
    ).is_dir()
    error = refused(lambda: lam.get_layer_version({"LayerName": "deps", "VersionNumber": 1}))
    assert error.code == "ResourceNotFoundException"
    lam.delete_layer_version({"LayerName": "deps", "VersionNumber": 2})
    third = lam.publish_layer_version(
        {"LayerName": "deps", "Content": {"ZipFile": layer_zip("A = 3")}}
    )
    assert third["Version"] == 3, "a deleted number is not given again"


def test_layers_a_function_names_must_exist_and_be_at_most_five(lam):
    missing = "arn:aws:lambda:us-east-1:123456789012:layer:nope:1"
    error = refused(lambda: create(lam, "g", Layers=[missing]))
    assert error.code == "InvalidParameterValueException" and missing in error.message
    arn = lam.publish_layer_version({"LayerName": "x", "Content": {"ZipFile": layer_zip("")}})[
        "LayerVersionArn"
    ]
    error = refused(lambda: create(lam, "g", Layers=[arn] * 6))
    assert "more than 5 layers" in error.message
    create(lam, "g")
    lam.clock_.now += 60
    updated = lam.update_function_configuration({"FunctionName": "g", "Layers": [arn]})
    assert [layer["Arn"] for layer in updated["Layers"]] == [arn]
    assert ("retire", "g") in lam.plane.calls
