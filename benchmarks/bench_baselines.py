"""The baselines every run stands beside, on the evaluation sets: KMeans on the
standardised pixels, and the baseline researchers try first, UMAP + k-means and UMAP + GMM
(N2D's recipe without its autoencoder: UMAP to k dimensions, n_neighbors 20, min_dist 0),
seed 0. NMI and seconds (UMAP runs on one thread when seeded). Prints a Markdown table
(docs/benchmarks.md).

    python benchmarks/bench_baselines.py [--sets digits,usps,mnist_test,coil20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"  # the evaluation copies (not shipped, not for tests)

from machine import machine_line  # noqa: E402

from clustlib.baselines import Skipped, run_peer  # noqa: E402
from clustlib.data import load_dataset  # noqa: E402

SETS = {"digits": ("digits", 10), "usps": ("usps", 10), "mnist_test": ("mnist_test", 10), "coil20": ("coil20", 20)}
PEERS = ("KMeans", "UMAP + k-means", "UMAP + GMM")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default=",".join(SETS))
    args = ap.parse_args()
    print(machine_line() + "\n")
    print("| data (N) | " + " | ".join(f"{p} NMI | s" for p in PEERS) + " |")
    print("|---|" + "---|---|" * len(PEERS))
    for name in args.sets.split(","):
        spec, k = SETS[name]
        if name != "digits":
            path = SHARED / f"{name}.npz"
            if not path.exists():
                print(f"| {name} | skipped: {path} is not here |")
                continue
            spec = f"npz:{path}"
        ds = load_dataset(spec)
        cells = []
        for peer in PEERS:
            try:
                r = run_peer(peer, ds.X, ds.y, k, seed=0)
                cells.append(f"{r['nmi']:.3f} | {r['seconds']:.1f}")
            except Skipped as why:
                cells.append(f"skipped ({why}) | ")
        print(f"| {name} ({len(ds):,}) | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
