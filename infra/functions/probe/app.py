"""The built-in probe: a trivial handler that answers with the probe headers.

Query parameters let a load test ask for work: ``sleep_ms`` (wait inside the function)
and ``echo=1`` (return the event, for inspecting what a Function URL sends).
"""

import json
import time

from coldbench_probe import mark_init_done, probe


@probe
def handler(event, context):
    params = event.get("queryStringParameters") or {}
    sleep_ms = float(params.get("sleep_ms", 0) or 0)
    if sleep_ms > 0:
        time.sleep(min(sleep_ms, 60_000) / 1000)
    body = event if params.get("echo") else {"ok": True, "request_id": context.aws_request_id}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


mark_init_done()
