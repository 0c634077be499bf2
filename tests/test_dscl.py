import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from clustlib import load_dataset, split_classes
from clustlib.methods.dscl import DSCL, partition_projector, safe_pinv, spectral_objective
from clustlib.metrics import nmi


def test_gradient_matches_finite_differences_like_supplementary_sec_c():
    """Supplementary Sec. C: n=10, d=4, C of rank 7 from a random Y; central differences."""
    g = torch.Generator().manual_seed(0)
    Y = torch.rand(10, 7, generator=g, dtype=torch.float64) * 10
    C = Y @ torch.linalg.pinv(Y)
    F = (torch.rand(10, 4, generator=g, dtype=torch.float64) * 10 - 5).requires_grad_()
    from clustlib.methods.dscl import SpectralObjective

    SpectralObjective.apply(F, C).backward()
    eps = 1e-6
    approx = torch.zeros_like(F)
    with torch.no_grad():
        for i in range(10):
            for j in range(4):
                E = torch.zeros_like(F)
                E[i, j] = eps
                Jp = torch.trace((F + E) @ torch.linalg.pinv(F + E) @ C)
                Jm = torch.trace((F - E) @ torch.linalg.pinv(F - E) @ C)
                approx[i, j] = (Jp - Jm) / (2 * eps)
    assert torch.linalg.norm(F.grad - approx) < 1e-5 * torch.linalg.norm(approx)


def test_objective_reaches_k_when_columns_span_the_partition():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    C = partition_projector(y)
    assert torch.allclose(C @ C, C) and torch.allclose(C.trace(), torch.tensor(3.0, dtype=C.dtype))
    F = torch.nn.functional.one_hot(y).double() @ torch.randn(3, 5, dtype=torch.float64)
    assert float(spectral_objective(F, y)) == pytest.approx(3.0)
    F_bad = torch.ones(6, 2, dtype=torch.float64)  # rank 1: only the constant direction
    assert float(spectral_objective(F_bad, y)) == pytest.approx(1.0)


def test_pinv_is_finite_on_rank_deficient_input():
    F = torch.zeros(5, 3, dtype=torch.float64)
    F[:, 0] = 1.0
    P = safe_pinv(F)
    assert torch.isfinite(P).all()
    assert torch.allclose(F @ P @ F, F)


@pytest.fixture(scope="module")
def digits_split():
    ds = load_dataset("digits")
    seen, unseen = split_classes(ds, [5, 6, 7, 8, 9])
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(len(seen), len(seen) // 2, replace=False))
    held = np.setdiff1d(np.arange(len(seen)), train)
    est = DSCL.from_preset("demo", n_clusters=5, max_iter=10, random_state=0).fit(seen.X[train], seen.y[train])
    return seen, unseen, train, held, est


def test_dscl_clusters_new_samples_of_seen_classes_better_than_pixels(digits_split):
    seen, _, _, held, est = digits_split
    raw = KMeans(5, n_init=10, random_state=0).fit_predict(seen.X[held].reshape(len(held), -1))
    learned = est.cluster(seen.X[held], 5)
    assert nmi(seen.y[held], learned) >= 0.9
    assert nmi(seen.y[held], learned) > nmi(seen.y[held], raw) + 0.05
    # predict = nearest fitted centre, consistent with cluster() on the same points
    assert nmi(learned, est.predict(seen.X[held])) > 0.95


def test_dscl_trace_and_unseen_embedding(digits_split):
    seen, unseen, train, _, est = digits_split
    assert [s.round for s in est.trace_] == list(range(est.n_iter_ + 1))
    losses = [s.scalars["loss"] for s in est.trace_[1:]]
    assert losses[-1] < losses[0]  # k - tr(FF+C) falls
    emb = est.transform(unseen.X)
    assert emb.shape == (len(unseen), est.embed_dim) and np.isfinite(emb).all()
    assert est.cluster(unseen.X, 5).max() == 4


def test_dscl_needs_labels_and_enough_samples():
    X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    with pytest.raises(ValueError, match="fit\\(X, y\\)"):
        DSCL.from_preset("tiny", n_clusters=2).fit(X)
    with pytest.raises(ValueError, match="at least 2 seen classes"):
        DSCL.from_preset("tiny", n_clusters=2).fit(X, np.zeros(40))
    est = DSCL.from_preset("tiny", n_clusters=2, random_state=0).fit(X, np.arange(40) % 2)
    with pytest.raises(ValueError, match="cannot make 5 clusters"):
        est.cluster(X[:3], 5)


def test_dscl_trains_on_augmented_views_when_asked():
    ds = load_dataset("digits:n=200")
    est = DSCL.from_preset("tiny", n_clusters=10, augment=1.0, random_state=0).fit(ds.X, ds.y)
    assert est.transform(ds.X).shape == (200, 16) and not hasattr(est, "_views")
