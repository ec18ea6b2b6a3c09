"""The boto3 provisioner against moto (and botocore's Stubber for what moto lacks)."""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from coldbench.infra.aws import manage, provisioner
from coldbench.infra.aws.clients import TAG_STACK, make_clients, target_clients, while_busy
from coldbench.infra.aws.preflight import preflight
from coldbench.infra.errors import PreflightError, ProvisionError
from coldbench.record.config import build_config

REGION = "us-east-1"


@pytest.fixture
def aws():
    """moto for everything it implements; a stubbed client for account settings."""
    with mock_aws():
        session = boto3.session.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        control = session.client("lambda")
        stubber = Stubber(control)
        stubber.activate()

        def make(config, limit=1000, unreserved=1000):
            stubber.add_response(
                "get_account_settings",
                {
                    "AccountLimit": {
                        "ConcurrentExecutions": limit,
                        "UnreservedConcurrentExecutions": unreserved,
                    }
                },
            )
            clients = dataclasses.replace(make_clients(config, session), lambda_control=control)
            return clients

        yield make, stubber


def up(config, clients):
    plan = preflight(config, clients)
    return provisioner.Provisioner(config, clients, sleep=lambda _: None).up(plan)


def cfg(**sections):
    raw = {"target": {"kind": "aws", "region": REGION}}
    raw.update(sections)
    return build_config(raw)


def test_up_creates_everything_tagged_and_second_up_changes_nothing(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    first = up(config, clients)
    assert any("created function" in c for c in first.changes)
    assert first.target.kind == "aws" and first.target.auth == "AWS_IAM"
    assert first.target.url.startswith("https://")
    fn = clients.lambda_.get_function(FunctionName="coldbench-probe")
    assert fn["Tags"][TAG_STACK] == "coldbench"
    role_tags = clients.iam.list_role_tags(RoleName="coldbench-lambda-role")["Tags"]
    assert {"Key": TAG_STACK, "Value": "coldbench"} in role_tags
    group = clients.logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/coldbench-probe")[
        "logGroups"
    ][0]
    assert group["retentionInDays"] == 3
    assert (
        clients.lambda_.get_function_concurrency(FunctionName="coldbench-probe")[
            "ReservedConcurrentExecutions"
        ]
        == 10
    )
    with pytest.raises(ClientError):  # AWS_IAM: no public statements at all
        clients.lambda_.get_policy(FunctionName="coldbench-probe")

    configuration = clients.lambda_.get_function_configuration(FunctionName="coldbench-probe")
    assert configuration["EphemeralStorage"] == {"Size": 512}
    second = up(config, make(config))
    assert second.changes == []


def test_changed_memory_is_an_update_not_a_recreate(aws):
    make, _ = aws
    up(cfg(), make(cfg()))
    bigger = cfg(function={"memory_mb": 1024})
    result = up(bigger, make(bigger))
    assert result.changes == ["updated configuration of coldbench-probe"]


def test_none_auth_adds_both_statements_and_back_to_iam_removes_them(aws):
    make, _ = aws
    public = cfg(url={"auth": "NONE"})
    clients = make(public)
    up(public, clients)
    policy = json.loads(clients.lambda_.get_policy(FunctionName="coldbench-probe")["Policy"])
    actions = sorted(s["Action"] for s in policy["Statement"])
    assert actions == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    private = cfg()
    result = up(private, make(private))
    assert any("removed public statement" in c for c in result.changes)


def test_failure_half_way_then_up_converges(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    calls = {"n": 0}

    def fail_once(**_):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {"Error": {"Code": "ServiceException", "Message": "injected"}},
                "CreateFunctionUrlConfig",
            )

    clients.lambda_.meta.events.register("before-call.lambda.CreateFunctionUrlConfig", fail_once)
    with pytest.raises(ClientError, match="injected"):
        up(config, clients)
    result = up(config, make(config))
    assert result.changes == ["created Function URL (AWS_IAM)"]


def test_down_removes_everything_even_without_state_and_twice_is_fine(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    up(config, clients)
    assert len(manage.status(config, clients)) == 3
    deleted = manage.down(config, clients)
    assert sorted(d.split()[0] for d in deleted) == ["function", "log", "role"]
    assert manage.status(config, clients) == []
    assert manage.down(config, clients) == []


def test_down_leaves_foreign_log_groups_alone(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    clients.logs.create_log_group(logGroupName="/aws/lambda/coldbench-someone-elses")
    manage.down(config, clients)
    assert clients.logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/coldbench-")[
        "logGroups"
    ]


def test_recycle_bumps_nonce_and_up_keeps_it(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    target = up(config, clients).target

    def nonce():
        configuration = clients.lambda_.get_function_configuration(FunctionName="coldbench-probe")
        return configuration["Environment"]["Variables"]["COLDBENCH_NONCE"]

    manage.recycle_function(target, clients, timeout_s=10)
    first = nonce()
    manage.recycle_function(target, clients, timeout_s=10)
    assert nonce() != first
    assert up(config, make(config)).changes == []


def test_role_propagation_error_is_retried(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    attempts = {"n": 0}

    def not_yet(**_):
        attempts["n"] += 1
        if attempts["n"] < 3:
            message = "The role defined for the function cannot be assumed by Lambda."
            raise ClientError(
                {"Error": {"Code": "InvalidParameterValueException", "Message": message}},
                "CreateFunction",
            )

    clients.lambda_.meta.events.register("before-call.lambda.CreateFunction", not_yet)
    assert any("created function" in c for c in up(config, clients).changes)
    assert attempts["n"] == 3


def test_provisioned_concurrency_publishes_alias_and_waits_ready(aws):
    make, stubber = aws
    config = cfg(function={"provisioned_concurrency": 2})
    clients = make(config)
    args = {"FunctionName": "coldbench-probe", "Qualifier": "live"}
    stubber.add_client_error(
        "get_provisioned_concurrency_config",
        "ProvisionedConcurrencyConfigNotFoundException",
        expected_params=args,
    )
    stubber.add_response(
        "put_provisioned_concurrency_config",
        {"Status": "IN_PROGRESS"},
        {**args, "ProvisionedConcurrentExecutions": 2},
    )
    stubber.add_response("get_provisioned_concurrency_config", {"Status": "IN_PROGRESS"}, args)
    stubber.add_response("get_provisioned_concurrency_config", {"Status": "READY"}, args)
    result = up(config, clients)
    stubber.assert_no_pending_responses()
    assert result.target.qualifier == "live"
    assert (
        clients.lambda_.get_alias(FunctionName="coldbench-probe", Name="live")["FunctionVersion"]
        != "$LATEST"
    )
    assert "provisioned concurrency 2 on live" in result.changes


def test_preflight_lowers_reservation_to_what_a_new_account_allows(aws):
    make, _ = aws
    clients = make(cfg(), limit=10, unreserved=10)
    plan = preflight(cfg(), clients)
    assert plan.reserved_concurrency == 0 and plan.warnings
    with pytest.raises(PreflightError, match="NONE"):
        preflight(cfg(url={"auth": "NONE"}), make(cfg(), limit=10, unreserved=10))


def test_preflight_without_credentials(monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    session = boto3.session.Session(region_name=REGION)
    clients = make_clients(cfg(), session)
    with pytest.raises(PreflightError, match="no AWS credentials"):
        preflight(cfg(), clients)


def test_recycle_at_a_gap_uses_the_runs_profile_not_the_default(aws, tmp_path, monkeypatch):
    """The target carries the profile it was made with; recycling once rebuilt clients
    from the region alone, i.e. with whatever credentials happened to be the default."""
    make, _ = aws
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = x\n"
        "[bench]\naws_access_key_id = AKIABENCHPROFILE\naws_secret_access_key = y\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    config = cfg(target={"kind": "aws", "region": REGION, "profile": "bench"})
    target = up(config, make(config)).target
    assert target.profile == "bench"
    used = target_clients(target).lambda_._request_signer._credentials
    assert used.access_key == "AKIABENCHPROFILE"
    manage.recycle_function(target, timeout_s=10)  # moto accepts any key: it runs through


def test_a_change_waits_out_an_update_in_progress_but_not_another_conflict():
    """Lambda answers a change during an update with ResourceConflictException: that one
    is retried; a conflict of another kind (a statement id taken) is not."""
    lam = boto3.client("lambda", region_name="us-east-1")
    busy = "The operation cannot be performed at this time. An update is in progress for x"
    waits: list[float] = []
    with Stubber(lam) as stub:
        stub.add_client_error("publish_version", "ResourceConflictException", busy)
        stub.add_client_error("publish_version", "ResourceConflictException", busy)
        stub.add_response("publish_version", {"Version": "3"}, {"FunctionName": "f"})
        assert while_busy(lam.publish_version, waits.append, FunctionName="f")["Version"] == "3"
        assert waits == [1.0, 2.0]
        stub.add_client_error("add_permission", "ResourceConflictException", "sid exists")
        with pytest.raises(ClientError):
            while_busy(
                lam.add_permission,
                waits.append,
                FunctionName="f",
                StatementId="s",
                Action="lambda:InvokeFunction",
                Principal="*",
            )
    assert waits == [1.0, 2.0]


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def foreign_role(clients, name="coldbench-lambda-role"):
    """A role someone else made under the stack's role name, with their own policy."""
    clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument=provisioner.TRUST_POLICY)
    clients.iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN)


def test_up_refuses_to_adopt_an_untagged_role_of_the_same_name(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    foreign_role(clients)
    with pytest.raises(ProvisionError, match="IAM role coldbench-lambda-role exists but is not"):
        up(config, clients)
    attached = clients.iam.list_attached_role_policies(RoleName="coldbench-lambda-role")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [ADMIN]


def test_up_makes_the_roles_policies_exactly_the_planned_ones(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    up(config, clients)
    role = "coldbench-lambda-role"
    clients.iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN)
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    clients.iam.put_role_policy(
        RoleName=role, PolicyName="extra", PolicyDocument=json.dumps(document)
    )
    result = up(config, make(config))
    attached = clients.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    assert clients.iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    assert "detached AdministratorAccess from role coldbench-lambda-role" in result.changes


def test_down_leaves_untagged_namesakes_and_their_policies_alone(aws):
    make, _ = aws
    config = cfg()
    clients = make(config)
    foreign_role(clients)
    clients.lambda_.create_function(
        FunctionName="coldbench-probe",
        Role="arn:aws:iam::123456789012:role/coldbench-lambda-role",
        Runtime="python3.12",
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    said = manage.down(config, clients)
    assert "left alone: function coldbench-probe (not tagged as this stack's)" in said
    assert "left alone: role coldbench-lambda-role (not tagged as this stack's)" in said
    clients.lambda_.get_function(FunctionName="coldbench-probe")
    attached = clients.iam.list_attached_role_policies(RoleName="coldbench-lambda-role")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [ADMIN]


def test_public_url_without_a_cap_says_what_to_set(aws):
    """The message once read "the account allows none (unreserved 1000)"."""
    make, _ = aws
    config = cfg(url={"auth": "NONE"}, function={"reserved_concurrency": 0})
    with pytest.raises(PreflightError, match=r"set function.reserved_concurrency"):
        preflight(config, make(config))


def test_folder_layers_are_published_once_attached_in_order_and_deleted_by_down(aws, tmp_path):
    make, _ = aws
    first, second = tmp_path / "common", tmp_path / "extra"
    for folder, text in ((first, "A = 1\n"), (second, "B = 2\n")):
        folder.mkdir()
        (folder / f"{folder.name}.py").write_text(text)
    config = cfg(function={"layers": [str(first), "ARN", str(second)]})
    clients = make(config)
    arn = clients.lambda_.publish_layer_version(  # an ARN is used as is
        LayerName="shared-deps", Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18}
    )["LayerVersionArn"]
    config = cfg(function={"layers": [str(first), arn, str(second)]})
    result = up(config, clients)
    published = [c for c in result.changes if c.startswith("published layer")]
    assert published == [
        "published layer coldbench-layer1-common version 1",
        "published layer coldbench-layer3-extra version 1",
    ]
    attached = clients.lambda_.get_function_configuration(FunctionName="coldbench-probe")["Layers"]
    assert [layer["Arn"] for layer in attached] == list(result.target.function.layers)
    assert attached[1]["Arn"] == arn and ":layer:coldbench-layer1-common:1" in attached[0]["Arn"]
    content = clients.lambda_.get_layer_version(
        LayerName="coldbench-layer1-common", VersionNumber=1
    )
    assert content["Description"] == "coldbench stack=coldbench"

    assert up(config, make(config)).changes == []  # unchanged folders: not published again
    (second / "extra.py").write_text("B = 3\n")
    again = up(config, make(config))
    assert "published layer coldbench-layer3-extra version 2" in again.changes
    assert any("updated configuration" in c for c in again.changes)

    deleted = manage.down(config, clients)
    assert {d for d in deleted if d.startswith("layer")} == {
        "layer coldbench-layer1-common version 1",
        "layer coldbench-layer3-extra version 1",
        "layer coldbench-layer3-extra version 2",
    }
    assert manage.status(config, clients) == []
    assert clients.lambda_.list_layer_versions(LayerName="shared-deps")["LayerVersions"]


def test_a_namesake_layer_not_published_by_the_stack_is_neither_used_nor_deleted(aws, tmp_path):
    make, _ = aws
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "common.py").write_text("A = 1\n")
    config = cfg(function={"layers": [str(tmp_path / "common")]})
    clients = make(config)
    clients.lambda_.publish_layer_version(
        LayerName="coldbench-layer1-common", Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18}
    )
    with pytest.raises(ProvisionError, match="layer coldbench-layer1-common exists"):
        up(config, clients)
    deleted = manage.down(config, clients)
    assert "left alone: layer coldbench-layer1-common version 1 (not this stack's)" in deleted
    assert not [d for d in deleted if d.startswith("layer")]
    assert clients.lambda_.list_layer_versions(LayerName="coldbench-layer1-common")["LayerVersions"]
