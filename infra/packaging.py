"""Deterministic zip packaging of a function, identical for AWS and the local Lambda.

Entries are sorted, timestamps fixed, permissions normalised and ``__pycache__`` left
out, so the same source always gives the same bytes and the same hash: an unchanged
function is never re-uploaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from coldbench.infra.errors import PackagingError

FUNCTIONS_DIR = Path(__file__).parent / "functions"
PROBE_MODULE = FUNCTIONS_DIR / "coldbench_probe.py"
BUILTIN_VARIANTS = {
    "probe": "app.handler",
    "naive": "app.handler",
    "optimized": "app.handler",
    "faults": "app.handler",
}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache"}


@dataclass(frozen=True)
class Package:
    zip_bytes: bytes
    sha256: str  # hex digest of the zip
    handler: str
    files: int

    @property
    def size(self) -> int:
        return len(self.zip_bytes)


def source_for(variant: str, source: str = "", handler: str = "") -> tuple[Path, str]:
    """The folder and handler of a built-in variant or of a user's own function."""
    if variant == "custom":
        path = Path(source).expanduser()
        if not path.is_dir():
            raise PackagingError(f"function.source {source!r} is not a directory")
        return path, handler
    if variant not in BUILTIN_VARIANTS:
        raise PackagingError(f"unknown function variant {variant!r}")
    return FUNCTIONS_DIR / variant, handler or BUILTIN_VARIANTS[variant]


def _files(root: Path) -> list[tuple[str, Path]]:
    """Every file to zip. A symbolic link whose target lies outside the folder (a
    credentials file, say) is refused, naming it: what is uploaded is the folder."""
    entries = []
    inside = root.resolve()
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(p in _SKIP_DIRS for p in rel.parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(inside):
            raise PackagingError(
                f"{path} links outside the function's folder (to {path.resolve()}): "
                "copy what the function needs into the folder instead"
            )
        if path.is_file() and path.suffix != ".pyc":
            entries.append((rel.as_posix(), path))
    return entries


def _vendored(source_dir: Path) -> dict[str, Path]:
    """Packages named in ``vendor.txt``, copied from the build environment into the zip."""
    listing = source_dir / "vendor.txt"
    if not listing.exists():
        return {}
    entries: dict[str, Path] = {}
    for line in listing.read_text().splitlines():
        name = line.split("#")[0].strip()
        if not name:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise PackagingError(f"{listing}: package {name!r} is not installed")
        root = Path(next(iter(spec.submodule_search_locations)))
        for rel, path in _files(root):
            entries[f"{name}/{rel}"] = path
    return entries


def build_package(source_dir: Path, handler: str, include_probe: bool = True) -> Package:
    """Zip ``source_dir`` (plus vendored packages and the drop-in probe) deterministically.

    Raises:
        PackagingError: the folder is missing, empty, or lacks the handler's module.
    """
    if not source_dir.is_dir():
        raise PackagingError(f"function source {source_dir} is not a directory")
    entries = {**_vendored(source_dir), **dict(_files(source_dir))}
    entries.pop("vendor.txt", None)
    if include_probe and "coldbench_probe.py" not in entries:
        entries["coldbench_probe.py"] = PROBE_MODULE
    module = handler.rpartition(".")[0].replace(".", "/")
    if f"{module}.py" not in entries and f"{module}/__init__.py" not in entries:
        raise PackagingError(f"handler {handler!r}: no {module}.py in {source_dir}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name].read_bytes())
    data = buffer.getvalue()
    return Package(data, hashlib.sha256(data).hexdigest(), handler, len(entries))


def unpack(package: Package, cache_root: Path) -> Path:
    """Extract a package once per content hash; returns the task root."""
    task_root = cache_root / package.sha256[:16]
    if not (task_root / ".complete").exists():
        task_root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as zf:
            zf.extractall(task_root)
        (task_root / ".complete").touch()
    return task_root
