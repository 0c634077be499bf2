"""DAC and SeCu benchmark: NMI mean ± std, worst and best seed, ACC / ARI over seeds,
collapsed runs (DAC), smallest cluster over the gamma N/K floor (SeCu), seconds a fit;
beside scikit-learn KMeans and Agglomerative (ward) on the same data in the same process.

`digits` and its 600-digit subset (the tests' data) with the demo presets over 10 seeds
(the goal: mean NMI >= 0.88, worst >= 0.82, <= 2 min a fit on 2 cores); the papers' data
(../shared/data: mnist_test, usps11k) when present and not skipped (slow on a CPU: one seed).

    python benchmarks/bench_dac_secu.py [--seeds 10] [--skip-paper] [--only dac|secu] [--sets digits,...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from machine import start

from clustlib import load_dataset
from clustlib.methods.dac import DAC
from clustlib.methods.secu import SeCu
from clustlib.metrics import evaluate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def pm(vals) -> str:
    return f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if len(vals) > 1 else f"{vals[0]:.3f}"


def method_row(name, cls, ds, k, seeds) -> None:
    scores, secs, extra = [], [], []
    for seed in range(seeds):
        t0 = time.perf_counter()
        est = cls.from_preset("demo", n_clusters=k, random_state=seed).fit(ds.X)
        secs.append(time.perf_counter() - t0)
        scores.append(evaluate(ds.y, est.labels_))
        if cls is DAC:
            extra.append(float(est.collapsed_))
        else:
            extra.append(est.cluster_sizes_.min() / (est.gamma * len(ds) / k))
    note = f"{int(sum(extra))}/{seeds} collapsed" if cls is DAC else f"min/floor {np.mean(extra):.2f}"
    nmi = [s["nmi"] for s in scores]
    print(f"| {ds.name} | {name} | {pm(nmi)} | {min(nmi):.3f} | {max(nmi):.3f} | {pm([s['acc'] for s in scores])} | "
          f"{pm([s['ari'] for s in scores])} | {note} | {np.mean(secs):.0f} |", flush=True)


def peer_rows(ds, k) -> None:
    from sklearn.cluster import AgglomerativeClustering, KMeans

    X = ds.X.reshape(len(ds), -1)
    for name, est in (("KMeans", KMeans(k, n_init=10, random_state=0)),
                      ("Agglomerative ward", AgglomerativeClustering(k, linkage="ward"))):
        t0 = time.perf_counter()
        s = evaluate(ds.y, est.fit(X).labels_)
        print(f"| {ds.name} | {name} | {s['nmi']:.3f} | | | {s['acc']:.3f} | {s['ari']:.3f} | | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--skip-paper", action="store_true")
    ap.add_argument("--only", choices=["dac", "secu"], default=None)
    ap.add_argument("--sets", default="digits,digits:n=600", help="comma-separated dataset specs")
    args = ap.parse_args()
    start("| data | method | NMI | worst | best | ACC | ARI | note | s a fit |",
          "|---|---|---|---|---|---|---|---|---|")
    sets = [(spec, 10, args.seeds) for spec in args.sets.split(",") if spec]
    if not args.skip_paper:
        sets += [(f"npz:{SHARED / f}.npz", 10, 1) for f in ("mnist_test", "usps11k")
                 if (SHARED / f"{f}.npz").exists()]
    for spec, k, seeds in sets:
        ds = load_dataset(spec)
        for name, cls in (("DAC", DAC), ("SeCu", SeCu)):
            if args.only in (None, name.lower()):
                method_row(name, cls, ds, k, seeds)
        peer_rows(ds, k)


if __name__ == "__main__":
    main()
