"""The locustfile's load options, in one table.

The locustfile registers them as Locust custom arguments (command line, web UI,
``COLDBENCH_LOAD_*`` variables), and ``coldbench run``/``ui`` passes the resolved config
as the same flags, so each option is named once. No Locust import here: the CLI
imports this module without gevent's monkey-patching.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from coldbench.record.config import RESOLVED_ENV, Config
from coldbench.record.shapes import ShapeParams


@dataclass(frozen=True)
class LoadOption:
    flag: str
    field: str  # the [load] key; also COLDBENCH_LOAD_<FIELD>
    type: type
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def env_var(self) -> str:
        return f"COLDBENCH_LOAD_{self.field.upper()}"


LOAD_OPTIONS = (
    LoadOption(
        "--shape",
        "shape",
        str,
        "load shape",
        ("ramp-idle", "burst", "steps", "constant", "cold-sampler", "idle-gaps"),
    ),
    LoadOption("--shape-users", "users", int, "peak users of the shape"),
    LoadOption("--shape-spawn-rate", "spawn_rate", float, "users started per second"),
    LoadOption("--hold", "hold_s", float, "seconds at peak per cycle"),
    LoadOption("--idle", "idle_s", float, "idle gap seconds (> keep-alive)"),
    LoadOption("--cycles", "cycles", int, "ramp/hold/idle cycles"),
    LoadOption(
        "--recycle-at-gap",
        "recycle_at_gap",
        str,
        "recycle the function at each gap instead of waiting",
        ("true", "false"),
    ),
    LoadOption("--step-users", "step_users", int, "steps: users added per step"),
    LoadOption("--step-seconds", "step_s", float, "steps: seconds per step"),
    LoadOption("--shape-run-time", "run_time_s", float, "constant: seconds"),
    LoadOption("--cold-samples", "cold_samples", int, "cold-sampler: cold starts to provoke"),
    LoadOption(
        "--cold-ci-target",
        "cold_ci_target",
        float,
        "cold-sampler: stop early once the cold p50 is known to within this share (0: off)",
    ),
    LoadOption("--gaps", "gaps_s", str, "idle-gaps: idle seconds before each request, 2,5,8"),
    LoadOption("--gap-repeats", "gap_repeats", int, "idle-gaps: observations of every gap"),
    LoadOption("--path", "path", str, "request path (and query)"),
    LoadOption("--method", "method", str, "HTTP method"),
    LoadOption("--payload", "payload", str, "request body"),
)


def default(config: Config, option: LoadOption):
    """The option's value in ``config`` (the idle gap as resolved; booleans as text)."""
    value = config.idle_gap_s() if option.field == "idle_s" else getattr(config.load, option.field)
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return str(value).lower() if isinstance(value, bool) else value


def load_arguments(config: Config) -> list[str]:
    """``config``'s load settings as locustfile flags (``--flag=value``, so a value
    that starts with ``-`` is not taken for a flag)."""
    return [f"{o.flag}={default(config, o)}" for o in LOAD_OPTIONS]


SHAPE_FIELDS = frozenset(ShapeParams.__dataclass_fields__)


def shape_params(value_of: Callable[[LoadOption], Any]) -> ShapeParams:
    """The shape's parameters, each option's value given by ``value_of``: parsed
    Locust options in the locustfile, the resolved config in the pipeline."""
    values = {o.field: value_of(o) for o in LOAD_OPTIONS if o.field in SHAPE_FIELDS}
    if isinstance(values.get("gaps_s"), str):  # as a flag: 2,5,8
        values["gaps_s"] = tuple(float(g) for g in values["gaps_s"].split(",") if g.strip())
    return ShapeParams(**values)


def shape_chosen(argv: list[str], environ: Mapping[str, str]) -> bool:
    """Whether a coldbench shape was chosen explicitly: ``--shape`` on the command line,
    ``COLDBENCH_LOAD_SHAPE``, or a configuration handed over by ``coldbench run``/``ui``.
    Without one, Locust's own ``-u/-r/-t`` and the web UI's fields drive the load."""
    flagged = any(arg == "--shape" or arg.startswith("--shape=") for arg in argv)
    return flagged or "COLDBENCH_LOAD_SHAPE" in environ or RESOLVED_ENV in environ
