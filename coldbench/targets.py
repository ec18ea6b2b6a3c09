"""Targets stood up for a run: a local Lambda, coldbench's AWS stack, or an existing
function (described, and changed only with ``--allow-changes``, then put back).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from coldbench.errors import PipelineError
from coldbench.record.config import Config
from coldbench.record.errors import TargetError
from coldbench.record.target import TARGET_FILE, Target, read_target, write_target


@contextlib.contextmanager
def existing_up(config: Config, allow_changes: bool) -> Iterator[tuple[Target, Path]]:
    """An existing function, described and never changed; with ``allow_changes`` (what
    recycling needs) its configuration is put back as found afterwards, Ctrl-C too."""
    from coldbench.infra.aws.clients import make_clients
    from coldbench.infra.aws.existing import Restorer, existing_target

    if config.load.recycle_at_gap and not allow_changes:
        raise PipelineError(
            "load.recycle_at_gap changes the function (an environment-variable nonce): an "
            "existing function is changed only with --allow-changes, and put back after"
        )
    if config.function.profile_init:
        raise PipelineError(
            "function.profile_init puts a shim in front of the handler, which means new code: "
            "coldbench does not redeploy an existing function (profile coldbench's own copy "
            "of it, variant = custom, locally or with --target aws)"
        )
    clients = make_clients(config)
    target = existing_target(config, clients)
    restorer = Restorer(clients, target) if allow_changes else None
    write_target(target)
    try:
        yield target, TARGET_FILE
    finally:
        if restorer is not None and restorer.restore():
            print(f"coldbench: {target.function_name}'s configuration put back as found")


@contextlib.contextmanager
def existing_changes(config: Config) -> Iterator[Callable[[dict], None]]:
    """For a sweep of an existing function: yields what applies one cell's change (and
    waits for it); the configuration as found is put back at the end, Ctrl-C too."""
    from coldbench.infra.aws.clients import make_clients
    from coldbench.infra.aws.existing import Restorer, existing_target

    clients = make_clients(config)
    restorer = Restorer(clients, existing_target(config, clients))
    try:
        yield restorer.apply
    finally:
        if restorer.restore():
            print(f"coldbench: {restorer.name}'s configuration put back as found")


@contextlib.contextmanager
def target_up(
    config: Config, confirmed: bool = False, allow_changes: bool = False
) -> Iterator[tuple[Target, Path]]:
    """Stand the configured target up for the block; yields it and the file describing it.

    A local target is started and stopped here, and its file is this process's own:
    ``.coldbench/target.json`` when no live target is there (so ``coldbench recycle``
    finds it), else a file of its own, leaving another's target alone. The file goes
    with the target.
    """
    if config.target.kind == "local":
        from coldbench.infra.local.stack import running

        with running(config) as stack:
            assert stack.target is not None
            path = TARGET_FILE if not _live_target_at(TARGET_FILE) else _own_target_file()
            write_target(stack.target, path)
            try:
                yield stack.target, path
            finally:
                path.unlink(missing_ok=True)
        return
    if config.target.kind == "existing":
        with existing_up(config, allow_changes) as found:
            yield found
        return
    target = aws_up(config, confirmed=confirmed)
    yield target, TARGET_FILE


def _live_target_at(path: Path) -> bool:
    try:
        read_target(path)
    except TargetError:
        return False
    return True


def _own_target_file() -> Path:
    return TARGET_FILE.with_name(f"target-{os.getpid()}.json")


def aws_up(config: Config, confirmed: bool) -> Target:
    """Preflight, show the plan and its worst-case cost, then create or update."""
    from coldbench.infra.aws.clients import make_clients
    from coldbench.infra.aws.preflight import preflight
    from coldbench.infra.aws.provisioner import Provisioner

    clients = make_clients(config)
    plan = preflight(config, clients)
    print(plan.describe(), file=sys.stderr)
    if plan.worst_case_cost_usd > config.cost.confirm_above_usd and not confirmed:
        raise PipelineError(
            f"up: worst-case cost ${plan.worst_case_cost_usd:.2f} is above "
            f"cost.confirm_above_usd ${config.cost.confirm_above_usd:.2f}: pass --yes to go ahead"
        )
    result = Provisioner(config, clients).up(plan)
    for change in result.changes or ["no changes"]:
        print(f"up: {change}", file=sys.stderr)
    write_target(result.target)
    return result.target
