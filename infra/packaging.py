"""Deterministic zip packaging of a function, identical for AWS and the local Lambda.

Entries are sorted, timestamps fixed, permissions normalised and ``__pycache__`` left
out, so the same source always gives the same bytes and the same hash: an unchanged
function is never re-uploaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from coldbench.infra import dependencies
from coldbench.infra.dependencies import LOCAL, Platform
from coldbench.infra.errors import PackagingError

FUNCTIONS_DIR = Path(__file__).parent / "functions"
PROBE_MODULE = FUNCTIONS_DIR / "coldbench_probe.py"
INIT_SHIM = FUNCTIONS_DIR / "coldbench_init_shim.py"
SHIM_HANDLER = "coldbench_init_shim.handler"
PROFILED_HANDLER_VAR = "COLDBENCH_PROFILED_HANDLER"
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


def profiled(handler: str, env: dict[str, str], profile_init: bool) -> tuple[str, dict[str, str]]:
    """The handler and environment a function is configured with: as given, or, with
    ``function.profile_init``, the init shim in front of the handler and Python's
    import-time report switched on (its lines go to stderr, so to the function's logs)."""
    if not profile_init:
        return handler, env
    return SHIM_HANDLER, {**env, "PYTHONPROFILEIMPORTTIME": "1", PROFILED_HANDLER_VAR: handler}


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


_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
MAX_ZIPPED_BYTES = 50 * 1024 * 1024  # a direct upload
MAX_UNZIPPED_BYTES = 262_144_000  # with layers


def _vendored(source_dir: Path) -> dict[str, Path]:
    """Modules named in ``vendor.txt``, copied from the build environment into the zip:
    an escape hatch kept for what pip cannot fetch; ``requirements.txt`` is the way."""
    listing = source_dir / "vendor.txt"
    if not listing.exists():
        return {}
    entries: dict[str, Path] = {}
    for number, line in enumerate(listing.read_text().splitlines(), 1):
        name = line.split("#")[0].strip()
        if not name:
            continue
        if not _MODULE_NAME.fullmatch(name):
            raise PackagingError(f"{listing}, line {number}: {name!r} is not a module name")
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise PackagingError(f"{listing}, line {number}: {name!r} is not installed")
        if spec.submodule_search_locations:  # a package: its folder
            root = Path(next(iter(spec.submodule_search_locations)))
            for rel, path in _files(root):
                entries[f"{name.replace('.', '/')}/{rel}"] = path
        elif spec.origin and spec.origin not in ("built-in", "frozen"):  # one module: six.py
            entries[Path(spec.origin).name] = Path(spec.origin)
        else:
            raise PackagingError(f"{listing}, line {number}: {name!r} has no file to copy")
    return entries


def build_package(
    source_dir: Path,
    handler: str,
    include_probe: bool = True,
    platform: Platform = LOCAL,
    profile_init: bool = False,
) -> Package:
    """Zip ``source_dir`` (plus its dependencies built for ``platform``, vendored modules
    and the drop-in probe) deterministically.

    Raises:
        PackagingError: the folder is missing, empty, or lacks the handler's module; its
            dependencies cannot be built; or the package is over Lambda's limits.
    """
    if not source_dir.is_dir():
        raise PackagingError(f"function source {source_dir} is not a directory")
    built = dependencies.build(source_dir, platform)
    entries = dict(_files(built)) if built else {}
    entries.pop(".complete", None)
    entries.update({**_vendored(source_dir), **dict(_files(source_dir))})
    for own in ("vendor.txt", "requirements.txt"):
        entries.pop(own, None)
    if include_probe and "coldbench_probe.py" not in entries:
        entries["coldbench_probe.py"] = PROBE_MODULE
    if profile_init:
        entries["coldbench_init_shim.py"] = INIT_SHIM
    module = handler.rpartition(".")[0].replace(".", "/")
    if f"{module}.py" not in entries and f"{module}/__init__.py" not in entries:
        raise PackagingError(f"handler {handler!r}: no {module}.py in {source_dir}")
    _check_limits(entries, source_dir)
    return _zip(entries, source_dir, handler)


def build_layer(folder: Path, platform: Platform = LOCAL) -> Package:
    """Zip a folder as a Lambda layer, deterministically.

    Lambda unpacks a layer under ``/opt`` and puts ``python`` and
    ``python/lib/python3.x/site-packages`` on the path. A folder with a top-level
    ``python/`` is taken as that content as is; any other folder's files go under
    ``python/``. Its ``requirements.txt`` (or ``pyproject.toml`` dependencies) is built
    into ``python/`` for ``platform``, as a function's are.

    Raises:
        PackagingError: the folder is missing or empty, its dependencies cannot be
            built, or the layer is over Lambda's limits.
    """
    if not folder.is_dir():
        raise PackagingError(f"layer {folder} is not a directory")
    as_is = (folder / "python").is_dir()
    built = dependencies.build(folder, platform)
    entries = {f"python/{rel}": path for rel, path in _files(built)} if built else {}
    entries.pop("python/.complete", None)
    for rel, path in _files(folder):
        if rel in ("requirements.txt", "pyproject.toml"):
            continue
        entries[rel if as_is else f"python/{rel}"] = path
    if not entries:
        raise PackagingError(f"layer {folder} has no files")
    _check_limits(entries, folder)
    return _zip(entries, folder, "")


def _zip(entries: dict[str, Path], source_dir: Path, handler: str) -> Package:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name].read_bytes())
    data = buffer.getvalue()
    if len(data) > MAX_ZIPPED_BYTES:
        raise PackagingError(
            f"the package of {source_dir} is {len(data) / 2**20:.1f} MB zipped, over Lambda's "
            f"50 MB for a direct upload; biggest: {_biggest(entries)}"
        )
    return Package(data, hashlib.sha256(data).hexdigest(), handler, len(entries))


def _sizes(entries: dict[str, Path]) -> dict[str, int]:
    """Unzipped bytes by top-level name (a package, a module, a dist-info folder)."""
    sizes: dict[str, int] = {}
    for name, path in entries.items():
        top = name.split("/")[0]
        sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return sizes


def _biggest(entries: dict[str, Path], count: int = 5) -> str:
    ranked = sorted(_sizes(entries).items(), key=lambda kv: -kv[1])[:count]
    return ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in ranked)


def describe(package: Package, count: int = 5) -> str:
    """The biggest top-level entries of a built package, unzipped."""
    sizes: dict[str, int] = {}
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as zf:
        for info in zf.infolist():
            top = info.filename.split("/")[0]
            sizes[top] = sizes.get(top, 0) + info.file_size
    ranked = sorted(sizes.items(), key=lambda kv: -kv[1])[:count]
    return ", ".join(f"{name} {size / 1024:,.0f} KB" for name, size in ranked)


def _check_limits(entries: dict[str, Path], source_dir: Path) -> None:
    total = sum(_sizes(entries).values())
    if total > MAX_UNZIPPED_BYTES:
        raise PackagingError(
            f"the package of {source_dir} is {total / 2**20:.0f} MB unzipped, over Lambda's "
            f"250 MB; biggest: {_biggest(entries)}"
        )


def check_total(function: Package, layers: list[Package]) -> None:
    """Lambda's 250 MB for the function and all its layers together, unzipped.

    Raises:
        PackagingError: over the limit, with each part's size.
    """
    parts = [("function", function), *((f"layer {i + 1}", p) for i, p in enumerate(layers))]
    sizes = [(name, _unzipped(p)) for name, p in parts]
    total = sum(size for _, size in sizes)
    if total > MAX_UNZIPPED_BYTES:
        listed = ", ".join(f"{name} {size / 2**20:.0f} MB" for name, size in sizes)
        raise PackagingError(
            f"the function and its layers are {total / 2**20:.0f} MB unzipped, over Lambda's "
            f"250 MB: {listed}"
        )


def _unzipped(package: Package) -> int:
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as zf:
        return sum(info.file_size for info in zf.infolist())


def unpack(package: Package, cache_root: Path) -> Path:
    """Extract a package once per content hash; returns the task root."""
    task_root = cache_root / package.sha256[:16]
    if not (task_root / ".complete").exists():
        task_root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as zf:
            zf.extractall(task_root)
        (task_root / ".complete").touch()
    return task_root
