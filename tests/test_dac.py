import math

import numpy as np
import pytest
import torch

from clustlib import load_dataset
from clustlib.methods.dac import DAC, pair_loss, restraint, select_pairs, thresholds
from clustlib.metrics import nmi
from clustlib.nets import allconv
from clustlib.viz import circle_map


def test_restraint_layer_gives_unit_non_negative_features():
    x = torch.randn(50, 7) * 30  # large logits must not overflow
    L = restraint(x)
    assert (L >= 0).all() and torch.allclose(L.norm(dim=1), torch.ones(50), atol=1e-6)
    assert torch.equal(L.argmax(1), x.argmax(1))  # the order of the logits is kept


def test_pair_selection_and_loss_match_a_hand_computation():
    L = torch.tensor([[1.0, 0.0], [0.96, 0.28], [0.0, 1.0]])  # sims: 0.96, 0, 0.28
    r, mask = select_pairs(L @ L.T, upper=0.95, lower=0.5)
    assert mask.tolist() == [[False, True, True], [True, False, True], [True, True, False]]
    assert r[0, 1] == 1 and r[0, 2] == 0 and r[1, 2] == 0
    loss, n_sel, n_sim = pair_loss(L, 0.95, 0.5)
    # 6 ordered pairs: 2 x -log(0.96), 2 x -log(1 - 1e-7 clamp of 0), 2 x -log(1 - 0.28)
    expected = (2 * -math.log(0.96) + 2 * -math.log(1 - 1e-7) + 2 * -math.log(0.72)) / 6
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert (n_sel, n_sim) == (6, 2)
    loss, n_sel, _ = pair_loss(L, 0.99, 0.0)  # nothing selected: zero loss, still differentiable
    assert n_sel == 0 and float(loss) == 0.0


def test_schedules_close_the_gap():
    for schedule in ("reimpl", "code"):
        u0, l0 = thresholds(schedule, 0)
        assert u0 > l0
        end = next(e for e in range(1000) if thresholds(schedule, e)[0] <= thresholds(schedule, e)[1])
        assert 40 <= end <= 60


def test_circle_map_puts_one_hot_features_on_vertices():
    o = circle_map(np.eye(4))
    assert np.allclose(np.linalg.norm(o, axis=1), 1.0)
    assert np.allclose(circle_map(np.ones((1, 4)) / 2), 0.0, atol=1e-12)  # undecided: the centre


@pytest.mark.parametrize("shape", [(8, 8), (28, 28), (3, 32, 32), (3, 96, 96), (5,)])
def test_allconv_outputs_k(shape):
    assert allconv(shape, 6, 8).eval()(torch.randn(2, *shape)).shape == (2, 6)


def test_dac_recovers_blobs(blobs3):
    X, y = blobs3
    est = DAC.from_preset("tiny", n_clusters=3, random_state=0).fit(X, y)
    assert nmi(y, est.labels_) >= 0.95 and not est.collapsed_


@pytest.fixture(scope="module")
def fitted_digits():
    ds = load_dataset("digits:n=600")
    # one start of the demo's network (the contract test covers several starts)
    est = DAC.from_preset("demo", n_clusters=10, n_init=1, random_state=0, track_max=200)
    return ds, est.fit(ds.X, ds.y)


@pytest.mark.slow
def test_dac_on_digits_and_its_snapshots(fitted_digits):
    ds, est = fitted_digits
    assert nmi(ds.y, est.labels_) >= 0.70  # one start, seed 0: 0.733 on an AMD EPYC, >= 0.75 on an Intel Xeon
    last = est.trace_[-1]
    assert last.embedding.shape == (200, 10) and (last.embedding >= 0).all()
    us = [s.scalars["u"] for s in est.trace_[1:]]
    ls = [s.scalars["l"] for s in est.trace_[1:]]
    assert us == sorted(us, reverse=True) and ls == sorted(ls)
    assert est.n_iter_ < est.max_iter  # stopped because u met l
    assert last.arrays["sizes"].sum() == 600 and last.scalars["n_used"] == 10


def test_collapse_is_detected():
    X = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    est = DAC.from_preset("tiny", n_clusters=3, balance=0.0, random_state=0)

    def squash(e, snap):  # force every label feature onto the first vertex
        with torch.no_grad():
            e.net_[0][-1].bias.zero_()
            e.net_[0][-1].bias[0] = 100.0
    est.fit(X, callbacks=[squash])
    assert est.collapsed_ and est.trace_[-1].scalars["collapsed"] == 1.0




@pytest.mark.slow
def test_demo_preset_is_steady_over_seeds_on_600_digits():
    """Issue 19: the demo preset stays above a floor taken from its 10-seed measurement on
    this subset (docs/dac.md); one seed here (1; 0 is the snapshots test's), the suite's
    time (issue 20, and the new tests of 2026-12-06): `bench_dac_secu.py` runs the ten."""
    ds = load_dataset("digits:n=600")
    scores = [nmi(ds.y, DAC.from_preset("demo", n_clusters=10, random_state=s).fit(ds.X).labels_)
              for s in (1,)]
    # 10 seeds on an Intel Xeon: 0.836 mean, worst 0.745 (docs/dac.md); the same seed is another
    # run on another CPU model (oneDNN's kernels): seed 1 gave 0.730 on an AMD EPYC
    assert min(scores) >= 0.70, scores
