"""2-D maps of embeddings: t-SNE (openTSNE), UMAP (umap-learn) and PCA, each able to
place *new* points into a map fitted on other points, so that seen and unseen
categories share one picture.

openTSNE and umap-learn are imported only when used (umap compiles with numba on
first use). Maps are cached in memory by the content of the data and the settings,
so redrawing a page never recomputes a map.

>>> import numpy as np
>>> from clustlib.project import fit_projection
>>> X = np.random.default_rng(0).normal(size=(60, 5))
>>> fit_projection(X, "pca").embedding_.shape
(60, 2)
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .dataset import stratified_subset
from .metrics import embedding_scores
from .tblogs import CONFIG, is_logdir

PROJECTIONS = ("tsne", "umap", "pca")
_CACHE: OrderedDict[str, Projection] = OrderedDict()
_CACHE_SIZE = 16

Progress = Callable[[float], None]  # called with the share done, 0..1


class Projection:
    """A fitted 2-D map: ``embedding_`` of the points it was fitted on, ``transform``
    for new points (openTSNE's out-of-sample optimisation with FFT gradients, UMAP's
    ``transform``, the PCA projection)."""

    def __init__(self, method: str, embedding: np.ndarray, model, n_features: int):
        self.method, self.embedding_, self._model, self.n_features = method, embedding, model, n_features

    def transform(self, X) -> np.ndarray:
        X = _check(X, min_samples=1)
        if X.shape[1] != self.n_features:
            raise ValueError(f"new points have {X.shape[1]} features but the map was fitted on "
                             f"{self.n_features}; embed them with the same model first.")
        return np.asarray(self._model.transform(X), dtype=np.float32)


def _check(X, min_samples: int) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    X = X.reshape(X.shape[0], -1) if X.ndim > 2 else X
    if X.ndim != 2 or X.shape[0] < min_samples:
        raise ValueError(f"a 2-D map needs at least {min_samples} points as an (n, d) array; "
                         f"got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise ValueError("the points to map contain NaN or infinity.")
    return X


def _key(X: np.ndarray, method: str, settings: dict) -> str:
    h = hashlib.sha1(X.tobytes())
    h.update(repr((X.shape, method, sorted(settings.items()))).encode())
    return h.hexdigest()


def fit_projection(X, method: str = "tsne", *, random_state: int = 0, progress: Progress | None = None,
                   perplexity: float = 30.0, n_neighbors: int = 15, n_iter: int = 500) -> Projection:
    """Fit a 2-D map of X (n, d). Cached by content + settings (progress is not part of
    the key). ``progress(share)`` is called during t-SNE's optimisation."""
    if method not in PROJECTIONS:
        raise ValueError(f"unknown projection {method!r}; choose one of {', '.join(PROJECTIONS)}.")
    X = _check(X, min_samples=4)
    settings = {"seed": int(random_state)}
    if method == "tsne":
        settings.update(perplexity=float(perplexity), n_iter=int(n_iter))
    elif method == "umap":
        settings["n_neighbors"] = int(n_neighbors)
    key = _key(X, method, settings)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    proj = {"tsne": _tsne, "umap": _umap, "pca": _pca}[method](X, settings, progress)
    _CACHE[key] = proj
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return proj


def _tsne(X: np.ndarray, s: dict, progress: Progress | None) -> Projection:
    from openTSNE import TSNE

    n = X.shape[0]
    exag_iter = 250
    total = exag_iter + s["n_iter"]
    done = [0]

    def report(iteration, error, embedding):  # openTSNE calls this every 25 iterations per phase
        done[0] += 25
        if progress is not None:
            progress(min(done[0] / total, 1.0))

    # ints_in_interval=3 and min_num_intervals=10 (openTSNE's defaults: 1 and 50): a coarser
    # FFT interpolation grid. On 2 cores the first is 3x faster at 5k-10k points with the
    # same map (10-NN accuracy of the 2-D map of MNIST-test: 0.917 vs 0.916 at 5k, 0.966 vs
    # 0.966 at 10k); the second removes the grid's fixed cost, 2x at 5k (accuracy 0.910 vs
    # 0.915) and 1.4x at 10k (0.949 both), 2.7x at 1k
    tsne = TSNE(n_components=2, perplexity=min(s["perplexity"], (n - 1) / 3), n_iter=s["n_iter"],
                early_exaggeration_iter=exag_iter, negative_gradient_method="fft", ints_in_interval=3,
                min_num_intervals=10,
                n_jobs=os.cpu_count() or 1, random_state=s["seed"], callbacks=report,
                callbacks_every_iters=25, verbose=False)
    emb = tsne.fit(X)
    return Projection("tsne", np.asarray(emb, dtype=np.float32), emb, X.shape[1])


def _umap(X: np.ndarray, s: dict, progress: Progress | None) -> Projection:
    import umap  # compiles with numba on first use (tens of seconds)

    model = umap.UMAP(n_components=2, n_neighbors=min(s["n_neighbors"], X.shape[0] - 1),
                      random_state=s["seed"], n_jobs=1)
    emb = model.fit_transform(X)
    if progress is not None:
        progress(1.0)
    return Projection("umap", np.asarray(emb, dtype=np.float32), model, X.shape[1])


def _pca(X: np.ndarray, s: dict, progress: Progress | None) -> Projection:
    from sklearn.decomposition import PCA

    model = PCA(n_components=2, random_state=s["seed"]).fit(X)
    return Projection("pca", model.transform(X).astype(np.float32), model, X.shape[1])


def project(X, method: str = "tsne", **kwargs) -> np.ndarray:
    """The 2-D coordinates of X (cached)."""
    return fit_projection(X, method, **kwargs).embedding_


def project_with_new(X_fit, X_new, method: str = "tsne", **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Fit a map on ``X_fit`` and place ``X_new`` into it: (fit coordinates, new coordinates)."""
    proj = fit_projection(X_fit, method, **kwargs)
    return proj.embedding_, proj.transform(X_new)


def unseen_view(estimator, X, y, method: str = "tsne", *, max_points: int = 3000, seed: int = 0,
                progress: Progress | None = None) -> dict:
    """Before/after picture of categories no model saw (DSCL supplementary Fig. 2-4),
    for any fitted estimator (it uses only ``transform``).

    "before" is the input itself, "after" the learned embedding. For each: 2-D map
    coordinates, k-means NMI (k = number of unseen classes) and Recall@1, on at most
    ``max_points`` stratified points. Returns {"index", "y", "before": {...}, "after": {...}}.
    """

    y = np.asarray(y).ravel()
    X = np.asarray(X, dtype=np.float32)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]} labels.")
    if int(np.unique(y).size) < 2:
        raise ValueError("the unseen view needs at least 2 unseen classes.")
    index = np.sort(stratified_subset(y, X.shape[0], int(max_points), seed))
    Xs = X[index]
    return unseen_view_of(Xs, estimator.transform(Xs), y[index], method, seed=seed, progress=progress,
                          index=index)


def unseen_view_of(before, after, y, method: str = "tsne", *, seed: int = 0, progress: Progress | None = None,
                   index=None) -> dict:
    """:func:`unseen_view` of representations already at hand: ``before`` (the input) and
    ``after`` (the learned embedding) of the same points (a recorded model's epochs)."""

    ys = np.asarray(y).ravel()
    out: dict = {"index": np.arange(len(ys)) if index is None else index, "y": ys}
    reps = {"before": np.asarray(before, dtype=np.float32).reshape(len(ys), -1),
            "after": np.asarray(after, dtype=np.float32)}
    for i, (name, Z) in enumerate(reps.items()):
        Z = np.asarray(Z, dtype=np.float32)
        part = None if progress is None else (lambda s, i=i: progress((i + s) / 2))
        out[name] = {"xy": project(Z, method, random_state=seed, progress=part),
                     **embedding_scores(Z, ys, seed)}
    return out


def shared_view(estimator, X_seen, y_seen, X_new, y_new, method: str = "tsne", *, max_points: int = 1500,
                seed: int = 0) -> dict:
    """One map of seen and unseen categories in the learned embedding: fitted on (at most
    ``max_points`` stratified) seen points, the unseen points placed into it (openTSNE /
    UMAP ``transform``). Returns {"xy", "y", "unseen"} (seen rows first)."""

    i = stratified_subset(y_seen, len(y_seen), max_points, seed)
    j = stratified_subset(y_new, len(y_new), max_points, seed)
    xy_seen, xy_new = project_with_new(estimator.transform(X_seen[i]), estimator.transform(X_new[j]), method)
    return {"xy": np.vstack([xy_seen, xy_new]), "y": np.concatenate([y_seen[i], y_new[j]]),
            "unseen": np.unique(y_new)}


# --------------------------------------------------------------------------- views on disk


def view_file(run_dir, kind: str, projection: str) -> Path:
    """Where a computed view of a run (``kind`` = "unseen" or "shared") is kept: beside the
    run, in ``.views/``, named by the run's content (run.json and model.pt), so a re-trained
    run never shows a stale map and a cloned demo run finds the map its script made."""

    d = Path(run_dir)
    h = hashlib.sha1()
    if is_logdir(d):  # a TensorBoard log: its config and its files' sizes and times
        h.update((d / CONFIG).read_bytes())
        for f in sorted(d.rglob("*.tsv")):
            h.update(f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    else:
        for name in ("run.json", "model.pt" if (d / "model.pt").exists() else "trace.npz"):  # recorded: no model
            h.update((d / name).read_bytes())
    return d.parent / ".views" / f"{d.name}-{kind}-{projection}-{h.hexdigest()[:12]}.npz"


def save_view(view: dict, path) -> None:
    """Write a view (nested dicts of arrays and numbers, one level deep) as a plain .npz;
    atomically, and silently not at all where the folder is read-only."""
    flat = {}
    for key, value in view.items():
        for sub, v in (value.items() if isinstance(value, dict) else [("", value)]):
            flat[f"{key}/{sub}" if sub else key] = np.asarray(v)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **flat)
        os.replace(tmp, path)
    except OSError:
        pass


def load_view(path, max_bytes: int = 64 * 2**20) -> dict | None:
    """A view written by :func:`save_view`, or None when it is missing, too large or not a
    plain .npz of numbers (no pickles are ever read)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > max_bytes:
            return None
        out: dict = {}
        with np.load(path, allow_pickle=False) as f:
            for key in f.files:
                value = f[key]
                if value.dtype.kind not in "fiub":
                    return None
                head, _, sub = key.partition("/")
                if sub:
                    out.setdefault(head, {})[sub] = float(value) if value.ndim == 0 else value
                else:
                    out[head] = float(value) if value.ndim == 0 else value  # a number, as save_view was given
        return out
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
