"""Checks of single configuration values: choices, ranges, and what Lambda itself refuses.

:mod:`config` applies them to every key it resolves; what Lambda refuses (reserved
environment names, malformed layer ARNs) is refused here, before anything is created,
naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coldbench.record.errors import ConfigError

_CHOICES = {
    "target.kind": {"local", "aws", "existing"},
    "function.variant": {"probe", "naive", "optimized", "faults", "custom"},
    "function.architecture": {"x86_64", "arm64"},
    "function.log_format": {"JSON", "Text"},
    "url.auth": {"AWS_IAM", "NONE"},
    "load.shape": {"ramp-idle", "burst", "steps", "constant", "cold-sampler", "idle-gaps"},
    "sweep.shape": {"ramp-idle", "burst", "steps", "constant", "cold-sampler"},
    "load.method": {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"},
    "local.cpu_scaling": {"auto", "on", "off"},
    "sweep.order": {"interleaved", "sequential"},
}
_CHOICE_LISTS = {
    "sweep.variants": _CHOICES["function.variant"],  # custom: function.source's code
    "sweep.architectures": _CHOICES["function.architecture"],
}
_POSITIVE = {
    "function.memory_mb",
    "function.timeout_s",
    "load.users",
    "load.spawn_rate",
    "load.cycles",
    "load.workers",
    "load.cold_samples",
    "load.gap_repeats",
    "sweep.cold_samples",
    "sweep.blocks",
    "local.max_environments",
}


# The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
_RETENTION_DAYS = {
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
}


def validate(key: str, value: Any) -> None:
    if key == "function.log_retention_days" and value not in _RETENTION_DAYS:
        raise ConfigError(
            key, f"{value} is not a retention CloudWatch Logs accepts: {sorted(_RETENTION_DAYS)}"
        )
    if key in _CHOICE_LISTS:
        bad = [v for v in value if v not in _CHOICE_LISTS[key]]
        if bad or not value:
            raise ConfigError(key, f"{bad or 'empty'}: choose from {sorted(_CHOICE_LISTS[key])}")
    if key == "sweep.memory_mb" and any(not 128 <= m <= 10240 for m in value):
        raise ConfigError(key, f"{list(value)}: every size must be within 128..10240")
    if key == "load.gaps_s" and (not value or any(g <= 0 for g in value)):
        raise ConfigError(key, f"{list(value)}: give one or more positive gaps in seconds")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(key, f"{value!r} is not one of {sorted(_CHOICES[key])}")
    if key in _POSITIVE and value <= 0:
        raise ConfigError(key, f"must be positive, got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise ConfigError(key, f"must not be negative, got {value!r}")


# Environment variables Lambda sets itself and refuses in a function's configuration.
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)


def check_env(env: Mapping[str, str]) -> None:
    """``function.env``: no name Lambda reserves, nothing a process environment cannot hold."""
    reserved = sorted(set(env) & RESERVED_ENV)
    if reserved:
        raise ConfigError(
            f"function.env.{reserved[0]}",
            "Lambda reserves this name for its own value and refuses to set it "
            f"(reserved: {', '.join(sorted(RESERVED_ENV))})",
        )
    for name, value in env.items():
        if "\0" in str(name) or "\0" in str(value) or "=" in str(name) or not str(name):
            raise ConfigError(
                f"function.env.{name}".replace("\0", "\\0"),
                "no process environment can carry this (a NUL byte, '=' or an empty name)",
            )


MAX_LAYERS = 5  # Lambda's limit per function
LAYER_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:layer:[a-zA-Z0-9-_]+:\d+"
)


def check_layers(layers: tuple[str, ...]) -> None:
    """``function.layers``: at most five, each a folder or a layer *version* ARN."""
    if len(layers) > MAX_LAYERS:
        raise ConfigError(
            "function.layers", f"{len(layers)} layers; Lambda allows at most {MAX_LAYERS}"
        )
    for index, layer in enumerate(layers):
        if not layer.strip():
            raise ConfigError(f"function.layers[{index}]", "is empty")
        if layer.startswith("arn:") and not LAYER_ARN.fullmatch(layer):
            raise ConfigError(
                f"function.layers[{index}]",
                f"{layer!r} is not a layer version ARN "
                "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)",
            )
