"""kNN graphs and agglomerative clustering by graph degree linkage (AC-GDL).

The agglomerative machinery of JULE (Yang, Parikh, Batra, CVPR 2016,
arXiv:1604.03628; GDL from Zhang et al., ECCV 2012), on sparse structures:

- :func:`knn_graph`: W_ij = exp(-||x_i - x_j||^2 / sigma^2) over the K_s nearest
  neighbours (Eq. 4), sigma^2 = a x the mean kNN squared distance, guarded against 0;
- :func:`nn_chain_clusters`: the initial over-clustering -- every sample joined to its
  nearest neighbour, clusters are the connected components (chains);
- :class:`GDLMerger`: the cluster affinity of Eq. 12 kept as a dense matrix of directed
  affinities A(C_j -> C_i), updated after each merge exactly (Eq. 13-14) or by the
  approximations of Eq. 18 (``update="approx"``) and Eq. 21 (``update="approx_alpha"``),
  with the merge criterion of Eq. 7 (K_c nearest clusters, used while there are more
  than ``kc_until`` clusters, as the authors' code does);
- :class:`ACGDL`: the plain algorithm as a scikit-learn clusterer (a baseline).

>>> import numpy as np
>>> from sklearn.datasets import make_blobs
>>> X, y = make_blobs(300, centers=3, cluster_std=0.4, random_state=0)
>>> len(set(ACGDL(n_clusters=3).fit(X).labels_))
3
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sps
from scipy.sparse.csgraph import connected_components
from sklearn.base import BaseEstimator, ClusterMixin

from .base import check_array


def knn_graph(X: np.ndarray, k: int = 20, a: float = 1.0) -> sps.csr_matrix:
    """Directed kNN affinity graph of Eq. 4 (row i holds i's K_s neighbours)."""
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    n = X.shape[0]
    k = int(min(k, n - 1))
    if k < 1:
        raise ValueError(f"knn_graph needs at least 2 samples, got {n}.")
    dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    # drop each point itself (duplicates may put another index first: drop exactly one self/zero)
    keep = idx != np.arange(n)[:, None]
    first_extra = keep.sum(1) > k
    keep[first_extra, -1] = False  # no self in the row: drop the farthest instead
    idx = idx[keep].reshape(n, k)
    d2 = dist[keep].reshape(n, k) ** 2
    sigma2 = a * d2.mean()
    if not sigma2 > 0:  # all neighbours coincide: any positive scale gives weight 1
        sigma2 = 1.0
    w = np.exp(-d2 / sigma2)
    return sps.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))


def nn_chain_clusters(X: np.ndarray) -> np.ndarray:
    """Initial over-clustering: link every sample to its nearest neighbour; the
    connected components (nearest-neighbour chains) are the clusters."""
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    n = X.shape[0]
    _, idx = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)
    nn = np.where(idx[:, 0] == np.arange(n), idx[:, 1], idx[:, 0])
    graph = sps.csr_matrix((np.ones(n), (np.arange(n), nn)), shape=(n, n))
    return connected_components(graph, directed=True, connection="weak")[1]


def directed_affinities(W: sps.csr_matrix, labels: np.ndarray) -> np.ndarray:
    """D[i, j] = A(C_j -> C_i) = 1/|C_i|^2 1^T W_{Ci,Cj} W_{Cj,Ci} 1 (the halves of Eq. 12)."""
    n_c = int(labels.max()) + 1
    M = sps.csr_matrix((np.ones(len(labels)), (np.arange(len(labels)), labels)),
                       shape=(len(labels), n_c))
    P = (M.T @ W).tocsr()  # P[i, b] = sum_{a in Ci} W_ab
    Qt = (M.T @ W.T).tocsr()  # Qt[i, b] = sum_{a in Ci} W_ba
    R = (P.multiply(Qt) @ M).toarray()  # R[i, j] = sum_{b in Cj} P[i, b] Q[b, i]
    sizes = np.bincount(labels, minlength=n_c).astype(np.float64)
    return R / sizes[:, None] ** 2


class GDLMerger:
    """Agglomerative merging by graph degree linkage on a fixed graph W.

    ``labels`` is the starting partition; ``merge(n)`` performs n merges by the
    criterion of Eq. 7, ``labels_`` gives the current partition as 0..n_clusters-1.
    """

    def __init__(self, W: sps.csr_matrix, labels: np.ndarray, kc: int = 5, lam: float = 1.0,
                 update: str = "exact", alpha: float = 0.0, kc_until: int = 100,
                 features: np.ndarray | None = None):
        if update not in ("exact", "approx", "approx_alpha"):
            raise ValueError(f"update={update!r}; expected 'exact' (Eq. 14), 'approx' (Eq. 18) "
                             "or 'approx_alpha' (Eq. 21).")
        _, self._lab = np.unique(np.asarray(labels), return_inverse=True)
        self.W, self.Wt = W.tocsr(), W.T.tocsr()
        self.kc, self.lam, self.update, self.alpha, self.kc_until = int(kc), lam, update, alpha, kc_until
        n_c = int(self._lab.max()) + 1
        self.sizes = np.bincount(self._lab, minlength=n_c).astype(np.float64)
        self.members = [list(np.flatnonzero(self._lab == c)) for c in range(n_c)]
        self.alive = np.ones(n_c, dtype=bool)
        # per-cluster feature sums: the fallback when the graph no longer links clusters
        self._fsum = None
        if features is not None:
            f = np.asarray(features, dtype=np.float64).reshape(len(self._lab), -1)
            self._fsum = np.zeros((n_c, f.shape[1]))
            np.add.at(self._fsum, self._lab, f)
        self.D = directed_affinities(self.W, self._lab)
        self.S = self.D + self.D.T  # Eq. 12
        np.fill_diagonal(self.S, -np.inf)
        self._refresh_rows(np.arange(n_c))

    @property
    def n_clusters(self) -> int:
        return int(self.alive.sum())

    @property
    def labels_(self) -> np.ndarray:
        _, compact = np.unique(self._lab, return_inverse=True)
        return compact

    # ---------------------------------------------------------------- selection
    def _refresh_rows(self, rows: np.ndarray) -> None:
        """Cache each row's K_c largest affinities (descending) and their clusters."""
        if not hasattr(self, "top_val"):
            n_c = self.S.shape[0]
            self.top_val = np.full((n_c, self.kc), -np.inf)
            self.top_idx = np.zeros((n_c, self.kc), dtype=np.int64)
        rows = rows[self.alive[rows]]
        if rows.size == 0:
            return
        k = min(self.kc, self.S.shape[1] - 1)
        block = self.S[rows]
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(block, part, 1)
        order = np.argsort(-vals, axis=1)
        self.top_idx[rows, :k] = np.take_along_axis(part, order, 1)
        self.top_val[rows, :k] = np.take_along_axis(vals, order, 1)

    def _scores(self) -> np.ndarray:
        """Eq. 7: A(C, NN1) + lam/(K_c-1) sum_k (A(C, NN1) - A(C, NNk)), the K_c term only
        while there are more than kc_until clusters."""
        a1 = self.top_val[:, 0]
        score = a1.copy()
        if self.kc > 1 and self.n_clusters > self.kc_until:
            rest = self.top_val[:, 1:]
            rest = np.where(np.isfinite(rest), rest, a1[:, None])
            score += self.lam / (self.kc - 1) * (a1[:, None] - rest).sum(1)
        score[~self.alive] = -np.inf
        return score

    # ---------------------------------------------------------------- merging
    def merge(self, n_merges: int = 1) -> list[tuple[int, int]]:
        """Perform up to n_merges merges by Eq. 7; returns the (kept, absorbed) cluster ids.
        When no pair is linked at all, the smallest cluster joins its nearest one."""
        done = []
        for _ in range(int(n_merges)):
            if self.n_clusters <= 1:
                break
            score = self._scores()
            i = int(np.argmax(score))
            if score[i] > 0:
                done.append(self._merge_pair(i, int(self.top_idx[i, 0])))
            else:
                alive = np.flatnonzero(self.alive)
                i = int(alive[np.argmin(self.sizes[alive])])
                done.append(self._merge_pair(i, self._nearest_cluster(i)))
        return done

    def join_isolated(self, min_clusters: int = 1) -> int:
        """Join every cluster that has no GDL affinity to any other (no round-trip path in
        the graph: an outlier chain no one lists as a neighbour) to its nearest cluster,
        as the authors' code does before a period's merges while there are more than 20 x
        the target clusters (Eq. 7 could never pick such a cluster). Returns the count."""
        return self._join_nearest(lambda: np.flatnonzero(self.alive & ~(self.top_val[:, 0] > 0)),
                                  min_clusters)

    def join_small(self, min_size: float, min_clusters: int = 1) -> int:
        """Join every cluster with fewer than ``min_size`` samples to its nearest cluster,
        smallest first, while there are more than ``min_clusters`` (not in the paper: see
        ``JULE(join_small=...)``). Returns the count."""
        def smallest_first() -> np.ndarray:
            small = np.flatnonzero(self.alive & (self.sizes < min_size))
            return small[np.argsort(self.sizes[small], kind="stable")]

        return self._join_nearest(smallest_first, min_clusters)

    def _join_nearest(self, candidates, min_clusters: int) -> int:
        """Join the first of ``candidates()`` to its nearest cluster, again and again, until
        there is none or only ``min_clusters`` clusters are left. Returns the count."""
        joined = 0
        while self.n_clusters > max(int(min_clusters), 1):
            c = candidates()
            if c.size == 0:
                break
            self._merge_pair(int(c[0]), self._nearest_cluster(int(c[0])))
            joined += 1
        return joined

    def _nearest_cluster(self, i: int) -> int:
        """The partner of an isolated cluster i: the cluster with the nearest mean feature
        when features were given, else the one it shares the most one-way edge weight with
        (or the smallest other cluster when it has none)."""
        alive = np.flatnonzero(self.alive)
        if self._fsum is not None:
            cent = self._fsum[alive] / self.sizes[alive, None]
            d = ((cent - self._fsum[i] / self.sizes[i]) ** 2).sum(1)
            d[alive == i] = np.inf
            return int(alive[np.argmin(d)])
        mem = self.members[i]
        link = np.asarray(self.W[mem].sum(0)).ravel() + np.asarray(self.Wt[mem].sum(0)).ravel()
        per = np.bincount(self._lab, weights=link, minlength=self.S.shape[0])
        per[~self.alive] = -1.0
        per[i] = -1.0
        if per.max() <= 0:
            others = alive[alive != i]
            return int(others[np.argmin(self.sizes[others])])
        return int(np.argmax(per))

    def merge_to(self, n_target: int) -> None:
        self.merge(max(self.n_clusters - int(n_target), 0))

    def _merge_pair(self, m: int, n: int) -> tuple[int, int]:
        sm, sn = self.sizes[m], self.sizes[n]
        su = sm + sn
        D = self.D
        # A(C_u -> C_j) = A(C_m -> C_j) + A(C_n -> C_j)  (Eq. 13, exact): column u
        col = D[:, m] + D[:, n]
        # A(C_j -> C_u): row u
        if self.update == "exact":  # Eq. 14, recomputed from the graph
            mem = self.members[m] + self.members[n]
            p = np.asarray(self.W[mem].sum(0)).ravel()  # sum_{a in Cu} W_ab
            q = np.asarray(self.Wt[mem].sum(0)).ravel()  # sum_{a in Cu} W_ba
            row = np.bincount(self._lab, weights=p * q, minlength=D.shape[0]) / su**2
            # the merged cluster's own entry is over C_u itself
            row[m] = ((p * q)[mem]).sum() / su**2
        elif self.update == "approx":  # Eq. 18
            row = (sm / su) * D[m] + (sn / su) * D[n]
        else:  # Eq. 21 with the constant ratio alpha
            row = (1 + self.alpha) * (sm**2 * D[m] + sn**2 * D[n]) / su**2
        D[:, m] = col
        D[m] = row
        D[:, n] = 0.0
        D[n] = 0.0
        if self._fsum is not None:
            self._fsum[m] += self._fsum[n]
        self.members[m] = self.members[m] + self.members[n]
        self.members[n] = []
        self._lab[self.members[m]] = m
        self.sizes[m], self.sizes[n] = su, 0.0
        self.alive[n] = False
        s = D[m] + D[:, m]
        s[m] = -np.inf
        s[~self.alive] = -np.inf
        self.S[m] = s
        self.S[:, m] = s
        self.S[n] = -np.inf
        self.S[:, n] = -np.inf
        # rows whose cached top-K_c involve m or n, or that the new cluster now enters
        touched = (np.isin(self.top_idx, (m, n)).any(1) | (s > self.top_val[:, -1]))
        touched[m] = True
        self._refresh_rows(np.flatnonzero(touched))
        return m, n


class ACGDL(ClusterMixin, BaseEstimator):
    """Agglomerative clustering with graph degree linkage (JULE's base algorithm, no CNN).

    Parameters: ``n_clusters``; ``k`` (K_s neighbours, 20), ``a`` (sigma^2 scale, 1),
    ``kc`` (K_c, 5), ``lam`` (lambda of Eq. 7), ``update`` ("exact", "approx",
    "approx_alpha"), ``alpha``, ``normalize`` (L2-normalise samples first, as JULE does).
    """

    def __init__(self, n_clusters: int = 10, *, k: int = 20, a: float = 1.0, kc: int = 5,
                 lam: float = 1.0, update: str = "exact", alpha: float = 0.0, normalize: bool = True):
        self.n_clusters = n_clusters
        self.k = k
        self.a = a
        self.kc = kc
        self.lam = lam
        self.update = update
        self.alpha = alpha
        self.normalize = normalize

    def fit(self, X, y=None):
        X = check_array(X).reshape(len(X), -1).astype(np.float64)
        if not 1 <= int(self.n_clusters) <= X.shape[0]:
            raise ValueError(f"n_clusters={self.n_clusters} must be between 1 and n_samples={X.shape[0]}.")
        if self.normalize:
            X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        W = knn_graph(X, self.k, self.a)
        init = nn_chain_clusters(X)
        merger = GDLMerger(W, init, self.kc, self.lam, self.update, self.alpha)
        self.n_initial_clusters_ = merger.n_clusters
        merger.merge_to(int(self.n_clusters))
        self.labels_ = merger.labels_
        return self
