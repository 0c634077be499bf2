"""When does a start's separation tell its end? (issue 42: can DAC's or SeCu's starts be
cut short?)

Every start of seeds 0..S-1 (``n_init`` each, the seeds ``_fit_starts`` derives) is
trained alone to the end of its demo preset on digits, with the separation
(``base.separation``, no labels) of every round kept. Then, for each round e: keep the
start whose separation over rounds e-2..e is best (what ``init_rounds=e`` does) and print
the worst and mean of the kept starts' *final* NMI over the seeds. A row as good as the
last one at a small e means the starts could be compared that early.

    python benchmarks/start_traces.py dac --seeds 5           # 20 starts, ~12 min on 2 cores
    python benchmarks/start_traces.py secu --seeds 5 --jobs 2  # two processes of 1 thread
Not in ``make bench`` (minutes per start); the tables are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402


def trace_start(method: str, seed: int, start: int, threads: int) -> dict:
    """One start trained alone: its final NMI and the separation after every round."""
    import torch

    from clustlib.base import separation, start_seed
    from clustlib.data import load_dataset
    from clustlib.methods import METHODS
    from clustlib.metrics import nmi

    torch.set_num_threads(threads)
    ds = load_dataset("digits")
    est = METHODS[method].from_preset("demo", n_clusters=10, n_init=1, init_rounds=None, track_max=500,
                                      random_state=start_seed(seed, start), device="cpu")
    est.fit(ds.X, ds.y)
    return {"seed": seed, "start": start, "nmi": float(nmi(ds.y, est.labels_)),
            "seps": [separation(s) for s in est.trace_], "s": est.fit_seconds_}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("method", choices=["dac", "secu"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=1, help="processes; each uses 2 // jobs threads (at least 1)")
    args = ap.parse_args()
    from clustlib.methods import METHODS

    n_init = int(METHODS[args.method].PRESETS["demo"].get("n_init", 1))
    threads = max(1, 2 // args.jobs)
    jobs = [(args.method, s, i, threads) for s in range(args.seeds) for i in range(n_init)]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(trace_start, *zip(*jobs)))
    print(machine_line() + f" ({args.jobs} process(es) of {threads} torch thread(s) each)\n")
    by: dict[int, list[dict]] = {}
    for r in rows:
        by.setdefault(r["seed"], []).append(r)
    finals = [r["nmi"] for r in rows]
    print(f"{args.method} demo on digits: {len(rows)} starts ({n_init} for each of seeds 0-{args.seeds - 1}), "
          f"final NMI {min(finals):.3f}-{max(finals):.3f}, {sum(f < 0.85 for f in finals)} below 0.85, "
          f"{np.mean([r['s'] for r in rows]):.0f} s a start\n")
    print("| starts compared at round | final NMI of the kept starts, seeds 0.. | worst | mean |")
    print("|---|---|---|---|")
    last = len(rows[0]["seps"]) - 1
    for e in sorted({*range(5, last, 5), last}):
        kept = [max(starts, key=lambda r: np.mean(r["seps"][max(1, e - 2):e + 1]))["nmi"] for _, starts in
                sorted(by.items())]
        print(f"| {e} | {', '.join(f'{v:.3f}' for v in kept)} | {min(kept):.3f} | {np.mean(kept):.3f} |")


if __name__ == "__main__":
    main()
