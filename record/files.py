"""Writing files so a reader never sees half of one: write beside, then rename."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def open_atomic(path: Path) -> Iterator[TextIO]:
    """A text file that appears at ``path`` whole when the block ends, or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> Path:
    with open_atomic(path) as f:
        f.write(text)
    return path


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
