"""Your own model, watched like the five methods: record a training loop's embeddings.

::

    rec = clustlib.Recorder(X_track, y, name="my-dec", out="runs/my-dec")   # or Recorder(idx, data="digits")
    for epoch in range(20):
        ...                                                # your training step
        rec.record(epoch, model.encode(X_track), labels=model.assign(X_track), loss=loss)
    rec.close()                                            # (also when the script ends)

With ``out=`` every recorded epoch is on disk as it is recorded (atomically: a killed
script leaves a run of the epochs so far), marked as recording until the script ends;
``clustlib app --runs runs`` shows it and follows it as epochs arrive. Without ``out=``,
``rec.save(path)`` writes the run at the end.

A recorded run is a normal Run (run.json with ``"method": "external"`` and the model's
name, trace.npz, labels.npy; no model.pt) that :meth:`clustlib.Run.load`, ``clustlib
evaluate``, Compare and the app's "Your model" page open. ``clustlib import FILE.npz``
makes one from arrays written by any other tool (:func:`import_npz`).

Memory is bounded: at most ``max_points`` tracked samples (a stratified subset when
``X_track`` has more; ``record`` still takes the embedding of all of ``X_track``),
embeddings kept as float16, and at most ``max_frames`` epochs and ``max_mib`` MiB of them
-- past either, every other recorded epoch is dropped (the first and the latest stay), so
a long run keeps an evenly spaced history.

>>> import numpy as np
>>> rec = Recorder(np.random.default_rng(0).normal(size=(60, 5)), y=np.repeat([0, 1, 2], 20))
>>> for epoch in range(3):
...     _ = rec.record(epoch, np.eye(3)[np.repeat([0, 1, 2], 20)] * (epoch + 1), loss=1.0 / (epoch + 1))
>>> [round(s.scalars["nmi"], 2) for s in rec.snapshots()]
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

import atexit
import datetime as _dt
import itertools
import os
import socket
import time
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import sources
from .base import Snapshot
from .data import load_dataset
from .dataset import stratified_subset
from .deprecation import old_keyword
from .limits import BudgetError, check_npz, npz_headers, read_npy_header
from .metrics import embedding_scores, evaluate
from .rundir import claim_output, pid_alive
from .runs import Run, _versions

METHOD = "external"
DEMO = "external-autoencoder"  # assets/: examples/record_autoencoder.py's recording (make demo-assets)


def _numpy(a, name: str) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor, on any device
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array (numpy or torch); got {type(a).__name__}.") from None


class ExternalModel:
    """A recorded model as a Run holds it: its trace, final labels and tracked samples,
    with the attributes the app's pages read. It has no network, so it cannot
    ``transform`` or ``predict`` new samples."""

    def __init__(self, n_clusters: int, name: str = "my-model"):
        self.n_clusters, self.name = int(n_clusters), str(name)
        self.random_state = None

    def get_params(self, deep: bool = True) -> dict:
        return {"n_clusters": self.n_clusters}

    def _state(self) -> tuple[dict, dict]:
        return {}, {"name": self.name}

    def transform(self, X):
        raise ValueError(f"{self.name} was recorded, not trained here: it has no network to embed new samples; "
                         "its recorded embeddings of the tracked samples are in trace_.")

    predict = transform

    @property
    def cluster_sizes_(self) -> np.ndarray:
        return np.bincount(self.labels_, minlength=self.n_clusters)

    def scores(self, unseen: Sequence[int] = ()) -> dict:
        """Its final epoch scored on the tracked samples: NMI/ACC/ARI of its labels on the
        seen classes (``seen_*`` when there are unseen ones) and k-means NMI / Recall@1 of
        its embedding of the unseen classes (``unseen_*``)."""
        if self.track_y_ is None:
            raise ValueError(f"{self.name} was recorded without true labels (y); there is nothing to score against.")
        y, last = self.track_y_, self.trace_[-1]
        held = np.isin(y, list(unseen))
        out = {"data": "the recorded samples", "n": int((~held).sum())}
        prefix = "seen_" if held.any() else ""
        out.update({prefix + k: v for k, v in evaluate(y[~held], self.labels_[~held]).items()})
        if held.sum() > 8 and np.unique(y[held]).size >= 2:
            out.update({f"unseen_{k}": v for k, v in embedding_scores(last.embedding[held], y[held]).items()})
        return out


def _build(params: dict, doc: dict) -> ExternalModel:
    return ExternalModel(int(params.get("n_clusters", 2)), str(doc.get("model", "my-model"))[:200])


def _restore(est: ExternalModel, doc: dict, tensors: dict, arrays: dict) -> None:
    """What a recording keeps instead of a network: the tracked samples themselves."""
    est.track_input_, est.track_images_ = arrays.get("track_input"), arrays.get("track_images")
    est.dataset_index_ = arrays.get("dataset_index", np.arange(est.labels_.size))


sources.register(sources.RunSource(METHOD, _build, _restore, network=False, demo=DEMO))


class Recorder:
    """Record a model's embedding of fixed samples, epoch by epoch (module docstring).

    Parameters
    ----------
    X_track : array (m, d) or (m, H, W) / (m, C, H, W), or int indices (m,) into ``data``
        The samples to follow; kept (float16, flattened) to draw the input's own map and
        run scikit-learn's KMeans on it beside your model.
    y : array (m,), optional
        True labels, used only for scoring (NMI / ACC / ARI per epoch) and colours.
    images : array (m, H, W), (m, H, W, 3) or (m, 3, H, W), optional
        Thumbnails for "Inspect points" (default: X_track when it holds images).
    name : str
        Your model's name, shown on its page and in the runs library.
    unseen : sequence of int, optional
        Classes of ``y`` your model never trained on: scored apart (``unseen_nmi``) and
        drawn in the app's unseen-category view.
    data : str, optional
        A dataset spec (``"digits"``): then ``X_track`` may be indices into it, and the run
        is comparable with the five methods' runs on that data. Was ``dataset`` (still
        accepted, with a DeprecationWarning).
    n_clusters : int, optional
        For k-means on the embedding when ``record`` gets no labels (default: the number of
        classes of the seen samples).
    max_points, max_frames, max_mib : bounds on memory (module docstring).
    out : str or path, optional
        Write the run here as each epoch is recorded (a live recording; module docstring).
        Checked and locked at once: an existing run there is refused unless ``overwrite``.
    overwrite : bool
        Replace a run at ``out`` (never a folder that is not a run).
    """

    def __init__(self, X_track=None, y=None, images=None, name: str = "my-model", unseen: Sequence[int] | None = None,
                 data: str | None = None, n_clusters: int | None = None, max_points: int = 2000,
                 max_frames: int = 300, max_mib: float = 256.0, dataset: str | None = None,
                 out=None, overwrite: bool = False):
        data = old_keyword(data, dataset, "Recorder")
        self.out, self._lock = None, None
        if X_track is None:
            raise ValueError("Recorder needs X_track: the samples to follow (or their indices with data=).")
        X = _numpy(X_track, "X_track")
        index = None
        if data is not None and X.ndim == 1 and X.dtype.kind in "iu":
            ds = load_dataset(data)
            if X.size and (X.min() < 0 or X.max() >= len(ds)):
                raise ValueError(f"X_track: indices must lie in 0..{len(ds) - 1} of {data}.")
            index, X = X.astype(np.int64), np.asarray(ds.X[X])
            if y is None and ds.y is not None:
                y = ds.y[index]
        if X.ndim < 2 or X.shape[0] < 2:
            raise ValueError(f"X_track has shape {X.shape}; give at least 2 samples as (m, d) or images "
                             "(or int indices with data=).")
        Xf = X.reshape(len(X), -1).astype(np.float32)
        if not np.isfinite(Xf).all():
            raise ValueError("X_track contains NaN or infinity; drop or impute those samples first.")
        m = len(X)
        if y is not None:
            y = _numpy(y, "y").ravel()
            if y.shape[0] != m or y.dtype.kind not in "iub":
                raise ValueError(f"y must hold {m} integer class labels; got shape {y.shape}, dtype {y.dtype}.")
            y = y.astype(np.int64)

        self.keep = stratified_subset(y, m, int(max_points), 0)  # the tracked rows of X_track
        self.m, self.name, self.data = m, str(name), data or ""
        self.index = self.keep if index is None else index[self.keep]  # into the dataset, or X_track
        self.input = Xf[self.keep].astype(np.float16) if Xf.size * 2 <= 512 * 2**20 else None
        self.input_shape = tuple(X.shape[1:])
        self.y = None if y is None else y[self.keep]
        self.unseen = sorted({int(c) for c in (unseen or [])})
        if self.unseen and self.y is None:
            raise ValueError("unseen= names classes of y; give y too.")
        self.seen = np.ones(len(self.keep), bool) if self.y is None else ~np.isin(self.y, self.unseen)
        if not self.seen.any():
            raise ValueError("every tracked sample is of an unseen class; keep some seen ones.")
        self.images = self._thumbnails(images, X)
        seen_classes = None if self.y is None else np.unique(self.y[self.seen]).size
        self.k = int(n_clusters or seen_classes or 0)
        self.max_frames, self.max_bytes = int(max_frames), float(max_mib) * 2**20
        self.frames: list[dict] = []
        self.thinned = False
        self.t0 = time.perf_counter()
        if out is not None:  # checked and locked before the first epoch, like clustlib train --out
            self.out = Path(out).expanduser()
            self._lock = claim_output(self.out, overwrite)
            atexit.register(self.close)  # a script that ends (or is interrupted) leaves a final run

    def _thumbnails(self, images, X: np.ndarray):
        if images is None:
            if X.ndim not in (3, 4):
                return None
            images = X
        imgs = _numpy(images, "images")
        if imgs.shape[0] != self.m or imgs.ndim not in (3, 4):
            raise ValueError(f"images must be {self.m} pictures (m, H, W) or (m, H, W, 3); got shape {imgs.shape}.")
        imgs = imgs[self.keep].astype(np.float32)
        if imgs.ndim == 4 and imgs.shape[-1] in (1, 3) and imgs.shape[1] not in (1, 3):  # to channels first
            imgs = imgs.transpose(0, 3, 1, 2)
        lo, hi = float(imgs.min()), float(imgs.max())
        return ((imgs - lo) / (hi - lo or 1.0) * 255).astype(np.uint8)

    # ------------------------------------------------------------------ recording
    def record(self, epoch, embedding, labels=None, **scalars) -> dict:
        """Keep one epoch: ``embedding`` (m, d) of the tracked samples (torch or numpy),
        optionally the model's cluster ``labels`` (m,), and any scalars (loss=...). Returns
        the epoch's scalars with NMI/ACC/ARI (of ``labels``, else of k-means on the
        embedding) when y was given."""
        E = _numpy(embedding, "embedding")
        if E.dtype.kind not in "fiub":  # complex numbers would silently lose their imaginary part
            raise ValueError(f"record({epoch!r}): embedding holds {E.dtype} values; give real numbers "
                             "(e.g. the real and imaginary parts side by side).")
        if E.ndim != 2 or E.shape[0] != self.m:
            raise ValueError(f"record({epoch!r}): embedding has shape {E.shape}; expected ({self.m}, d), "
                             "one row per sample of X_track.")
        E = E[self.keep].astype(np.float32)
        if not np.isfinite(E).all():
            raise ValueError(f"record({epoch!r}): the embedding holds NaN or infinity.")
        if labels is not None:
            lab = _numpy(labels, "labels").ravel()
            if lab.shape[0] != self.m or lab.dtype.kind not in "iu" or (lab.size and (lab.min() < 0
                                                                                    or lab.max() >= 2**31)):
                raise ValueError(f"record({epoch!r}): labels must be {self.m} cluster ids from 0 to 2**31 - 1; "
                                 f"got shape {lab.shape}, dtype {lab.dtype}.")
            lab = lab[self.keep].astype(np.int64)
            given = True
        else:
            lab, given = self._kmeans(E), False
        values = {}
        for key, v in scalars.items():
            try:
                values[str(key)] = float(_numpy(v, key))
            except (TypeError, ValueError):
                raise ValueError(f"record({epoch!r}): {key}={v!r} is not a number.") from None
        values["n_clusters"] = float(np.unique(lab[self.seen]).size)
        if self.y is not None:
            values.update(evaluate(self.y[self.seen], lab[self.seen]))
            unseen = ~self.seen
            if unseen.sum() > 8 and np.unique(self.y[unseen]).size >= 2:
                values.update({f"unseen_{k}": v for k, v in embedding_scores(E[unseen], self.y[unseen]).items()})
        scale = float(np.abs(E).max(initial=0.0))
        stored = E.astype(np.float16) if scale < 6e4 else E
        stage = f"epoch {epoch}" if isinstance(epoch, (int, np.integer)) else str(epoch)[:60]
        self.frames.append({"stage": stage, "embedding": stored, "labels": lab.astype(np.int32),
                            "scalars": values, "given": given})
        self._thin()
        if self.out is not None and self._lock is not None:
            self.to_run(live=True).save(self.out, compress=False)  # on disk now: a kill loses nothing recorded
        return values

    def _kmeans(self, E: np.ndarray) -> np.ndarray:
        """k-means on the seen samples' embedding (k: the seen classes, or n_clusters); the
        unseen samples are given their nearest centre."""
        from sklearn.cluster import KMeans

        if self.k < 2 or self.seen.sum() < self.k:
            raise ValueError("record() got no labels and the Recorder knows no cluster count: pass labels=, "
                             "or y / n_clusters to the Recorder.")
        return KMeans(self.k, n_init=3, random_state=0).fit(E[self.seen]).predict(E).astype(np.int64)

    def _thin(self) -> None:
        """Past ``max_frames`` or ``max_mib``, drop every other middle epoch."""
        size = sum(f["embedding"].nbytes for f in self.frames)
        while len(self.frames) > 2 and (len(self.frames) > self.max_frames or size > self.max_bytes):
            middle = self.frames[1:-1]
            self.frames = [self.frames[0], *middle[1::2], self.frames[-1]]
            size = sum(f["embedding"].nbytes for f in self.frames)
            self.thinned = True

    def snapshots(self) -> list[Snapshot]:
        return [Snapshot(i, f["stage"], f["labels"].astype(np.int64), f["embedding"].astype(np.float32),
                         dict(f["scalars"]), {}) for i, f in enumerate(self.frames)]

    # ------------------------------------------------------------------ saving
    def model(self) -> ExternalModel:
        """The recording as an :class:`ExternalModel` (what a Run wraps)."""
        if not self.frames:
            raise ValueError("nothing recorded yet: call record(epoch, embedding) at least once.")
        trace = self.snapshots()
        k = self.k or int(trace[-1].labels.max()) + 1
        est = ExternalModel(max(k, 2), self.name)
        est.trace_, est.labels_ = trace, trace[-1].labels.copy()
        est.track_index_ = np.arange(len(self.keep))  # labels_ are the tracked samples' own
        est.dataset_index_ = np.asarray(self.index, dtype=np.int64)  # into the dataset, or X_track
        est.track_y_ = self.y
        est.track_input_, est.track_images_ = self.input, self.images
        est.input_shape_, est.n_iter_ = self.input_shape, len(trace) - 1
        est.n_features_in_ = int(np.prod(self.input_shape))
        est.stopped_early_, est.fit_seconds_ = False, time.perf_counter() - self.t0
        est.labels_given_ = bool(self.frames[-1]["given"])
        return est

    def to_run(self, live: bool = False):
        """The recording as a Run; ``live``: marked as still recording (run.json's ``live``:
        process, host, time and stage of the latest epoch, for the app's "recording" status)."""

        est = self.model()
        metrics = {"seconds": round(est.fit_seconds_, 3)}
        last = est.trace_[-1].scalars
        metrics.update({k: last[k] for k in ("nmi", "acc", "ari", "unseen_nmi", "unseen_recall@1") if k in last})
        info = {"method": METHOD, "model": self.name, "params": est.get_params(), "dataset": self.data,
                "unseen": self.unseen, "seed": None, "metrics": metrics,
                "labels": "the model's own" if est.labels_given_ else f"k-means (k={est.n_clusters}) on the embedding",
                "recorder": {"tracked": len(self.keep), "of": self.m, "thinned": self.thinned},
                "n_samples": int(est.labels_.size)}

        info.update(versions=_versions(), created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        if live:
            info["live"] = {"pid": os.getpid(), "host": socket.gethostname(), "updated": time.time(),
                            "stage": est.trace_[-1].stage}
        return Run(est, info)

    def save(self, path=None):
        """Write the recording as a Run directory (atomic, like every Run); returns the Run.
        With ``out=`` given to the Recorder, ``save()`` (or ``save(out)``) is :meth:`close`."""
        if self.out is not None and (path is None or Path(path).expanduser() == self.out):
            return self.close()
        if path is None:
            raise ValueError("save(path): where to write the run (or give the Recorder out=).")
        run = self.to_run()
        run.save(path)
        return run

    def close(self):
        """End a recording made with ``out=``: its final, compressed run (no longer marked as
        recording), and the lock released. Called by itself when the script ends; safe to
        call again. Returns the Run (None when nothing was recorded)."""
        if self._lock is None:
            return None
        try:
            run = self.to_run() if self.frames else None
            if run is not None:
                run.save(self.out)
        finally:
            self._lock.unlink(missing_ok=True)
            self._lock = None
            atexit.unregister(self.close)
        return run

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def recording_status(info: dict, now: float | None = None) -> str | None:
    """A listed run's recording state in words, or None for a finished run:
    ``recording, epoch 12, 8 s ago``, or that its process on this machine is gone."""
    live = info.get("live") if isinstance(info, dict) else None
    if not isinstance(live, dict):
        return None

    stage = str(live.get("stage", ""))[:40]
    if live.get("host") == socket.gethostname() and not pid_alive(int(live.get("pid", 0))):
        return f"recording ended without closing at {stage} (its process is gone)"
    ago = max(0.0, (now or time.time()) - float(live.get("updated") or 0))
    when = f"{ago:.0f} s" if ago < 120 else f"{ago / 60:.0f} min" if ago < 7200 else f"{ago / 3600:.0f} h"
    return f"recording, {stage}, {when} ago"


# --------------------------------------------------------------------------- import


def import_npz(path, out, name: str | None = None, unseen: Sequence[int] | None = None, data: str | None = None,
               dataset: str | None = None, max_frames: int = 300, max_bytes: int | None = None):
    """A Run from an .npz written by another tool: ``embeddings`` (epochs, n, d) or (n, d),
    optional ``labels`` (epochs, n) or (n,), ``y`` (n,), ``images`` (n, H, W[, 3]),
    ``X`` (n, ...) the input, ``epoch`` (epochs,) names. Shapes are read from the headers
    and bounded (``max_bytes``, default ``CLUSTLIB_MAX_ARRAY_MB``) before any array is
    loaded; of many epochs at most ``max_frames`` evenly spaced ones are read, one at a
    time; nothing is unpickled. ``data``: the dataset spec the samples come from (was
    ``dataset``)."""

    data = old_keyword(data, dataset, "import_npz")

    path = Path(path).expanduser()
    try:
        heads = npz_headers(path)
        check_npz(path, str(path), max_bytes)
        if "embeddings" not in heads:
            raise ValueError(f"{path}: no array named 'embeddings' (found {sorted(heads)}); save "
                             "np.savez(path, embeddings=(epochs, n, d), labels=..., y=...).")
        shape, dtype = heads["embeddings"]
        if dtype.kind not in "fiu" or len(shape) not in (2, 3) or 0 in shape:
            raise ValueError(f"{path}: embeddings has shape {shape}, dtype {dtype}; expected numbers of shape "
                             "(epochs, n, d) or (n, d).")
        n_epochs = shape[0] if len(shape) == 3 else 1
        pick = np.unique(np.linspace(0, n_epochs - 1, min(n_epochs, max(int(max_frames), 2))).round().astype(int))
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files if k != "embeddings"}
        epochs = _embedding_epochs(path, pick)  # read as they are recorded, one at a time
        first = next(epochs)
    except BudgetError:
        raise
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file.") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        text = str(err).splitlines()[0][:200]
        raise ValueError(text if text.startswith(str(path)) else f"{path}: not a readable .npz of numeric arrays "
                         f"({text}).") from None
    n = first[1].shape[0]
    labels = arrays.get("labels")
    if labels is not None:
        labels = labels[None] if labels.ndim == 1 else labels
        if labels.shape != (n_epochs, n):
            raise ValueError(f"{path}: labels has shape {labels.shape}; expected {(n_epochs, n)} (epochs, n).")
    names = arrays.get("epoch")
    if names is not None and (names.ndim != 1 or len(names) != n_epochs):
        raise ValueError(f"{path}: epoch has shape {names.shape}; expected ({n_epochs},), a name per epoch.")
    X = arrays.get("X")
    if X is None:
        X = np.zeros((n, 1), np.float32) if data is None else None
    if data is not None and X is None:
        X = np.arange(n)
    rec = Recorder(X, y=arrays.get("y"), images=arrays.get("images"), name=name or path.stem, unseen=unseen,
                   data=data, n_clusters=None if labels is not None or arrays.get("y") is not None else 2,
                   max_frames=len(pick) + 1)
    if "X" not in arrays and data is None:
        rec.input = None  # no input given: no map of it, no k-means on it
    try:
        for i, E in itertools.chain([first], epochs):
            epoch = names[i].item() if names is not None else int(i)
            rec.record(epoch, E, None if labels is None else labels[i])
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:  # damage further into the archive
        raise ValueError(f"{path}: not a readable .npz of numeric arrays ({str(err).splitlines()[0][:200]}).") from None
    return rec.save(out)


def _embedding_epochs(path, pick: np.ndarray):
    """(i, embedding of epoch i) for the epochs ``pick`` of an .npz's ``embeddings``, read
    from the archive one epoch at a time (a recording of 450 MiB never sits in memory)."""

    with zipfile.ZipFile(path) as z, z.open("embeddings.npy") as fh:
        shape, fortran, dtype = read_npy_header(fh)
        if len(shape) == 2 or fortran:
            whole = np.lib.format.read_array(z.open("embeddings.npy"), allow_pickle=False)
            whole = whole[None] if whole.ndim == 2 else whole
            for i in pick:
                yield int(i), np.ascontiguousarray(whole[i])
            return
        size = int(np.prod(shape[1:])) * dtype.itemsize
        wanted = set(int(i) for i in pick)
        for i in range(max(wanted) + 1):
            buf = fh.read(size)
            if len(buf) != size:
                raise ValueError(f"{path}: embeddings ends in epoch {i} of {shape[0]}; the file is truncated.")
            if i in wanted:
                yield i, np.frombuffer(buf, dtype=dtype).reshape(shape[1:])
