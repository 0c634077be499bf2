"""How many CPU threads a fit uses: a fixed count, so that a seed gives one run.

A seeded fit's numbers depend on its thread count (torch, oneDNN and BLAS split their
reductions by thread; on digits SeCu's seed 0 ended at NMI 0.761 with 2 threads and 0.914
with 1), but not on the machine's load once the count is fixed. So every fit that
clustlib starts (the CLI, the app's jobs, ``train_run``) runs with a *fixed* count --
``DEFAULT_THREADS`` unless told otherwise -- on every pool at once (torch's intra-op
threads, and through threadpoolctl the BLAS and OpenMP pools of numpy and scikit-learn),
and records it in run.json; ``clustlib reproduce`` re-trains with the recorded count.

Adapting to the load is what makes numbers unrepeatable, so it is asked for explicitly:
``threads="auto"`` takes the cores idle at the start (once; the count is then fixed and
recorded like any other). The measurements behind the default, on a quiet and a busy
machine, are in docs/benchmarks.md (``benchmarks/bench_threads.py``).

>>> resolve_threads(3), resolve_threads(None) == default_threads()
(3, True)
"""

from __future__ import annotations

import functools
import os
import platform
import time
from contextlib import contextmanager

from .settings import settings

DEFAULT_THREADS = 2  # whatever the machine: the same seed gives the same run on any of them


def default_threads() -> int:
    """$CLUSTLIB_THREADS when set (a server's operator may give its jobs 1 thread), else
    :data:`DEFAULT_THREADS`; either way the count is fixed and recorded in each run."""
    return settings().threads


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


def _process_jiffies(pid: int) -> float:
    """User + system CPU time of process ``pid`` in jiffies (0 when unreadable)."""
    try:
        with open(f"/proc/{int(pid)}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return float(fields[11]) + float(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return 0.0


def busy_cores(sample_s: float = 0.25, exclude: tuple[int, ...] = ()) -> float:
    """Cores kept busy by other processes over ``sample_s`` seconds, not counting the
    processes ``exclude`` (the app's server, busy drawing the page that started a job);
    the 1-minute load average where /proc/stat is missing."""
    first = _cpu_times()
    if first is None:
        try:
            return float(os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0.0
    own = sum(_process_jiffies(p) for p in exclude)
    time.sleep(sample_s)
    second = _cpu_times()
    busy = second[0] - first[0] - (sum(_process_jiffies(p) for p in exclude) - own)
    total = second[1] - first[1]
    return max(0.0, (os.cpu_count() or 1) * busy / total) if total > 0 else 0.0


def idle_threads(sample_s: float = 0.25, exclude: tuple[int, ...] = ()) -> int:
    """The cores other processes leave idle now (rounded, at least 1)."""
    cores = usable_cores()
    return max(1, min(cores, int(cores - busy_cores(sample_s, exclude) + 0.5)))


def resolve_threads(requested=None, exclude: tuple[int, ...] = ()) -> int:
    """The thread count of a fit: ``requested`` (a positive count), ``"auto"`` (the cores
    idle now: not repeatable on a busy machine), or None / 0 for :func:`default_threads`."""
    if requested in (None, 0, "0", ""):
        return default_threads()
    if str(requested).strip().lower() == "auto":
        return idle_threads(exclude=exclude)
    try:
        n = int(requested)
    except (TypeError, ValueError):
        raise ValueError(f"threads={requested!r}: give a positive count or 'auto'.") from None
    if n < 1:
        raise ValueError(f"threads={n}: give a positive count or 'auto'.")
    return n


@contextmanager
def fixed_threads(n: int):
    """Every thread pool a fit uses at ``n`` threads for the block (restored after):
    torch's intra-op threads and, through threadpoolctl, the BLAS and OpenMP pools of
    numpy and scikit-learn (k-means inside the methods)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        with threadpool_limits(int(n)):
            yield
    finally:
        torch.set_num_threads(before)


def machine() -> dict:
    """:func:`_machine`'s answer (a copy: callers may add to it); read once a process."""
    return dict(_machine())


@functools.lru_cache(maxsize=1)
def _machine() -> dict:
    """The CPU (its model decides which kernels BLAS and oneDNN run, so another model may
    give other numbers for the same seed), its cores, the platform and the GPU if any."""

    import torch

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    except OSError:
        pass
    out = {"cpu": model, "cores": os.cpu_count() or 1, "platform": platform.platform(terse=True)}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out
