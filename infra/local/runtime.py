"""The runtime folder an environment sees: what Lambda's Python runtime ships, no more.

On Lambda a function finds its own package, its layers, and the runtime's libraries:
the runtime interface client and boto3 with botocore and their dependencies. Locally
the environments run this machine's interpreter without site-packages (``-S``), and
their library path is a folder of links to just those distributions, so a handler that
imports something it did not package (pandas, requests, coldbench) fails with
``Runtime.ImportModuleError`` here as it would on AWS.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from importlib import metadata
from pathlib import Path

RUNTIME_DISTRIBUTIONS = ("awslambdaric", "boto3")  # and what they require


def _closure(names: tuple[str, ...]) -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    queue = list(names)
    while queue:
        name = queue.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency this machine lacks
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found[key] = dist
        for requirement in dist.requires or []:
            if "extra ==" in requirement.partition(";")[2]:
                continue
            queue.append(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
    return found


def runtime_dir(root: Path) -> Path:
    """``root/runtime``: links to the runtime's distributions (made once per root)."""
    folder = root / "runtime"
    if (folder / ".complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for dist in _closure(RUNTIME_DISTRIBUTIONS).values():
        tops = {
            str(f).split("/")[0]
            for f in dist.files or []
            if not str(f).startswith("..") and not str(f).startswith("__pycache__")
        }
        for top in tops:
            link = folder / top
            if not link.exists():
                link.symlink_to(Path(str(dist.locate_file(top))).resolve())
    (folder / ".complete").touch()
    return folder


def opt_dir(layer_roots: list[Path], root: Path) -> Path | None:
    """The layers as Lambda lays them out under ``/opt``: unpacked in order into one
    folder, a later layer's file replacing an earlier one's. One layer is its own folder;
    several are merged once per combination under ``root``."""
    if not layer_roots:
        return None
    if len(layer_roots) == 1:
        return layer_roots[0]
    key = hashlib.sha256("\n".join(map(str, layer_roots)).encode()).hexdigest()[:16]
    merged = root / f"opt-{key}"
    if not (merged / ".complete").exists():
        shutil.rmtree(merged, ignore_errors=True)
        for layer in layer_roots:
            shutil.copytree(
                layer, merged, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete")
            )
        (merged / ".complete").touch()
    return merged
