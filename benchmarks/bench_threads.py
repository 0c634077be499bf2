"""Same seed, same run: what a fit's thread count costs, and that a fixed count gives the
same labels on a quiet and on a busy machine (another process spinning one core).

For each method's demo preset on its page's dataset (DAC and SeCu: one start of 12
epochs, DSCL: one epoch on Omniglot, to keep this under ten minutes): seconds with 1 and 2
threads, quiet and busy, the NMI each count gives and whether the labels of the busy fit
equal the quiet one's. Run it alone: the quiet columns need a quiet machine.

    python benchmarks/bench_threads.py [--methods jule,dac]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time

from machine import start

from clustlib import load_dataset, split_classes
from clustlib.cpu import fixed_threads
from clustlib.methods import METHODS
from clustlib.metrics import nmi

CASES = {"jule": ("digits", {}), "knet": ("spirals", {}), "dac": ("digits", {"n_init": 1, "max_iter": 12}),
         "secu": ("digits", {"n_init": 1, "max_iter": 12}), "dscl": ("omniglot", {"max_iter": 1})}


def fit(name: str, threads: int):
    spec, extra = CASES[name]
    ds = load_dataset(spec)
    if ds.default_unseen:
        ds = split_classes(ds, ds.default_unseen)[0]
    with fixed_threads(threads):
        t0 = time.perf_counter()
        est = METHODS[name].from_preset("demo", n_clusters=ds.n_classes, random_state=0, device="cpu", **extra)
        est.fit(ds.X, ds.y)
        seconds = time.perf_counter() - t0
    return seconds, nmi(ds.y, est.labels_), hashlib.sha1(est.labels_.tobytes()).hexdigest()[:10]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--methods", default=",".join(CASES))
    args = p.parse_args()
    start("| method | threads | quiet s | busy s | busy / quiet | NMI | same labels busy and quiet |",
          "|---|---|---|---|---|---|---|")
    for name in args.methods.split(","):
        for threads in (1, 2):
            quiet = fit(name, threads)
            spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                busy = fit(name, threads)
            finally:
                spin.kill()
            print(f"| {name} | {threads} | {quiet[0]:.1f} | {busy[0]:.1f} | {busy[0] / quiet[0]:.2f} | "
                  f"{quiet[1]:.3f} | {'yes' if quiet[2] == busy[2] else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
