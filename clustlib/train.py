"""Load data, hold classes out, fit, save the Run: the one way every front end trains
(the CLI, the app's training jobs, ``scripts/make_demo_assets.py``).

What to train is one :class:`TrainRequest` -- the same object the CLI builds from its
flags, a page from its widgets and its link, a job carries to its process and
``clustlib reproduce`` reads back from a run.json:

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> run = train_run(TrainRequest("knet", "moons:n=120", preset="tiny", seed=0), out)
>>> run.info["method"], run.estimator.labels_.shape
('knet', (120,))
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import cpu, deprecation, distributed
from .base import held_interrupts
from .data import load_dataset, resolve_unseen, split_classes
from .dataset import Dataset
from .metrics import embedding_scores
from .request import TrainRequest
from .rundir import OutputError, claim_output
from .runs import Run


def train_run(request: TrainRequest | str, out=None, *legacy, callbacks: Sequence = (), overwrite: bool = False,
              extra: dict | None = None, **legacy_kw) -> Run:
    """Train what ``request`` asks for and save the Run to ``out``; returns it.

    ``n_clusters`` defaults to the number of training classes. ``out`` is checked and
    locked before any training (an existing run is replaced only with ``overwrite``);
    Ctrl-C stops the fit and what was learned is still saved. ``extra`` is recorded in
    run.json.

    The fit's threads are fixed for the whole fit and recorded -- with the seed, the
    parameters, the data's content hash, the device and the library versions, what
    ``clustlib reproduce`` needs to train the same run again. With held-out classes the
    run also records how its embedding clusters them (``unseen_nmi``, ``unseen_recall@1``).

    Inside a torch.distributed group (torchrun) every rank calls this: rank 0 claims and
    writes ``out`` (the others learn whether it could), all ranks train together.

    The older form ``train_run(method, data, out, preset=, params=, unseen=, threads=)``
    still works and warns (DeprecationWarning); it builds the same request.
    """
    if isinstance(request, str):
        request, out = _legacy_request(request, out, *legacy, **legacy_kw)
    elif legacy or legacy_kw:
        raise TypeError(f"train_run(request, out, *, callbacks, overwrite, extra): unexpected "
                        f"{', '.join(legacy_kw) or 'positional arguments'}.")
    ds = load_dataset(request.data)
    held = list(request.unseen) if isinstance(request.unseen, tuple) else resolve_unseen(ds, request.unseen)
    train, others = split_classes(ds, held) if held else (ds, None)
    n_threads = cpu.resolve_threads(request.threads)
    if request.k is None and train.n_classes is None:
        raise ValueError(f"{request.data} has no labels; give n_clusters.")
    est = request.estimator(train.n_classes)
    preset, threads = request.preset, request.threads
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
                  "machine": cpu.machine()}
        run = Run.from_estimator(est, method=request.method, data=request.data, unseen=held, y=train.y,
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


def _legacy_request(method: str, data: str, out, *, preset: str | None = "demo", params: dict | None = None,
                    unseen=None, threads=None) -> tuple[TrainRequest, object]:
    deprecation.warn("train_run(method, data, out, ...)", "train_run(TrainRequest(method, data, ...), out)", stacklevel=4)
    if unseen is not None and not isinstance(unseen, str):
        unseen = tuple(unseen)
    return TrainRequest.from_params(method, data, params, preset=preset, unseen=unseen, threads=threads), out


def data_hash(ds: Dataset) -> str:
    """The content of a (training) dataset: sha256 of its samples and labels -- or, for
    images read from disk, of their file names and sizes -- so that a re-run can tell
    whether the spec still gives the data the run was trained on."""

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
