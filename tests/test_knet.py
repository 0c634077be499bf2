import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from clustlib import load_dataset
from clustlib import spectral as sp
from clustlib.methods.knet import KNet
from clustlib.metrics import nmi


def test_cayley_step_keeps_orthonormality_and_ascends(rng):
    A = torch.as_tensor(rng.normal(size=(60, 60)))
    L = A @ A.T
    U, _ = torch.linalg.qr(torch.as_tensor(rng.normal(size=(60, 3))))
    f0 = float(torch.trace(U.T @ L @ U))
    U2, _ = sp.stiefel_ascent(L, U, steps=30)
    assert torch.allclose(U2.T @ U2, torch.eye(3, dtype=U.dtype), atol=1e-8)
    top = float(torch.linalg.eigvalsh(L)[-3:].sum())
    assert f0 < float(torch.trace(U2.T @ L @ U2)) <= top + 1e-6
    assert float(torch.trace(U2.T @ L @ U2)) > 0.97 * top


def test_eig_solvers_agree(rng):
    X = torch.as_tensor(rng.normal(size=(200, 2)))
    L = sp.normalized_laplacian(sp.affinity(X, 0.5))
    a, b = sp.top_eigenvectors(L, 3, "full"), sp.top_eigenvectors(L, 3, "lanczos")
    assert torch.allclose(a @ a.T, b @ b.T, atol=1e-6)  # same subspace


def test_gamma_factor_matches_eq_4_11(rng):
    U, _ = torch.linalg.qr(torch.as_tensor(rng.normal(size=(30, 2))))
    d = torch.as_tensor(rng.random(30) + 0.5)
    H = torch.eye(30, dtype=U.dtype) - 1 / 30
    D = torch.diag(d.rsqrt())
    gamma = D @ H @ U @ U.T @ H @ D
    A = sp.gamma_factor(U, d)
    assert torch.allclose(A @ A.T, gamma, atol=1e-10)


def test_median_sigma_matches_paper_table_1():
    ds = load_dataset("moons")
    X = torch.as_tensor((ds.X - ds.X.mean(0)) / ds.X.std(0), dtype=torch.float64)
    assert sp.median_sigma(X, 0.1) == pytest.approx(0.17, abs=0.01)  # Table 1: 0.1701


@pytest.mark.parametrize("params,match", [
    ({"u_update": "svd"}, "u_update"), ({"lr": -1}, "lr"), ({"batch_size": 1}, "batch_size"),
    ({"train_size": 1.5}, "train_size"), ({"sigma": 0.0}, "sigma"), ({"n_clusters": 1}, "n_clusters"),
    ({"assign": "x"}, "assign"), ({"max_iter": 0}, "max_iter")])
def test_bad_parameters(params, match, blobs3):
    X, _ = blobs3
    with pytest.raises(ValueError, match=match):
        KNet(**{"n_clusters": 3, **params}).fit(X)


@pytest.mark.parametrize("X,match", [
    (np.zeros((5,)), "shape"), (np.array([[0.0, np.nan]] * 5), "NaN"),
    (np.zeros((1, 3)), "n_samples"), ([["a", "b"]], "numeric")])
def test_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        KNet(n_clusters=2).fit(X)


def test_too_few_samples_for_k():
    with pytest.raises(ValueError, match="n_clusters=5"):
        KNet(n_clusters=5).fit(np.random.rand(3, 2))


def test_not_fitted_and_wrong_shape(fitted_moons):
    with pytest.raises(NotFittedError):
        KNet().predict(np.zeros((2, 2)))
    _, est = fitted_moons
    with pytest.raises(ValueError, match="same shape"):
        est.predict(np.zeros((2, 3)))


def test_reproducible_with_random_state():
    X = load_dataset("moons:n=200").X
    a = KNet.from_preset("tiny", n_clusters=2, sigma_ratio=0.1, random_state=3).fit(X)
    b = KNet.from_preset("tiny", n_clusters=2, sigma_ratio=0.1, random_state=3).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-6)


def test_trace_snapshots(fitted_moons):
    ds, est = fitted_moons
    assert est.trace_[0].stage == "init" and len(est.trace_) == est.n_rounds_ + 1
    for s in est.trace_:
        assert s.labels.shape == (120,) and s.embedding.shape == (120, 2)
        assert {"hsic", "sigma", "nmi", "acc", "ari"} <= set(s.scalars)
    assert "kernel_change" in est.trace_[1].scalars
    assert est.labels_.shape == (300,)


def test_callback_stops_cleanly():
    ds = load_dataset("moons:n=200")
    est = KNet.from_preset("demo", n_clusters=2, sigma_ratio=0.1, random_state=0)
    est.fit(ds.X, callbacks=[lambda e, s: s.round >= 2])
    assert est.n_rounds_ == 2 and est.stopped_early_ and est.predict(ds.X).shape == (200,)


@pytest.mark.parametrize("spec,k,ratio,floor", [("moons", 2, 0.1, 0.99), ("spirals", 3, 0.1, 0.99),
                                                 ("wine", 3, 1.0, 0.85), ("wisconsin", 2, 1.0, 0.79)])
@pytest.mark.parametrize("u_update", ["sma", "eig"])
def test_quality(spec, k, ratio, floor, u_update):
    ds = load_dataset(spec)
    est = KNet.from_preset("demo", n_clusters=k, sigma_ratio=ratio, u_update=u_update, random_state=0)
    assert nmi(ds.y, est.fit(ds.X).labels_) >= floor


def test_out_of_sample_spirals_trained_on_10_percent():
    ds = load_dataset("spirals")
    est = KNet.from_preset("demo", n_clusters=3, sigma_ratio=0.1, train_size=0.1, random_state=0)
    est.fit(ds.X)
    assert est.train_index_.size == 300
    assert nmi(ds.y, est.labels_) >= 0.97
    fresh = load_dataset("spirals:seed=7")  # new points from the same distribution
    assert nmi(fresh.y, est.predict(fresh.X)) >= 0.97


def test_kmeans_assignment_variant():
    ds = load_dataset("moons:n=300")
    est = KNet.from_preset("tiny", n_clusters=2, sigma_ratio=0.1, assign="kmeans", random_state=0).fit(ds.X)
    assert est.cluster_centers_.shape == (2, 2)
    np.testing.assert_array_equal(est.predict(ds.X), est.labels_)
