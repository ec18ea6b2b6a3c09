"""Max Memory Used comes from the kernel's own figures: the peak and current resident
memory of ``/proc/<pid>/status``, read on every invocation."""

from __future__ import annotations

import os
from pathlib import Path

from coldbench.infra.local.environment import read_memory_kb


def test_peak_and_current_memory_are_the_kernels_figures():
    status = Path(f"/proc/{os.getpid()}/status").read_bytes()
    lines = {
        line.split(b":")[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith((b"VmHWM:", b"VmRSS:"))
    }
    peak, current = read_memory_kb(status)
    assert peak == lines[b"VmHWM"] and peak >= current > 0
    assert abs(current - lines[b"VmRSS"]) < 4096  # read twice: a few pages apart at most
    assert read_memory_kb(b"Name:\tzombie\nState:\tZ (zombie)\n") == (0, 0)
