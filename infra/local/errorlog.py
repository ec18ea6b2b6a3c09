"""What the function did wrong, on the console, as the local Lambda sees it.

A client of a failing function sees only ``502 Internal Server Error``; the console of
``coldbench local`` (and ``run``/``ui`` on a local target) says why: init errors,
invocation errors, timeouts, crashes and out-of-memory, each distinct error once (type,
message, the first lines of the trace), then a count as it recurs, and a tally at the
end. The lines go to the ``coldbench.function`` logger, which the CLI prints plainly.
"""

from __future__ import annotations

import json
import logging
from collections import Counter

log = logging.getLogger("coldbench.function")
TRACE_LINES = 6


def describe(error_type: str, document: bytes) -> tuple[str, str, list[str]]:
    """The type, message and first trace lines of an error document (the runtime's JSON
    ``{errorMessage, errorType, stackTrace}``), whatever shape it came in. The document's
    type names the exception (``ValueError``) where the header says only ``Unhandled``."""
    try:
        parsed = json.loads(document) if document else {}
    except ValueError:
        return error_type, document[:300].decode("utf-8", "replace"), []
    if not isinstance(parsed, dict):
        return error_type, str(parsed)[:300], []
    message = str(parsed.get("errorMessage") or "")
    trace = parsed.get("stackTrace") or []
    lines = [line.rstrip() for item in trace for line in str(item).splitlines() if line.strip()]
    return str(parsed.get("errorType") or error_type), message, lines[:TRACE_LINES]


class ErrorLog:
    """Counts each distinct error of one function and says it once (then at 10, 100, …)."""

    def __init__(self, function: str):
        self.function = function
        self.counts: Counter[tuple[str, str]] = Counter()

    def seen(self, phase: str, error_type: str, document: bytes = b"") -> None:
        error_type, message, trace = describe(error_type, document)
        key = (error_type, message)
        self.counts[key] += 1
        count = self.counts[key]
        if count == 1:
            lines = [f"{self.function}: {phase} error {error_type}: {message}".rstrip(": ")]
            lines += [f"    {line}" for line in trace]
            log.warning("\n".join(lines))
        elif count in (10, 100, 1000, 10000):
            log.warning("%s: %s again (%d times so far)", self.function, error_type, count)

    def tally(self) -> None:
        """Every distinct error and how often it happened (said once, at the end)."""
        if not self.counts:
            return
        parts = [f"{error_type} ×{n}" for (error_type, _), n in self.counts.most_common()]
        log.warning("%s: function errors this session: %s", self.function, ", ".join(parts))
