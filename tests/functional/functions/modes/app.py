"""Test function: behaviour chosen per request by the ``mode`` query parameter."""

import json
import logging
import os
import subprocess
import sys
import threading
import time

from coldbench_probe import probe

_ticks = [0]


def _tick() -> None:  # background work: runs only while the environment is not frozen
    while True:
        time.sleep(0.01)
        _ticks[0] += 1


threading.Thread(target=_tick, daemon=True).start()


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
    if mode == "spawn":  # a child that would outlive the environment: sleep <tag>
        tag = params["tag"]
        detach = params.get("detach") == "1"  # its own session, as a daemon makes
        subprocess.Popen(["sleep", tag], start_new_session=detach)
        if params.get("then") == "exit":
            os._exit(1)
        return {"statusCode": 200, "body": tag}
    if mode == "childhog":  # a child holding memory (MB) while the handler waits on it
        size = int(params.get("mb", "185"))
        code = f"b = bytearray({size} << 20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(30)"
        child = subprocess.Popen([sys.executable, "-S", "-c", code])
        child.wait()
        return {"statusCode": 200, "body": "child ended"}
    if mode == "blank":  # empty lines, blank-edged text and a line over 256 KB among output
        print("")
        print("\n\nblank-edged\n\n")
        print("y" * int(params.get("long", "0")))
        return _ok(event, context)
    if mode == "logexc":  # a logged traceback: one record, with newlines
        try:
            raise ValueError("logged on purpose")
        except ValueError:
            logging.getLogger().exception("handled %s", params.get("tag", ""))
        return _ok(event, context)
    if mode == "printline":
        print(f"line {params.get('tag', '')}")
        return _ok(event, context)
    if mode == "tmp":  # what its temporary folder holds, then leave a file there
        import glob
        import tempfile

        tmp = tempfile.gettempdir()  # /tmp itself where the environment has its own
        seen = sorted(glob.glob(f"{tmp}/coldbench-mark-*"))
        with open(f"{tmp}/coldbench-mark-{os.getpid()}", "w") as f:
            f.write("x")
        return {"statusCode": 200, "body": json.dumps({"seen": seen, "tempdir": tmp})}
    if mode == "sleep":
        time.sleep(float(params.get("s", "1")))
    if mode == "ticks":
        return {"statusCode": 200, "body": str(_ticks[0])}
    if mode == "environ":
        return {"statusCode": 200, "body": json.dumps(dict(os.environ))}
    if mode == "echo":
        return {"statusCode": 200, "body": json.dumps(event)}
    if mode == "string":
        return "plain text"
    if mode == "list":
        return [1, 2, 3]
    if mode == "big":
        return {"statusCode": 200, "body": "x" * (int(params.get("mb", "7")) * 1024 * 1024)}
    if mode == "hog":
        hog = bytearray(int(params.get("mb", "300")) * 1024 * 1024)
        hog[::4096] = b"x" * len(hog[::4096])
        return {"statusCode": 200, "body": str(len(hog))}
    return _ok(event, context)
