"""The pipeline: up -> Locust -> collect -> report, and the other CLI commands.

Each command takes the resolved :class:`Config` and the parsed arguments and returns
an exit code; only :mod:`coldbench.cli` exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from coldbench import locustfiles
from coldbench.errors import PipelineError
from coldbench.infra.local.environment import SETPRIV
from coldbench.infra.local.moto_server import free_port
from coldbench.locustfiles import options
from coldbench.record.config import Config, to_environ
from coldbench.record.files import write_bytes_atomic
from coldbench.record.progress import Progress
from coldbench.record.rundir import RunRecord, create_run_dir, latest_run
from coldbench.record.shapes import planned_seconds
from coldbench.record.summary import Summary
from coldbench.record.target import read_target
from coldbench.targets import aws_up, target_up

LOCUSTFILE = Path(locustfiles.__file__).parent / "locustfile.py"
INCOMPLETE = 3  # `coldbench report`: a run stopped before its load played out


def cost_guard(configs: list[Config], confirmed: bool, what: str) -> None:
    """The one check every path that can spend money on AWS goes through: the worst
    case of everything it would run (each cell of a sweep), refused above
    ``cost.confirm_above_usd`` unless confirmed. Local targets cost nothing.

    Raises:
        PipelineError: above the threshold and not confirmed (says how to go ahead).
    """
    from coldbench.infra.aws.preflight import worst_case_cost

    if confirmed or not configs or not configs[0].target.on_aws:
        return
    cost = sum(worst_case_cost(c, c.function.reserved_concurrency) for c in configs)
    threshold = configs[0].cost.confirm_above_usd
    if cost > threshold:
        raise PipelineError(
            f"{what}: worst-case cost ${cost:.2f} is above cost.confirm_above_usd "
            f"${threshold:.2f}: pass --yes to go ahead"
        )


def locust_command(
    config: Config, run_dir: Path | None, headless: bool, web_port: int = 8089
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        *options.load_arguments(config),
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    if config.load.workers > 1:
        # The master listens on loopback, on a port of its own: nobody on the network
        # can attach a worker and inject results, and two runs never share a port.
        port = str(free_port())
        cmd += ["--processes", str(config.load.workers), "--master-bind-host", "127.0.0.1"]
        cmd += ["--master-bind-port", port, "--master-port", port]
    if SETPRIV:
        # Locust ends with coldbench, however coldbench ends (SIGTERM: it flushes its rows
        # and records the run as ended early), never loading a target that is gone.
        cmd = [SETPRIV, "--pdeathsig", "TERM", "--", *cmd]
    if headless:
        assert run_dir is not None
        prefix = run_dir / "locust"
        cmd += [
            "--headless",
            "--only-summary",
            "--run-dir",
            str(run_dir),
            "--csv",
            str(prefix / "locust"),
            "--html",
            str(prefix / "report.html"),
        ]
    else:
        # The UI's own fields start at the configuration's values too.
        cmd += ["--web-host", "127.0.0.1", "--web-port", str(web_port)]
        cmd += ["--users", str(config.load.users), "--spawn-rate", str(config.load.spawn_rate)]
    return cmd


def locust_environ(config: Config, target_file: Path | None = None) -> dict[str, str]:
    """Locust's environment: ours plus the resolved configuration, whole, so every key
    (``load.headers``, ``load.wait_*``, ``target.profile`` …) reaches the process that
    uses it, not only those Locust has flags for; and the target this run stood up."""
    env = {**os.environ, **to_environ(config)}
    if target_file is not None:
        env["COLDBENCH_TARGET_FILE"] = str(target_file.resolve())
    return env


def run_locust(config: Config, run_dir: Path, target_file: Path | None = None) -> int:
    """Run Locust headless; its console goes to ``locust/console.log``; a progress line here."""
    expected = planned_seconds(config)
    log_path = run_dir / "locust" / "console.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            locust_command(config, run_dir, headless=True),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=locust_environ(config, target_file),
            start_new_session=True,  # Locust and its workers: one group, stopped together
        )
        started = time.monotonic()
        progress = Progress("load", expected, "s")
        said = _Echo(log_path, "cold-sampler:")
        try:
            while proc.poll() is None:
                progress.update(time.monotonic() - started)
                said.echo()
                time.sleep(0.5)
            said.echo()
        except KeyboardInterrupt:
            stop_locust(proc)
            raise
        finally:
            progress.close()
    return proc.returncode


class _Echo:
    """Lines of Locust's console that the user should see as they come (the cold
    sampler's rounds), echoed to stderr."""

    def __init__(self, path: Path, prefix: str):
        self.path, self.prefix, self.offset = path, prefix, 0

    def echo(self) -> None:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            if line.startswith(self.prefix):
                print(line, file=sys.stderr, flush=True)


def stop_locust(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """Stop Locust and its workers (its process group): SIGTERM, so it flushes its rows
    and records how the run ended, then SIGKILL if it has not ended within ``grace_s``
    (a master stopped while it still waits for its workers never ends on its own)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _require_aws(config: Config, verb: str) -> None:
    if config.target.kind == "existing":
        raise PipelineError(
            f"`coldbench {verb}` is for coldbench's own stack: an existing function is "
            "measured as it is, never created, changed or deleted"
        )
    if config.target.kind != "aws":
        raise PipelineError(
            f"`coldbench {verb}` is for AWS targets (--target aws); locally use `coldbench local`"
        )


def cmd_up(config: Config, args) -> int:
    _require_aws(config, "up")
    target = aws_up(config, confirmed=args.yes)
    print(f"Function URL {target.url} ({target.auth}); target written to .coldbench/target.json")
    return 0


def cmd_down(config: Config, args) -> int:
    from coldbench.infra.aws.clients import make_clients
    from coldbench.infra.aws.manage import down

    _require_aws(config, "down")
    for deleted in down(config, make_clients(config)) or ["nothing to delete"]:
        print(f"down: {deleted}")
    with contextlib.suppress(FileNotFoundError):
        Path(".coldbench/target.json").unlink()
    return 0


def cmd_status(config: Config, args) -> int:
    from coldbench.infra.aws.clients import make_clients
    from coldbench.infra.aws.manage import status

    _require_aws(config, "status")
    found = status(config, make_clients(config))
    print(
        "\n".join(found) if found else f"no resources tagged for stack {config.target.stack_name}"
    )
    return 0


def cmd_recycle(config: Config, args) -> int:
    from coldbench.infra.recycle import recycle

    target = read_target()
    if target.existing:
        raise PipelineError(
            f"{target.function_name} is an existing function: recycling changes it (run "
            "with --allow-changes and load.recycle_at_gap, which puts it back after)"
        )
    retired = recycle(target)
    print(
        f"recycled {target.function_name}"
        + (f" ({retired} environments retired)" if target.kind == "local" else "")
    )
    return 0


def measure(
    config: Config, confirmed: bool = False, allow_changes: bool = False
) -> tuple[Path, int]:
    """Up, Locust, collect: one run directory with its platform data, not yet reported
    (a block of an interleaved comparison is reported merged with its others). Returns
    the run directory and Locust's exit code."""
    from coldbench.analysis.collect import collect

    with target_up(config, confirmed, allow_changes) as (target, target_file):
        run_dir = create_run_dir()  # only once the target is up: a refused preflight leaves nothing
        runtime = target.function
        note = (
            f"; {runtime.configured_runtime} runs as {runtime.runtime} locally"
            if runtime.configured_runtime
            else ""
        )
        print(
            f"coldbench: {target.kind} target {target.url} ({target.auth}), run {run_dir.name}"
            + note,
            file=sys.stderr,
        )
        code = run_locust(config, run_dir, target_file)
        if not (run_dir / "requests.csv").exists():
            raise PipelineError(
                f"Locust exited with {code} and recorded nothing; see {run_dir}/locust/console.log"
            )
        collect(run_dir, wait_s=60 if target.kind == "local" else 900)
    return run_dir, code


def report(run_dir: Path, config: Config) -> tuple[Summary, Path]:
    """Analyse a collected run and render its page."""
    from coldbench.analysis.render import render
    from coldbench.analysis.summary import analyse

    result = analyse(run_dir, config)
    return result.summary, render(result)


def analyse_and_render(run_dir: Path, config: Config, wait_s: float) -> tuple[Summary, Path]:
    """Collect a run that has ended, then report it (the web UI's runs)."""
    from coldbench.analysis.collect import collect

    collect(run_dir, wait_s=wait_s)
    return report(run_dir, config)


def run_once(
    config: Config, confirmed: bool = False, allow_changes: bool = False
) -> tuple[Summary, Path, int]:
    """One pass of the pipeline: up, Locust, collect, report. Returns (summary, page, code).
    On AWS, ``up`` refuses a plan above the cost threshold unless ``confirmed``."""
    run_dir, code = measure(config, confirmed, allow_changes)
    summary, page = report(run_dir, config)
    return summary, page, code


def cmd_run(config: Config, args) -> int:
    from coldbench.analysis.console import one_screen

    cost_guard([config], args.yes, "run")
    summary, page, code = run_once(config, args.yes, getattr(args, "allow_changes", False))
    print(one_screen(summary))
    print(f"report: {page.resolve()}")
    if config.target.kind == "aws":
        print("the AWS stack is still up: `make teardown` removes it")
    return 0 if summary.slo_ok and code == 0 else 1


def cmd_package(config: Config, args) -> int:
    from coldbench.infra.dependencies import LOCAL, Platform
    from coldbench.infra.packaging import build_package, describe, source_for

    fn = config.function
    platform = LOCAL if args.local else Platform(fn.architecture, fn.runtime)
    source, handler = source_for(fn.variant, fn.source, fn.handler)
    package = build_package(source, handler, platform=platform)
    if args.out is not None:
        write_bytes_atomic(args.out, package.zip_bytes)
    print(
        f"{source} ({handler}) for {platform.describe()}: {package.size:,} bytes zipped, "
        f"{package.files} files, sha256 {package.sha256}"
        + (f"; written to {args.out}" if args.out is not None else "")
    )
    print(f"biggest: {describe(package)}")
    return 0


def cmd_collect(config: Config, args) -> int:
    from coldbench.analysis.collect import collect

    result = collect(args.run_dir, wait_s=args.wait)
    print(
        f"{result.records}/{result.expected} REPORT records, {result.metrics_rows} metric datapoints"
        f"{'' if result.complete else ' (INCOMPLETE)'}"
    )
    return 0 if result.complete else 1


def cmd_report(config: Config, args) -> int:
    from coldbench.analysis.console import one_screen
    from coldbench.analysis.render import render
    from coldbench.analysis.summary import analyse

    run_dirs = list(args.run_dirs) or [latest_run()]
    worst, summaries = 0, []
    for run_dir in run_dirs:
        RunRecord.read(run_dir)  # a clear error for a folder that is not a run
        result = analyse(run_dir, config)
        page = render(result)
        summaries.append(result.summary)
        print(one_screen(result.summary))
        print(f"report: {page.resolve()}")
        verdict = 0 if result.summary.slo_ok else 1
        if not result.summary.completed:
            verdict = max(verdict, INCOMPLETE)
            print(f"coldbench: run {result.summary.run_id} did not complete (exit {INCOMPLETE})")
        worst = max(worst, verdict)
    if args.compare:
        from coldbench.analysis.compare import compare

        print(f"comparison: {compare(summaries).resolve()}")
    return worst
