"""scikit-learn peers run on the same data, for the app's tables and the benchmarks.

>>> from clustlib.data import load_dataset
>>> ds = load_dataset("iris")
>>> sorted(sklearn_baselines(ds.X, ds.y, 3))[:2]
['KMeans', 'Spectral (nearest neighbours)']
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .metrics import evaluate

MAX_SPECTRAL = 5000  # SpectralClustering(rbf) forms a dense N x N matrix: 7 GB at N = 30,000


def sklearn_baselines(X, y, k: int, seed: int = 0, standardize: bool = True) -> dict[str, dict]:
    """NMI/ACC/ARI and seconds of KMeans and SpectralClustering (rbf and nearest
    neighbours) on X flattened (and standardised, like KNet's input); the spectral ones
    only up to ``MAX_SPECTRAL`` samples."""
    from sklearn.cluster import KMeans, SpectralClustering
    from sklearn.preprocessing import StandardScaler

    Xf = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if standardize:
        Xf = StandardScaler().fit_transform(Xf)
    peers = {"KMeans": KMeans(k, n_init=10, random_state=seed)}
    if len(Xf) <= MAX_SPECTRAL:
        peers["Spectral (rbf)"] = SpectralClustering(k, affinity="rbf", random_state=seed)
        peers["Spectral (nearest neighbours)"] = SpectralClustering(
            k, affinity="nearest_neighbors", n_neighbors=min(10, len(Xf) - 1), random_state=seed)
    out = {}
    for name, est in peers.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "graph is not fully connected" on some data
            labels = est.fit_predict(Xf)
        row = evaluate(y, labels) if y is not None else {}
        row["seconds"] = time.perf_counter() - t0
        out[name] = row
    return out
