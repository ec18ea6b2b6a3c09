"""The CLI's one place of config resolution: flag > COLDBENCH_* > coldbench.toml > default."""

from __future__ import annotations

import pytest

from coldbench.cli import build_parser, main, resolve_config


def resolve(argv, monkeypatch, tmp_path, toml: str = "", **environ):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("COLDBENCH_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if toml:
        (tmp_path / "coldbench.toml").write_text(toml)
    return resolve_config(build_parser().parse_args(argv))


def test_flag_beats_environment_beats_file_beats_default(monkeypatch, tmp_path):
    toml = "[load]\nusers = 3\nhold_s = 7\nspawn_rate = 2\n"
    config = resolve(
        ["run", "--set", "load.users=5"],
        monkeypatch,
        tmp_path,
        toml,
        COLDBENCH_LOAD_USERS="4",
        COLDBENCH_LOAD_HOLD_S="8",
    )
    assert config.load.users == 5  # flag
    assert config.load.hold_s == 8  # environment over file
    assert config.load.spawn_rate == 2  # file over default
    assert config.load.cycles == 3  # default


def test_named_flags_map_onto_their_keys(monkeypatch, tmp_path):
    config = resolve(
        [
            "local",
            "--source",
            "fn",
            "--handler",
            "app.main",
            "--memory",
            "256",
            "--keep-alive",
            "4",
        ],
        monkeypatch,
        tmp_path,
    )
    assert config.function.variant == "custom" and config.function.source == "fn"
    assert config.function.memory_mb == 256
    assert config.local.keep_alive_min_s == config.local.keep_alive_max_s == 4
    assert resolve(["run", "--workers", "3"], monkeypatch, tmp_path).load.workers == 3
    assert resolve(["run", "--target", "aws"], monkeypatch, tmp_path).target.kind == "aws"


def test_invalid_config_is_refused_naming_the_key_with_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--set", "load.users=-1"]) == 2
    assert "load.users" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--set"])


def test_help_is_written_for_users(capsys):
    """`coldbench --help` once printed a developer docstring ("The only place that calls
    sys.exit"); subcommands had no description, `status` offered --yes, no --version."""
    parser = build_parser()
    text = parser.format_help()
    assert "sys.exit" not in text and "examples:" in text and "coldbench run" in text
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        assert "usage: coldbench" in command.format_help(), name
        assert command.description and len(command.description) > 20, name
        offers_yes = "--yes" in command._option_string_actions
        assert offers_yes == (name in {"run", "sweep", "compare-live", "up", "down", "ui"}), name
    assert "port of the web UI" in sub.choices["ui"].format_help()
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("coldbench ")
