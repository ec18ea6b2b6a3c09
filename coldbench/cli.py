"""The ``coldbench`` command line: parses arguments, resolves the configuration once,
runs a command, and turns coldbench's errors into one line and an exit code (the only
place the process exits on purpose)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from importlib import metadata
from pathlib import Path

import boto3
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from coldbench.infra.errors import LocalLambdaError
from coldbench.infra.local.sigv4 import LOCAL_ACCESS_KEY, LOCAL_CREDENTIALS, LOCAL_SECRET_KEY
from coldbench.infra.localaws.server import LocalAws
from coldbench.record.config import Config, load_config, parse_overrides
from coldbench.record.errors import ColdbenchError
from coldbench.record.target import Target

DESCRIPTION = """\
End-to-end load tests for AWS Lambda Function URLs: how much of what your users wait
for is cold starts, how much is your code, and how much is everything in between.

Without an AWS account everything runs against a local Lambda on this machine.
"""
EPILOG = """\
examples:
  coldbench run                              load test the local Lambda, print the report path
  coldbench run --set load.users=50          any config key, for this run only
  coldbench ui                               Locust's web UI; each test becomes a report
  coldbench run --target aws --yes           the same on real Lambda (make loadtest TARGET=aws)
  coldbench run --target existing --set target.function=my-api:live --yes
                                             measure a function you already have, as it is
  coldbench report --latest                  re-render the newest run's report
  coldbench report runs/A runs/B --compare   two runs side by side
  coldbench compare-live naive optimized     two configurations in interleaved blocks

Configuration: coldbench.toml, overridden by COLDBENCH_<SECTION>_<KEY> variables and by
--set SECTION.KEY=VALUE. Exit codes: 0 ok, 1 an SLO failed or the load test failed,
2 bad configuration or a stage that could not run, 3 (report) a run did not complete,
130 interrupted.
"""
_FORMAT = argparse.RawDescriptionHelpFormatter
ALLOW_CHANGES = (
    "target.kind = existing: let coldbench change the function (recycling at idle gaps); "
    "its configuration is put back as found afterwards"
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML file (default ./coldbench.toml)")
    parser.add_argument("--target", choices=["local", "aws", "existing"], help="target.kind")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override any config key, e.g. --set load.users=50 (repeatable)",
    )


def _command(sub, name: str, summary: str, details: str = "", examples: str = ""):
    """A subcommand whose own --help says what it does and shows how to call it."""
    epilog = f"examples:\n{examples}" if examples else None
    parser = sub.add_parser(
        name,
        help=summary,
        description=f"{summary}.\n\n{details}".rstrip(),
        epilog=epilog,
        formatter_class=_FORMAT,
    )
    _common(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coldbench", description=DESCRIPTION, epilog=EPILOG, formatter_class=_FORMAT
    )
    parser.add_argument("--version", action="version", version=f"coldbench {_version()}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="coldbench's debug logging, and every line the function prints (local targets)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    local = _command(
        sub,
        "local",
        "run the local Lambda in the foreground until Ctrl-C",
        "Serves a Function URL on 127.0.0.1 backed by real awslambdaric environments, and\n"
        "writes .coldbench/target.json so `locust -f locustfiles/locustfile.py` finds it.",
        "  coldbench local\n  coldbench local --source ./my_fn --handler app.handler --port 9000",
    )
    local.add_argument("--source", help="folder of your own function (function.source)")
    local.add_argument("--handler", help="MODULE.FUNCTION (function.handler)")
    local.add_argument("--port", type=int, help="local.port (default: any free port)")
    local.add_argument("--memory", type=int, help="function.memory_mb")
    local.add_argument("--keep-alive", type=float, help="keep-alive seconds (fixed)")

    local_aws = _command(
        sub,
        "local-aws",
        "rehearse the AWS path: a stand-in for AWS on 127.0.0.1 until Ctrl-C",
        "Answers the Lambda, IAM, STS, CloudWatch Logs, CloudWatch and tagging APIs the AWS\n"
        "path calls. Point AWS_ENDPOINT_URL at it (any credentials: Function URLs with\n"
        "AWS_IAM accept requests signed with the ones it was started with), then run\n"
        "`coldbench up/run/down --target aws` unchanged; functions run in local environments.",
        "  coldbench local-aws --port 4566\n"
        "  AWS_ENDPOINT_URL=http://127.0.0.1:4566 coldbench run --target aws --yes\n"
        "  coldbench local-aws --log-delay 3      logs reach CloudWatch 3 s late, as on AWS",
    )
    local_aws.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    local_aws.add_argument(
        "--log-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="hold logs and metrics back this long before CloudWatch has them (0..60)",
    )

    run = _command(
        sub,
        "run",
        "stand the target up, load test it, collect, report (make loadtest)",
        "Prints the report's path and a one-screen summary; exits 1 when an SLO fails.",
        "  coldbench run\n  coldbench run --workers 4 --set load.shape=burst\n"
        "  coldbench run --target aws --yes",
    )
    run.add_argument("--workers", type=int, help="load.workers (Locust --processes)")
    run.add_argument(
        "--yes", action="store_true", help="confirm an AWS run above cost.confirm_above_usd"
    )
    run.add_argument("--allow-changes", action="store_true", help=ALLOW_CHANGES)

    sweep = _command(
        sub,
        "sweep",
        "run the [sweep] matrix of memory sizes and variants, then compare (make sweep)",
        examples="  coldbench sweep --set sweep.memory_mb=256,1024",
    )
    sweep.add_argument(
        "--yes", action="store_true", help="confirm an AWS sweep (each cell is a load test)"
    )
    sweep.add_argument("--allow-changes", action="store_true", help=ALLOW_CHANGES)

    live = _command(
        sub,
        "compare-live",
        "measure two or more configurations in interleaved blocks under [load], then compare",
        "Each configuration is a variant name, a memory size in MB, or [function] keys as "
        "KEY=VALUE,KEY=VALUE. Blocks: sweep.blocks, order: sweep.order.",
        "  coldbench compare-live naive optimized --set load.shape=cold-sampler\n"
        "  coldbench compare-live 512 1024\n"
        "  coldbench compare-live memory_mb=1024,architecture=arm64 memory_mb=1024",
    )
    live.add_argument("configurations", nargs="+", metavar="CONFIGURATION")
    live.add_argument(
        "--yes", action="store_true", help="confirm on AWS (each block is a load test)"
    )
    live.add_argument("--allow-changes", action="store_true", help=ALLOW_CHANGES)

    ui = _command(
        sub,
        "ui",
        "Locust's web UI against the target (make ui)",
        "Each test started in the UI becomes its own run directory under runs/.",
        "  coldbench ui --web-port 8090",
    )
    ui.add_argument("--workers", type=int, help="load.workers (Locust --processes)")
    ui.add_argument(
        "--web-port", type=int, default=8089, help="port of the web UI on 127.0.0.1 (8089)"
    )
    ui.add_argument(
        "--yes", action="store_true", help="confirm an AWS target above cost.confirm_above_usd"
    )
    ui.add_argument("--allow-changes", action="store_true", help=ALLOW_CHANGES)

    package = _command(
        sub,
        "package",
        "build the zip that would be deployed and say what is in it",
        "Dependencies come from requirements.txt (or pyproject.toml's [project]\n"
        "dependencies), built by pip for the function's architecture and runtime\n"
        "(function.architecture, function.runtime), or with --local for this machine.",
        "  coldbench package --source ./my_fn --handler app.handler --out my_fn.zip\n"
        "  coldbench package --set function.architecture=arm64",
    )
    package.add_argument("--source", help="folder of your own function (function.source)")
    package.add_argument("--handler", help="MODULE.FUNCTION (function.handler)")
    package.add_argument("--out", type=Path, help="where to write the zip (default: not written)")
    package.add_argument(
        "--local", action="store_true", help="for this machine's interpreter, not for AWS"
    )

    up = _command(
        sub,
        "up",
        "create or update the AWS function and its URL (make deploy)",
        "Shows the plan and its worst-case cost first.",
        "  coldbench up --target aws --yes",
    )
    up.add_argument(
        "--yes", action="store_true", help="confirm a plan above cost.confirm_above_usd"
    )
    down = _command(
        sub,
        "down",
        "delete everything `up` created, found by tag (make teardown)",
        "Deletes only what carries this stack's tag; a second `down` finds nothing to do.",
        examples="  coldbench down --target aws --yes",
    )
    down.add_argument("--yes", action="store_true", help="accepted for scripts; down never asks")
    _command(
        sub,
        "recycle",
        "force the next invocations to be cold",
        "Locally the environments are retired; on AWS a configuration change does it.",
    )
    _command(sub, "status", "list this stack's tagged AWS resources")

    collect = _command(
        sub,
        "collect",
        "fetch a run's REPORT records and metrics from CloudWatch",
        examples="  coldbench collect runs/20261122T101500Z-3f9a --wait 300",
    )
    collect.add_argument("run_dir", type=Path, help="the run directory")
    collect.add_argument("--wait", type=float, default=60.0, help="max seconds to wait for logs")

    report = _command(
        sub,
        "report",
        "analyse runs and render their HTML reports",
        "Works offline from the run directories; exits 1 when an SLO fails or cannot be\n"
        "told, 3 when a run did not complete (stopped or killed before its load ended).",
        "  coldbench report --latest\n  coldbench report runs/A runs/B --compare",
    )
    report.add_argument("run_dirs", nargs="*", type=Path, help="run directories")
    report.add_argument("--latest", action="store_true", help="the most recent run")
    report.add_argument("--compare", action="store_true", help="compare the runs side by side")
    return parser


def _version() -> str:
    return metadata.version("coldbench")


def resolve_config(args: argparse.Namespace) -> Config:
    """CLI flags > COLDBENCH_* env > coldbench.toml > defaults, in one place."""
    overrides = parse_overrides(args.set)

    def put(section: str, key: str, value) -> None:
        if value is not None:
            overrides.setdefault(section, {})[key] = value

    put("target", "kind", getattr(args, "target", None))
    put("function", "source", getattr(args, "source", None))
    put("function", "handler", getattr(args, "handler", None))
    if getattr(args, "source", None):
        put("function", "variant", "custom")
    put("function", "memory_mb", getattr(args, "memory", None))
    if args.command != "local-aws":  # its --port is the endpoint's, not the URL's
        put("local", "port", getattr(args, "port", None))
    keep_alive = getattr(args, "keep_alive", None)
    put("local", "keep_alive_min_s", keep_alive)
    put("local", "keep_alive_max_s", keep_alive)
    put("load", "workers", getattr(args, "workers", None))
    return load_config(args.config, overrides=overrides)


def cmd_local(config: Config) -> int:
    from coldbench.infra.local.stack import LocalLambda
    from coldbench.record.target import write_target

    async def serve() -> None:
        stack = LocalLambda(config)
        target = await stack.start()
        path = write_target(target)
        print(f"local Lambda {target.function_name} at {target.url} (auth {target.auth})")
        print(f"CloudWatch endpoint {target.cloudwatch_endpoint}; target written to {path}")
        if target.function.configured_runtime:
            print(runtime_note(target))
        if target.auth == "AWS_IAM":
            print(local_credentials_hint(target))
        print("Ctrl-C to stop")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await stack.stop()
            path.unlink(missing_ok=True)
            print("stopped; no environments left running")

    asyncio.run(serve())
    return 0


def cmd_local_aws(config: Config, port: int, log_delay_s: float) -> int:
    if not 0 <= log_delay_s <= 60:
        raise LocalLambdaError(f"--log-delay {log_delay_s}: give 0 to 60 seconds")
    found = boto3.session.Session(profile_name=config.target.profile or None).get_credentials()
    credentials = found.get_frozen_credentials() if found is not None else LOCAL_CREDENTIALS

    async def serve() -> None:
        pair = Credentials(credentials.access_key, credentials.secret_key)
        stack = LocalAws(config, pair, log_delay_s)
        endpoint = await stack.start(port)
        print(f"local-aws: AWS APIs at {endpoint} (Lambda here; IAM, STS, CloudWatch by moto)")
        if found is None:
            print(
                "no credentials in this environment: AWS_IAM Function URLs accept the dummy "
                f"pair\n  export AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY} "
                f"AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_KEY}"
            )
        else:
            print(
                f"AWS_IAM Function URLs accept requests signed with access key "
                f"{credentials.access_key[:4]}… (the credentials this was started with)"
            )
        print(
            f"in another shell:\n  export AWS_ENDPOINT_URL={endpoint}\n"
            "  coldbench up --target aws --yes && coldbench run --target aws --yes\n"
            "Ctrl-C to stop",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await stack.stop()
            print("local-aws stopped; no environments left running", flush=True)

    asyncio.run(serve())
    return 0


def runtime_note(target: Target) -> str:
    """Said once when the local interpreter is not the configured runtime."""
    fn = target.function
    return (
        f"function.runtime is {fn.configured_runtime}; the local environments run "
        f"{fn.runtime} (this machine's interpreter), as the run and its report record"
    )


def local_credentials_hint(target: Target) -> str:
    """How to call an AWS_IAM local URL from outside: its dummy credentials (not secret)."""
    return (
        "AWS_IAM: sign with the local Lambda's dummy credentials (service lambda, region "
        f"{target.region}):\n"
        f"  export AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY} "
        f"AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_KEY}\n"
        f"  awscurl --service lambda --region {target.region} {target.url}"
    )


def _logging(verbose: bool) -> None:
    """Warnings on stderr; ``-v``: coldbench's own debug lines and every line of the
    function's output. The function's errors print plainly, one per distinct error."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("coldbench").setLevel(logging.DEBUG if verbose else logging.WARNING)
    function = logging.getLogger("coldbench.function")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("function %(message)s"))
    function.addHandler(handler)
    function.propagate = False


def _terminate(signum, frame) -> None:
    """SIGTERM stops like Ctrl-C: cleanup runs, the local Lambda leaves nothing behind."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _logging(args.verbose)
    if args.command not in ("local", "local-aws"):  # they handle signals in their loops
        signal.signal(signal.SIGTERM, _terminate)
    try:
        config = resolve_config(args)
        if args.command == "local":
            return cmd_local(config)
        if args.command == "local-aws":
            return cmd_local_aws(config, args.port, args.log_delay)
        from coldbench import pipeline, sweep, ui

        own = {"ui": ui.cmd_ui, "sweep": sweep.cmd_sweep, "compare-live": sweep.cmd_compare_live}
        handler = own.get(args.command) or getattr(pipeline, f"cmd_{args.command}")
        return handler(config, args)
    except ColdbenchError as exc:
        print(f"coldbench: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:  # AWS (or local-aws) refused a call
        print(f"coldbench: AWS refused: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coldbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
