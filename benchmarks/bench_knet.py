"""KNet benchmark: does psi learn convex clusters and a block-diagonal kernel?

For each dataset (Table 2 of the paper and a few more), over seeds: NMI of Algorithm 1's
own assignment (k-means on psi(X)) and of spectral clustering on the learned kernel
(``assign="spectral"``, what the authors' code reports), the block contrast of the kernel
(mean within-class minus mean between-class kernel value, rows grouped by true label) of
the input X and of psi(X) after training, seconds per fit, and scikit-learn peers. Then
one fit per iteration on Spiral1: NMI and block contrast as they change. Markdown tables.

    python benchmarks/bench_knet.py [--seeds 5] [--preset demo] [--only spirals wine] [--table4]
"""

from __future__ import annotations

import argparse
import datetime
import time

import numpy as np
import torch
from machine import cpu_name

from clustlib import load_dataset
from clustlib.baselines import sklearn_baselines
from clustlib.methods.knet import KNet
from clustlib.metrics import nmi

PAPER_SIGMA = {"sigma": "median", "sigma_ratio": 0.1}  # Table 6's Moon/Spiral widths
# (row name, spec, k, overrides of the preset, the paper's KNet_EIG NMI: Tables 2 and 4).
# `wisconsin` is the paper's Cancer (683 x 9); `breast_cancer` the diagnostic set (569 x 30).
DATASETS = [
    ("moons", "moons", 2, {}, 100.0),
    ("moons, paper sigma", "moons", 2, PAPER_SIGMA, 100.0),
    ("spirals (Spiral1)", "spirals", 3, {}, 100.0),
    ("spirals, paper sigma", "spirals", 3, PAPER_SIGMA, 100.0),
    ("Spiral2, 1 % trained, all 30,000 scored", "spirals:n=30000", 3, {"train_size": 0.01}, 100.0),
    ("Spiral2 1 %, paper sigma", "spirals:n=30000", 3, {"train_size": 0.01, **PAPER_SIGMA}, 100.0),
    ("circles", "circles", 2, {}, None),
    ("wine", "wine", 3, {}, 91.0),
    ("wisconsin (Cancer)", "wisconsin", 2, {}, 84.2),
    ("breast_cancer", "breast_cancer", 2, {}, None),
    ("iris", "iris", 3, {}, None),
]


def fmt(vals) -> str:
    return f"{np.mean(vals):.3f} ± {np.std(vals):.3f} (min {np.min(vals):.3f})"


def fit(preset: str, spec: str, k: int, overrides: dict, seed: int, assign: str, ds):
    t0 = time.perf_counter()
    est = KNet.from_preset(preset, **{**overrides, "n_clusters": k, "assign": assign,
                                      "random_state": seed, "device": "cpu"}).fit(ds.X, ds.y)
    return est, time.perf_counter() - t0


# Table 4 (out of sample): trained on a share of the set, every sample scored; the faces are
# generated (clustlib.data.faces: no real face set can ship), PCA to 20 dimensions as the paper does
OUT_OF_SAMPLE = [("wine", "wine", 3, 0.75, None), ("wisconsin (Cancer)", "wisconsin", 2, 0.30, None),
                 ("faces (synthetic), PCA 20", "faces", 20, 0.50, 20)]


def table4(preset: str, seeds: int) -> None:
    """KNet trained on a share of the data, scoring all of it, beside scikit-learn's KMeans
    fitted on the same share and predicting all of it (standardised as KNet's input)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    print("\nOut of sample (Table 4): trained on the share, NMI on every sample; mean ± std (min) over "
          f"seeds 0-{seeds - 1}\n")
    print("| dataset | N | trained on | KNet (k-means on psi) | KMeans fitted on the share | s/fit |")
    print("|---|---|---|---|---|---|")
    for name, spec, k, share, dims in OUT_OF_SAMPLE:
        ds = load_dataset(spec)
        X = ds.X.reshape(len(ds), -1)
        if dims:
            X = PCA(dims, random_state=0).fit_transform(X).astype(np.float32)
        knet, km, secs = [], [], []
        for seed in range(seeds):
            t0 = time.perf_counter()
            est = KNet.from_preset(preset, n_clusters=k, train_size=share, random_state=seed, device="cpu").fit(X)
            secs.append(time.perf_counter() - t0)
            knet.append(nmi(ds.y, est.labels_))
            Xs = (X - X.mean(0)) / (X.std(0) + 1e-12)
            part = np.random.default_rng(seed).choice(len(X), int(round(share * len(X))), replace=False)
            km.append(nmi(ds.y, KMeans(k, n_init=10, random_state=seed).fit(Xs[part]).predict(Xs)))
        print(f"| {name} | {len(ds)} | {share:.0%} | {fmt(knet)} | {fmt(km)} | {np.mean(secs):.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--only", nargs="*", default=None, help="dataset specs (default: all)")
    ap.add_argument("--table4", action="store_true", help="only the out-of-sample table")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.table4:
        table4(args.preset, args.seeds)
        return
    print(f"KNet preset '{args.preset}', seeds 0-{args.seeds - 1}; {cpu_name()}, "
          f"{torch.get_num_threads()} threads, {datetime.date.today()}. NMI mean ± std (min); "
          "block contrast = mean within-class - mean between-class kernel value.\n")
    print("| dataset | N | k-means on psi (Alg. 1) | spectral on learned kernel | block contrast "
          "input -> psi | s/fit | KMeans | Spectral kNN | paper |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, spec, k, overrides, paper in DATASETS:
        if args.only and spec.split(":")[0] not in args.only:
            continue
        ds = load_dataset(spec)
        km, spec_nmi, before, after, secs = [], [], [], [], []
        for seed in range(args.seeds):
            est, s = fit(args.preset, spec, k, overrides, seed, "kmeans", ds)
            km.append(nmi(ds.y, est.labels_))
            before.append(est.trace_[0].scalars["input_contrast"])
            after.append(est.trace_[-1].scalars["block_contrast"])
            secs.append(s)
            est, _ = fit(args.preset, spec, k, overrides, seed, "spectral", ds)
            spec_nmi.append(nmi(ds.y, est.labels_))
        if len(ds) <= 5000:
            peers = [sklearn_baselines(ds.X, ds.y, k, seed=s) for s in range(min(args.seeds, 3))]
            peer_cells = [f"{np.mean([p[n]['nmi'] for p in peers]):.3f}"
                          for n in ("KMeans", "Spectral (nearest neighbours)")]
        else:
            peer_cells = ["—", "—"]
        paper_cell = f"{paper / 100:.3f}" if paper else "—"
        print(f"| {name} | {len(ds)} | {fmt(km)} | {fmt(spec_nmi)} | {np.mean(before):.2f} -> "
              f"{np.mean(after):.2f} | {np.mean(secs):.1f} | " + " | ".join(peer_cells)
              + f" | {paper_cell} |", flush=True)

    if not args.only:
        table4(args.preset, args.seeds)
    if args.only and "spirals" not in args.only:
        return
    ds = load_dataset("spirals")
    est, _ = fit(args.preset, "spirals", 3, {}, 0, "kmeans", ds)
    print("\nSpiral1, seed 0, per iteration (tracked points): NMI of k-means on psi, block contrast "
          f"(input kernel: {est.trace_[0].scalars['input_contrast']:.3f}); d = delta phase\n")
    print("| iteration | " + " | ".join(f"{s.round}{'d' if s.scalars.get('delta_phase') else ''}"
                                      for s in est.trace_) + " |")
    print("|---" * (len(est.trace_) + 1) + "|")
    print("| NMI | " + " | ".join(f"{s.scalars['nmi']:.2f}" for s in est.trace_) + " |")
    print("| contrast | " + " | ".join(f"{s.scalars['block_contrast']:.2f}" for s in est.trace_) + " |")


if __name__ == "__main__":
    main()
