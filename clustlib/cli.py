"""The ``clustlib`` command line.

::

    clustlib methods
    clustlib datasets
    clustlib train knet --data moons --preset demo --out runs/moons
    clustlib train secu --data folder:imgs,lazy=1 --nproc 4 --out runs/imgs
    clustlib evaluate runs/moons [--data SPEC]
    clustlib reproduce runs/moons [--out DIR]
    clustlib import embeddings.npz --out runs/mine
    clustlib app [--runs DIR] [--port N] [--address A]

``train`` shows a progress bar, writes the Run and prints the final metrics as one JSON
line. ``--nproc N`` starts N processes on this machine with the environment torchrun gives
its workers (data-parallel DAC, DSCL, SeCu; docs/distributed.md); under ``torchrun`` (one
or several nodes) the same command runs on every rank. Rank 0 writes the run. Bad input exits with code 2 and a one-line message; an internal error exits with 1,
one line that says so, and the traceback in a temporary file.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from . import deprecation, distributed, tblogs
from .app import assets_dir, server_command
from .base import stop_text
from .cpu import DEFAULT_THREADS, fixed_threads, machine, resolve_threads
from .data import list_datasets, load_dataset, parse_classes, split_classes
from .dataset import DatasetError
from .external import import_npz
from .library import list_runs
from .methods import METHODS
from .metrics import ari, embedding_scores, evaluate
from .request import TrainRequest
from .rundir import claim_output, runs_dir
from .runs import Run, RunFormatError, _jsonable, read_run_json
from .timing import duration_text, estimate_seconds
from .train import data_hash, train_run


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


def _request(args, seed: int, threads) -> TrainRequest:
    """The CLI's flags as the request every front end trains from."""
    if args.method not in METHODS:
        raise UsageError(f"unknown method {args.method!r}; known: {', '.join(METHODS)}.")
    sets = _parse_sets(args.set)
    for name, flag in (("n_clusters", "--n-clusters"), ("random_state", "--seed"), ("device", "--device")):
        if name in sets:
            raise UsageError(f"set {name} with {flag}, not --set (the flag would override it).")
    return TrainRequest(args.method, args.data, preset=args.preset or None, params=sets, unseen=args.unseen,
                        seed=seed, k=args.n_clusters, threads=threads, device=args.device)


class _Progress:
    """A tqdm bar over rounds, opened at the first snapshot (after the input was
    validated, so bad input prints only its one-line error)."""

    def __init__(self, total: int, quiet: bool, expected=None):
        self.total, self.quiet, self.bar, self.expected = total, quiet, None, expected

    def on_start(self, est, planned: int) -> None:
        self.total = planned  # the rounds the method will run (JULE: periods down to k)
        if self.expected is not None and not self.quiet:  # the input is valid: say how long before the bar
            print(f"clustlib: {self.expected()}", file=sys.stderr, flush=True)
            self.expected = None

    def __call__(self, est, snap):
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=self.total, unit="round", disable=self.quiet, file=sys.stderr,
                            dynamic_ncols=True)
        if snap.round > 0:
            self.bar.update(1)
        keys = type(est).ABOUT.progress  # what the method says is worth watching
        self.bar.set_postfix({k: round(snap.scalars[k], 4) for k in keys  # no "loss nan" before a round
                              if math.isfinite(snap.scalars.get(k, math.nan))}, refresh=False)
        self.bar.set_description(snap.stage)
        return None

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _expected(request, out: Path) -> str:
    """The time ``request`` should take, from saved runs of the same settings (the demo
    runs, the runs folder, the runs beside --out); the bar then shows the time left."""

    found = estimate_seconds(request, list_runs(assets_dir(), runs_dir(), out.parent))
    if found is None:
        return "not trained with these settings before; the bar shows the time left from the first rounds"
    return f"expected about {duration_text(found[0])} ({found[1]})"


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


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: ``0-4`` or ``0,3,7`` (at most 100 seeds)."""
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            lo, dash, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if dash else [int(lo)]
    except ValueError:
        raise UsageError(f"--seeds {text!r}: give a range like 0-4 or a list like 0,3,7.") from None
    if not seeds or len(seeds) > 100 or min(seeds) < 0:
        raise UsageError(f"--seeds {text!r}: give 1 to 100 seeds, none negative.")
    return sorted(set(seeds))


def _line(run: Run, out: Path) -> dict:
    """A run's JSON line: its metrics; with held-out classes those of the seen classes are
    named ``seen_*`` beside the ``unseen_*`` ones (k-means on the embedding, Recall@1)."""
    m = dict(run.metrics)
    if run.info.get("unseen"):
        m = {(f"seen_{k}" if k in ("nmi", "acc", "ari") else k): v for k, v in m.items()}
    return {**m, "rounds": run.estimator.n_iter_, "threads": run.info.get("threads"), "out": str(out)}


def cmd_train(args) -> int:
    if args.nproc < 1:
        raise UsageError(f"--nproc {args.nproc}: give a process count of at least 1.")
    if args.seeds is not None and args.nproc > 1:
        raise UsageError("--seeds trains one process at a time; leave out --nproc (or run each seed with --seed).")
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
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if distributed.launched() else 1
    threads = args.threads
    if threads is None and local > 1:  # this machine's ranks share the default
        threads = max(1, DEFAULT_THREADS // local)
    try:
        threads = resolve_threads(threads)
    except ValueError:
        raise UsageError(f"--threads {args.threads}: give a positive count or 'auto'.") from None
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [args.seed]
    out = Path(args.out).expanduser()
    distributed.setup(args.device)  # under torchrun: join the group (NCCL on GPUs, gloo on CPUs)
    rank = distributed.world()[0]
    lines = []
    try:
        for seed in seeds:
            request = _request(args, seed, threads)
            where = out / f"seed-{seed}" if args.seeds is not None else out
            progress = _Progress(0, args.quiet or rank > 0,
                                 expected=(lambda r=request: _expected(r, out)) if seed == seeds[0] else None)
            try:
                with warnings.catch_warnings():  # an interrupt is reported below, in one line
                    warnings.filterwarnings("ignore", message="interrupted in ")
                    run = train_run(request, where, overwrite=args.overwrite, callbacks=[progress],
                                    extra={"threads_asked": args.threads or "default"})
            finally:
                progress.close()
            if rank > 0:
                continue
            if run.estimator.stopped_early_:
                print(f"clustlib: {stop_text(run.estimator)}; what was learned is saved in {where}", file=sys.stderr)
            lines.append(_line(run, where))
            print(json.dumps({**({"seed": seed} if args.seeds is not None else {}), **lines[-1]}), flush=True)
            if run.estimator.stopped_early_:
                break
    finally:
        distributed.teardown()
    if rank == 0 and args.seeds is not None and lines:
        print(json.dumps(seed_summary(lines, seeds[:len(lines)])))
    return 0


def seed_summary(lines: list[dict], seeds: list[int]) -> dict:
    """Mean, standard deviation, worst and best of every metric over the seeds' lines."""

    out: dict = {"seeds": seeds}
    for key in lines[0]:
        vals = [ln[key] for ln in lines if isinstance(ln.get(key), (int, float)) and not isinstance(ln.get(key), bool)]
        if len(vals) == len(lines) and key not in ("rounds", "threads"):
            worst = max(vals) if key == "seconds" else min(vals)
            best = min(vals) if key == "seconds" else max(vals)
            out[key] = {"mean": round(float(np.mean(vals)), 4), "std": round(float(np.std(vals)), 4),
                        "worst": round(float(worst), 4), "best": round(float(best), 4)}
    return out


def cmd_evaluate(args) -> int:
    run = Run.load(args.run)
    if not run.has_network:  # a recorded model: scored on what was recorded
        if args.data:
            raise UsageError(f"{args.run} is a recorded model ({run.info.get('model')}): it has no network to "
                             "apply to --data; leave --data out to score what was recorded.")
        print(json.dumps(run.estimator.scores(run.info.get("unseen") or [])))
        return 0
    spec = args.data or run.info.get("dataset")
    if not spec:
        raise UsageError(f"{args.run} records no dataset; pass --data SPEC.")
    ds = load_dataset(spec)
    unseen = run.info.get("unseen") or []
    seen, unseen_ds = split_classes(ds, unseen) if unseen and ds.y is not None else (ds, None)
    t0 = time.perf_counter()
    with fixed_threads(resolve_threads(None)):
        pred = run.estimator.predict(seen.X)
        out = {"data": spec, "n": len(seen)}
        if seen.y is not None:
            prefix = "seen_" if unseen_ds is not None else ""
            out.update({prefix + k: v for k, v in evaluate(seen.y, pred).items()})
        if unseen_ds is not None:
            scores = embedding_scores(run.estimator.transform(unseen_ds.X), unseen_ds.y)
            out.update({f"unseen_{name}": value for name, value in scores.items()})
    out["seconds"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(out))
    return 0


def cmd_import(args) -> int:
    """A Run from another tool's embeddings (.npz: embeddings, labels, y, images, X, epoch),
    or from a TensorBoard embedding log (``clustlib.tblogs``)."""

    if args.old_data:
        print(f"clustlib import: --dataset is now --data; the old name goes in clustlib {deprecation.REMOVED_IN}.",
              file=sys.stderr)
        args.data = args.data or args.old_data
    out = Path(args.out).expanduser()
    source = Path(args.file).expanduser()
    if source.is_dir() and not tblogs.is_logdir(source):
        raise UsageError(f"{source} is a folder without {tblogs.CONFIG}: give an .npz, or the log_dir a "
                         "SummaryWriter wrote embeddings to.")
    lock = claim_output(out, args.overwrite)
    try:
        if source.is_dir():  # a TensorBoard embedding log
            run = tblogs.load(source, tag=args.tag, column=args.column, n_clusters=args.n_clusters, name=args.name)
            run.save(out)
        else:
            run = import_npz(source, out, name=args.name, unseen=parse_classes(args.unseen), data=args.data)
    finally:
        lock.unlink(missing_ok=True)
    print(json.dumps({**run.metrics, "epochs": len(run.trace), "tracked": len(run.estimator.labels_),
                      "out": str(out)}))
    return 0


def cmd_reproduce(args) -> int:
    """Train a run again from what its run.json records and say whether it came out the
    same: exit 0 when the labels (and so the metrics) are identical, 3 when they are not
    (the JSON line says by how much, and what differs between the two machines)."""

    info = read_run_json(Path(args.run).expanduser())
    old = Run.load(args.run)
    for field in ("dataset", "threads"):
        if not info.get(field):
            raise UsageError(f"{args.run} does not record its {field} (trained before clustlib recorded "
                             "what repeating a run takes); it cannot be reproduced.")
    ds = load_dataset(info["dataset"])
    train = split_classes(ds, info.get("unseen") or [])[0] if info.get("unseen") else ds
    if info.get("data_hash") and data_hash(train) != info["data_hash"]:
        raise UsageError(f"{info['dataset']} no longer gives the data {args.run} was trained on "
                         "(its content hash differs); point the spec at the same data.")
    request = TrainRequest.from_info(info)
    request = dataclasses.replace(request, device=args.device or info.get("device") or request.device)
    out = Path(args.out).expanduser() if args.out else Path(tempfile.mkdtemp(prefix="clustlib-reproduce-")) / "run"
    try:
        new = train_run(request, out, overwrite=bool(args.out), callbacks=[_Progress(0, args.quiet)],
                        extra={"reproduces": str(args.run)})
        report = compare_runs(old, new)
    finally:
        if not args.out:
            shutil.rmtree(out.parent, ignore_errors=True)
    here = machine()
    report["machine"] = {"then": info.get("machine"), "now": here}
    if info.get("machine") and info["machine"].get("cpu") != here["cpu"]:
        report["note"] = "another CPU model: its BLAS / oneDNN kernels may round differently"
    if info.get("versions") and info["versions"] != new.info.get("versions"):
        report["versions"] = {"then": info["versions"], "now": new.info.get("versions")}
    if args.out:
        report["out"] = str(out)
    print(json.dumps(report))
    return 0 if report["identical"] else 3


def compare_runs(old: Run, new: Run) -> dict:
    """Whether two runs of the same settings agree: labels, every Snapshot's scalars, the
    metrics; when they differ, by how much (share of labels that differ, ARI between the
    two labelings, each metric then and now)."""

    a, b = np.asarray(old.estimator.labels_), np.asarray(new.estimator.labels_)
    same_labels = a.shape == b.shape and bool(np.array_equal(a, b))
    same_trace = _jsonable([(s.round, s.scalars) for s in old.trace]) == _jsonable([(s.round, s.scalars) for s in new.trace])
    metrics = _jsonable({k: [v, new.metrics.get(k)] for k, v in old.metrics.items() if k != "seconds"})
    report = {"identical": same_labels and same_trace and all(x == y for x, y in metrics.values()),
              "labels_identical": same_labels, "trace_identical": same_trace}
    if a.shape == b.shape and not same_labels:
        report["labels_differ"] = float(np.mean(a != b))
        report["agreement_ari"] = round(float(ari(a, b)), 4)
    report["metrics"] = {k: v for k, v in metrics.items()}
    report["seconds"] = [old.metrics.get("seconds"), new.metrics.get("seconds")]
    return report


def cmd_app(args) -> int:
    """Serve the dashboard on the runs under ``--runs`` (found at any depth, like
    ``tensorboard --logdir``); the demo runs come with the package. Prints the URL, then
    becomes the server (Ctrl-C stops it; trainings in progress save first)."""

    runs = Path(args.runs).expanduser().resolve()
    if runs.exists() and not runs.is_dir():
        raise UsageError(f"--runs {args.runs} is a file; give the folder that holds your runs.")
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number (1-65535).")
    try:
        runs.mkdir(parents=True, exist_ok=True)  # where the app saves what it trains
    except OSError as err:
        raise UsageError(f"cannot use {runs} for runs: {err.strerror or err}.") from None
    shown = "localhost" if args.address in ("0.0.0.0", "::") else args.address
    print(f"clustlib: the dashboard at http://{shown}:{args.port} on the runs under {runs}"
          + (" (open to the network: see docs/safety.md)" if args.address != "localhost" else ""), flush=True)
    cmd = server_command(args.port, args.address)
    os.execve(cmd[0], cmd, {**os.environ, "CLUSTLIB_RUNS": str(runs)})
    return 0  # not reached: the process is the server now


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
    t.add_argument("--seeds", default=None, metavar="0-4",
                   help="train one run per seed (OUT/seed-S) and print mean, worst and best")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda")
    t.add_argument("--threads", default=None, metavar="N|auto",
                   help=f"CPU threads of the fit, fixed and recorded (default {DEFAULT_THREADS}, the same seed "
                        "then gives the same run however busy the machine is; 'auto': the cores idle now)")
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
    m = sub.add_parser("import", help="a run from another tool's embeddings (.npz, or a TensorBoard log), for the app")
    m.add_argument("file", help=".npz with embeddings (epochs, n, d) or (n, d); optional labels (epochs, n), "
                   "y (n,), images (n, H, W[, 3]), X (n, ...) the input, epoch (epochs,) names -- or a "
                   "TensorBoard log_dir written by SummaryWriter.add_embedding (one frame per global step)")
    m.add_argument("--tag", default=None, help="TensorBoard log: the embedding tag (default: the one logged most)")
    m.add_argument("--column", default=None, help="TensorBoard log: the metadata column of the classes")
    m.add_argument("--n-clusters", type=int, default=None, help="TensorBoard log without metadata: k of k-means")
    m.add_argument("--out", required=True, help="run directory to write")
    m.add_argument("--name", default=None, help="the model's name (default: the file's)")
    m.add_argument("--unseen", default=None, help="classes of y the model never trained on, e.g. 7,8,9")
    m.add_argument("--data", default=None, help="the dataset spec the samples come from (without X: rows 0..n-1)")
    m.add_argument("--dataset", dest="old_data", default=None, help=argparse.SUPPRESS)  # CHANGELOG.md
    m.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    m.set_defaults(func=cmd_import)
    r = sub.add_parser("reproduce", help="train a run again from its run.json and compare")
    r.add_argument("run")
    r.add_argument("--out", default=None, help="keep the new run here (default: a temporary folder, removed)")
    r.add_argument("--device", default=None, help="default: the device the run was trained on")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_reproduce)
    a = sub.add_parser("app", help="the dashboard: watch the five methods and your runs (like tensorboard --logdir)")
    a.add_argument("--runs", default="runs", help="the folder of runs, searched at any depth: runs of clustlib, "
                   "recordings in progress, TensorBoard embedding logs (default: ./runs)")
    a.add_argument("--port", type=int, default=8501, help="default 8501")
    a.add_argument("--address", default="localhost",
                   help="localhost (default: this machine only) or 0.0.0.0 to serve a classroom (docs/safety.md)")
    a.set_defaults(func=cmd_app)
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
        fd, log = tempfile.mkstemp(prefix="clustlib-error-", suffix=".txt")
        with os.fdopen(fd, "w") as fh:
            fh.write(traceback.format_exc())
        kind = sys.exc_info()[0].__name__
        print(f"clustlib: internal error ({kind}), a bug in clustlib; the traceback is in {log} "
              "-- please report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
