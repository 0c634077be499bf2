"""AC-GDL (JULE's agglomerative base algorithm, clustlib.graph) on raw pixels beside
scikit-learn peers; the papers' data from ../shared/data is used when present.

    python benchmarks/bench_acgdl.py
"""

from __future__ import annotations

import time
from pathlib import Path

from machine import machine_line

from clustlib import load_dataset
from clustlib.graph import ACGDL
from clustlib.metrics import nmi

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# spec, k, the AC-GDL NMI reported in JULE's Table 3 (raw intensities)
DATASETS = [("digits", 10, None), (f"npz:{SHARED / 'usps11k.npz'}", 10, 0.824),
            (f"npz:{SHARED / 'mnist_test.npz'}", 10, 0.844), (f"npz:{SHARED / 'coil20.npz'}", 20, 0.937)]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    from sklearn.cluster import AgglomerativeClustering, KMeans

    print(machine_line() + "\n")
    print("NMI (seconds); AC-GDL with K_s=20, K_c=5, L2-normalised pixels\n")
    print("| dataset | N | AC-GDL exact | AC-GDL approx (Eq. 18) | Agglomerative ward | KMeans | JULE Table 3 AC-GDL |")
    print("|---|---|---|---|---|---|---|")
    for spec, k, paper in DATASETS:
        if spec.startswith("npz:") and not Path(spec[4:]).exists():
            print(f"| {Path(spec[4:]).stem} | — | skipped: {spec[4:]} not present | | | | |")
            continue
        ds = load_dataset(spec)
        X = ds.X.reshape(len(ds), -1)
        cells = []
        for est in (ACGDL(k, update="exact"), ACGDL(k, update="approx"),
                    AgglomerativeClustering(k, linkage="ward"), KMeans(k, n_init=10, random_state=0)):
            labels, secs = timed(lambda est=est, X=X: est.fit(X).labels_)
            cells.append(f"{nmi(ds.y, labels):.3f} ({secs:.1f} s)")
        name = Path(spec[4:]).stem if spec.startswith("npz:") else spec
        print(f"| {name} | {len(ds)} | " + " | ".join(cells) + f" | {paper if paper else '—'} |", flush=True)


if __name__ == "__main__":
    main()
