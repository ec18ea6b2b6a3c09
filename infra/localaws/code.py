"""Uploaded deployment packages: checked as Lambda checks them, unpacked once per content.

A package is refused as Lambda refuses it (not a zip, over the direct-upload size, over
the unzipped size) and otherwise unpacked into a folder named by its SHA-256, the task
root every environment of every version with that code runs from.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from coldbench.infra.errors import ApiError

MAX_ZIPPED_BYTES = 50 * 1024 * 1024  # a direct upload (ZipFile)
MAX_UNZIPPED_BYTES = 262_144_000


@dataclass(frozen=True)
class Code:
    sha256: str  # base64 of the zip's SHA-256 digest, as CodeSha256 shows it
    size: int
    task_root: Path


class CodeStore:
    def __init__(self, root: Path):
        self.root = root

    def store(self, zip_bytes: bytes, operation: str) -> Code:
        """Unpack a package (once per content); raises :class:`ApiError` as Lambda does."""
        if len(zip_bytes) > MAX_ZIPPED_BYTES:
            raise ApiError(
                "RequestEntityTooLargeException",
                f"Request must be smaller than 70167211 bytes for the {operation} operation",
                413,
            )
        digest = hashlib.sha256(zip_bytes).digest()
        task_root = self.root / digest.hex()[:24]
        if not (task_root / ".complete").exists():
            try:
                with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
                    if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED_BYTES:
                        raise ApiError(
                            "InvalidParameterValueException",
                            f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes",
                        )
                    task_root.mkdir(parents=True, exist_ok=True)
                    zf.extractall(task_root)
            except (zipfile.BadZipFile, EOFError) as exc:
                raise ApiError(
                    "InvalidParameterValueException",
                    "Could not unzip uploaded file. Please check your file, then try to "
                    "upload again.",
                ) from exc
            (task_root / ".complete").touch()
        return Code(base64.b64encode(digest).decode(), len(zip_bytes), task_root)

    def keep_zip(self, zip_bytes: bytes) -> None:
        """Keep a package as uploaded, for :meth:`zip_of` (a layer's download)."""
        path = self.root / f"{hashlib.sha256(zip_bytes).hexdigest()}.zip"
        if not path.exists():
            path.write_bytes(zip_bytes)

    def zip_of(self, sha256_hex: str) -> bytes | None:
        path = self.root / f"{sha256_hex}.zip"
        if not all(c in "0123456789abcdef" for c in sha256_hex) or not path.exists():
            return None
        return path.read_bytes()

    @staticmethod
    def unzipped(code: Code) -> int:
        """The unpacked size of stored code."""
        return sum(p.stat().st_size for p in code.task_root.rglob("*") if p.is_file())
