import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from clustlib.metrics import acc, ari, evaluate, hungarian_match, nmi, recall_at_k


def test_matches_sklearn(rng):
    y = rng.integers(0, 5, 400)
    p = np.where(rng.random(400) < 0.7, y, rng.integers(0, 6, 400))
    assert nmi(y, p) == pytest.approx(normalized_mutual_info_score(y, p))
    assert ari(y, p) == pytest.approx(adjusted_rand_score(y, p))
    assert nmi(y, p, "geometric") == pytest.approx(normalized_mutual_info_score(y, p, average_method="geometric"))


def test_acc_permutation_invariant():
    assert acc([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1]) == 1.0
    assert acc([0, 0, 0, 1], [1, 1, 0, 0]) == pytest.approx(0.75)


def test_acc_more_clusters_than_classes():
    # 2 classes, 3 clusters: the best one-to-one match keeps 2 clusters, the third counts as wrong
    y = [0, 0, 0, 1, 1, 1]
    p = [0, 0, 2, 1, 1, 1]
    assert acc(y, p) == pytest.approx(5 / 6)
    assert hungarian_match(y, p) == {0: 0, 1: 1}


def test_acc_fewer_clusters_than_classes():
    assert acc([0, 1, 2, 2], [0, 0, 0, 0]) == pytest.approx(0.5)


def test_recall_at_k_hand_computed():
    emb = np.array([[0.0], [0.1], [1.0], [1.1], [5.0]])
    y = np.array([0, 0, 1, 0, 1])
    r = recall_at_k(emb, y, ks=(1, 2))
    # nearest neighbours: 0->1 (hit), 1->0 (hit), 2->3 (miss), 3->2 (miss), 4->3 (miss)
    assert r[1] == pytest.approx(2 / 5)
    # two neighbours: 0:{1,2} hit, 1:{0,2} hit, 2:{3,1} miss, 3:{2,1} hit, 4:{3,2} hit
    assert r[2] == pytest.approx(4 / 5)


@pytest.mark.parametrize("y,p,match", [([0, 1], [0], "labels"), ([], [], "at least one")])
def test_bad_input(y, p, match):
    with pytest.raises(ValueError, match=match):
        evaluate(y, p)


def test_embedding_scores_kmeans_nmi_and_recall():
    from clustlib.metrics import embedding_scores

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    Z = np.eye(3)[y] * 10 + rng.normal(scale=0.1, size=(60, 3))
    assert embedding_scores(Z, y) == {"nmi": 1.0, "recall@1": 1.0}
    noise = embedding_scores(rng.normal(size=(60, 3)), y)
    assert noise["nmi"] < 0.3 and noise["recall@1"] < 0.7
    few = [0, 1, 20, 21, 40, 41]
    assert embedding_scores(Z[few], y[few]) == {"nmi": 1.0}  # too few points for Recall@1
    with pytest.raises(ValueError, match="does not fit"):
        embedding_scores(Z[:10], y)
