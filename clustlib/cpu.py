"""How many torch threads a fit may use without oversubscribing the cores.

With one other busy process on a 2-core machine, a CNN step with 2 torch (OpenMP)
threads took 7x as long as on a quiet machine, with 1 thread 2x: a training that takes
every core while another process also computes loses far more than it gains. So the CLI
and the app's jobs count the cores that are actually idle before training, and
:class:`ThreadGovernor` counts again between rounds.

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


def _process_jiffies(pid: int) -> float:
    """User + system CPU time of process ``pid`` in jiffies (0 when unreadable)."""
    try:
        with open(f"/proc/{int(pid)}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return float(fields[11]) + float(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return 0.0


def _look(exclude: tuple[int, ...]) -> tuple[float, tuple[float, float], float] | None:
    """(monotonic time, /proc/stat (busy, total), jiffies of ``exclude``), or None off Linux."""
    times = _cpu_times()
    return None if times is None else (time.monotonic(), times, sum(_process_jiffies(p) for p in exclude))


def _others(first, second) -> float:
    """Cores kept busy between two looks by processes other than the excluded ones."""
    busy = second[1][0] - first[1][0] - (second[2] - first[2])
    total = second[1][1] - first[1][1]
    return max(0.0, (os.cpu_count() or 1) * busy / total) if total > 0 else 0.0


def _idle_threads(others: float) -> int:
    cores = usable_cores()
    return max(1, min(cores, int(cores - others + 0.5)))


def busy_cores(sample_s: float = 0.25, exclude: tuple[int, ...] = ()) -> float:
    """Cores kept busy by other processes over ``sample_s`` seconds, not counting the
    processes ``exclude`` (the app's server, busy drawing the page that started a job);
    the 1-minute load average where /proc/stat is missing."""
    first = _look(exclude)
    if first is None:
        try:
            return float(os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0.0
    time.sleep(sample_s)
    return _others(first, _look(exclude))


def pick_threads(requested: int = 0, sample_s: float = 0.25, exclude: tuple[int, ...] = ()) -> int:
    """``requested`` threads when > 0, else the idle cores (rounded, at least 1)."""
    if requested > 0:
        return int(requested)
    return _idle_threads(busy_cores(sample_s, exclude))


class ThreadGovernor:
    """Keeps a fit's torch threads at the cores other processes leave idle, re-measured
    between rounds (at most every ``every_s`` seconds, from /proc/stat since the last
    look, so it never waits): a fit started while a page was being drawn is not stuck
    with one thread, and one that meets another training gives a core back.
    ``exclude``: processes whose work is not "other" (this one, the app's server)."""

    def __init__(self, exclude: tuple[int, ...] = (), every_s: float = 2.0, threads: int | None = None):
        self.exclude = (os.getpid(), *exclude)
        self.every_s = every_s
        self.threads = threads or usable_cores()
        self._last = _look(self.exclude)

    def __call__(self, est, snap) -> None:  # as a fit callback: look after every round
        self.update()

    def update(self) -> int:
        """Set torch's thread count from the other processes' load since the last look."""
        import torch

        if self._last is None or time.monotonic() - self._last[0] < self.every_s:
            return self.threads
        now = _look(self.exclude)
        if now[1][1] > self._last[1][1]:  # some time was counted since the last look
            self.threads = _idle_threads(_others(self._last, now))
        self._last = now
        if self.threads != torch.get_num_threads():
            torch.set_num_threads(self.threads)
        return self.threads
