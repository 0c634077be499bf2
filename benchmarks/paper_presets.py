"""One method's preset (default ``paper``) on the papers' own data, for a GPU session:
a line per round (NMI of the tracked points, seconds so far), then one table row with
NMI / ACC / ARI over all samples, rounds, seconds and the device. ``--budget`` stops
training cleanly after that many seconds (the row says so), so a long run still reports.

    python benchmarks/paper_presets.py jule usps11k --device cuda --budget 500
    python benchmarks/paper_presets.py dscl mnist_test --unseen 5,6,7,8,9 --device cuda

Data: ``NAME`` is read from ``--data-dir`` (default ../shared/data) as NAME.npz, or any
dataset spec (``digits``, ``npz:path``). Not part of ``make bench`` (it takes arguments).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from bench_dscl import SHARED
from machine import machine_line

from clustlib import METHODS, load_dataset, split_classes
from clustlib.cli import _parse_sets
from clustlib.data import parse_classes
from clustlib.metrics import embedding_scores, evaluate, nmi


def unseen_scores(Z: np.ndarray, y: np.ndarray) -> dict:
    s = embedding_scores(Z, y)
    return {"nmi": s["nmi"], "r@1": s["recall@1"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("method", choices=list(METHODS))
    ap.add_argument("data", help="NAME of NAME.npz in --data-dir, or a dataset spec")
    ap.add_argument("--data-dir", default=str(SHARED))
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--unseen", default=None, help="classes held out of training (scored as unseen)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=None, help="stop training after this many seconds")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    path = Path(args.data_dir) / f"{args.data}.npz"
    ds = load_dataset(f"npz:{path}" if path.exists() else args.data)
    unseen = parse_classes(args.unseen)
    train, new = split_classes(ds, unseen) if unseen else (ds, None)
    cls = METHODS[args.method]
    est = cls.from_preset(args.preset, n_clusters=train.n_classes, random_state=args.seed,
                          device=args.device, **_parse_sets(args.set))
    t0 = time.perf_counter()

    def report(e, snap) -> bool:
        secs = time.perf_counter() - t0
        vals = " ".join(f"{k}={v:.4g}" for k, v in snap.scalars.items() if np.isscalar(v))
        print(f"[{args.method} {args.data}] {snap.stage:>12s} {secs:7.1f}s {vals}", flush=True)
        return args.budget is not None and secs > args.budget

    if new is not None:
        before = unseen_scores(new.X.reshape(len(new), -1), new.y)
    est.fit(train.X, train.y, callbacks=[report])
    secs = time.perf_counter() - t0
    out = {"method": args.method, "data": args.data, "preset": args.preset, "n": len(train),
           "rounds": est.n_iter_, "stopped_by_budget": bool(est.stopped_early_), "seconds": round(secs, 1),
           "device": torch.cuda.get_device_name() if est.device_.type == "cuda" else "cpu",
           "machine": machine_line(est.device_.type)}  # CPU or GPU, threads, date, commit
    out.update(evaluate(train.y, est.labels_))
    for attr in ("labels_sf_", "labels_rc_"):
        if hasattr(est, attr):
            out[f"nmi_{attr[7:9]}"] = nmi(train.y, getattr(est, attr))
    if new is not None:
        out["unseen_raw"] = before
        out["unseen"] = unseen_scores(est.transform(new.X), new.y)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}), flush=True)


if __name__ == "__main__":
    main()
