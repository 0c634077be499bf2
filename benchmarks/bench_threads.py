"""Threads under load, all five page demos: each demo (its dataset and settings, rounds
cut as below so the table takes minutes) trained by ``clustlib train`` with 1 and 2
threads, on a quiet machine and beside two CPU burners, OpenMP threads sleeping while they
wait (clustlib's default). Seconds end to end and the NMI with each thread count (a seed's
run depends on its thread count, not on the load). Prints a Markdown table
(docs/benchmarks.md).

    python benchmarks/bench_threads.py [--methods jule,knet,dac,dscl,secu]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_burners, machine_line  # noqa: E402

from clustlib.methods import METHODS  # noqa: E402

SHORTER = {"dac": {"max_iter": 4, "n_init": 1}, "secu": {"max_iter": 4, "n_init": 1},
           "dscl": {"max_iter": 2}}  # JULE's and KNet's demos run whole (seconds)


def command(method: str, threads: int, out: Path) -> list[str]:
    demo = next(iter(METHODS[method].ABOUT.demos.values()))
    params = {**demo.params, **SHORTER.get(method, {})}
    k = params.pop("n_clusters", None)
    unseen = [] if demo.unseen == "default" else ["--unseen", ",".join(map(str, demo.unseen)) or "none"]
    return [sys.executable, "-m", "clustlib.cli", "train", method, "--preset", "demo", "--data", demo.dataset,
            *unseen, *(a for name, v in params.items() for a in ("--set", f"{name}={v}")), "--seed", "0",
            *(["--n-clusters", str(k)] if k else []),
            "--threads", str(threads), "--quiet", "--overwrite", "--out", str(out)]


def train(method: str, threads: int, out: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    line = subprocess.run(command(method, threads, out), env=os.environ,
                          capture_output=True, text=True, check=True)
    out = json.loads(line.stdout.strip().splitlines()[-1])
    return time.perf_counter() - t0, out.get("nmi", out.get("seen_nmi"))  # seen_: with classes held out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default=",".join(METHODS))
    methods = ap.parse_args().methods.split(",")
    print(machine_line() + "\n")
    print("| method | cut to | quiet, 1 thread s | quiet, 2 threads s | 2 burners, 1 thread s | 2 burners, 2 threads s "
          "| NMI 1 / 2 threads |\n|---|---|---|---|---|---|---|")
    rows = {m: {} for m in methods}
    with tempfile.TemporaryDirectory() as tmp:
        for load in ("quiet", "burners"):
            with cpu_burners(2 if load == "burners" else 0):
                for m in methods:
                    for threads in (1, 2):
                        rows[m][load, threads] = train(m, threads, Path(tmp) / m)
    for m in methods:
        r = rows[m]
        cut = ", ".join(f"{k}={v}" for k, v in SHORTER.get(m, {}).items()) or "whole demo"
        print(f"| {m} | {cut} | " + " | ".join(f"{r[load, t][0]:.1f}" for load in ("quiet", "burners") for t in (1, 2))
              + f" | {r['quiet', 1][1]:.3f} / {r['quiet', 2][1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
