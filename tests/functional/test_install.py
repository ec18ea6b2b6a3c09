"""Installed from a wheel, coldbench is one `coldbench` package and runs from anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("coldbench", "record", "infra", "analysis", "locustfiles")
_IGNORE = {"ignore": shutil.ignore_patterns("__pycache__")}


def test_the_wheel_installs_one_namespace_and_runs_in_an_empty_directory(tmp_path):
    wheels, site, empty = tmp_path / "wheels", tmp_path / "site", tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "source").mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    source = tmp_path / "source"  # built from a copy: a build leaves build/ where it runs
    for name in ("pyproject.toml", "README.md", *FOLDERS):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name, **_IGNORE if (REPO / name).is_dir() else {})
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True)
    (wheel,) = wheels.glob("coldbench-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    assert sorted(
        p.name for p in site.iterdir() if p.name not in ("bin",) and "dist-info" not in p.name
    ) == ["coldbench"], "no generic top-level package (analysis, infra, locustfiles, record)"
    functions = site / "coldbench" / "infra" / "functions"
    assert (functions / "probe" / "app.py").is_file() and (
        functions / "coldbench_probe.py"
    ).exists()
    assert (site / "coldbench" / "locustfiles" / "locustfile.py").is_file()

    # The installed copy comes first on the path; the repository is nowhere near.
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("COLDBENCH_CONFIG", None)

    def python(code: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code], cwd=empty, env=env, capture_output=True, text=True
        )

    assert python("import analysis").returncode != 0
    assert python("import infra").returncode != 0
    where = python("import coldbench.analysis.summary as m; print(m.__file__)")
    assert where.stdout.strip().startswith(str(site)), where.stderr
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "coldbench.cli",
            "run",
            "--set",
            "load.cycles=1",
            "--set",
            "load.hold_s=2",
            "--set",
            "load.idle_s=2",
        ],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "report: " in run.stdout
    assert list((empty / "reports").glob("*/index.html"))
