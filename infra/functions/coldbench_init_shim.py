"""coldbench's init-profiling shim, packaged beside the function when
``function.profile_init`` is on, and configured as its handler.

The runtime loads a handler module with ``importlib.import_module``, for which Python's
import-time report (``PYTHONPROFILEIMPORTTIME``) prints no line of its own: the module's
nested imports appear un-nested and its own top-level work is invisible. This shim
imports the real handler's module with the import statement's machinery instead, so the
report gets its line, times that import, and says on stderr (in order with the report's
lines) where init ended and where the first invocation began; it then delegates.
"""

import json
import os
import sys
import time

_TARGET = os.environ.get("COLDBENCH_PROFILED_HANDLER", "app.handler")
_MODULE, _, _FUNCTION = _TARGET.rpartition(".")

_started = time.perf_counter()
__import__(_MODULE)  # the import statement's path: the report prints this module's line
_import_us = int((time.perf_counter() - _started) * 1e6)
_handler = getattr(sys.modules[_MODULE], _FUNCTION)
_first = True

print(
    "coldbench-init "
    + json.dumps({"event": "init-end", "module": _MODULE, "import_us": _import_us}),
    file=sys.stderr,
    flush=True,
)


def handler(event, context):
    global _first
    if _first:
        _first = False
        print('coldbench-init {"event": "first-invoke"}', file=sys.stderr, flush=True)
    return _handler(event, context)
