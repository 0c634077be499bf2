"""The ``clustlib`` command line.

::

    clustlib methods
    clustlib datasets
    clustlib train knet --data moons --preset demo --out runs/moons
    clustlib train secu --data folder:imgs,lazy=1 --nproc 4 --out runs/imgs
    clustlib evaluate runs/moons [--data SPEC]

``train`` shows a progress bar, writes the Run and prints the final metrics as one JSON
line. ``--nproc N`` starts N processes on this machine with the environment torchrun gives
its workers (data-parallel DAC, DSCL, SeCu; docs/distributed.md); under ``torchrun`` (one
or several nodes) the same command runs on every rank. Rank 0 writes the run. Bad input exits with code 2 and a one-line message; an internal error exits with 1,
one line that says so, and the traceback in a temporary file.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
import warnings
from pathlib import Path

import torch

from . import distributed
from .cpu import ThreadGovernor, pick_threads
from .data import DatasetError, list_datasets, load_dataset, split_classes
from .methods import METHODS
from .runs import Run, RunFormatError
from .train import train_run


class UsageError(ValueError):
    pass


def _parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--set expects key=value, got {item!r}.")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()  # a bare string such as u_update=sma
    return out


def _overrides(method: str, n_clusters: int | None, seed: int | None, device: str, sets: dict) -> dict:
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; known: {', '.join(METHODS)}.")
    overrides = dict(sets)
    for name, flag in (("n_clusters", "--n-clusters"), ("random_state", "--seed"), ("device", "--device")):
        if name in overrides:
            raise UsageError(f"set {name} with {flag}, not --set (the flag would override it).")
    if n_clusters is not None:
        overrides["n_clusters"] = n_clusters
    if seed is not None:
        overrides["random_state"] = seed
    overrides["device"] = device
    return overrides


class _Progress:
    """A tqdm bar over rounds, opened at the first snapshot (after the input was
    validated, so bad input prints only its one-line error)."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.bar = total, quiet, None

    def on_start(self, est, planned: int) -> None:
        self.total = planned  # the rounds the method will run (JULE: periods down to k)

    def __call__(self, est, snap):
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=self.total, unit="round", disable=self.quiet, file=sys.stderr,
                            dynamic_ncols=True)
        if snap.round > 0:
            self.bar.update(1)
        keys = type(est).ABOUT.progress  # what the method says is worth watching
        self.bar.set_postfix({k: round(snap.scalars[k], 4) for k in keys if k in snap.scalars}, refresh=False)
        self.bar.set_description(snap.stage)
        return None

    def close(self):
        if self.bar is not None:
            self.bar.close()


def cmd_methods(args) -> int:
    for name, cls in METHODS.items():
        print(f"{name:8s} {cls.ABOUT.description}")
        for preset, params in cls.PRESETS.items():
            print(f"    preset {preset:6s} {', '.join(f'{k}={v}' for k, v in params.items())}")
    return 0


def cmd_datasets(args) -> int:
    for row in list_datasets():
        print(f"{row['name']:14s} {row['available']:18s} {row['description']}")
    return 0


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip or a == "--nproc" or a.startswith("--nproc="):
            skip = a == "--nproc"
            continue
        out.append(a)
    return out


def cmd_train(args) -> int:
    if args.nproc < 1:
        raise UsageError(f"--nproc {args.nproc}: give a process count of at least 1.")
    if args.nproc > 1:
        if distributed.launched():
            raise UsageError("--nproc is for a plain command; under torchrun give --nproc-per-node to torchrun.")
        if args.method not in METHODS or not METHODS[args.method].streams:
            raise UsageError(f"--nproc: {args.method} trains in one process; data-parallel methods: "
                             f"{', '.join(n for n, c in METHODS.items() if c.streams)}.")
        return distributed.launch_local(["train", *_without_nproc(args.argv[1:])], args.nproc)
    if args.n_clusters is not None and args.n_clusters < 2:
        raise UsageError(f"--n-clusters {args.n_clusters}: need at least 2 (leave it out for the "
                         "number of classes).")
    if args.threads < 0:
        raise UsageError(f"--threads {args.threads}: give a positive count, or 0 for the idle cores.")
    params = _overrides(args.method, args.n_clusters, args.seed, args.device, _parse_sets(args.set))
    threads = pick_threads(args.threads)
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if distributed.launched() else 1
    if local > 1 and args.threads == 0:
        threads = max(1, threads // local)  # the idle cores shared by this machine's ranks
    torch.set_num_threads(threads)  # oversubscribed cores run a CNN step up to 7x slower
    governor = ThreadGovernor(threads=threads) if args.threads == 0 and local == 1 else None  # follows the load
    distributed.setup(args.device)  # under torchrun: join the group (NCCL on GPUs, gloo on CPUs)
    rank = distributed.world()[0]
    progress = _Progress(0, args.quiet or rank > 0)
    try:
        with warnings.catch_warnings():  # an interrupt is reported below, in one line
            warnings.filterwarnings("ignore", message="interrupted in ")
            run = train_run(args.method, args.data, args.out, preset=args.preset or None, params=params,
                            unseen=args.unseen, overwrite=args.overwrite,
                            callbacks=[progress] + ([governor] if governor else []))
    finally:
        progress.close()
        distributed.teardown()
    if rank > 0:
        return 0
    est, out = run.estimator, Path(args.out).expanduser()
    if est.stopped_early_:
        print(f"clustlib: stopped after {est.n_rounds_} rounds; what was learned is saved in {out}",
              file=sys.stderr)
    print(json.dumps({**run.metrics, "rounds": est.n_rounds_, "out": str(out)}))
    return 0


def cmd_evaluate(args) -> int:
    from .metrics import embedding_scores, evaluate

    run = Run.load(args.run)
    spec = args.data or run.info.get("dataset")
    if not spec:
        raise UsageError(f"{args.run} records no dataset; pass --data SPEC.")
    ds = load_dataset(spec)
    unseen = run.info.get("unseen") or []
    seen, unseen_ds = split_classes(ds, unseen) if unseen and ds.y is not None else (ds, None)
    t0 = time.perf_counter()
    pred = run.estimator.predict(seen.X)
    out = {"data": spec, "n": len(seen)}
    if seen.y is not None:
        out.update(evaluate(seen.y, pred))
    if unseen_ds is not None:
        scores = embedding_scores(run.estimator.transform(unseen_ds.X), unseen_ds.y)
        out.update({f"unseen_{name}": value for name, value in scores.items()})
    out["seconds"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(out))
    return 0


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clustlib", description="Deep clustering methods; train, evaluate, list.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("methods", help="list methods and presets").set_defaults(func=cmd_methods)
    sub.add_parser("datasets", help="list dataset specs").set_defaults(func=cmd_datasets)
    t = sub.add_parser("train", help="train a method and save the Run")
    t.add_argument("method")
    t.add_argument("--data", default="digits", help="dataset spec (default: digits)")
    t.add_argument("--n-clusters", type=int, default=None, help="default: the number of classes")
    t.add_argument("--unseen", default=None, help="classes held out of training: ids (7,8,9), Omniglot alphabets "
                   "(Sanskrit,Tagalog) or none; default: the dataset's own split (none for most)")
    t.add_argument("--preset", default="demo", help="demo | paper | ... ('' for plain defaults)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="hyperparameter")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto | cpu | cuda")
    t.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default 0: the cores that are idle now, at least 1)")
    t.add_argument("--out", required=True, help="run directory to write")
    t.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--nproc", type=int, default=1,
                   help="data-parallel processes on this machine, launched with torchrun (DAC, DSCL, SeCu; "
                        "one GPU each with --device cuda)")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="metrics of a saved run")
    e.add_argument("run")
    e.add_argument("--data", default=None, help="dataset spec (default: the run's)")
    e.set_defaults(func=cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = make_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except (UsageError, DatasetError, RunFormatError, ValueError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"clustlib: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("clustlib: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a bug: one line here, the traceback in a file
        import tempfile
        import traceback

        fd, log = tempfile.mkstemp(prefix="clustlib-error-", suffix=".txt")
        with os.fdopen(fd, "w") as fh:
            fh.write(traceback.format_exc())
        kind = sys.exc_info()[0].__name__
        print(f"clustlib: internal error ({kind}), a bug in clustlib; the traceback is in {log} "
              "-- please report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
