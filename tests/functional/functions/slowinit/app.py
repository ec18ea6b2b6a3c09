"""Test function without the probe: sleeps at import as told, and records what really
happened, one file per process (its init, every request id it served)."""

import json
import os
import time

_STARTED = time.time()
time.sleep(float(os.environ.get("SLOW_INIT_S", "0")))


def _record(kind, **data):
    truth = os.environ.get("TRUTH_DIR")
    if truth:
        with open(os.path.join(truth, f"{os.getpid()}.jsonl"), "a") as f:
            f.write(json.dumps({"kind": kind, **data}) + "\n")


_record(
    "init",
    started=_STARTED,
    ended=time.time(),
    init_type=os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"],
)


def handler(event, context):
    _record("invoke", request_id=context.aws_request_id)
    return {"statusCode": 200, "body": "ok"}
