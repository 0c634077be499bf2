"""A lecture minute: each method's page demo (the first demo run of its ``ABOUT``) trained
as the page trains it (``demo`` preset, 2 threads), against the 60 s goal: seconds, NMI,
the starts and rounds it ran, and where the seconds went (setup and the first snapshot,
the rounds, the finish and the save). Prints a Markdown table (docs/benchmarks.md).

    python benchmarks/bench_demos.py [--methods jule,knet,dac,dscl,secu] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

from clustlib.methods import METHODS  # noqa: E402
from clustlib.request import TrainRequest  # noqa: E402
from clustlib.train import train_run

GOAL_S = 60.0


class Clock:
    """Times between snapshots: the first (setup), the rounds, and what follows the last."""

    def __init__(self):
        self.t0, self.stamps, self.stages = time.perf_counter(), [], []

    def __call__(self, est, snap):
        self.stamps.append(time.perf_counter())
        self.stages.append(snap.stage)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(machine_line() + "\n")
    print("| method | demo | seconds | vs 60 s | NMI | starts | rounds | to first snapshot s | rounds s | after s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.methods.split(","):
        about = METHODS[name].ABOUT
        demo = about.demos[about.demo]
        params = {k: v for k, v in demo.params.items() if k != "n_clusters"}
        request = TrainRequest(name, demo.dataset, preset="demo", params=params, k=demo.params.get("n_clusters"),
                               seed=args.seed, unseen=demo.unseen if isinstance(demo.unseen, tuple) else None,
                               threads=2)
        clock = Clock()
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run = train_run(request, Path(tmp) / "run", callbacks=[clock])
            total = time.perf_counter() - t0
        starts = len({s.split(" · ")[0] for s in clock.stages if " · " in s}) or 1
        first = clock.stamps[0] - t0
        rounds = clock.stamps[-1] - clock.stamps[0]
        nmi = run.metrics.get("nmi", run.metrics.get("seen_nmi", float("nan")))
        print(f"| {name} | {about.demo} | {total:.1f} | {'met' if total <= GOAL_S else f'{total / GOAL_S:.1f}x'} | "
              f"{nmi:.3f} | {starts} | {len(clock.stamps) - starts} | {first:.1f} | {rounds:.1f} | "
              f"{total - first - rounds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
