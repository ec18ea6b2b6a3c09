"""One progress line on standard error, for every stage that makes the user wait.

On a terminal a bar is redrawn in place; elsewhere (CI logs, a file) a plain line is
printed at most every ``every_s`` seconds, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self,
        label: str,
        total: float,
        unit: str = "",
        width: int = 30,
        every_s: float = 15.0,
        stream: TextIO | None = None,
    ):
        self.label, self.total, self.unit, self.width = label, total, unit, width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s
        self._last_line = -float("inf")
        self._drawn = False

    def text(self, done: float, note: str = "") -> str:
        share = min(1.0, done / self.total) if self.total else 1.0
        bar = "#" * int(share * self.width)
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.label}: [{bar:<{self.width}}] {done:,.0f}/{self.total:,.0f}{unit}{note}"

    def update(self, done: float, note: str = "") -> None:
        if self.tty:
            print("\r" + self.text(done, note), end="", file=self.stream, flush=True)
            self._drawn = True
        elif time.monotonic() - self._last_line >= self.every_s:
            self._last_line = time.monotonic()
            print(self.text(done, note), file=self.stream, flush=True)

    def close(self, summary: str = "") -> None:
        """End the line; ``summary`` is printed as the final state."""
        if self._drawn:
            print(file=self.stream)
        if summary:
            print(f"{self.label}: {summary}", file=self.stream, flush=True)
