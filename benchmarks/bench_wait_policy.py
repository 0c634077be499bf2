"""What idle OpenMP threads do while they wait, on a quiet machine and beside two CPU
burners: 12 DAC epochs (demo preset, n_init=1, digits) with 1 and 2 threads, the threads
spinning (OMP_WAIT_POLICY=ACTIVE), sleeping at once (PASSIVE) or spinning 1,000 rounds and
then sleeping (GOMP_SPINCOUNT=1000, clustlib's default on Linux). Seconds of
``clustlib train`` end to end and the NMI (the same for every policy). Prints a Markdown
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

POLICIES = {"spinning (ACTIVE)": {"OMP_WAIT_POLICY": "ACTIVE"}, "sleeping (PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE"},
            "brief spin (GOMP_SPINCOUNT=1000)": {"GOMP_SPINCOUNT": "1000"}}


def train(threads: int, policy: dict, out: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    t0 = time.perf_counter()
    line = subprocess.run([sys.executable, "-m", "clustlib.cli", "train", "dac", "--preset", "demo", "--set", "max_iter=12",
                           "--set", "n_init=1", "--threads", str(threads), "--quiet", "--overwrite", "--out", str(out)],
                          env={**env, **policy}, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, json.loads(line.stdout.strip().splitlines()[-1])["nmi"]


def main() -> None:
    print(machine_line() + "\n")
    print(f"| machine | threads | {' s | '.join(POLICIES)} s | NMI (each policy) |")
    print("|---|---|" + "---|" * (len(POLICIES) + 1))
    with tempfile.TemporaryDirectory() as tmp:
        for load in ("quiet", "two CPU burners"):
            with cpu_burners(2 if load != "quiet" else 0):
                for threads in (1, 2):
                    runs = [train(threads, p, Path(tmp) / "run") for p in POLICIES.values()]
                    cells = " | ".join(f"{s:.1f}" for s, _ in runs)
                    print(f"| {load} | {threads} | {cells} | {' / '.join(f'{n:.3f}' for _, n in runs)} |", flush=True)


if __name__ == "__main__":
    main()
