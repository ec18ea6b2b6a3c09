"""The AWS path end to end against ``coldbench local-aws``: the provisioner, the
locustfile's signing and recycling, the collector and ``down`` run unchanged through
``AWS_ENDPOINT_URL``, as a user would run them against AWS."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from coldbench.infra.aws.clients import make_clients
from coldbench.infra.aws.preflight import preflight
from coldbench.infra.aws.provisioner import TRUST_POLICY, Provisioner
from coldbench.record.config import build_config
from tests.functional.test_cleanup import processes_of

ACCESS_KEY, SECRET_KEY = "AKIALOCALAWSTEST0001", "local-aws-test-secret"
SETTINGS = (
    "[function]\ntimeout_s = 5\nmemory_mb = 256\n"
    "[load]\nusers = 4\nspawn_rate = 4\nhold_s = 4\ncycles = 2\n"
    "[local]\nkeep_alive_min_s = 30\nkeep_alive_max_s = 30\n"
)


class LocalAws:
    """``coldbench local-aws`` as a user runs it, in its own process."""

    def __init__(self, cwd: Path, stack: str, *extra: str):
        self.stack = stack
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "COLDBENCH_TARGET_STACK_NAME": stack,
        }
        self.env.pop("AWS_SESSION_TOKEN", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coldbench.cli", "local-aws", *extra],
            cwd=cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        first = self.proc.stdout.readline()
        assert "AWS APIs at" in first, first + self.proc.stdout.read()
        self.endpoint = first.split(" at ")[1].split()[0]
        self.client_env = {**self.env, "AWS_ENDPOINT_URL": self.endpoint}
        self.cwd = cwd

    def coldbench(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "coldbench.cli", *args],
            cwd=self.cwd,
            env=self.client_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        deadline = time.monotonic() + 10
        while processes_of(self.stack) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_of(self.stack) == [], "local-aws left processes behind"
        assert SECRET_KEY not in self.proc.stdout.read(), "local-aws printed the secret"
        return code


def serve(cwd: Path, *extra: str):
    (cwd / "coldbench.toml").write_text(SETTINGS)
    server = LocalAws(cwd, f"cbla{uuid.uuid4().hex[:6]}", *extra)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.stop()


@pytest.fixture
def local_aws(tmp_path):
    yield from serve(tmp_path)


@pytest.fixture
def late_logs_aws(tmp_path):
    """Logs reach CloudWatch 2 s late, as on AWS: the collector has to wait for them."""
    yield from serve(tmp_path, "--log-delay", "2")


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    return result.stdout + result.stderr


def target(cwd: Path) -> dict:
    return json.loads((cwd / ".coldbench" / "target.json").read_text())


def signed(url: str, secret: str = SECRET_KEY) -> dict[str, str]:
    request = AWSRequest(method="GET", url=url, headers={})
    SigV4Auth(Credentials(ACCESS_KEY, secret), "lambda", "us-east-1").add_auth(request)
    return dict(request.headers)


def summary_of(cwd: Path) -> dict:
    run_dir = max((cwd / "runs").iterdir())
    return json.loads((cwd / "reports" / run_dir.name / "summary.json").read_text())


def cold_phases(cwd: Path) -> set[str]:
    run_dir = max((cwd / "runs").iterdir())
    with (run_dir / "requests.csv").open() as f:
        return {row["phase"] for row in csv.DictReader(f) if row["cold"] == "1"}


@pytest.mark.slow
def test_up_run_provisioned_run_down_against_local_aws(late_logs_aws, monkeypatch):
    local_aws = late_logs_aws
    cwd = local_aws.cwd
    out = ok(local_aws.coldbench("up", "--target", "aws", "--yes"))
    assert "created function" in out and "created Function URL (AWS_IAM)" in out
    url = target(cwd)["url"]
    assert url.startswith("http://127.0.0.1:")

    # AWS_IAM: only requests signed with local-aws's own credentials get through.
    assert requests.get(url, timeout=30).status_code == 403
    assert requests.get(url, headers=signed(url, "wrong-secret"), timeout=30).status_code == 403
    assert requests.get(url, headers=signed(url), timeout=30).status_code == 200

    ok(
        local_aws.coldbench(
            "run", "--target", "aws", "--yes", "--set", "load.recycle_at_gap=true",
            "--set", "load.idle_s=3", "--set", "slo.warm_p99_ms=10000",
        )
    )  # fmt: skip
    summary = summary_of(cwd)
    assert summary["match_rate"] >= 0.99 and summary["reached"] > 100
    assert summary["collection"]["complete"]
    assert {"c1-ramp", "c2-ramp"} <= cold_phases(cwd), "cold starts in every cycle"

    # An update while another is in progress is waited out and retried, not failed.
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    config = build_config(
        {
            "target": {"kind": "aws", "stack_name": local_aws.stack},
            "function": {"timeout_s": 5, "memory_mb": 384},
        }
    )
    clients = make_clients(config)
    name = f"{local_aws.stack}-probe"
    variables = clients.lambda_.get_function_configuration(FunctionName=name)["Environment"]
    clients.lambda_.update_function_configuration(FunctionName=name, Environment=variables)
    waits: list[float] = []
    result = Provisioner(config, clients, sleep=lambda s: waits.append(s) or time.sleep(s)).up(
        preflight(config, clients)
    )
    assert waits, "the update met the one in progress"
    assert "updated configuration of " + name in result.changes
    assert clients.lambda_.get_function_configuration(FunctionName=name)["MemorySize"] == 384

    # Provisioned concurrency: an alias, READY, and requests served by provisioned envs.
    pc = ("--set", "function.provisioned_concurrency=2", "--set", "function.memory_mb=384")
    out = ok(local_aws.coldbench("up", "--target", "aws", "--yes", *pc))
    assert "provisioned concurrency 2 on live" in out
    status = clients.lambda_.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert status["Status"] == "READY" and status["AllocatedProvisionedConcurrentExecutions"] == 2
    ok(
        local_aws.coldbench(
            "run", "--target", "aws", "--yes", *pc, "--set", "load.users=2",
            "--set", "load.cycles=1", "--set", "load.idle_s=1",
        )
    )  # fmt: skip
    summary = summary_of(cwd)
    assert summary["classes"]["provisioned"]["count"] > 0
    assert summary["classes"]["cold"]["count"] == 0
    assert summary["match_rate"] >= 0.99

    # NONE: public only with both resource-policy statements (and a layer to publish).
    layer = cwd / "common"
    layer.mkdir()
    (layer / "common.py").write_text("WHO = 'layer'\n")
    public = (*pc, "--set", "url.auth=NONE", "--set", f"function.layers=['{layer}']")
    ok(local_aws.coldbench("up", "--target", "aws", "--yes", *public))
    url = target(cwd)["url"]
    assert requests.get(url, timeout=30).status_code == 200
    statements = json.loads(
        clients.lambda_.get_policy(FunctionName=name, Qualifier="live")["Policy"]
    )["Statement"]
    assert {s["Action"] for s in statements} == {
        "lambda:InvokeFunctionUrl",
        "lambda:InvokeFunction",
    }
    clients.lambda_.remove_permission(
        FunctionName=name, Qualifier="live", StatementId="coldbench-url-public-invoke"
    )
    assert requests.get(url, timeout=30).status_code == 403
    ok(local_aws.coldbench("up", "--target", "aws", "--yes", *public))
    assert requests.get(url, timeout=30).status_code == 200

    # down leaves nothing; a second down has nothing to do.
    out = ok(local_aws.coldbench("down", "--target", "aws", "--yes"))
    assert f"function {name}" in out and "role" in out and "log group" in out
    assert f"layer {local_aws.stack}-layer1-common version 1" in out
    assert clients.lambda_.list_functions()["Functions"] == []
    assert clients.lambda_.list_layers()["Layers"] == []
    assert "nothing to delete" in ok(local_aws.coldbench("down", "--target", "aws", "--yes"))
    assert "no resources tagged" in ok(local_aws.coldbench("status", "--target", "aws"))
    logs = clients.logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert logs == []
    for path in cwd.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path
    assert local_aws.stop(signal.SIGTERM) == 0


@pytest.mark.slow
def test_sigkill_of_local_aws_leaves_no_environment_behind(local_aws, monkeypatch):
    """Also: a function importing from its folder layer, published and mounted there, and
    the layer fetched by its ARN as the local target fetches one."""
    cwd = local_aws.cwd
    (cwd / "fn").mkdir()
    (cwd / "fn" / "app.py").write_text(
        "import shared\n\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': shared.WHO}\n"
    )
    (cwd / "shared").mkdir()
    (cwd / "shared" / "shared.py").write_text("WHO = 'from the layer'\n")
    custom = ("--set", "function.variant=custom", "--set", f"function.source={cwd / 'fn'}")
    custom += ("--set", "function.handler=app.handler", "--set", "function.layers=['shared']")
    ok(local_aws.coldbench("up", "--target", "aws", "--yes", "--set", "url.auth=NONE", *custom))
    url = target(local_aws.cwd)["url"]
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200 and answer.text == "from the layer", answer.text
    arn = target(local_aws.cwd)["function"]["layers"][0]

    from coldbench.infra.layers import LayerSource, fetch

    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    fetched = fetch(LayerSource(0, arn), "us-east-1", cache=cwd / "layer-cache")
    with zipfile.ZipFile(io.BytesIO(fetched.zip_bytes)) as zf:
        assert zf.read("python/shared.py") == b"WHO = 'from the layer'\n"
    assert len(processes_of(local_aws.stack)) >= 2, "moto and an environment run"
    local_aws.stop(signal.SIGKILL)


def create_existing(local_aws, name: str) -> str:
    """A function made with plain boto3, as SAM, CDK or the console would: no tags of ours."""
    from coldbench.infra.packaging import build_package, source_for

    iam, lam = local_aws.client("iam"), local_aws.client("lambda")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=TRUST_POLICY)["Role"][
        "Arn"
    ]
    time.sleep(2.5)  # a new role takes a moment before Lambda can assume it
    package = build_package(*source_for("probe"))
    lam.create_function(
        FunctionName=name,
        Role=role,
        Runtime="python3.12",
        Handler="app.handler",
        Code={"ZipFile": package.zip_bytes},
        MemorySize=256,
        Environment={"Variables": {"GREETING": "hello"}},
        LoggingConfig={"LogFormat": "JSON"},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    return lam.get_function_configuration(FunctionName=name)["RevisionId"]


@pytest.mark.slow
def test_an_existing_function_is_measured_and_left_exactly_as_it_was(local_aws):
    name = "orders-api"
    existing = ("--target", "existing", "--set", f"target.function={name}", "--yes")
    short = ("--set", "load.hold_s=2", "--set", "load.cycles=1", "--set", "slo.warm_p99_ms=10000")
    lam = local_aws.client("lambda")
    revision = create_existing(local_aws, name)
    refused = local_aws.coldbench("run", *existing)
    assert refused.returncode == 2 and "has no Function URL" in refused.stderr, refused.stderr
    lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    revision = lam.get_function_configuration(FunctionName=name)["RevisionId"]

    ok(local_aws.coldbench("run", *existing, *short))
    summary = summary_of(local_aws.cwd)
    assert summary["match_rate"] >= 0.99 and summary["reached"] > 0
    assert summary["memory_size_mb"] == 256
    assert lam.get_function_configuration(FunctionName=name)["RevisionId"] == revision

    recycling = (*existing, "--set", "load.recycle_at_gap=true", "--set", "load.idle_s=2")
    refused = local_aws.coldbench("run", *recycling)
    assert refused.returncode == 2 and "--allow-changes" in refused.stderr
    ok(local_aws.coldbench("run", *recycling, *short, "--set", "load.cycles=2", "--allow-changes"))
    after = lam.get_function_configuration(FunctionName=name)
    assert after["Environment"] == {"Variables": {"GREETING": "hello"}}, "put back as found"

    # A sweep over memory sizes: refused without --allow-changes, then each block runs at
    # its configuration's size, taking turns, and the function is put back as found.
    cells = ("--set", "sweep.memory_mb=[384,640]", "--set", "sweep.cold_samples=4")
    cells += ("--set", "sweep.blocks=2")
    cells += ("--set", "load.users=2")
    cells += ("--set", "sweep.hold_s=2", "--set", "slo.warm_p99_ms=10000")
    refused = local_aws.coldbench("sweep", *existing, *cells)
    assert refused.returncode == 2 and "--allow-changes" in refused.stderr, refused.stderr
    out = ok(local_aws.coldbench("sweep", *existing, *cells, "--allow-changes"))
    assert "put back as found" in out
    (compared,) = (local_aws.cwd / "reports").glob("compare-*/compare.json")
    swept = [
        json.loads((local_aws.cwd / "reports" / r["run_id"] / "summary.json").read_text())
        for r in json.loads(compared.read_text())["runs"]
    ]
    assert [(s["memory_size_mb"], s["blocks"], s["order"]) for s in swept] == [
        (384, 2, "interleaved"),
        (640, 2, "interleaved"),
    ]
    after = lam.get_function_configuration(FunctionName=name)
    assert after["MemorySize"] == 256 and after["Environment"] == {
        "Variables": {"GREETING": "hello"}
    }
    for verb in ("up", "down"):
        said = local_aws.coldbench(verb, *existing)
        assert said.returncode == 2 and "never created, changed or deleted" in said.stderr
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
