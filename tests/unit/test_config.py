from __future__ import annotations

import pytest

from coldbench.config import Config, build_config, load_config, parse_overrides, replace
from coldbench.errors import ConfigError


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
