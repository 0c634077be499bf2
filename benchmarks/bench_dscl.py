"""DSCL benchmark: k-means NMI and Recall@1 on categories never seen in training,
beside raw pixels and PCA (the same k-means); and t-SNE speed: openTSNE (FFT, as
``clustlib.project`` runs it) against scikit-learn's TSNE in the same process.

    python benchmarks/bench_dscl.py [--seeds 5] [--skip-paper] [--skip-tsne]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from machine import start
from sklearn.decomposition import PCA

from clustlib import load_dataset, split_classes
from clustlib.methods.dscl import DSCL
from clustlib.metrics import embedding_scores

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def scores(Z, y, seed=0) -> tuple[float, float]:
    s = embedding_scores(Z, y, seed)
    return s["nmi"], s["recall@1"]


def fmt(vals) -> str:
    return f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if len(vals) > 1 else f"{vals[0]:.3f}"


def row(name: str, spec: str, unseen: list[int], seeds: int) -> None:
    ds = load_dataset(spec)
    seen, new = split_classes(ds, unseen)
    Xu = new.X.reshape(len(new), -1)
    raw = scores(Xu, new.y)
    pca = scores(PCA(32, random_state=0).fit(seen.X.reshape(len(seen), -1)).transform(Xu), new.y)
    n, r, secs = [], [], []
    for seed in range(seeds):
        t0 = time.perf_counter()
        est = DSCL.from_preset("demo", n_clusters=len(np.unique(seen.y)), random_state=seed).fit(seen.X, seen.y)
        secs.append(time.perf_counter() - t0)
        a, b = scores(est.transform(new.X), new.y, seed)
        n.append(a)
        r.append(b)
    print(f"| {name} | {fmt(n)} | {fmt(r)} | {raw[0]:.3f} | {raw[1]:.3f} | {pca[0]:.3f} | {pca[1]:.3f} "
          f"| {np.mean(secs):.0f} |", flush=True)


def tsne_times(sizes=(1000, 5000, 10000)) -> None:
    from sklearn.manifold import TSNE

    from clustlib import project

    X = load_dataset("npz:" + str(SHARED / "mnist_test.npz")).X if (SHARED / "mnist_test.npz").exists() \
        else np.random.default_rng(0).normal(size=(max(sizes), 50))
    X = PCA(50, random_state=0).fit_transform(X.reshape(X.shape[0], -1)).astype(np.float32)
    print("\n| points | openTSNE FFT (s) | scikit-learn TSNE (s) | speed-up |\n|---|---|---|---|")
    for n in sizes:
        t0 = time.perf_counter()
        project.fit_projection(X[:n], "tsne", random_state=n)
        a = time.perf_counter() - t0
        t0 = time.perf_counter()
        TSNE(2, random_state=0, max_iter=750).fit_transform(X[:n])
        b = time.perf_counter() - t0
        print(f"| {n} | {a:.1f} | {b:.1f} | {b / a:.1f}x |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--skip-paper", action="store_true")
    ap.add_argument("--skip-tsne", action="store_true")
    args = ap.parse_args()
    start("Unseen categories, DSCL demo preset; k-means NMI and R@1 of the unseen classes\n",
          "| data (seen → unseen) | DSCL NMI | DSCL R@1 | raw NMI | raw R@1 | PCA-32 NMI | PCA-32 R@1 | s |",
          "|---|---|---|---|---|---|---|---|")
    row("digits 0-4 → 5-9", "digits", [5, 6, 7, 8, 9], args.seeds)
    row("digits 5-9 → 0-4", "digits", [0, 1, 2, 3, 4], args.seeds)
    mnist = SHARED / "mnist_test.npz"
    if not args.skip_paper and mnist.exists():
        row("mnist_test 0-4 → 5-9", f"npz:{mnist}", [5, 6, 7, 8, 9], args.seeds)
        row("mnist_test 5-9 → 0-4", f"npz:{mnist}", [0, 1, 2, 3, 4], args.seeds)
    if not args.skip_tsne:
        tsne_times()


if __name__ == "__main__":
    main()
