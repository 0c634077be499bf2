"""JULE benchmark: OURS-SF and OURS-RC beside AC-GDL and scikit-learn peers.

`digits` with the demo preset (5 seeds); the papers' data (../shared/data: usps11k,
mnist_test, coil20) when present, with the demo preset (3 seeds, about a minute a fit on
2 cores) and the paper preset (one seed).

    python benchmarks/bench_jule.py [--skip-paper]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from machine import start

from clustlib import load_dataset
from clustlib.graph import ACGDL
from clustlib.methods.jule import JULE
from clustlib.metrics import nmi

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAPER = [("usps11k", 10, 0.913), ("mnist_test", 10, 0.915), ("coil20", 20, 1.000)]


def peers(X, y, k) -> list[str]:
    from sklearn.cluster import AgglomerativeClustering, KMeans

    out = []
    for est in (ACGDL(k), AgglomerativeClustering(k, linkage="ward"), KMeans(k, n_init=10, random_state=0)):
        t0 = time.perf_counter()
        out.append(f"{nmi(y, est.fit(X).labels_):.3f} ({time.perf_counter() - t0:.0f} s)")
    try:
        import umap
        from sklearn.cluster import KMeans

        t0 = time.perf_counter()
        Z = umap.UMAP(n_components=10, random_state=0).fit_transform(X)
        out.append(f"{nmi(y, KMeans(k, n_init=10, random_state=0).fit_predict(Z)):.3f} "
                   f"({time.perf_counter() - t0:.0f} s)")
    except ImportError:
        out.append("umap-learn missing")
    return out


def row(name, spec, k, preset, seeds, paper) -> None:
    ds = load_dataset(spec)
    sf, rc, secs = [], [], []
    for seed in range(seeds):
        t0 = time.perf_counter()
        est = JULE.from_preset(preset, n_clusters=k, random_state=seed, device="cpu").fit(ds.X)
        secs.append(time.perf_counter() - t0)
        sf.append(nmi(ds.y, est.labels_sf_))
        rc.append(nmi(ds.y, est.labels_rc_))
    X = ds.X.reshape(len(ds), -1)
    cells = [f"{np.mean(sf):.3f} ± {np.std(sf):.3f}", f"{np.mean(rc):.3f} ± {np.std(rc):.3f}",
             f"{np.mean(secs):.0f}", *peers(X, ds.y, k), f"{paper:.3f}" if paper else "—"]
    print(f"| {name} ({preset}, {seeds} seeds) | {len(ds)} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-paper", action="store_true", help="only the embedded digits row")
    args = ap.parse_args()
    start("NMI; seconds per JULE fit on the CPU (2 threads); peers on raw pixels\n",
          "| dataset | N | JULE SF | JULE RC | s | AC-GDL | Agglomerative ward | KMeans | UMAP + KMeans | paper (Table 3, RC) |",
          "|---|---|---|---|---|---|---|---|---|---|")
    row("digits", "digits", 10, "demo", 5, None)
    if args.skip_paper:
        return
    for name, k, paper in PAPER:
        path = SHARED / f"{name}.npz"
        if not path.exists():
            print(f"| {name} | — | skipped: {path} not present | | | | | | | {paper} |")
            continue
        row(name, f"npz:{path}", k, "demo", 3, paper)
        row(name, f"npz:{path}", k, "paper", 1, paper)


if __name__ == "__main__":
    main()
