"""Added with ``-f user_file,_cpu_meter.py``: writes the Locust process's CPU seconds
and request count between test start and stop to $BENCH_CPU_METER_FILE (JSON), so
the bench compares CPU per request, which a noisy machine disturbs far less than the
wall-clock rate."""

import json
import os
import time

from locust import events

_start = {}


@events.test_start.add_listener
def _on_start(environment, **_kw):
    _start.update(cpu=time.process_time(), requests=environment.stats.total.num_requests)


@events.test_stop.add_listener
def _on_stop(environment, **_kw):
    if not _start:
        return
    out = {
        "cpu_s": time.process_time() - _start["cpu"],
        "requests": environment.stats.total.num_requests - _start["requests"],
    }
    with open(os.environ["BENCH_CPU_METER_FILE"], "w") as f:
        json.dump(out, f)
