"""How many torch threads a fit may use without oversubscribing the cores.

With one other busy process on a 2-core machine, a CNN step with 2 torch (OpenMP)
threads took 7x as long as on a quiet machine, with 1 thread 2x: a training that takes
every core while another process also computes loses far more than it gains. So the CLI
and the app's jobs count the cores that are actually idle, once, before training.

>>> 1 <= pick_threads() <= usable_cores()
True
"""

from __future__ import annotations

import os
import time


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all cores from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as fh:
            parts = [float(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0.0)  # idle + iowait
    return sum(parts) - idle, sum(parts)


def busy_cores(sample_s: float = 0.25) -> float:
    """Cores kept busy by all processes over ``sample_s`` seconds (the 1-minute load
    average where /proc/stat is missing)."""
    first = _cpu_times()
    if first is None:
        try:
            return float(os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0.0
    time.sleep(sample_s)
    second = _cpu_times()
    busy, total = second[0] - first[0], second[1] - first[1]
    return (os.cpu_count() or 1) * busy / total if total > 0 else 0.0


def pick_threads(requested: int = 0, sample_s: float = 0.25) -> int:
    """``requested`` threads when > 0, else the idle cores (rounded, at least 1)."""
    cores = usable_cores()
    if requested > 0:
        return int(requested)
    return max(1, min(cores, round(cores - busy_cores(sample_s))))
