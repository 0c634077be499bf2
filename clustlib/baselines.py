"""scikit-learn peers run on the same data, for the app's tables and the benchmarks:
k-means and two spectral clusterings of the standardised input, and the baseline
researchers try first, UMAP + k-means and UMAP + GMM (N2D's recipe, without its
autoencoder).

Each peer runs on X flattened and standardised (like KNet's input). The rbf spectral
peer takes its kernel width from the data (median heuristic, as KNet's own σ rule), not
scikit-learn's ``gamma=1``: on standardised 64-pixel digits ``gamma=1`` makes every
affinity ~exp(-128) = 0, so ARPACK searched for minutes and found NMI 0.001. A peer that
still has nothing to say (an affinity with no structure) is skipped with the reason.

>>> from clustlib.data import load_dataset
>>> ds = load_dataset("iris")
>>> sorted(sklearn_baselines(ds.X, ds.y, 3, peers=PEERS[:3]))
['KMeans', 'Spectral (nearest neighbours)', 'Spectral (rbf, median σ)']
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .metrics import evaluate

MAX_SPECTRAL = 5000  # SpectralClustering forms N x N affinities: 7 GB at N = 30,000
PEERS = ("KMeans", "Spectral (rbf, median σ)", "Spectral (nearest neighbours)", "UMAP + k-means", "UMAP + GMM")
UMAP_NEIGHBOURS = 20  # N2D's settings (McConville et al., ICPR 2020): UMAP to k dimensions, min_dist 0


class Skipped(ValueError):
    """A peer that cannot run or say anything on this data (the message says why)."""


def _standardised(X, standardize: bool = True) -> np.ndarray:
    Xf = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if standardize:
        from sklearn.preprocessing import StandardScaler

        Xf = StandardScaler().fit_transform(Xf)
    return Xf


def median_gamma(Xf: np.ndarray, seed: int = 0, sample: int = 1000) -> float:
    """gamma = 1 / (2 σ²) with σ the median distance between (up to ``sample``) points."""
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(Xf), min(len(Xf), sample), replace=False)
    d = pdist(Xf[idx])
    sigma = float(np.median(d[d > 0])) if np.any(d > 0) else 1.0
    return 1.0 / (2.0 * sigma * sigma)


def _estimator(peer: str, Xf: np.ndarray, k: int, seed: int):
    from sklearn.cluster import KMeans, SpectralClustering

    if peer == "KMeans":
        return KMeans(k, n_init=10, random_state=seed)
    if peer not in PEERS:
        raise ValueError(f"unknown baseline {peer!r}; known: {', '.join(PEERS)}.")
    if len(Xf) > MAX_SPECTRAL:
        raise Skipped(f"{len(Xf):,} samples: spectral peers are left out above {MAX_SPECTRAL:,} (N x N affinities)")
    if peer.startswith("Spectral (rbf"):
        return SpectralClustering(k, affinity="rbf", gamma=median_gamma(Xf, seed), random_state=seed)
    return SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=min(10, len(Xf) - 1),
                              random_state=seed)


def umap_peer(peer: str, X, k: int, seed: int = 0) -> np.ndarray:
    """The baseline a researcher tries first (N2D without its autoencoder): UMAP of the
    flattened input to k dimensions (``n_neighbors`` 20, ``min_dist`` 0), then k-means or a
    Gaussian mixture. Seeded: the same number twice (UMAP then runs on one thread)."""
    import umap
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    Xf = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    if len(Xf) <= k + 1:
        raise Skipped(f"{len(Xf)} samples are too few for a UMAP to {k} dimensions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs value 1 overridden ... by setting random_state"
        Z = umap.UMAP(n_components=k, n_neighbors=min(UMAP_NEIGHBOURS, len(Xf) - 1), min_dist=0.0,
                      random_state=seed).fit_transform(Xf)
    if peer == "UMAP + k-means":
        return KMeans(k, n_init=10, random_state=seed).fit_predict(Z)
    return GaussianMixture(k, covariance_type="full", random_state=seed).fit(Z).predict(Z)


def run_peer(peer: str, X, y, k: int, seed: int = 0, standardize: bool = True) -> dict:
    """NMI/ACC/ARI (when y is given) and seconds of one peer; raises :class:`Skipped`."""
    t0 = time.perf_counter()
    if peer.startswith("UMAP"):
        labels = umap_peer(peer, X, k, seed)
    else:
        Xf = _standardised(X, standardize)
        est = _estimator(peer, Xf, k, seed)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "graph is not fully connected" on some data
            labels = est.fit_predict(Xf)
    share = np.bincount(labels).max() / len(labels)
    if np.unique(labels).size < 2 or (k >= 3 and share > 0.9):  # a graph without structure at this width
        raise Skipped(f"put {share:.0%} of the samples in one cluster (its affinity finds no structure here)")
    row = evaluate(y, labels) if y is not None else {}
    row["seconds"] = time.perf_counter() - t0
    return row


def sklearn_baselines(X, y, k: int, seed: int = 0, standardize: bool = True, peers=PEERS) -> dict[str, dict]:
    """Every peer (of ``peers``) that can run on this data (see :func:`run_peer`), by name."""
    out = {}
    for peer in peers:
        try:
            out[peer] = run_peer(peer, X, y, k, seed, standardize)
        except Skipped:
            continue
    return out
