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

import torch

from . import distributed
from .base import DeepClusterer, held_interrupts
from .data import load_dataset, resolve_unseen, split_classes
from .methods import METHODS
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
              extra: dict | None = None) -> Run:
    """Train ``method`` on dataset spec ``data`` and save the Run to ``out``; returns it.

    ``unseen``: classes held out of training -- ids, or the CLI's text (``"7,8,9"``,
    Omniglot alphabets, ``"none"``); None is the dataset's own split. ``n_clusters``
    defaults to the number of training classes. ``out`` is checked and locked before any
    training (an existing run is replaced only with ``overwrite``); Ctrl-C stops the fit
    and what was learned is still saved. ``extra`` is recorded in run.json.

    Inside a torch.distributed group (torchrun) every rank calls this: rank 0 claims and
    writes ``out`` (the others learn whether it could), all ranks train together.
    """
    ds = load_dataset(data)
    if unseen is None or isinstance(unseen, str):
        held = resolve_unseen(ds, unseen)
    else:
        held = sorted({int(c) for c in unseen})
    train = split_classes(ds, held)[0] if held else ds
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
        est.fit(train.X, train.y, callbacks=list(callbacks))
        more = {"processes": world} if world > 1 else {}
        run = Run.from_estimator(est, method=method, dataset=data, unseen=held, y=train.y,
                                 extra={"preset": preset, "threads": torch.get_num_threads(), **more, **(extra or {})})
        run.info["metrics"]["seconds"] = round(time.perf_counter() - t0, 3)
        if rank == 0:
            with held_interrupts():  # Ctrl-C while saving would lose what was learned
                run.save(out)
    finally:
        if lock is not None:
            lock.unlink(missing_ok=True)
    return run


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
