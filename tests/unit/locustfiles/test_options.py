"""The load-option table: the flags the pipeline passes parse back to the config."""

from __future__ import annotations

import argparse

from coldbench.locustfiles.options import LOAD_OPTIONS, default, load_arguments, shape_params
from coldbench.record.config import build_config


def test_flags_round_trip_to_the_resolved_config():
    config = build_config(
        {
            "load": {
                "shape": "steps",
                "users": 7,
                "spawn_rate": 2.5,
                "idle_s": 42,
                "recycle_at_gap": True,
                "path": "/?sleep_ms=5",
                "method": "POST",
                "payload": "-1",
            }
        }
    )
    parser = argparse.ArgumentParser()
    for option in LOAD_OPTIONS:  # what the locustfile registers, minus Locust's extras
        parser.add_argument(option.flag, type=option.type, choices=option.choices)
    parsed = parser.parse_args(load_arguments(config))
    from_flags = shape_params(lambda option: getattr(parsed, option.dest))
    assert from_flags == shape_params(lambda option: default(config, option))
    assert (from_flags.shape, from_flags.users, from_flags.idle_s) == ("steps", 7, 42.0)
    assert parsed.recycle_at_gap == "true"
    assert (parsed.path, parsed.method, parsed.payload) == ("/?sleep_ms=5", "POST", "-1")
    assert {o.env_var for o in LOAD_OPTIONS} >= {"COLDBENCH_LOAD_USERS", "COLDBENCH_LOAD_IDLE_S"}


def test_a_coldbench_shape_plays_only_when_chosen_explicitly():
    from coldbench.locustfiles.options import shape_chosen

    assert not shape_chosen(["locust", "-f", "x.py", "-u", "2", "-t", "6s"], {})
    assert shape_chosen(["locust", "--shape", "burst"], {})
    assert shape_chosen(["locust", "--shape=steps"], {})
    assert shape_chosen(["locust"], {"COLDBENCH_LOAD_SHAPE": "burst"})
    assert shape_chosen(["locust"], {"COLDBENCH_RESOLVED_CONFIG": "{}"})
    assert not shape_chosen(["locust", "--shape-users", "5"], {})
