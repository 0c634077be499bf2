import numpy as np
import pytest
from sklearn.datasets import make_blobs

from clustlib.graph import ACGDL, GDLMerger, directed_affinities, knn_graph, nn_chain_clusters
from clustlib.metrics import nmi


def brute_affinity(W: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Eq. 12 computed literally, one pair at a time."""
    ids = np.unique(labels)
    S = np.zeros((ids.size, ids.size))
    for a, i in enumerate(ids):
        for b, j in enumerate(ids):
            Ci, Cj = np.flatnonzero(labels == i), np.flatnonzero(labels == j)
            one_i, one_j = np.ones(Ci.size), np.ones(Cj.size)
            S[a, b] = (one_i @ W[np.ix_(Ci, Cj)] @ W[np.ix_(Cj, Ci)] @ one_i / Ci.size**2
                       + one_j @ W[np.ix_(Cj, Ci)] @ W[np.ix_(Ci, Cj)] @ one_j / Cj.size**2)
    return S


def test_knn_graph_weights_eq_4(rng):
    X = rng.normal(size=(40, 3))
    W = knn_graph(X, k=5).toarray()
    assert (W > 0).sum(1).tolist() == [5] * 40 and np.all(np.diag(W) == 0)
    d2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    nn = np.argsort(d2, 1)[:, 1:6]
    sigma2 = np.take_along_axis(d2, nn, 1).mean()
    np.testing.assert_allclose(W[0, nn[0]], np.exp(-d2[0, nn[0]] / sigma2))


def test_knn_graph_guards_sigma_zero():
    W = knn_graph(np.ones((10, 4)), k=3)
    assert np.isfinite(W.data).all() and W.nnz == 30


def test_initial_affinities_match_eq_12(rng):
    X = rng.normal(size=(30, 2))
    W = knn_graph(X, k=4)
    labels = rng.integers(0, 6, 30)
    D = directed_affinities(W, labels)
    np.testing.assert_allclose(D + D.T, brute_affinity(W.toarray(), labels), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_updates_match_brute_force_after_merges(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 2))
    W = knn_graph(X, k=5)
    merger = GDLMerger(W, nn_chain_clusters(X), kc=3)
    start = merger.n_clusters
    merger.merge(start - 4)
    labels = merger.labels_
    assert merger.n_clusters == 4 and np.unique(labels).size == 4
    alive = np.flatnonzero(merger.alive)
    np.testing.assert_array_equal(merger.sizes[alive], np.bincount(labels))
    S = merger.S[np.ix_(alive, alive)].copy()
    np.fill_diagonal(S, 0)
    B = brute_affinity(W.toarray(), labels)
    np.fill_diagonal(B, 0)
    np.testing.assert_allclose(S, B, atol=1e-12)


def test_merge_picks_the_best_pair_by_eq_7_without_kc_term():
    # three tight pairs; the closest pair must merge first (K_c term off: kc=1)
    X = np.array([[0, 0], [0, 0.1], [5, 5], [5, 5.5], [10, 0], [10, 1.0]], dtype=float)
    W = knn_graph(X, k=2, a=1.0)
    merger = GDLMerger(W, np.arange(6), kc=1)
    m, n = merger.merge(1)[0]
    assert {m, n} == {0, 1}


@pytest.mark.parametrize("update", ["exact", "approx", "approx_alpha"])
def test_ac_gdl_recovers_separated_blobs(update):
    X, y = make_blobs(600, centers=5, cluster_std=0.5, random_state=3)
    labels = ACGDL(n_clusters=5, update=update, normalize=False).fit(X).labels_
    assert nmi(y, labels) == 1.0


def test_ac_gdl_errors():
    with pytest.raises(ValueError, match="n_clusters"):
        ACGDL(n_clusters=50).fit(np.random.rand(10, 2))
    with pytest.raises(ValueError, match="update"):
        GDLMerger(knn_graph(np.random.rand(10, 2), 3), np.arange(10), update="fast")


def test_fallback_joins_nearest_mean_feature_when_graph_has_no_links():
    # three far-apart tight groups: the kNN graph (k=2) has no edges between groups
    X = np.array([[0, 0], [0, 0.1], [0, 0.2], [10, 0], [10, 0.1], [10, 0.2], [3, 0], [3, 0.1], [3, 0.2]])
    labels = np.repeat([0, 1, 2], 3)
    m = GDLMerger(knn_graph(X, k=2), labels, kc=1, features=X)
    m.merge(1)
    merged = m.labels_
    assert merged[0] == merged[6] != merged[3]  # the group at x=3 joins the one at x=0, not x=10


def test_join_isolated_before_merging_linked_clusters():
    # two large groups that the k=3 graph links (they overlap) and one far pair that no one
    # lists as a neighbour: Eq. 7 would merge the large groups first; join_isolated puts
    # the pair into its nearest group and leaves the linked ones apart
    rng = np.random.default_rng(0)
    a = rng.normal([0, 0], 0.1, (20, 2))
    b = rng.normal([0.3, 0], 0.1, (20, 2))
    pair = np.array([[6.0, 0.0], [6.0, 0.05]])
    X = np.vstack([a, b, pair])
    labels = np.r_[np.zeros(20), np.ones(20), [2, 2]].astype(int)
    m = GDLMerger(knn_graph(X, k=3), labels, kc=1, features=X)
    assert m.top_val[2, 0] <= 0 < m.top_val[0, 0]  # the pair is isolated, the groups are linked
    assert m.join_isolated(min_clusters=2) == 1
    assert m.n_clusters == 2
    assert m.labels_[-1] == m.labels_[-2] == m.labels_[25] != m.labels_[0]  # nearest group: b
    assert m.join_isolated() == 0  # nothing isolated left


def test_join_small_joins_outlying_small_clusters_first():
    # three groups of 20 and two small clusters near group c: with join_small the small
    # ones go to their nearest group (smallest first), never below min_clusters
    rng = np.random.default_rng(1)
    groups = [rng.normal([x, 0], 0.1, (20, 2)) for x in (0.0, 3.0, 6.0)]
    small = np.array([[7.0, 0.0], [7.0, 0.05], [7.2, 0.0], [7.2, 0.1], [7.3, 0.0]])
    X = np.vstack([*groups, small])
    labels = np.r_[np.repeat([0, 1, 2], 20), [3, 3], [4, 4, 4]].astype(int)
    m = GDLMerger(knn_graph(X, k=4), labels, kc=1, features=X)
    assert m.join_small(min_size=4, min_clusters=3) == 1  # only the pair is below 4
    assert m.n_clusters == 4 and len(set(m.labels_[60:62])) == 1
    assert m.join_small(min_size=10, min_clusters=4) == 0  # min_clusters already reached
    assert m.join_small(min_size=10, min_clusters=1) == 1
    assert m.n_clusters == 3 and (m.labels_[60:] == m.labels_[40]).all()  # nearest group: c
    assert sorted(np.bincount(m.labels_)[np.bincount(m.labels_) > 0]) == [20, 20, 25]
