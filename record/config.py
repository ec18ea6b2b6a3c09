"""Configuration: one typed, immutable value resolved in one place.

Precedence, highest first: CLI overrides > ``COLDBENCH_<SECTION>_<KEY>`` environment
variables > ``coldbench.toml`` > the defaults below. Every key is optional. An unknown
section or key, or a value of the wrong type or range, raises :class:`ConfigError`
naming the dotted key before anything is created.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coldbench.record.checks import check_env, check_layers, validate
from coldbench.record.errors import ConfigError

ENV_PREFIX = "COLDBENCH_"
DEFAULT_CONFIG_FILE = "coldbench.toml"
# The resolved configuration, whole, as the pipeline hands it to the processes it starts
# (Locust and its workers): they use it instead of resolving file and environment again.
RESOLVED_ENV = "COLDBENCH_RESOLVED_CONFIG"
# COLDBENCH_* variables that are not config keys.
NON_CONFIG_ENV = {"COLDBENCH_CONFIG", "COLDBENCH_TARGET_FILE", "COLDBENCH_RUN_DIR", RESOLVED_ENV}


@dataclass(frozen=True)
class TargetConfig:
    kind: str = "local"  # local | aws | existing
    region: str = "us-east-1"
    profile: str = ""
    stack_name: str = "coldbench"
    function: str = ""  # existing: "name-or-arn[:qualifier]" of a function to measure as is

    @property
    def on_aws(self) -> bool:
        """Whether the target is on AWS (ours, or an existing function)."""
        return self.kind in ("aws", "existing")


@dataclass(frozen=True)
class FunctionConfig:
    variant: str = "probe"  # probe | naive | optimized | faults | custom
    source: str = ""  # directory of a user's own function (variant = custom)
    handler: str = ""  # MODULE.FUNCTION inside source
    memory_mb: int = 512
    timeout_s: int = 30
    architecture: str = "x86_64"  # x86_64 | arm64
    runtime: str = "python3.12"
    env: Mapping[str, str] = field(default_factory=dict)
    # Folders (zipped and published as layers) or layer version ARNs, in Lambda's order.
    layers: tuple[str, ...] = ()
    # Python's import-time report in every environment, for "where init time goes";
    # it slows init itself, so a profiled run's latencies are not the ones to quote.
    profile_init: bool = False
    reserved_concurrency: int = 10  # cost / blast-radius cap; 0 = no reservation
    provisioned_concurrency: int = 0
    log_format: str = "JSON"  # JSON | Text
    log_retention_days: int = 3
    ephemeral_storage_mb: int = 512  # /tmp of each environment (512..10240)


@dataclass(frozen=True)
class UrlConfig:
    auth: str = "AWS_IAM"  # AWS_IAM | NONE
    cors_allow_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadConfig:
    shape: str = "ramp-idle"  # ramp-idle | burst | steps | constant
    users: int = 10
    spawn_rate: float = 5.0
    hold_s: float = 20.0
    idle_s: float = 0.0  # 0 = keep-alive upper bound + 5 s (local) or 600 s (aws)
    cycles: int = 3
    recycle_at_gap: bool = False
    step_users: int = 5
    step_s: float = 15.0
    run_time_s: float = 60.0  # constant and steps shapes
    wait_min_s: float = 0.05
    wait_max_s: float = 0.2
    path: str = "/"
    method: str = "GET"
    payload: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1
    cold_samples: int = 30  # cold-sampler: cold starts to provoke
    cold_ci_target: float = 0.0  # cold-sampler: stop once the cold p50 is known to ±this share
    gaps_s: tuple[float, ...] = (2.0, 5.0, 8.0, 10.0, 12.0, 15.0, 30.0)  # idle-gaps: idle gaps
    gap_repeats: int = 3  # idle-gaps: observations of every gap per user


@dataclass(frozen=True)
class LocalConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    keep_alive_min_s: float = 8.0
    keep_alive_max_s: float = 12.0
    max_environments: int = 50  # the local account concurrency limit
    cpu_scaling: str = "auto"  # auto | on | off
    freeze: bool = True
    setup: str = ""  # a script run once before the load, against the local AWS services


@dataclass(frozen=True)
class SloConfig:
    cold_p99_ms: float = 2000.0
    warm_p99_ms: float = 100.0
    error_rate: float = 0.01


@dataclass(frozen=True)
class CostConfig:
    """Prices in USD, us-east-1 defaults."""

    per_million_requests: float = 0.20
    gb_second_x86_64: float = 0.0000166667
    gb_second_arm64: float = 0.0000133334
    provisioned_gb_second_x86_64: float = 0.0000041667
    provisioned_gb_second_arm64: float = 0.0000033334
    provisioned_duration_gb_second_x86_64: float = 0.0000097222
    provisioned_duration_gb_second_arm64: float = 0.0000077778
    confirm_above_usd: float = 5.0


@dataclass(frozen=True)
class SweepConfig:
    """The matrix ``coldbench sweep`` runs, and the (shorter) load for each cell."""

    memory_mb: tuple[int, ...] = (128, 256, 512, 1024, 1769)
    variants: tuple[str, ...] = ("naive", "optimized")
    provisioned: tuple[int, ...] = (0,)
    architectures: tuple[str, ...] = ("x86_64",)
    cycles: int = 2
    hold_s: float = 10.0
    # Each cell's load: the cold sampler (cold starts provoked, not waited for: minutes on
    # AWS, not idle hours), or any [load] shape with the cycles and hold above.
    shape: str = "cold-sampler"
    cold_samples: int = 30
    # One extra run per variant with function.profile_init, for "where init time went"
    # between variants; never a candidate for the recommendation.
    profile_init: bool = False
    # interleaved: each configuration in `blocks` short blocks (its load divided among
    # them), run A B B A …, so drift lands on all alike and intervals resample blocks;
    # sequential: each configuration whole, one after another.
    order: str = "interleaved"
    blocks: int = 4


@dataclass(frozen=True)
class Config:
    target: TargetConfig = field(default_factory=TargetConfig)
    function: FunctionConfig = field(default_factory=FunctionConfig)
    url: UrlConfig = field(default_factory=UrlConfig)
    load: LoadConfig = field(default_factory=LoadConfig)
    local: LocalConfig = field(default_factory=LocalConfig)
    slo: SloConfig = field(default_factory=SloConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)

    def idle_gap_s(self) -> float:
        """The idle gap between ramps: long enough for every environment to be reaped."""
        if self.load.idle_s > 0:
            return self.load.idle_s
        return self.local.keep_alive_max_s + 5.0 if self.target.kind == "local" else 600.0

    def as_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready nested dicts (for run.json and for :func:`replace`)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Mapping):
                return dict(value)
            return list(value) if isinstance(value, tuple) else value

        return {
            section.name: {
                f.name: plain(getattr(getattr(self, section.name), f.name))
                for f in dataclasses.fields(getattr(self, section.name))
            }
            for section in dataclasses.fields(self)
        }


def _coerce(key: str, hint: Any, value: Any) -> Any:
    """Convert ``value`` (from TOML or an env-var string) to the field's type."""
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in {"1", "true", "yes", "on"}:
                    return True
                if value.lower() in {"0", "false", "no", "off"}:
                    return False
                raise ValueError
            if not isinstance(value, bool):
                raise ValueError
            return value
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                return _toml_value(value)  # a TOML string, quoted as in coldbench.toml
            return value
        if origin is tuple:
            if isinstance(value, str):
                value = (
                    _toml_value(value)  # [512, 1024], as coldbench.toml writes it
                    if value.strip().startswith("[")
                    else [v.strip() for v in value.split(",") if v.strip()]
                )
            if not isinstance(value, list | tuple):
                raise ValueError
            element = typing.get_args(hint)[0]
            return tuple(_coerce(key, element, v) for v in value)
        if origin in (Mapping, dict):
            if isinstance(value, str):
                value = _table(value)
            if not isinstance(value, Mapping):
                raise ValueError
            return types.MappingProxyType({str(k): str(v) for k, v in value.items()})
    except (ValueError, TypeError, json.JSONDecodeError):
        pass
    else:
        raise AssertionError(f"unsupported type for {key}: {hint}")
    name = getattr(hint, "__name__", str(hint))
    forms = _FORMS.get(origin or hint, "")
    raise ConfigError(key, f"expected {name}, got {value!r}{forms}")


# What --set and COLDBENCH_* accept, said when a value is refused.
_FORMS: dict[Any, str] = {
    tuple: " (write a list as in coldbench.toml, [512, 1024], or as 512,1024)",
    Mapping: ' (write a table as in coldbench.toml, { KEY = "value" }, or as JSON)',
    bool: " (true/false, yes/no, on/off or 1/0)",
}


def _toml_value(text: str) -> Any:
    """A value written in TOML, as in coldbench.toml (a list, an inline table, a string).

    Raises:
        ValueError: it is not a TOML value.
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from exc


def _table(text: str) -> Any:
    """An inline TOML table ({ A = "1" }) or a JSON object ({"A": "1"}); empty is {}."""
    if not text.strip():
        return {}
    try:
        return _toml_value(text)
    except ValueError:
        return json.loads(text)


def _section_types() -> dict[str, type]:
    return {f.name: typing.get_type_hints(Config)[f.name] for f in dataclasses.fields(Config)}


def _env_layer(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``COLDBENCH_LOAD_USERS=50`` -> {"load": {"users": "50"}}; unknown names are refused."""
    sections = _section_types()
    layer: dict[str, dict[str, Any]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NON_CONFIG_ENV:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(name, "unknown config section in environment variable")
        layer.setdefault(section, {})[rest[len(section) + 1 :]] = value
    return layer


def _merge(layers: list[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, values in layer.items():
            if not isinstance(values, Mapping):
                raise ConfigError(section, "must be a table of keys")
            merged.setdefault(section, {}).update(values)
    return merged


def build_config(raw: Mapping[str, Mapping[str, Any]]) -> Config:
    """Turn a nested mapping into a validated :class:`Config`.

    Raises:
        ConfigError: for an unknown section or key, or a bad value; names the key.
    """
    sections = _section_types()
    built: dict[str, Any] = {}
    for section, values in raw.items():
        if section not in sections:
            raise ConfigError(section, f"unknown section (known: {sorted(sections)})")
        cls = sections[section]
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for key, value in values.items():
            dotted = f"{section}.{key}"
            if key not in hints:
                raise ConfigError(dotted, f"unknown key (known: {sorted(hints)})")
            kwargs[key] = _coerce(dotted, hints[key], value)
            validate(dotted, kwargs[key])
        built[section] = cls(**kwargs)
    config = Config(**built)
    _check_consistency(config)
    return config


def _check_consistency(config: Config) -> None:
    fn, local = config.function, config.local
    if fn.variant == "custom" and not (fn.source and fn.handler):
        raise ConfigError("function.source", "variant 'custom' needs source and handler")
    if "custom" in config.sweep.variants and not (fn.source and fn.handler):
        raise ConfigError(
            "sweep.variants", "'custom' sweeps your own function: set function.source and handler"
        )
    if fn.handler and "." not in fn.handler:
        raise ConfigError("function.handler", f"{fn.handler!r} is not MODULE.FUNCTION")
    if not 128 <= fn.memory_mb <= 10240:
        raise ConfigError("function.memory_mb", f"{fn.memory_mb} is outside 128..10240")
    if not 512 <= fn.ephemeral_storage_mb <= 10240:
        raise ConfigError(
            "function.ephemeral_storage_mb", f"{fn.ephemeral_storage_mb} is outside 512..10240"
        )
    if not 1 <= fn.timeout_s <= 900:
        raise ConfigError("function.timeout_s", f"{fn.timeout_s} is outside 1..900")
    if local.keep_alive_min_s > local.keep_alive_max_s:
        raise ConfigError("local.keep_alive_min_s", "is larger than local.keep_alive_max_s")
    if config.load.wait_min_s > config.load.wait_max_s:
        raise ConfigError("load.wait_min_s", "is larger than load.wait_max_s")
    if not config.load.path.startswith("/"):
        raise ConfigError("load.path", f"{config.load.path!r} must start with /")
    if config.target.kind == "existing" and not config.target.function:
        raise ConfigError("target.function", "kind 'existing' needs the function's name or ARN")
    check_env(fn.env)
    check_layers(fn.layers)


def parse_overrides(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``["load.users=50"]`` -> {"load": {"users": "50"}} (CLI ``--set``)."""
    layer: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise ConfigError(key or pair, "override must look like section.key=value")
        layer.setdefault(section, {})[name] = value
    return layer


def load_config(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Resolve the configuration: overrides > environment > file > defaults.

    Parameters:
        path: a TOML file; default ``$COLDBENCH_CONFIG`` or ``./coldbench.toml`` if present.
        environ: the environment to read ``COLDBENCH_*`` from (default ``os.environ``).
        overrides: CLI values as ``{section: {key: value}}``.

    Raises:
        ConfigError: naming the first invalid key.
    """
    environ = os.environ if environ is None else environ
    file_layer: dict[str, Any] = {}
    if path is None:
        path = environ.get("COLDBENCH_CONFIG") or (
            DEFAULT_CONFIG_FILE if Path(DEFAULT_CONFIG_FILE).exists() else None
        )
    if path is not None:
        try:
            file_layer = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(str(path), "config file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"not valid TOML: {exc}") from exc
    return build_config(_merge([file_layer, _env_layer(environ), overrides or {}]))


def replace(config: Config, **sections: Mapping[str, Any]) -> Config:
    """A copy of ``config`` with some keys changed, validated like any other config."""
    raw = config.as_dict()
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return build_config(raw)


def to_environ(config: Config) -> dict[str, str]:
    """``config`` as the environment variable a child process reads it back from."""
    return {RESOLVED_ENV: json.dumps(config.as_dict(), sort_keys=True)}


def config_from_environ(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration a process started by the pipeline was given whole; resolved from
    file and environment (:func:`load_config`) when started on its own (``locust -f``).

    Raises:
        ConfigError: the handed-over value is not a valid configuration.
    """
    environ = os.environ if environ is None else environ
    handed = environ.get(RESOLVED_ENV)
    if handed is None:
        return load_config(environ=environ)
    try:
        raw = json.loads(handed)
    except json.JSONDecodeError as exc:
        raise ConfigError(RESOLVED_ENV, f"not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(RESOLVED_ENV, "must be a JSON object of sections")
    return build_config(raw)
