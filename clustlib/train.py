"""Load data, hold classes out, fit, save the Run: the one way every front end trains
(the CLI, the app's training jobs, ``scripts/make_demo_assets.py``).

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> run = train_run("knet", "moons:n=120", out, preset="tiny", params={"random_state": 0})
>>> run.info["method"], run.estimator.labels_.shape
('knet', (120,))
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from . import cpu, distributed
from .base import DeepClusterer, held_interrupts
from .data import Dataset, load_dataset, resolve_unseen, split_classes
from .methods import METHODS
from .metrics import embedding_scores
from .runs import Run, is_run_dir, pid_alive, recover


class OutputError(ValueError):
    """The run cannot be written where asked (exists, locked, not writable)."""


def make_estimator(method: str, preset: str | None = None, params: dict | None = None) -> DeepClusterer:
    """``method``'s estimator from a preset (or the constructor's defaults) and overrides."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}.")
    cls, params = METHODS[method], dict(params or {})
    if preset:
        return cls.from_preset(preset, **params)
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ValueError(f"{method} has no parameter(s) {', '.join(sorted(unknown))}; "
                         f"parameters: {', '.join(cls._get_param_names())}.")
    return cls(**params)


def train_run(method: str, data: str, out, *, preset: str | None = "demo", params: dict | None = None,
              unseen: str | Sequence[int] | None = None, callbacks: Sequence = (), overwrite: bool = False,
              extra: dict | None = None, threads=None) -> Run:
    """Train ``method`` on dataset spec ``data`` and save the Run to ``out``; returns it.

    ``unseen``: classes held out of training -- ids, or the CLI's text (``"7,8,9"``,
    Omniglot alphabets, ``"none"``); None is the dataset's own split. ``n_clusters``
    defaults to the number of training classes. ``out`` is checked and locked before any
    training (an existing run is replaced only with ``overwrite``); Ctrl-C stops the fit
    and what was learned is still saved. ``extra`` is recorded in run.json.

    ``threads``: the fit's CPU threads, fixed for the whole fit and recorded
    (``clustlib.cpu``: a count, ``"auto"`` for the cores idle now, None for the default)
    -- with the seed, the parameters, the data's content hash, the device and the library
    versions, what ``clustlib reproduce`` needs to train the same run again. With held-out
    classes the run also records how its embedding clusters them (``unseen_nmi``,
    ``unseen_recall@1``).

    Inside a torch.distributed group (torchrun) every rank calls this: rank 0 claims and
    writes ``out`` (the others learn whether it could), all ranks train together.
    """
    ds = load_dataset(data)
    if unseen is None or isinstance(unseen, str):
        held = resolve_unseen(ds, unseen)
    else:
        held = sorted({int(c) for c in unseen})
    train, others = split_classes(ds, held) if held else (ds, None)
    n_threads = cpu.resolve_threads(threads)
    params = dict(params or {})
    if "n_clusters" not in params:
        if train.n_classes is None:
            raise ValueError(f"{data} has no labels; give n_clusters.")
        params["n_clusters"] = train.n_classes
    est = make_estimator(method, preset, params)
    out = Path(out).expanduser()
    rank, world = distributed.world()
    lock, refused = None, None
    if rank == 0:
        try:
            lock = claim_output(out, overwrite)
        except OutputError as err:
            refused = str(err)
    refused = distributed.broadcast(refused)  # every rank stops before training, or none
    if refused:
        raise OutputError(refused)
    try:
        t0 = time.perf_counter()
        with cpu.fixed_threads(n_threads):
            est.fit(train.X, train.y, callbacks=list(callbacks))
        seconds = time.perf_counter() - t0
        repeat = {"preset": preset, "threads": n_threads, "threads_asked": str(threads or "default"),
                  "processes": world, "device": str(est.device_), "data_hash": data_hash(train),
                  "machine": machine()}
        run = Run.from_estimator(est, method=method, dataset=data, unseen=held, y=train.y,
                                 extra={**repeat, **(extra or {})})
        run.info["metrics"]["seconds"] = round(seconds, 3)
        if others is not None and others.y is not None:
            with cpu.fixed_threads(n_threads):
                scores = embedding_scores(est.transform(others.X), others.y)
            run.info["metrics"].update({f"unseen_{k}": v for k, v in scores.items()})
        if rank == 0:
            with held_interrupts():  # Ctrl-C while saving would lose what was learned
                run.save(out)
    finally:
        if lock is not None:
            lock.unlink(missing_ok=True)
    return run


def data_hash(ds: Dataset) -> str:
    """The content of a (training) dataset: sha256 of its samples and labels -- or, for
    images read from disk, of their file names and sizes -- so that a re-run can tell
    whether the spec still gives the data the run was trained on."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    if hasattr(ds.X, "files"):  # stream.LazyImages: the files, not their decoded pixels
        for f in ds.X.files:
            h.update(f"{Path(f).name}:{Path(f).stat().st_size};".encode())
    else:
        X = np.ascontiguousarray(ds.X, dtype=np.float32)
        h.update(repr(X.shape).encode())
        h.update(X.tobytes())
    if ds.y is not None:
        h.update(np.ascontiguousarray(ds.y, dtype=np.int64).tobytes())
    return "sha256:" + h.hexdigest()[:32]


def machine() -> dict:
    """The CPU (its model decides which kernels BLAS and oneDNN run, so another model may
    give other numbers for the same seed), its cores, the platform and the GPU if any."""
    import platform

    import torch

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    except OSError:
        pass
    out = {"cpu": model, "cores": os.cpu_count() or 1, "platform": platform.platform(terse=True)}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def claim_output(out: Path, overwrite: bool = False) -> Path:
    """Check ``out`` before any training and take a lock next to it, so a second training
    with the same ``out`` is refused instead of silently replacing the first one."""
    recover(out)
    if out.exists():
        if not overwrite:
            raise OutputError(f"{out} already exists; choose another output (--out) or overwrite it "
                              "(overwrite=True, --overwrite).")
        if not is_run_dir(out):
            raise OutputError(f"{out} is not a clustlib run; overwriting replaces only runs.")
    lock = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write the run to {out}: {err.strerror or err}.") from None
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and pid_alive(pid):
                raise OutputError(f"{out} is being written by another clustlib (pid {pid}); "
                                  "choose another output (--out).") from None
            lock.unlink(missing_ok=True)  # a stale lock of a process that is gone
            continue
        except OSError as err:
            raise OutputError(f"cannot write the run to {out}: {err.strerror or err}.") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return lock
    raise OutputError(f"cannot take the lock {lock}; remove it if no clustlib is running.")
