import numpy as np
import pytest
import torch

from clustlib.methods.secu import (
    SeCu,
    assign,
    centers_from_sums,
    dual_step,
    soft_target_loss,
    stable_loss,
)
from clustlib.metrics import nmi


def test_dual_variables_keep_every_cluster_above_the_floor_on_an_imbalanced_stream():
    """Scores prefer cluster 0 for 70 % of the points; the duals move assignments
    until every cluster holds at least gamma/K of the stream."""
    g = torch.Generator().manual_seed(0)
    k, gamma = 4, 0.9
    rho = torch.zeros(k)
    counts = torch.zeros(k)
    greedy = torch.zeros(k)
    for step in range(400):
        logits = torch.randn(64, k, generator=g)
        logits[torch.rand(64, generator=g) < 0.7, 0] += 3.0
        logp = torch.log_softmax(logits, 1)
        y = assign(logp, rho)
        rho, _ = dual_step(rho, y, k, gamma, eta=1.0)
        if step >= 200:  # after the duals settle
            counts += torch.bincount(y, minlength=k)
            greedy += torch.bincount(logp.argmax(1), minlength=k)
    share = counts / counts.sum()
    assert float(share.min()) >= gamma / k - 0.01
    assert float((greedy / greedy.sum()).min()) < gamma / k - 0.05  # without duals it would not
    assert (rho >= 0).all()


def test_upper_bound_duals_cap_the_largest_cluster():
    k = 3
    rho, up = torch.zeros(k), torch.zeros(k)
    tot = torch.zeros(k)
    for step in range(300):
        logp = torch.log_softmax(torch.tensor([[4.0, 0.0, 0.0]]).repeat(60, 1) + torch.randn(60, k), 1)
        y = assign(logp, rho, up)
        rho, up = dual_step(rho, y, k, 0.5, 1.0, up, 1.2)
        if step >= 150:
            tot += torch.bincount(y, minlength=k)
    assert float((tot / tot.sum()).max()) <= 1.2 / k + 0.02


def closed_form_centers(X: torch.Tensor, y: torch.Tensor, P: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Theorem 1, Eq. 4, on the whole batch (SeCu sums it over the epoch's batches, then
    ``centers_from_sums``): w_j = Pi(sum_{i: y_i=j} (1 - p_ij) x_i / sum (1 - p_ij)); a
    cluster with no members keeps its centre."""
    k = W.shape[0]
    weight = 1 - P.gather(1, y[:, None]).squeeze(1)  # (n,)
    num = torch.zeros_like(W).index_add_(0, y, weight[:, None] * X)
    den = torch.zeros(k, dtype=X.dtype, device=X.device).index_add_(0, y, weight)
    return centers_from_sums(num, den, W)


def test_closed_form_centre_is_the_gradient_step_with_learning_rate_one():
    """Theorem 1: with grad L(w_j) = w_j - sum (1 - p_ij) x_i / sum (1 - p_ij), the
    projected step w - 1 * grad equals Eq. 4; and the stable loss's gradient on w_j is
    -(1/lambda) sum_{y_i=j} (1 - p_ij) x_i (only assigned centres move)."""
    g = torch.Generator().manual_seed(1)
    lam = 0.1
    X = torch.nn.functional.normalize(torch.randn(40, 5, generator=g, dtype=torch.float64), dim=1)
    W = torch.nn.functional.normalize(torch.randn(3, 5, generator=g, dtype=torch.float64), dim=1)
    y = torch.tensor([0, 1] * 20)  # cluster 2 has no members
    P = torch.softmax(X @ W.T / lam, 1)
    closed = closed_form_centers(X, y, P, W)
    w1 = 1 - P[:, 1]
    grad = W[1] - (w1[y == 1, None] * X[y == 1]).sum(0) / w1[y == 1].sum()
    step = torch.nn.functional.normalize(W[1] - 1.0 * grad, dim=0)
    assert torch.allclose(closed[1], step)
    assert torch.allclose(closed[2], W[2])  # empty cluster keeps its centre
    assert torch.allclose(closed.norm(dim=1), torch.ones(3, dtype=torch.float64))

    Wl = W.clone().requires_grad_()
    (stable_loss(X, Wl, W, y, lam) * X.shape[0]).backward()
    expected = -(1 / lam) * ((1 - P[y == 0, 0])[:, None] * X[y == 0]).sum(0)
    assert torch.allclose(Wl.grad[0], expected)
    assert torch.allclose(Wl.grad[2], torch.zeros(5, dtype=torch.float64))


def test_soft_target_loss_matches_a_hand_computation():
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(4, 3, generator=g, dtype=torch.float64), dim=1)
    xo = torch.nn.functional.normalize(torch.randn(4, 3, generator=g, dtype=torch.float64), dim=1)
    W = torch.nn.functional.normalize(torch.randn(5, 3, generator=g, dtype=torch.float64), dim=1)
    prev, lam, tau = torch.tensor([0, 4, 4, 2]), 0.1, 0.2
    got = soft_target_loss(x, xo, W, prev, lam, tau)
    total = 0.0
    for i in range(4):
        q = torch.exp(xo[i] @ W.T / lam)
        q = (1 - tau) * q / q.sum()
        q[prev[i]] += tau
        p = torch.exp(x[i] @ W.T / lam)
        total -= float((q * torch.log(p / p.sum())).sum())
    assert got.item() == pytest.approx(total / 4, rel=1e-10)
    # tau = 1: plain cross-entropy against the previous labels and the frozen centres
    ce = torch.nn.functional.cross_entropy(x @ W.T / lam, prev)
    assert soft_target_loss(x, xo, W, prev, lam, 1.0).item() == pytest.approx(ce.item(), rel=1e-10)


@pytest.mark.parametrize("center_update", ["closed", "sgd"])
def test_secu_recovers_blobs(blobs3, center_update):
    X, y = blobs3
    est = SeCu.from_preset("tiny", n_clusters=3, center_update=center_update, random_state=0).fit(X, y)
    assert nmi(y, est.labels_) >= 0.95
    last = est.trace_[-1]
    assert last.arrays["centers"].shape == (3, 32)
    assert np.allclose(np.linalg.norm(last.arrays["centers"], axis=1), 1, atol=1e-5)
    assert last.arrays["sizes"].min() >= 0.9 * 300 / 3 * 0.8  # near or above the floor


def test_secu_soft_target_of_the_released_code_recovers_blobs(blobs3):
    X, y = blobs3
    est = SeCu.from_preset("tiny", n_clusters=3, target="soft", random_state=0).fit(X, y)
    assert nmi(y, est.labels_) >= 0.95
    with pytest.raises(ValueError, match="target"):
        SeCu(3, target="fuzzy").fit(X)


@pytest.mark.slow
def test_demo_preset_is_steady_over_seeds_on_600_digits():
    """Issue 19: the demo preset stays above a floor taken from its 10-seed measurement on
    this subset (docs/secu.md); training improves on the start. One seed (1), the suite's
    time (issue 20, and the new tests of 2026-12-06): `bench_dac_secu.py` runs the ten."""
    from clustlib import load_dataset

    ds = load_dataset("digits:n=600")
    scores = []
    for seed in (1,):
        est = SeCu.from_preset("demo", n_clusters=10, random_state=seed).fit(ds.X, ds.y)
        scores.append(nmi(ds.y, est.labels_))
        assert est.trace_[-1].scalars["nmi"] > est.trace_[0].scalars["nmi"]
    assert min(scores) >= 0.72, scores  # 10 seeds: 0.810 mean, worst 0.736 (docs/dac.md)


def test_secu_entropy_constraint_and_extra_heads(blobs3):
    X, y = blobs3
    est = SeCu.from_preset("tiny", n_clusters=3, constraint="entropy", random_state=0).fit(X, y)
    assert nmi(y, est.labels_) >= 0.95
    est = SeCu.from_preset("tiny", n_clusters=3, extra_k=(6,), random_state=0).fit(X, y)
    assert len(est.head_centers_) == 2 and est.head_centers_[1].shape[0] == 6
    assert nmi(y, est.labels_) >= 0.85  # the K=6 head shares (and splits) the features


