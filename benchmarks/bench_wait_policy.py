"""What idle OpenMP threads do while they wait, on a quiet machine and beside two CPU
burners: 4 DAC epochs (demo preset, n_init=1, digits) with 1 and 2 threads, the threads
spinning (OMP_WAIT_POLICY=ACTIVE) or sleeping (PASSIVE, clustlib's default). Seconds of
``clustlib train`` end to end and the NMI (the same for both policies). Prints a Markdown
table (docs/benchmarks.md).

    python benchmarks/bench_wait_policy.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_burners, machine_line  # noqa: E402


def train(threads: int, policy: str, out: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    line = subprocess.run([sys.executable, "-m", "clustlib.cli", "train", "dac", "--preset", "demo", "--set", "max_iter=4",
                           "--set", "n_init=1", "--threads", str(threads), "--quiet", "--overwrite", "--out", str(out)],
                          env={**os.environ, "OMP_WAIT_POLICY": policy}, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, json.loads(line.stdout.strip().splitlines()[-1])["nmi"]


def main() -> None:
    print(machine_line() + "\n")
    print("| machine | threads | spinning (ACTIVE) s | sleeping (PASSIVE) s | NMI active / passive |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for load in ("quiet", "two CPU burners"):
            with cpu_burners(2 if load != "quiet" else 0):
                for threads in (1, 2):
                    (sa, na), (sp, np_) = (train(threads, p, Path(tmp) / p) for p in ("ACTIVE", "PASSIVE"))
                    print(f"| {load} | {threads} | {sa:.1f} | {sp:.1f} | {na:.3f} / {np_:.3f} |", flush=True)


if __name__ == "__main__":
    main()
