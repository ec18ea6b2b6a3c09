"""Dependencies from requirements.txt, built by pip as `sam build` builds them: offline
here (a wheel made in the test, `--no-index --find-links`), for the local interpreter."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from coldbench.infra import dependencies
from coldbench.infra.errors import PackagingError
from coldbench.infra.packaging import build_package


def make_wheel(folder: Path, name: str = "cbdemo", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel, written by hand (no network, no build backend)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        f"{name}/__init__.py": f"VALUE = '{name} {version}'\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


@pytest.fixture
def offline_index(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.chdir(tmp_path)
    return wheels


def function_with(tmp_path: Path, requirements: str) -> Path:
    source = tmp_path / "fn"
    source.mkdir()
    (source / "app.py").write_text("import cbdemo\n\ndef handler(e, c):\n    return 1\n")
    (source / "requirements.txt").write_text(requirements)
    return source


def test_requirements_are_installed_with_their_metadata_and_cached(tmp_path, offline_index):
    source = function_with(tmp_path, "cbdemo==1.0\n")
    first = build_package(source, "app.handler")
    names = zipfile.ZipFile(io.BytesIO(first.zip_bytes)).namelist()
    assert "cbdemo/__init__.py" in names and "cbdemo-1.0.dist-info/METADATA" in names
    assert "requirements.txt" not in names
    shutil.rmtree(offline_index)  # a second build needs no pip: the cache holds it
    assert build_package(source, "app.handler").sha256 == first.sha256, "deterministic"
    assert len(list((tmp_path / ".coldbench" / "build").iterdir())) == 1


def test_a_requirement_pip_cannot_get_is_named(tmp_path, offline_index):
    source = function_with(tmp_path, "cbdemo==1.0\nno-such-package-anywhere==9\n")
    with pytest.raises(PackagingError, match="no-such-package-anywhere"):
        build_package(source, "app.handler")


def test_aws_builds_ask_pip_for_the_functions_platform():
    arm = dependencies.Platform("arm64", "python3.13").pip_arguments()
    assert arm[:2] == ["--platform", "manylinux2014_aarch64"]
    assert "--only-binary=:all:" in arm and arm[arm.index("--python-version") + 1] == "3.13"
    assert dependencies.LOCAL.pip_arguments() == []


def test_pyproject_dependencies_count_as_requirements(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "f"\ndependencies = ["a>=1"]\n')
    assert dependencies.requirements(tmp_path) == ["a>=1"]


def test_a_bad_vendor_line_is_an_error_naming_the_line(tmp_path):
    source = tmp_path / "fn"
    source.mkdir()
    (source / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (source / "vendor.txt").write_text("six\n../../etc/passwd\n")
    with pytest.raises(PackagingError, match=r"vendor.txt, line 2: '../../etc/passwd'"):
        build_package(source, "app.handler")


@pytest.mark.slow
def test_a_real_requirement_for_arm64_gets_arm64_extension_modules(tmp_path, monkeypatch):
    """From the package registry: a native wheel built for the function's platform, not
    for the build machine (x86_64, CPython 3.11)."""
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "fn"
    source.mkdir()
    (source / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (source / "requirements.txt").write_text("simplejson==3.20.1\n")
    platform = dependencies.Platform("arm64", "python3.12")
    package = build_package(source, "app.handler", platform=platform)
    names = zipfile.ZipFile(io.BytesIO(package.zip_bytes)).namelist()
    extensions = [n for n in names if n.endswith(".so")]
    assert extensions and all("aarch64" in n and "cpython-312" in n for n in extensions)
