import numpy as np
import pytest
import torch

from clustlib import load_dataset
from clustlib.methods.jule import JULE, weighted_triplet_loss
from clustlib.metrics import nmi
from clustlib.nets import jule_cnn
from clustlib.runs import Run


def test_weighted_triplet_loss_hand_computed():
    a = torch.tensor([[0.0, 0.0]])
    p = torch.tensor([[0.1, 0.0]])  # ||a-p||^2 = 0.01
    n = torch.tensor([[[0.3, 0.0], [1.0, 0.0]]])  # ||a-n||^2 = 0.09, 1.0
    valid = torch.tensor([[1.0, 1.0]])
    # max(0, 2*0.01 - 0.09 + 0.2) = 0.13 ; max(0, 0.02 - 1 + 0.2) = 0
    assert float(weighted_triplet_loss(a, p, n, valid, 2.0, 0.2)) == pytest.approx(0.065)
    valid = torch.tensor([[1.0, 0.0]])  # the far negative is from the anchor's own cluster
    assert float(weighted_triplet_loss(a, p, n, valid, 2.0, 0.2)) == pytest.approx(0.13)


@pytest.mark.parametrize("padding,shape,pools,flat", [
    # Table 9 / the authors' models_def: USPS conv-pool 1800, MNIST conv-pool-conv 3200, COIL 1250
    ("valid", (16, 16), 1, 1800), ("valid", (28, 28), 1, 3200), ("valid", (128, 128), 4, 1250),
    ("valid", (8, 8), 0, 800), ("valid", (3, 32, 32), 2, 1250),
    ("same", (8, 8), 0, 3200), ("same", (16, 16), 1, 3200), ("same", (28, 28), 2, 2450),
    ("same", (128, 128), 4, 3200), ("same", (13,), 0, 256)])
@pytest.mark.parametrize("head_bn", [False, True])
def test_cnn_follows_table_9(padding, shape, pools, flat, head_bn):
    net = jule_cnn(shape, padding=padding, head_bn=head_bn).eval()
    out = net(torch.randn(3, *shape))
    assert out.shape == (3, 160)
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in net) == pools
    linear = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert linear[-1].in_features == flat
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules()) == (head_bn or len(shape) == 1)
    if not head_bn and len(shape) > 1:  # the authors' NetInit: N(0, 0.01), zero bias
        assert abs(float(linear[-1].weight.detach().std()) - 0.01) < 0.002 and not linear[-1].bias.any()


@pytest.fixture(scope="module")
def fitted_digits():
    ds = load_dataset("digits:n=600")
    return ds, JULE.from_preset("tiny", n_clusters=10, random_state=0, track_max=200).fit(ds.X, ds.y)


def test_jule_merges_period_by_period(fitted_digits):
    ds, est = fitted_digits
    counts = [s.scalars["n_clusters"] for s in est.trace_]
    assert counts[0] == est.n_initial_clusters_ > np.unique(est.trace_[0].labels).size  # all, not tracked
    assert counts[0] > 100 and all(a >= b for a, b in zip(counts, counts[1:]))
    assert est.trace_[-1].embedding.shape == (200, 160)
    assert np.unique(est.labels_sf_).size == 10 and np.unique(est.labels_rc_).size == 10
    assert nmi(ds.y, est.labels_) >= 0.80


def test_jule_predict_and_run_roundtrip(fitted_digits, tmp_path):
    ds, est = fitted_digits
    agree = (est.predict(ds.X) == est.labels_).mean()
    assert agree > 0.85  # nearest learned centroid reproduces most of the clustering
    back = Run.load(Run.from_estimator(est, method="jule", data="digits:n=600").save(tmp_path / "j"))
    np.testing.assert_array_equal(back.estimator.labels_sf_, est.labels_sf_)
    assert np.isnan(back.estimator.trace_[0].scalars["loss"])  # NaN survives as JSON null


def test_cpu_fits_run_torch_deterministic_algorithms_and_restore_the_setting():
    """With 2 threads the default backward of f[idx] (repeated indices) accumulates in a
    thread-dependent order; fits on the CPU switch torch's deterministic algorithms on
    for their duration and give the user's setting back afterwards."""
    seen = []
    est = JULE.from_preset("tiny", n_clusters=10, random_state=0, device="cpu")
    assert not torch.are_deterministic_algorithms_enabled()
    est.fit(load_dataset("digits:n=200").X,
            callbacks=[lambda e, s: seen.append(torch.are_deterministic_algorithms_enabled())])
    assert seen and all(seen)
    assert not torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # the user's strict mode is kept, and given back
    try:
        strict = []
        est.fit(load_dataset("digits:n=200").X,
                callbacks=[lambda e, s: strict.append(torch.is_deterministic_algorithms_warn_only_enabled())])
        assert strict and not any(strict)
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_batch_triplets_pair_same_cluster_members_of_a_batch():
    est = JULE(batch_size=10, triplets="batch", random_state=0)
    est._rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 8)
    seen = set()
    for idx, a, p in est._triplet_batches(labels):
        assert idx.size <= 10 and (a < p).all()
        assert (labels[idx][a] == labels[idx][p]).all()
        seen.update(idx.tolist())
        # every same-cluster pair of the batch is there, once
        assert a.size == sum(c * (c - 1) // 2 for c in np.bincount(labels[idx]))
    assert seen == set(range(40))  # one epoch covers the data


def test_authors_code_options_train_first_and_random_negatives():
    X = load_dataset("digits:n=300").X
    est = JULE.from_preset("tiny", n_clusters=10, random_state=0, train_first=True,
                           negatives="random").fit(X)
    counts = [s.scalars["n_clusters"] for s in est.trace_]
    merged = [s.scalars.get("merged") for s in est.trace_]
    assert merged[1] == 0 and counts[1] == counts[0]  # period 1 trains on the initial clusters
    assert est.trace_[1].scalars["loss"] > 0 and counts[2] < counts[1]
    assert np.unique(est.labels_).size == 10
    nearest = JULE.from_preset("tiny", n_clusters=10, random_state=0, train_first=True).fit(X)
    assert not np.allclose(est.trace_[1].embedding, nearest.trace_[1].embedding)  # other negatives


def test_run_saved_before_the_cnn_options_still_loads(tmp_path):
    """Runs saved before conv_padding / head_bn existed had padded convs and a BN head."""
    import json

    X = load_dataset("digits:n=200").X
    est = JULE.from_preset("tiny", n_clusters=10, random_state=0, head_bn=True).fit(X)
    path = Run.from_estimator(est, method="jule", data="digits:n=200").save(tmp_path / "old")
    info = json.loads((path / "run.json").read_text())
    for key in ("conv_padding", "head_bn"):
        info["params"].pop(key)
        info["state"].pop(key)
    (path / "run.json").write_text(json.dumps(info))
    back = Run.load(path).estimator
    assert back.head_bn and back.conv_padding == "same"
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_train_last_false_stops_before_training_on_the_target():
    """The authors' code ends the recurrent process as soon as the merges reach the
    target; train_last=True (Algorithm 1 read literally) trains one more period on it."""
    X = load_dataset("digits:n=300").X
    stop = JULE.from_preset("tiny", n_clusters=10, random_state=0, train_last=False).fit(X)
    last, before = stop.trace_[-1], stop.trace_[-2]
    assert last.scalars["n_clusters"] == 10 and before.scalars["n_clusters"] > 10
    np.testing.assert_allclose(last.embedding, before.embedding)  # the CNN did not change
    more = JULE.from_preset("tiny", n_clusters=10, random_state=0, train_last=True).fit(X)
    assert not np.allclose(more.trace_[-1].embedding, more.trace_[-2].embedding)
    assert np.unique(stop.labels_).size == np.unique(stop.labels_sf_).size == 10


def test_callbacks_hear_the_planned_periods_down_to_k():
    ds = load_dataset("digits:n=600")
    heard = []

    class Hear:
        def on_start(self, est, planned):
            heard.append(planned)

        def __call__(self, est, snap):
            return None

    est = JULE.from_preset("demo", n_clusters=10, random_state=0).fit(ds.X, ds.y, callbacks=[Hear()])
    # the merge periods at rate eta, not max_iter (100): the progress bar ends full
    assert len(heard) == 1 and est.n_iter_ <= heard[0] <= est.n_iter_ + 2 < est.max_iter
