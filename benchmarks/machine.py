"""The line every benchmark table starts with: CPU model, torch threads, date, commit."""

from __future__ import annotations

import datetime
import multiprocessing as mp
import subprocess
from contextlib import contextmanager


def cpu_name() -> str:
    """The CPU model, as every run records it (``clustlib.cpu.machine``)."""
    from clustlib.cpu import machine

    return machine()["cpu"]


def machine_line(device: str = "cpu") -> str:
    import os

    import torch

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=False).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    where = torch.cuda.get_device_name(0) if device.startswith("cuda") else cpu_name()
    return (f"Machine: {where}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads; "
            f"{datetime.date.today().isoformat()}; commit {commit}; torch {torch.__version__}")


def start(*table_header: str, threads: int = 2) -> None:
    """Every benchmark's opening: its torch threads, the machine line, the table's header."""
    import torch

    torch.set_num_threads(threads)
    print(machine_line() + "\n")
    for line in table_header:
        print(line)


def _burn() -> None:
    while True:
        pass


@contextmanager
def cpu_burners(n: int):
    """``n`` processes spinning on ``while True: pass`` (a machine busy with other work),
    stopped when the block ends."""
    procs = [mp.Process(target=_burn, daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
