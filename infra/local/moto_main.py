"""``python -m coldbench.infra.local.moto_main``: moto's server, listing its services once.

moto's request dispatch asks on every request whether the Host header names one of its
service modules, and lists its package directory to find out (a ``stat`` of each of
~180 folders): on the 2-core development machine, reading that list once cuts moto's CPU
for a small ``PutLogEvents`` request by a quarter to a half (``bench/bench_telemetry.py``
prints both), paid for each request the local Lambda's telemetry ships. The list cannot change while the server runs, so it is
read once. Everything else is moto's own ``moto.server``, arguments included.
"""

from __future__ import annotations

import functools

from moto import backends
from moto.server import main

_listed = backends.list_of_moto_modules


@functools.cache
def _listed_once() -> tuple[str, ...]:
    return tuple(_listed())


# The dispatcher looks the function up on the module at each request, so replacing the
# module's attribute is enough.
backends.list_of_moto_modules = _listed_once

if __name__ == "__main__":
    main()
