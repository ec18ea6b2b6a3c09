"""Drop-in probe: wrap any Function URL handler to expose its cold-start facts.

    from coldbench_probe import probe

    @probe
    def handler(event, context): ...

Adds the probe-contract headers to every response:

- ``x-coldbench-env``: an id minted once per execution environment;
- ``x-coldbench-cold``: ``1`` on the first invocation of an on-demand environment
  (a module-level flag, combined with ``AWS_LAMBDA_INITIALIZATION_TYPE`` so provisioned
  and SnapStart environments never count as cold);
- ``x-coldbench-init-type``: ``AWS_LAMBDA_INITIALIZATION_TYPE``;
- ``x-coldbench-init-start`` / ``x-coldbench-init-ms``: when this environment's init
  began (epoch seconds, the process start time) and how long init took from there to
  :func:`mark_init_done` (call it at the end of your module) or, failing that, to the
  first invocation;
- ``x-coldbench-seq``: the invocation number in this environment.

Only the standard library is used, so it adds nothing to a cold start but the import.
"""

from __future__ import annotations

import functools
import json
import os
import time

# os.urandom, not uuid: on Python <= 3.11 ``import uuid`` pulls in ``platform``, which
# every cold start would pay for.
ENV_ID = os.urandom(6).hex()
INIT_TYPE = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")


def _process_start_epoch() -> float:
    """When this process started, from /proc (falls back to import time)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return time.time() - uptime + start_ticks / ticks
    except (OSError, ValueError, IndexError):
        return time.time()


INIT_START = _process_start_epoch()
_state: dict = {"seq": 0, "init_ms": None}


def mark_init_done() -> None:
    """Call at the end of your module's top level to time your own init exactly."""
    if _state["init_ms"] is None:
        _state["init_ms"] = max(0.0, (time.time() - INIT_START) * 1000)


def probe_headers() -> dict[str, str]:
    """Headers for this invocation; call once per invocation."""
    mark_init_done()
    _state["seq"] += 1
    cold = _state["seq"] == 1 and INIT_TYPE == "on-demand"
    return {
        "x-coldbench-env": ENV_ID,
        "x-coldbench-cold": "1" if cold else "0",
        "x-coldbench-init-type": INIT_TYPE,
        "x-coldbench-init-start": f"{INIT_START:.6f}",
        "x-coldbench-init-ms": f"{_state['init_ms']:.3f}",
        "x-coldbench-seq": str(_state["seq"]),
    }


def _with_headers(result, headers: dict[str, str]):
    """Merge probe headers into a Function URL result without changing its meaning."""
    if isinstance(result, dict) and "statusCode" in result:
        merged = dict(result)
        merged["headers"] = {**(result.get("headers") or {}), **headers}
        return merged
    # Any other result is returned by the URL as a 200 JSON body: keep that body.
    body = result if isinstance(result, str) else json.dumps(result, separators=(",", ":"))
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", **headers},
        "body": body,
    }


def probe(handler):
    """Decorate a handler so its responses carry the probe headers."""

    @functools.wraps(handler)
    def wrapper(event, context):
        headers = probe_headers()
        return _with_headers(handler(event, context), headers)

    return wrapper
