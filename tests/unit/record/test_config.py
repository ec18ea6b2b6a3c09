from __future__ import annotations

import pytest

from coldbench.record.config import Config, build_config, load_config, parse_overrides, replace
from coldbench.record.errors import ConfigError


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config == Config()
    assert config.target.kind == "local"
    assert config.url.auth == "AWS_IAM"


def test_precedence_flag_over_env_over_file(tmp_path):
    path = tmp_path / "coldbench.toml"
    path.write_text('[load]\nusers = 5\nshape = "burst"\n[function]\nmemory_mb = 256\n')
    config = load_config(
        path,
        environ={"COLDBENCH_LOAD_USERS": "7", "COLDBENCH_FUNCTION_MEMORY_MB": "1024"},
        overrides=parse_overrides(["load.users=9"]),
    )
    assert config.load.users == 9  # flag
    assert config.function.memory_mb == 1024  # env over file
    assert config.load.shape == "burst"  # file over default


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"load": {"userz": 3}}, "load.userz"),
        ({"lod": {"users": 3}}, "lod"),
        ({"load": {"users": "many"}}, "load.users"),
        ({"load": {"users": 0}}, "load.users"),
        ({"function": {"memory_mb": 64}}, "function.memory_mb"),
        ({"url": {"auth": "OPEN"}}, "url.auth"),
        ({"function": {"variant": "custom"}}, "function.source"),
        ({"local": {"keep_alive_min_s": 9, "keep_alive_max_s": 1}}, "local.keep_alive_min_s"),
        ({"load": {"path": "no-slash"}}, "load.path"),
        ({"local": {"freeze": "maybe"}}, "local.freeze"),
    ],
)
def test_bad_values_are_refused_naming_the_key(raw, key):
    with pytest.raises(ConfigError) as caught:
        build_config(raw)
    assert caught.value.key == key
    assert key in str(caught.value)


def test_unknown_environment_variable_is_refused():
    with pytest.raises(ConfigError, match="COLDBENCH_LAOD_USERS"):
        load_config(environ={"COLDBENCH_LAOD_USERS": "3"})


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[load\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_config(path, environ={})


def test_config_is_immutable_and_replace_validates():
    config = build_config({"function": {"env": {"A": "1"}}})
    with pytest.raises(AttributeError):
        config.load.users = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.function.env["B"] = "2"  # type: ignore[index]
    changed = replace(config, function={"memory_mb": 1024})
    assert changed.function.memory_mb == 1024 and config.function.memory_mb == 512
    with pytest.raises(ConfigError):
        replace(config, function={"memory_mb": 1})


def test_idle_gap_defaults_to_longer_than_keep_alive():
    config = build_config({"local": {"keep_alive_min_s": 2, "keep_alive_max_s": 4}})
    assert config.idle_gap_s() > 4
    assert build_config({"target": {"kind": "aws"}}).idle_gap_s() >= 600


def test_sweep_lists_are_typed_and_checked():
    config = load_config(
        environ={"COLDBENCH_SWEEP_MEMORY_MB": "256, 1024", "COLDBENCH_SWEEP_VARIANTS": "optimized"}
    )
    assert config.sweep.memory_mb == (256, 1024) and config.sweep.variants == ("optimized",)
    with pytest.raises(ConfigError, match=r"sweep\.memory_mb"):
        build_config({"sweep": {"memory_mb": [64]}})
    with pytest.raises(ConfigError, match=r"sweep\.variants"):
        build_config({"sweep": {"variants": ["fast"]}})


def _non_default(hint, value):
    """A valid value of ``hint`` that differs from the default ``value``."""
    if hint is bool:
        return not value
    if hint in (int, float):
        return value + 1
    if hint is str:
        return value + "x" if value else "y"
    return value


def test_every_key_reaches_the_locust_process_whole(tmp_path, monkeypatch):
    """The pipeline hands Locust the resolved configuration; the locustfile once resolved
    file and environment again, so `--set load.wait_min_s=…` never reached it."""
    import dataclasses
    import typing

    from coldbench.record.config import Config, config_from_environ, to_environ

    raw = Config().as_dict()
    changed: dict = {
        "target": {
            "kind": "aws",
            "region": "eu-west-1",
            "profile": "bench",
            "stack_name": "s",
            "function": "f",
        },
        "function": {
            "variant": "custom",
            "source": "src",
            "handler": "app.main",
            "architecture": "arm64",
            "runtime": "python3.13",
            "env": {"A": "1"},
            "layers": ["deps"],
            "log_format": "Text",
            "memory_mb": 1024,
        },
        "url": {"auth": "NONE", "cors_allow_origins": ["https://a.example"]},
        "load": {
            "shape": "steps",
            "path": "/p",
            "method": "POST",
            "payload": "{}",
            "gaps_s": [1.0],
        },
        "local": {"host": "127.0.0.2", "cpu_scaling": "off", "setup": "setup.py"},
        "sweep": {
            "memory_mb": [256],
            "variants": ["probe"],
            "provisioned": [1],
            "architectures": ["arm64"],
            "shape": "burst",
            "order": "sequential",
        },
    }
    changed["load"]["headers"] = {"x-h": "v"}
    for section in dataclasses.fields(Config):
        hints = typing.get_type_hints(type(getattr(Config(), section.name)))
        for key, value in raw[section.name].items():
            if key not in changed.get(section.name, {}) and hints[key] in (bool, int, float):
                changed.setdefault(section.name, {})[key] = _non_default(hints[key], value)
    changed["load"]["wait_max_s"] = changed["load"]["wait_min_s"] + 1
    changed["local"]["keep_alive_max_s"] = changed["local"]["keep_alive_min_s"] + 1
    changed["function"]["log_retention_days"] = 7  # one CloudWatch accepts
    config = build_config(changed)
    default = Config().as_dict()
    assert all(
        config.as_dict()[section][key] != default[section][key]
        for section in default
        for key in default[section]
    ), "every key is set to a value other than its default"
    # What the locustfile would otherwise read: a different file and COLDBENCH_* values.
    other = tmp_path / "coldbench.toml"
    other.write_text("[load]\nwait_min_s = 9\nwait_max_s = 9\n")
    environ = {**to_environ(config), "COLDBENCH_CONFIG": str(other), "COLDBENCH_LOAD_USERS": "77"}
    assert config_from_environ(environ) == config
    assert config_from_environ({"COLDBENCH_CONFIG": str(other)}).load.wait_min_s == 9
    with pytest.raises(ConfigError, match="COLDBENCH_RESOLVED_CONFIG"):
        config_from_environ({"COLDBENCH_RESOLVED_CONFIG": "{not json"})


def test_the_shipped_coldbench_toml_documents_every_key_with_its_default():
    """Every schema key stands in coldbench.toml: set to its default, or commented out
    where the default is empty; nothing else is there."""
    import re
    import tomllib
    from pathlib import Path

    from coldbench.record.config import Config

    text = (Path(__file__).resolve().parents[3] / "coldbench.toml").read_text()
    written = tomllib.loads(text)
    default = Config().as_dict()
    assert build_config(written) == Config(), "the values shown are the defaults"
    for section, keys in default.items():
        block = re.search(rf"^\[{section}\](.*?)(?=^\[|\Z)", text, re.S | re.M)
        assert block, f"[{section}] is missing"
        for key, value in keys.items():
            commented = re.search(rf"^# {key} = ", block.group(1), re.M)
            assert key in written.get(section, {}) or (commented and value == ""), (
                f"{section}.{key} is not documented"
            )


def test_set_and_environment_accept_the_toml_that_coldbench_toml_uses(tmp_path):
    """`--set 'sweep.memory_mb=[512, 1024]'` was refused ("expected int, got '[512'")
    while 512,1024 worked and tables wanted JSON: a user could not guess."""
    from coldbench.record.config import load_config, parse_overrides

    toml_forms = parse_overrides(
        [
            "sweep.memory_mb=[512, 1024]",
            'sweep.variants=["naive", "optimized"]',
            'function.env={ TABLE = "orders", MODE = "fast" }',
            'load.headers={"x-a" = "1"}',
            'load.path="/orders?x=1"',
        ]
    )
    config = build_config(toml_forms)
    assert config.sweep.memory_mb == (512, 1024)
    assert config.sweep.variants == ("naive", "optimized")
    assert dict(config.function.env) == {"TABLE": "orders", "MODE": "fast"}
    assert dict(config.load.headers) == {"x-a": "1"}
    assert config.load.path == "/orders?x=1"
    old_forms = build_config(
        parse_overrides(["sweep.memory_mb=512,1024", 'function.env={"TABLE": "orders"}'])
    )
    assert old_forms.sweep.memory_mb == (512, 1024) and old_forms.function.env["TABLE"] == "orders"
    from_env = load_config(environ={"COLDBENCH_SWEEP_MEMORY_MB": "[256, 2048]"})
    assert from_env.sweep.memory_mb == (256, 2048)
    with pytest.raises(ConfigError, match=r"sweep.memory_mb.*\[512, 1024\]"):
        build_config(parse_overrides(["sweep.memory_mb=[512, oops]"]))


def test_environment_values_no_process_can_carry_are_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"function\.env\.TABLE"):
        build_config({"function": {"env": {"TABLE": "or\0ders"}}})
    with pytest.raises(ConfigError, match=r"function\.env\.A=B"):
        build_config({"function": {"env": {"A=B": "x"}}})


def test_names_lambda_reserves_are_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"function\.env\.AWS_REGION.*Lambda reserves"):
        build_config({"function": {"env": {"AWS_REGION": "eu-west-1", "TABLE": "t"}}})


@pytest.mark.parametrize(
    ("layers", "named"),
    [
        (["arn:aws:lambda:us-east-1:123456789012:layer:deps"], r"function.layers\[0\]"),
        (["ok", "arn:aws:lambda:us-east-1:1234:layer:deps:1"], r"function.layers\[1\]"),
        (["a", "b", "c", "d", "e", "f"], r"function.layers: 6 layers"),
        (["  "], r"function.layers\[0\]: is empty"),
    ],
)
def test_bad_layers_are_refused_naming_the_entry(layers, named):
    with pytest.raises(ConfigError, match=named):
        build_config({"function": {"layers": layers}})
