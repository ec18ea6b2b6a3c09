"""Every path that can spend money on AWS goes through the same cost guard, before
anything is created: run, sweep (one cell too), ui and up."""

from __future__ import annotations

import argparse

import pytest

from coldbench import pipeline, sweep, targets, ui
from coldbench.errors import PipelineError
from coldbench.interleave import Runner
from coldbench.record.config import build_config

EXPENSIVE = {"target": {"kind": "aws"}, "cost": {"confirm_above_usd": 0.0}}


@pytest.fixture
def nothing_reaches_aws(monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("AWS was reached before the cost guard")

    monkeypatch.setattr(pipeline, "aws_up", refuse)
    monkeypatch.setattr(targets, "aws_up", refuse)
    monkeypatch.setattr(pipeline, "make_clients", refuse, raising=False)


def test_a_run_above_the_threshold_needs_yes(nothing_reaches_aws):
    with pytest.raises(PipelineError, match=r"run: worst-case cost .* pass --yes"):
        pipeline.cmd_run(build_config(EXPENSIVE), argparse.Namespace(yes=False))


def test_a_one_cell_aws_sweep_is_guarded_too(nothing_reaches_aws):
    config = build_config({**EXPENSIVE, "sweep": {"memory_mb": [256], "variants": ["probe"]}})
    with pytest.raises(PipelineError, match=r"sweep of 1 run\(s\): worst-case cost"):
        sweep.sweep(config, lambda *a, **k: pytest.fail("ran without confirmation"))


def test_a_confirmed_sweep_hands_the_confirmation_to_each_cells_up(monkeypatch):
    config = build_config({**EXPENSIVE, "sweep": {"memory_mb": [256], "variants": ["probe"]}})
    handed = []

    def measure(cell, confirmed=False, allow_changes=False):
        handed.append(confirmed)
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError):
        sweep.sweep(config, Runner(measure, pipeline.report), confirmed=True)
    assert handed == [True]


def test_the_ui_on_aws_is_guarded(nothing_reaches_aws, monkeypatch):
    monkeypatch.setattr(ui, "target_up", lambda *a, **k: pytest.fail("target stood up"))
    with pytest.raises(PipelineError, match=r"ui .*worst-case cost"):
        ui.cmd_ui(build_config(EXPENSIVE), argparse.Namespace(yes=False, web_port=8089))


def test_local_targets_cost_nothing():
    pipeline.cost_guard([build_config({"cost": {"confirm_above_usd": 0.0}})], False, "run")
