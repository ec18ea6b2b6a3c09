"""CPU share proportional to memory, as Lambda gives it (1,769 MB = 1 vCPU).

Uses a cgroup per environment: cgroup v1 ``cpu.cfs_quota_us`` or cgroup v2 ``cpu.max``.
Where neither is writable (no root, read-only cgroupfs) :func:`detect` says so and the
target description records CPU scaling as not emulated.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

MB_PER_VCPU = 1769
PERIOD_US = 100_000
_V1_ROOT = Path("/sys/fs/cgroup/cpu")
_V2_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CpuScaler:
    """Creates and removes per-environment cgroups under one parent."""

    mode: str  # cgroup-v1 | cgroup-v2 | off
    parent: Path | None = None

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def quota_us(self, memory_mb: int) -> int:
        vcpus = min(memory_mb / MB_PER_VCPU, os.cpu_count() or 1)
        return max(1000, int(PERIOD_US * vcpus))

    def create(self, name: str, memory_mb: int) -> Path | None:
        """Make a cgroup for one environment; returns the file to write its pid into."""
        if not self.enabled or self.parent is None:
            return None
        group = self.parent / name
        group.mkdir(exist_ok=True)
        quota = self.quota_us(memory_mb)
        if self.mode == "cgroup-v1":
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        return group / "cgroup.procs"

    def remove(self, name: str) -> None:
        if self.parent is not None:
            try:
                (self.parent / name).rmdir()
            except OSError:
                pass

    def cleanup(self) -> None:
        if self.parent is not None and self.parent.exists():
            for child in self.parent.iterdir():
                if child.is_dir():
                    self.remove(child.name)
            try:
                self.parent.rmdir()
            except OSError:
                shutil.rmtree(self.parent, ignore_errors=True)


def detect(setting: str, instance: str) -> CpuScaler:
    """Pick the cgroup flavour this machine lets us write.

    Parameters:
        setting: ``auto`` (use if possible), ``on`` (same, the caller reports failure),
            or ``off``.
        instance: a unique name for this local Lambda's parent group.
    """
    if setting == "off":
        return CpuScaler("off")
    candidates = [("cgroup-v1", _V1_ROOT)]
    if (_V2_ROOT / "cgroup.controllers").exists():
        candidates.insert(0, ("cgroup-v2", _V2_ROOT))
    for mode, root in candidates:
        parent = root / f"coldbench-{instance}"
        try:
            parent.mkdir(exist_ok=True)
            probe = CpuScaler(mode, parent)
            procs = probe.create("probe", 128)
            if procs is None:
                continue
            probe.remove("probe")
            return probe
        except OSError:
            shutil.rmtree(parent, ignore_errors=True)
            try:
                parent.rmdir()
            except OSError:
                pass
    return CpuScaler("off")
