"""Test function: behaviour chosen per request by the ``mode`` query parameter."""

import json
import os
import time

from coldbench_probe import probe


@probe
def _ok(event, context):
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def handler(event, context):
    params = event.get("queryStringParameters") or {}
    mode = params.get("mode", "ok")
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "crash":
        os._exit(3)
    if mode == "sleep":
        time.sleep(float(params.get("s", "1")))
    if mode == "echo":
        return {"statusCode": 200, "body": json.dumps(event)}
    if mode == "string":
        return "plain text"
    if mode == "list":
        return [1, 2, 3]
    if mode == "big":
        return {"statusCode": 200, "body": "x" * (7 * 1024 * 1024)}
    if mode == "hog":
        hog = bytearray(int(params.get("mb", "300")) * 1024 * 1024)
        hog[::4096] = b"x" * len(hog[::4096])
        return {"statusCode": 200, "body": str(len(hog))}
    return _ok(event, context)
