"""A function's dependencies, built the way ``sam build`` builds them.

A ``requirements.txt`` in the function's folder (or the ``[project] dependencies`` of its
``pyproject.toml``) is installed with pip into a build folder of its own: for AWS, wheels
for the function's platform (``manylinux2014_x86_64`` or ``_aarch64``) and its runtime's
Python version, binary only; for the local target, for the interpreter that runs the
environments. The folder is cached under ``.coldbench/build/`` by the hash of the
requirements, the platform and the Python version; ``*.dist-info`` is kept, so
``importlib.metadata`` works inside the function. pip's own index settings apply
(``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``, ``pip.conf``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from coldbench.infra.errors import PackagingError

BUILD_ROOT = Path(".coldbench") / "build"


@dataclass(frozen=True)
class Platform:
    """Where the function runs: AWS (architecture and runtime) or this interpreter."""

    architecture: str = ""  # x86_64 | arm64; empty: this machine's interpreter
    runtime: str = ""  # python3.12 ...

    @property
    def local(self) -> bool:
        return not self.architecture

    def pip_arguments(self) -> list[str]:
        if self.local:
            return []
        machine = "aarch64" if self.architecture == "arm64" else "x86_64"
        return [
            "--platform",
            f"manylinux2014_{machine}",
            "--implementation",
            "cp",
            "--python-version",
            self.runtime.removeprefix("python"),
            "--only-binary=:all:",
        ]

    def describe(self) -> str:
        if self.local:
            return "python{}.{} (this machine)".format(*sys.version_info[:2])
        return f"{self.runtime} {self.architecture}"


LOCAL = Platform()  # the interpreter that runs local environments


def requirements(source_dir: Path) -> list[str]:
    """The function's requirements: ``requirements.txt``, else ``pyproject.toml``'s
    ``[project] dependencies``; empty when it has neither."""
    listing = source_dir / "requirements.txt"
    if listing.exists():
        lines = [line.split("#")[0].strip() for line in listing.read_text().splitlines()]
        return [line for line in lines if line]
    project = source_dir / "pyproject.toml"
    if project.exists():
        try:
            data = tomllib.loads(project.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise PackagingError(f"{project} is not valid TOML: {exc}") from exc
        return list(data.get("project", {}).get("dependencies", []))
    return []


def build(source_dir: Path, platform: Platform, root: Path = BUILD_ROOT) -> Path | None:
    """Install the function's requirements into a cached build folder; None without any.

    Raises:
        PackagingError: pip failed (its message names the requirement it could not get).
    """
    wanted = requirements(source_dir)
    if not wanted:
        return None
    key = hashlib.sha256("\n".join([*wanted, platform.describe()]).encode()).hexdigest()[:20]
    folder = root / key
    if (folder / ".complete").exists():
        return folder
    staging = root / f"{key}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    listing = staging.with_suffix(".txt")
    listing.write_text("\n".join(wanted) + "\n")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(staging),
        "-r",
        str(listing),
        *platform.pip_arguments(),
    ]
    print(
        f"package: installing {len(wanted)} requirement(s) for {platform.describe()}",
        file=sys.stderr,
    )
    result = subprocess.run(cmd, capture_output=True, text=True)
    listing.unlink(missing_ok=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
        detail = "\n".join(errors[-5:] or result.stderr.splitlines()[-5:])
        raise PackagingError(
            f"pip could not install the requirements of {source_dir} for "
            f"{platform.describe()}:\n{detail}"
        )
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: not importable
    (staging / ".complete").touch()
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder
