"""Omniglot, unseen alphabets: how well each embedding clusters the 106 characters of
three alphabets no model saw (Japanese katakana, Sanskrit, Tagalog), after training on
the 136 characters of five others (the embedded ``omniglot`` set and its default split).

Rows: raw pixels and PCA-50 (fitted on the seen images); DSCL's demo preset; two
metric-learning baselines trained with the same encoder, batches (classes_per_batch x
per_class), augmentation, optimiser and epochs -- softmax cross-entropy through a linear
classifier and the batch-hard triplet loss (``DSCL(loss=...)``); and the four
unsupervised methods' demo presets trained on the seen images without labels (k = 136).
Metrics on the unseen images: NMI of k-means with k = 106 and Recall@1/2/4/8 (the DSCL
paper's metrics), mean ± std over seeds, and seconds per fit. The baselines' embeddings
are L2-normalised by their ``transform`` (their metric is the cosine); the second column
normalises every embedding's rows, so all are compared under the same metric too.

    python benchmarks/bench_omniglot.py [--seeds 3] [--unsupervised-seeds 1] [--methods dscl,softmax,triplet,jule,knet,dac,secu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from machine import machine_line
from sklearn.decomposition import PCA

from clustlib import METHODS, load_dataset, split_classes
from clustlib.metrics import embedding_scores, recall_at_k

SUPERVISED = {"dscl": "spectral", "softmax": "softmax", "triplet": "triplet"}


def scores(Z: np.ndarray, y: np.ndarray, seed: int) -> dict:
    Z = np.asarray(Z, dtype=np.float64).reshape(len(y), -1)
    out = {"nmi": embedding_scores(Z, y, seed)["nmi"]}
    unit = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)  # the baselines' own metric
    out["nmi_l2"] = embedding_scores(unit, y, seed)["nmi"]
    out.update({f"R@{k}": v for k, v in recall_at_k(Z, y, (1, 2, 4, 8)).items()})
    return out


def fmt(vals: list[float]) -> str:
    return f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if len(vals) > 1 else f"{vals[0]:.3f}"


def row(name: str, runs: list[dict]) -> None:
    keys = ["nmi", "nmi_l2", "R@1", "R@2", "R@4", "R@8"]
    secs = [r["s"] for r in runs if "s" in r]
    cells = [fmt([r[k] for r in runs]) for k in keys]
    worst = f"{min(r['nmi'] for r in runs):.3f}"
    print(f"| {name} | {' | '.join(cells)} | {worst} | {np.mean(secs):.0f} |" if secs else
          f"| {name} | {' | '.join(cells)} | {worst} | – |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", default="dscl,softmax,triplet,jule,knet,dac,secu")
    ap.add_argument("--unsupervised-seeds", type=int, default=None,
                    help="seeds for JULE/KNet/DAC/SeCu (default: --seeds)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    ds = load_dataset("omniglot")
    seen, new = split_classes(ds, ds.default_unseen)
    print(machine_line())
    print(f"\nOmniglot: trained on {seen.n_classes} characters ({len(seen)} images) of 5 alphabets, "
          f"scored on {new.n_classes} unseen characters ({len(new)} images) of 3 others\n")
    print("| embedding | unseen NMI | NMI, rows L2-normalised | R@1 | R@2 | R@4 | R@8 | worst NMI | s/fit |")
    print("|---|---|---|---|---|---|---|---|---|")
    flat_seen, flat_new = seen.X.reshape(len(seen), -1), new.X.reshape(len(new), -1)
    row("raw pixels", [scores(flat_new, new.y, s) for s in range(args.seeds)])
    pca = PCA(50, random_state=0).fit(flat_seen)
    row("PCA-50 (fitted on seen)", [scores(pca.transform(flat_new), new.y, s) for s in range(args.seeds)])
    for name in args.methods.split(","):
        runs = []
        n_seeds = args.seeds if name in SUPERVISED or args.unsupervised_seeds is None else args.unsupervised_seeds
        for seed in range(n_seeds):
            if name in SUPERVISED:
                est = METHODS["dscl"].from_preset("demo", n_clusters=seen.n_classes, loss=SUPERVISED[name],
                                                  random_state=seed, device="cpu")
                label = {"dscl": "DSCL (Eq. 7), demo", "softmax": "softmax cross-entropy, same encoder/batches",
                         "triplet": "batch-hard triplet, same encoder/batches"}[name]
                y = seen.y
            else:
                est = METHODS[name].from_preset("demo", n_clusters=seen.n_classes, random_state=seed, device="cpu")
                label, y = f"{name.upper()} demo, no labels (k = {seen.n_classes})", None
            t0 = time.perf_counter()
            est.fit(seen.X, y)
            secs = time.perf_counter() - t0
            runs.append({**scores(est.transform(new.X), new.y, seed), "s": secs})
        row(label, runs)


if __name__ == "__main__":
    main()
