"""Fault injector: the local Lambda's failure modes on demand.

A request picks its fault with ``?fault=NAME``; otherwise each fault happens at the
rate in its environment variable (``FAULT_<NAME>_RATE``, 0..1), so a soak can inject
a few percent of everything. Faults: ``exception`` (unhandled error), ``crash``
(process exits), ``hang`` (sleeps past the timeout), ``oversize`` (a response over the
6 MB limit), ``memory`` (allocates past the memory size), ``noisy`` (prints empty lines,
blank-edged text and a 300 KB line, then answers normally). Init faults, from the
environment only: ``FAULT_INIT_FAILURE_RATE`` (init raises) and ``FAULT_SLOW_INIT_MS``.
"""

import json
import os
import random
import time

from coldbench_probe import mark_init_done, probe

FAULTS = ("exception", "crash", "hang", "oversize", "memory", "noisy")
RATES = {name: float(os.environ.get(f"FAULT_{name.upper()}_RATE", "0")) for name in FAULTS}

time.sleep(float(os.environ.get("FAULT_SLOW_INIT_MS", "0")) / 1000)
if random.random() < float(os.environ.get("FAULT_INIT_FAILURE_RATE", "0")):
    raise RuntimeError("injected init failure")


def _pick(params: dict) -> str:
    if params.get("fault"):
        return params["fault"]
    roll, edge = random.random(), 0.0
    for name in FAULTS:
        edge += RATES[name]
        if roll < edge:
            return name
    return "none"


def _inject(fault: str):
    if fault == "exception":
        raise RuntimeError("injected exception")
    if fault == "crash":
        os._exit(17)
    if fault == "hang":
        time.sleep(3600)
    if fault == "oversize":
        return {"statusCode": 200, "body": "x" * (6 * 1024 * 1024 + 1024)}
    if fault == "memory":
        limit = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        hog = bytearray((limit + 64) * 1024 * 1024)
        hog[::4096] = b"x" * len(hog[::4096])
        time.sleep(1)  # hold it until the platform notices
    if fault == "noisy":
        print("")
        print("\n\nblank-edged output\n")
        print("z" * 300_000)
    return None


@probe
def handler(event, context):
    fault = _pick(event.get("queryStringParameters") or {})
    injected = _inject(fault)
    if injected is not None:
        return injected
    return {"statusCode": 200, "body": json.dumps({"fault": fault})}


mark_init_done()
