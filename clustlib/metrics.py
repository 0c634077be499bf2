"""Clustering metrics: NMI, ACC (Hungarian-matched), ARI and Recall@K.

One evaluation function for every method (`evaluate`), as SCAN does.

>>> from clustlib.metrics import acc
>>> acc([0, 0, 1, 1], [1, 1, 0, 0])
1.0
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has {y_true.shape[0]} labels but y_pred has {y_pred.shape[0]}; "
            "pass one prediction per sample."
        )
    if y_true.size == 0:
        raise ValueError("got 0 labels; metrics need at least one sample.")
    return y_true, y_pred


def nmi(y_true, y_pred, average_method: str = "arithmetic") -> float:
    """Normalised mutual information (scikit-learn's, arithmetic mean by default;
    ``average_method="geometric"`` gives the sqrt(H H') form of KNet's Appendix D)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred, average_method=average_method))


def ari(y_true, y_pred) -> float:
    """Adjusted Rand index."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def confusion(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contingency table (classes x clusters) and the sorted class / cluster ids."""
    y_true, y_pred = _pair(y_true, y_pred)
    classes, ti = np.unique(y_true, return_inverse=True)
    clusters, pi = np.unique(y_pred, return_inverse=True)
    table = np.zeros((classes.size, clusters.size), dtype=np.int64)
    np.add.at(table, (ti, pi), 1)
    return table, classes, clusters


def hungarian_match(y_true, y_pred) -> dict:
    """One-to-one map cluster id -> class id maximising agreement (Hungarian algorithm).

    With more clusters than classes, the surplus clusters stay unmatched (they count
    as errors in `acc`)."""
    table, classes, clusters = confusion(y_true, y_pred)
    rows, cols = linear_sum_assignment(-table)
    return {clusters[c]: classes[r] for r, c in zip(rows, cols)}


def acc(y_true, y_pred) -> float:
    """Clustering accuracy: the best one-to-one matching of clusters to classes."""
    table, _, _ = confusion(y_true, y_pred)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / table.sum())


def recall_at_k(embedding, y, ks=(1, 2, 4, 8)) -> dict[int, float]:
    """Recall@K: share of points whose K nearest neighbours (Euclidean, self excluded)
    contain a point of the same class."""
    emb = np.asarray(embedding, dtype=np.float64)
    y = np.asarray(y).ravel()
    if emb.ndim != 2 or emb.shape[0] != y.shape[0]:
        raise ValueError(f"embedding shape {emb.shape} does not match {y.shape[0]} labels.")
    kmax = max(ks)
    if emb.shape[0] <= kmax:
        raise ValueError(f"recall_at_k needs more than {kmax} points, got {emb.shape[0]}.")
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=kmax + 1).fit(emb)
    _, idx = nn.kneighbors(emb)
    # drop self (it may not be in column 0 when there are duplicate points)
    n = emb.shape[0]
    neigh = np.empty((n, kmax), dtype=np.int64)
    for i in range(n):
        row = idx[i][idx[i] != i][:kmax]
        neigh[i] = row
    hit = y[neigh] == y[:, None]
    return {k: float(hit[:, :k].any(axis=1).mean()) for k in ks}


def embedding_scores(embedding, y, seed: int = 0) -> dict[str, float]:
    """How well an embedding of labelled points (e.g. unseen categories) clusters: NMI of
    k-means with k = the number of classes (the DSCL protocol), and Recall@1 when there
    are more than 8 points."""
    from sklearn.cluster import KMeans

    emb = np.asarray(embedding, dtype=np.float64)
    y = np.asarray(y).ravel()
    k = int(np.unique(y).size)
    if emb.ndim != 2 or emb.shape[0] != y.shape[0] or emb.shape[0] < k:
        raise ValueError(f"embedding shape {emb.shape} does not fit {y.shape[0]} labels of {k} classes.")
    out = {"nmi": nmi(y, KMeans(k, n_init=10, random_state=seed).fit_predict(emb))}
    if emb.shape[0] > 8:
        out["recall@1"] = recall_at_k(emb, y, (1,))[1]
    return out


def evaluate(y_true, y_pred) -> dict[str, float]:
    """NMI, ACC and ARI in one dict."""
    return {"nmi": nmi(y_true, y_pred), "acc": acc(y_true, y_pred), "ari": ari(y_true, y_pred)}


def matched_confusion(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The contingency table with clusters reordered by their Hungarian match (matched
    clusters in class order first, unmatched ones after): a perfect clustering is diagonal."""
    table, classes, clusters = confusion(y_true, y_pred)
    match = hungarian_match(y_true, y_pred)
    rank = {c: i for i, c in enumerate(classes)}
    order = sorted(range(clusters.size),
                   key=lambda j: (rank[match[clusters[j]]] if clusters[j] in match else classes.size + j))
    return table[:, order], classes, clusters[order]
