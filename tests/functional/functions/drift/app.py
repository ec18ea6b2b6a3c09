"""Test function whose latency drifts upward with wall-clock time (a platform's day,
compressed): it sleeps 10 ms plus DRIFT_MS_PER_S for every second since DRIFT_T0, and
records what really happened, one file per process (every request id, its delay)."""

import json
import os
import time

from coldbench_probe import probe

_T0 = float(os.environ["DRIFT_T0"])
_RATE = float(os.environ["DRIFT_MS_PER_S"])


@probe
def handler(event, context):
    now = time.time()
    delay_ms = 10 + _RATE * (now - _T0)
    time.sleep(delay_ms / 1000)
    truth = os.environ.get("TRUTH_DIR")
    if truth:
        with open(os.path.join(truth, f"{os.getpid()}.jsonl"), "a") as f:
            record = {"request_id": context.aws_request_id, "at": now, "delay_ms": delay_ms}
            f.write(json.dumps(record) + "\n")
    return {"statusCode": 200, "body": "ok"}
