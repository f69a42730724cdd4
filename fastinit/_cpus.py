"""How many CPUs this process may use: its CPU affinity, capped by a cgroup CPU quota.

A container limited to 4 CPUs on a 64-core host (``docker run --cpus 4``, a Kubernetes CPU
limit) sees 64 cores in ``os.cpu_count()`` but gets 4 CPUs' worth of time: running 64 threads
there only makes them wait for each other.  The quota is read as joblib/loky do (cgroup v2
``cpu.max``, cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), and also on the ancestors
of this process's cgroup, since a limit set on a parent applies to its children.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"
PROC_SELF_CGROUP = "/proc/self/cgroup"


def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (``taskset``, ``os.sched_setaffinity``, cpusets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _v2_quota(text: str | None) -> float | None:
    """cpu.max: "max 100000" (no limit) or "<quota> <period>" in microseconds."""
    if not text:
        return None
    parts = text.split()
    try:
        if parts[0] == "max":
            return None
        quota, period = int(parts[0]), int(parts[1]) if len(parts) > 1 else 100_000
    except (ValueError, IndexError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v1_quota(quota_text: str | None, period_text: str | None) -> float | None:
    """cpu.cfs_quota_us (-1: no limit) over cpu.cfs_period_us."""
    try:
        quota, period = int(quota_text), int(period_text)
    except (TypeError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _own_cgroups(proc_self_cgroup: str) -> tuple[str | None, str | None]:
    """This process's cgroup v2 path and cgroup v1 "cpu" controller path, from /proc/self/cgroup
    (lines "hierarchy:controllers:path"; v2 is hierarchy 0 with no controllers)."""
    text = _read(Path(proc_self_cgroup)) or ""
    v2 = v1 = None
    for line in text.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        hierarchy, controllers, path = fields
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _dirs(base: Path, cgroup_path: str | None) -> list[Path]:
    """base/cgroup_path and each of its ancestors up to base.  Inside a container the hierarchy
    is usually mounted at the container's own cgroup, so the host path may not exist below base:
    only directories that exist are kept."""
    parts = [p for p in (cgroup_path or "").split("/") if p]
    candidates = [base.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]
    return [d for d in candidates if d.is_dir()]


def cgroup_cpu_limit(root: str = CGROUP_ROOT, proc_self_cgroup: str = PROC_SELF_CGROUP) -> float | None:
    """CPUs' worth of time this process's cgroup quota allows (e.g. 4.0 or 1.5), the smallest
    over its cgroup and their ancestors, v2 and v1; None when there is no quota."""
    base = Path(root)
    v2_path, v1_path = _own_cgroups(proc_self_cgroup)
    limits = [_v2_quota(_read(d / "cpu.max")) for d in _dirs(base, v2_path)]
    for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for d in _dirs(base / mount, v1_path):
            limits.append(_v1_quota(_read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")))
    limits = [x for x in limits if x is not None]
    return min(limits) if limits else None


def available_cpus(quota: float | None = None) -> int:
    """CPUs this process can use: its affinity mask, capped by the cgroup quota rounded up
    (a 1.5-CPU quota allows 2 threads, as joblib.cpu_count counts it)."""
    cpus = affinity_cpus()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return cpus
