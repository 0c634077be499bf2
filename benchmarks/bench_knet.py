"""KNet benchmark: KNet_EIG and KNet_SMA beside scikit-learn peers, NMI mean ± std over
seeds and seconds per fit, on the paper's datasets (Table 2). Prints a Markdown table.

    python benchmarks/bench_knet.py [--seeds 5] [--preset demo] [--only spirals wine]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from clustlib import load_dataset
from clustlib.baselines import sklearn_baselines
from clustlib.methods.knet import KNet
from clustlib.metrics import nmi

# spec, k, overrides of the preset (sigma ratio 0.1: the authors' Moon/Spiral), the
# paper's KNet_EIG NMI (Table 2). `wisconsin` is the paper's Cancer (683 x 9);
# scikit-learn's `breast_cancer` is the other, diagnostic Wisconsin set (569 x 30).
DATASETS = [("moons", 2, {"sigma_ratio": 0.1}, 100.0), ("spirals", 3, {"sigma_ratio": 0.1}, 100.0),
            ("wine", 3, {}, 91.0), ("wisconsin", 2, {}, 84.2), ("wisconsin", 2, {"ae_weight": 0.0}, 84.2),
            ("breast_cancer", 2, {}, None), ("iris", 3, {}, None)]


def fmt(vals) -> str:
    return f"{np.mean(vals):.3f} ± {np.std(vals):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--only", nargs="*", default=None, help="dataset names (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(f"KNet preset '{args.preset}', {args.seeds} seeds, {torch.get_num_threads()} threads; "
          "NMI mean ± std, seconds per fit (mean)\n")
    print("| dataset | N | KNet_EIG | s | KNet_SMA | s | KMeans | Spectral rbf | Spectral kNN | paper KNet_EIG |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec, k, overrides, paper in DATASETS:
        if args.only and spec not in args.only:
            continue
        ds = load_dataset(spec)
        cells = []
        for u in ("eig", "sma"):
            scores, secs = [], []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                est = KNet.from_preset(args.preset, **{**overrides, "n_clusters": k, "u_update": u,
                                       "random_state": seed, "device": "cpu"}).fit(ds.X)
                secs.append(time.perf_counter() - t0)
                scores.append(nmi(ds.y, est.labels_))
            cells += [fmt(scores), f"{np.mean(secs):.1f}"]
        peers = [sklearn_baselines(ds.X, ds.y, k, seed=s) for s in range(args.seeds)]
        for name in ("KMeans", "Spectral (rbf)", "Spectral (nearest neighbours)"):
            cells.append(fmt([p[name]["nmi"] for p in peers]))
        cells.append(f"{paper / 100:.3f}" if paper else "—")
        name = spec + "".join(f", {key}={val}" for key, val in overrides.items() if key != "sigma_ratio")
        print(f"| {name} | {len(ds)} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
