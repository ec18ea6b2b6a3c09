"""The ``coldbench`` command line. The only place that calls ``sys.exit``.

Subcommands: ``local`` (run the local Lambda in the foreground), ``run`` (the whole
pipeline), ``ui`` (Locust's web UI against the target), ``collect``, ``report``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from coldbench.infra.local.sigv4 import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY
from coldbench.record.config import Config, load_config, parse_overrides
from coldbench.record.errors import ColdbenchError
from coldbench.record.target import Target


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML file (default ./coldbench.toml)")
    parser.add_argument("--target", choices=["local", "aws"], help="target.kind")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override any config key, e.g. --set load.users=50 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coldbench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    local = sub.add_parser("local", help="run the local Lambda in the foreground")
    _common(local)
    local.add_argument("--source", help="folder of your own function (function.source)")
    local.add_argument("--handler", help="MODULE.FUNCTION (function.handler)")
    local.add_argument("--port", type=int, help="local.port (default: any free port)")
    local.add_argument("--memory", type=int, help="function.memory_mb")
    local.add_argument("--keep-alive", type=float, help="keep-alive seconds (fixed)")

    run = sub.add_parser("run", help="up, load test, collect, report (make loadtest)")
    _common(run)
    run.add_argument("--workers", type=int, help="load.workers (Locust --processes)")
    run.add_argument(
        "--yes", action="store_true", help="confirm an AWS run above the cost threshold"
    )

    sweep = sub.add_parser("sweep", help="run the [sweep] matrix and compare (make sweep)")
    _common(sweep)
    sweep.add_argument(
        "--yes", action="store_true", help="confirm an AWS sweep above the cost threshold"
    )

    ui = sub.add_parser("ui", help="Locust web UI against the target (make ui)")
    _common(ui)
    ui.add_argument("--workers", type=int, help="load.workers (Locust --processes)")
    ui.add_argument("--web-port", type=int, default=8089)

    for verb, text in (
        ("up", "create or update the AWS function and URL (make deploy)"),
        ("down", "delete everything up created, found by tag (make teardown)"),
        ("recycle", "force the next invocations to be cold"),
        ("status", "list this stack's tagged resources"),
    ):
        verb_parser = sub.add_parser(verb, help=text)
        _common(verb_parser)
        verb_parser.add_argument("--yes", action="store_true", help="confirm without asking")

    collect = sub.add_parser("collect", help="fetch REPORT records and metrics into a run")
    _common(collect)
    collect.add_argument("run_dir", type=Path)
    collect.add_argument("--wait", type=float, default=60.0, help="max seconds to wait for logs")

    report = sub.add_parser("report", help="analyse runs and render the HTML report")
    _common(report)
    report.add_argument("run_dirs", nargs="*", type=Path)
    report.add_argument("--latest", action="store_true", help="the most recent run")
    report.add_argument("--compare", action="store_true", help="compare the runs side by side")
    return parser


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


def local_credentials_hint(target: Target) -> str:
    """How to call an AWS_IAM local URL from outside: its dummy credentials (not secret)."""
    return (
        "AWS_IAM: sign with the local Lambda's dummy credentials (service lambda, region "
        f"{target.region}):\n"
        f"  export AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY} "
        f"AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_KEY}\n"
        f"  awscurl --service lambda --region {target.region} {target.url}"
    )


def _terminate(signum, frame) -> None:
    """SIGTERM stops like Ctrl-C: cleanup runs, the local Lambda leaves nothing behind."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command != "local":  # `local` handles signals in its event loop
        signal.signal(signal.SIGTERM, _terminate)
    try:
        config = resolve_config(args)
        if args.command == "local":
            return cmd_local(config)
        from coldbench import pipeline

        handler = getattr(pipeline, f"cmd_{args.command}")
        return handler(config, args)
    except ColdbenchError as exc:
        print(f"coldbench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coldbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
