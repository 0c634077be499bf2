"""Where the methods stand (issue 41): each method's presets against the baselines
researchers try first -- KMeans on the standardised pixels, UMAP + k-means and UMAP + GMM
(N2D's recipe without its autoencoder), and one published deep peer, ClustPy's DEC with its
defaults (when ``pip install clustpy`` has put it here; it is not a clustlib dependency) --
on digits, USPS, MNIST-test and COIL-20 (``../shared/data``), one seed, NMI and seconds.

On a CPU the deep methods cannot train on the 10,000-image sets in minutes, so every row
of a set uses the same stratified subset of at most ``--subset`` samples (the table says
how many), and a fit that passes ``--budget-s`` stops there and says so (its NMI is that
of what it learned by then). DSCL learns from the labels of its seen classes, so it trains
on the first two thirds of the classes and is scored on the last third (k-means on its
embedding of them, ``unseen_nmi``), beside KMeans and UMAP + k-means on those same
samples. Prints a Markdown table (docs/benchmarks.md).

    python benchmarks/bench_standing.py [--sets digits,usps,mnist_test,coil20]
        [--methods jule,knet,dac,secu,dscl] [--presets demo,default] [--subset 2000] [--budget-s 600]
        [--no-dec] [--no-peers]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared" / "data"  # the evaluation copies (not shipped, not for tests)

from machine import machine_line  # noqa: E402

from clustlib.baselines import Skipped, run_peer  # noqa: E402
from clustlib.data import load_dataset  # noqa: E402
from clustlib.methods import METHODS  # noqa: E402
from clustlib.metrics import nmi  # noqa: E402
from clustlib.request import TrainRequest  # noqa: E402
from clustlib.train import train_run  # noqa: E402

SETS = {"digits": 10, "usps": 10, "mnist_test": 10, "coil20": 20}
PEERS = ("KMeans", "UMAP + k-means", "UMAP + GMM")
LEARNS_FROM_LABELS = {"dscl"}  # trained with the labels of its seen classes: scored on classes it never saw


class Budget:
    """A callback that stops a fit once it has run ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds, self.t0, self.hit = seconds, time.perf_counter(), False

    def __call__(self, est, snap):
        self.hit = time.perf_counter() - self.t0 > self.seconds
        return self.hit


def spec_of(name: str, subset: int) -> str | None:
    if name == "digits":
        return "digits"
    path = SHARED / f"{name}.npz"
    if not path.exists():
        return None
    n = int(np.load(path)["y"].shape[0])
    return f"npz:{path}" + (f",n={subset}" if n > subset else "")


def dec_row(ds, k: int) -> str:
    try:
        from clustpy.deep import DEC
    except ImportError as err:
        return f"not importable ({err}; `pip install clustpy`)"
    import torch

    torch.manual_seed(0)
    t0 = time.perf_counter()
    X = ds.X.reshape(len(ds), -1).astype(np.float32)
    labels = DEC(n_clusters=k, random_state=0).fit(X).labels_
    return f"{nmi(ds.y, labels):.3f} | {time.perf_counter() - t0:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--presets", default="demo,default")
    ap.add_argument("--subset", type=int, default=2000)
    ap.add_argument("--budget-s", type=float, default=600)
    ap.add_argument("--no-dec", action="store_true")
    ap.add_argument("--no-peers", action="store_true", help="no KMeans / UMAP rows")
    args = ap.parse_args()
    print(machine_line() + "\n")
    print("| data (N used) | model | NMI | s | note |")
    print("|---|---|---|---|---|")
    for name in args.sets.split(","):
        spec, k = spec_of(name, args.subset), SETS[name]
        if spec is None:
            print(f"| {name} | - | - | - | skipped: {SHARED / name}.npz is not here |")
            continue
        ds = load_dataset(spec)
        label = f"{name} ({len(ds):,})"
        for peer in () if args.no_peers else PEERS:
            try:
                r = run_peer(peer, ds.X, ds.y, k, seed=0)
                print(f"| {label} | {peer} | {r['nmi']:.3f} | {r['seconds']:.0f} | |", flush=True)
            except Skipped as why:
                print(f"| {label} | {peer} | - | - | skipped ({why}) |", flush=True)
        if not args.no_dec:
            print(f"| {label} | DEC (ClustPy 0.0.3, defaults) | {dec_row(ds, k)} | |", flush=True)
        for method in filter(None, args.methods.split(",")):
            unseen = tuple(range(k - k // 3, k)) if method in LEARNS_FROM_LABELS else ()
            if unseen:
                held = np.isin(ds.y, unseen)
                for peer in PEERS[:2]:
                    r = run_peer(peer, ds.X[held], ds.y[held], len(unseen), seed=0)
                    print(f"| {label} | {peer} on unseen classes {unseen[0]}-{unseen[-1]} | {r['nmi']:.3f} | "
                          f"{r['seconds']:.0f} | {int(held.sum())} samples |", flush=True)
            for preset in args.presets.split(","):
                budget = Budget(args.budget_s)
                request = TrainRequest(method, spec, preset="" if preset == "default" else preset, k=k, seed=0,
                                       unseen=unseen, threads=2)
                t0 = time.perf_counter()
                try:
                    with tempfile.TemporaryDirectory() as tmp:
                        run = train_run(request, Path(tmp) / "run", callbacks=[budget])
                except (ValueError, MemoryError) as err:
                    print(f"| {label} | {method} {preset} | - | - | refused: {str(err)[:120]} |", flush=True)
                    continue
                seconds = time.perf_counter() - t0
                notes = [f"stopped at the {args.budget_s:.0f} s budget"] if budget.hit else []
                score = run.metrics.get("nmi", float("nan"))
                if unseen:
                    score = run.metrics.get("unseen_nmi", float("nan"))
                    notes.append(f"trained with the labels of classes 0-{unseen[0] - 1}; NMI on unseen "
                                 f"{unseen[0]}-{unseen[-1]}")
                print(f"| {label} | {method} {preset} | {score:.3f} | {seconds:.0f} | {'; '.join(notes)} |", flush=True)


if __name__ == "__main__":
    main()
