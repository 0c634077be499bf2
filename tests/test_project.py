import numpy as np
import pytest
from sklearn.datasets import make_blobs

from clustlib import project


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(330, centers=3, n_features=10, cluster_std=1.0, random_state=0)
    return X[:300].astype(np.float32), y[:300], X[300:].astype(np.float32), y[300:]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_new_points_land_next_to_their_cluster(blobs, method):
    X, y, Xn, yn = blobs
    fit_xy, new_xy = project.project_with_new(X, Xn, method, random_state=0)
    assert fit_xy.shape == (300, 2) and new_xy.shape == (30, 2)
    centres = np.stack([fit_xy[y == c].mean(0) for c in range(3)])
    nearest = ((new_xy[:, None] - centres[None]) ** 2).sum(2).argmin(1)
    assert (nearest == yn).mean() == 1.0


def test_maps_are_cached_by_content(blobs):
    X = blobs[0]
    a = project.fit_projection(X, "tsne", random_state=0, n_iter=100)
    assert project.fit_projection(X.copy(), "tsne", random_state=0, n_iter=100) is a
    assert project.fit_projection(X + 1e-3, "tsne", random_state=0, n_iter=100) is not a


def test_tsne_reports_progress(blobs):
    shares = []
    project.fit_projection(blobs[0][:200], "tsne", random_state=3, n_iter=100, progress=shares.append)
    assert shares and shares == sorted(shares) and shares[-1] == pytest.approx(1.0)


def test_projection_errors(blobs):
    with pytest.raises(ValueError, match="unknown projection"):
        project.fit_projection(blobs[0], "mds")
    with pytest.raises(ValueError, match="NaN"):
        project.fit_projection(np.full((10, 2), np.nan), "pca")
    with pytest.raises(ValueError, match="at least 4 points"):
        project.fit_projection(np.zeros((3, 2)), "pca")
    proj = project.fit_projection(blobs[0], "pca")
    with pytest.raises(ValueError, match="fitted on 10"):
        proj.transform(np.zeros((2, 3)))


def test_unseen_view_uses_only_transform(blobs):
    X, y, _, _ = blobs

    class Scale:  # any estimator with transform
        def transform(self, Z):
            return np.asarray(Z)[:, :2] * 3

    view = project.unseen_view(Scale(), X, y, "pca", max_points=150)
    assert view["index"].size == 150 and view["y"].shape == (150,)
    for part in ("before", "after"):
        assert view[part]["xy"].shape == (150, 2)
        assert 0 <= view[part]["nmi"] <= 1 and 0 <= view[part]["recall@1"] <= 1
    assert view["before"]["nmi"] > 0.95
    with pytest.raises(ValueError, match="at least 2 unseen classes"):
        project.unseen_view(Scale(), X, np.zeros(300), "pca")
