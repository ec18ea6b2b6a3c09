"""Python's import-time report, parsed and attributed: real output of this machine's
interpreter (``python -X importtime -c "import email.mime.text, json"``, kept in
``data/``), with the init shim's markers around it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coldbench.analysis.initprofile import aggregate, parse_events, parse_stream

SAMPLE = (Path(__file__).parent / "data" / "importtime_email_json.txt").read_text().splitlines()


def by_module(rows):
    return {r["module"]: r for r in rows if r["kind"] == "import"}


@pytest.mark.parametrize("lines", [SAMPLE, "live"], ids=["captured", "this-interpreter"])
def test_every_module_gets_its_parent_and_parents_add_up(lines):
    if lines == "live":
        lines = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import email.mime.text, json"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr.splitlines()
    rows = parse_stream("s", lines)
    found = by_module(rows)
    assert found["email.mime.text"]["parent"] == "" and found["email.mime.text"]["depth"] == 0
    assert found["email.mime.nonmultipart"]["parent"] == "email.mime.text"
    assert found["json.decoder"]["parent"] == "json"
    assert found["json"]["parent"] == "" and found["_json"]["depth"] == 3
    for parent in found.values():  # CPython: cumulative = self + the children's cumulative
        children = [r for r in rows if r["parent"] == parent["module"]]
        total = parent["self_us"] + sum(c["cumulative_us"] for c in children)
        assert abs(parent["cumulative_us"] - total) <= len(children) + 1, parent["module"]


def stream(name: str, import_us: int, lazy: bool = True) -> list[tuple[str, str]]:
    """One environment's events: the runtime's imports, the handler's, the shim's markers,
    and (``lazy``) an import during the first invocation."""
    lines = [
        "import time: self [us] | cumulative | imported package",
        "import time:       100 |        100 |   _json",
        "import time:       400 |        500 | json",  # the runtime's own
        "import time:    200000 |     200000 |     boto3.core",
        "import time:     50000 |     250000 |   boto3",
        f"import time:      9000 |  {import_us - 1000:9d} | app",
        "coldbench-init "
        + json.dumps({"event": "init-end", "module": "app", "import_us": import_us}),
        "START RequestId: 1 Version: $LATEST",
        'coldbench-init {"event": "first-invoke"}',
        "import time:      3000 |       3000 | lazy_thing",
    ]
    return [(name, line) for line in lines[: None if lazy else -1]]


def test_a_profile_is_attributed_per_cold_start_and_aggregated_by_median():
    rows = parse_events(stream("a", 260_000) + stream("b", 300_000) + stream("old", 1, False))
    profile = aggregate(rows, {"a": 400.0, "b": 500.0})  # "old": not a cold start of this run
    assert profile is not None and profile.profiled_cold_starts == 2
    assert profile.handler_module == "app"
    assert profile.init_ms_p50 == 450.0
    assert profile.handler_import_ms_p50 == pytest.approx(280.0)
    assert profile.runtime_ms_p50 == pytest.approx((140.0 + 200.0) / 2)
    assert profile.handler_self_ms_p50 == pytest.approx(9.0)
    modules = {(m.module, m.phase): m for m in profile.modules}
    boto3 = modules[("boto3", "init")]
    assert (boto3.parent, boto3.depth, boto3.cumulative_ms_p50) == ("app", 1, 250.0)
    assert boto3.share_of_init == pytest.approx(250.0 / 450.0)
    assert modules[("boto3.core", "init")].parent == "boto3"
    lazy = modules[("lazy_thing", "invoke")]
    assert lazy.share_of_init is None and lazy.seen_in == 2
    assert profile.modules[0].module == "app", "the costliest first"


def test_no_marker_means_no_profile():
    assert aggregate(parse_stream("s", SAMPLE), {"s": 100.0}) is None


def test_differences_say_which_imports_left_init():
    from coldbench.analysis.initprofile import differences

    eager = aggregate(parse_events(stream("a", 260_000, lazy=False)), {"a": 400.0})
    lines = [(s, m) for s, m in stream("b", 11_000) if "boto3" not in m]
    lines.append(("b", "import time:    250000 |     250000 | boto3"))  # after first-invoke
    lazy = aggregate(parse_events(lines), {"b": 150.0})
    found = {d["module"]: d for d in differences(eager, lazy)}
    assert found["boto3"]["run_phase"] == "invoke" and found["boto3"]["run_ms"] == 0.0
    assert found["boto3"]["diff_ms"] == -250.0
    assert found["boto3.core"]["run_phase"] == "absent"
    assert next(iter(found)) in ("app", "boto3"), "largest change first"
