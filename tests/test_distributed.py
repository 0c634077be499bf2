"""Data-parallel training (torch.distributed, gloo on the CPU): two ranks train as one
process does, hold one model, stop together, and only rank 0 writes the run."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.metrics import normalized_mutual_info_score as nmi

from clustlib import load_dataset
from clustlib.methods import METHODS
from clustlib.runs import Run

pytestmark = pytest.mark.slow  # processes, servers or whole pages: `make test`, not `make test-fast`

# The cases of the first test. SeCu's reductions (duals from the whole batch's counts, the
# closed-form centres from the whole epoch's sums, SGD centres' gradients) and DAC's and
# DSCL's objectives on the gathered global batch are compared with one process on
# unaugmented data (random views are drawn per rank), with BatchNorm-free
# networks (``no_bn``): synchronised BatchNorm computes its statistics in another order than
# one process does (tested on its own below), and over epochs that noise is as large as a
# missing reduction's effect.
EXACT = {
    "secu-closed": ("secu", dict(n_clusters=4, max_iter=3, batch_size=100, augment=0.0, n_init=1, track_max=100,
                                 temperature=0.15, lr=0.01, center_update="closed", precise_bn=False)),
    "secu-sgd": ("secu", dict(n_clusters=4, max_iter=3, batch_size=100, augment=0.0, n_init=1, track_max=100,
                              temperature=0.15, lr=0.01, center_update="sgd", center_lr=0.5, precise_bn=False)),
    "dac-pairs": ("dac", dict(n_clusters=4, max_iter=8, batch_size=100, augment=0.0, n_init=1, track_max=100)),
    "dscl-eq7": ("dscl", dict(n_clusters=4, max_iter=3, classes_per_batch=4, per_class=10, augment=0.0, track_max=100)),
}
SYNCED = {  # with BatchNorm and views: the ranks must still end with one model
    "secu": ("secu", dict(n_clusters=10, max_iter=2, batch_size=100, track_max=100)),
    "dac": ("dac", dict(n_clusters=10, max_iter=6, batch_size=100, augment=1.0, n_init=2, track_max=100)),
    "dscl": ("dscl", dict(n_clusters=10, max_iter=2, per_class=16, augment=1.0, track_max=100, loss="softmax")),
}


def _data(name: str):
    """Four well separated blobs in 8-d for the exact cases (features far from ties, so a
    reduction error is not hidden among flipped near-ties); digits for the others."""
    if name in EXACT:
        from sklearn.datasets import make_blobs

        X, y = make_blobs(400, n_features=8, centers=4, cluster_std=1.5, random_state=0)
        return X.astype(np.float32), y
    ds = load_dataset("digits:n=400")
    return ds.X, ds.y


def _fit(case: dict, name: str, no_bn: bool):
    method, params = case[name]
    X, y = _data(name)
    preset = "demo" if method == "secu" else "tiny"
    saved = torch.nn.BatchNorm1d, torch.nn.BatchNorm2d
    if no_bn:  # the networks are built with Identity in place of BatchNorm (restored below)
        torch.nn.BatchNorm1d = torch.nn.BatchNorm2d = lambda *a, **k: torch.nn.Identity()
    try:
        return METHODS[method].from_preset(preset, random_state=0, device="cpu", **params).fit(X, y), y
    finally:
        torch.nn.BatchNorm1d, torch.nn.BatchNorm2d = saved


def _dump(est, path):
    arrays = {f"w.{k}": v.detach().numpy() for k, v in est.net_.state_dict().items()}
    if hasattr(est, "cluster_centers_"):
        arrays["centers"] = np.asarray(est.cluster_centers_)
    rho = est.trace_[-1].arrays.get("rho", np.zeros(0))  # SeCu's dual variables after the last round
    np.savez(path, labels=est.labels_, rounds=est.n_iter_, stopped=est.stopped_early_, rho=rho, **arrays)


def _worker(rank, world, init, out, names, no_bn, stop_at):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    try:
        cases = {**EXACT, **SYNCED}
        for name in names:
            if stop_at:  # a signal reaches rank 1 only, after round ``stop_at``
                method, params = cases[name]

                def cb(est, snap):
                    if rank == 1 and snap.round == stop_at:
                        os.kill(os.getpid(), signal.SIGINT)

                ds = load_dataset("digits:n=400")
                est = METHODS[method].from_preset("tiny", random_state=0, device="cpu", **params)
                est.fit(ds.X, ds.y, callbacks=[cb])
            else:
                est = _fit(cases, name, no_bn)[0]
            _dump(est, f"{out}/{name}-{rank}.npz")
    finally:
        dist.destroy_process_group()


def _bn_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 6 * 6, 3), torch.nn.BatchNorm1d(3))


def _bn_data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(16, 1, 8, 8, generator=g), torch.randn(16, 3, generator=g)


def _bn_worker(rank, world, init, out):
    from clustlib.distributed import sync_bn, unwrap

    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    try:
        net, (x, w) = _bn_net(), _bn_data()
        sync_bn(net)
        y = net(x[rank::world])
        (y * w[rank::world]).sum().backward()  # this rank's part of a loss summed over the batch
        for p in net.parameters():
            dist.all_reduce(p.grad)
        unwrap(net)
        assert type(net[1]) is torch.nn.BatchNorm2d
        np.savez(f"{out}/bn-{rank}.npz", y=y.detach().numpy(), **{f"g{i}": p.grad.numpy() for i, p in
                 enumerate(net.parameters())}, **{f"b.{k}": v.numpy() for k, v in net.state_dict().items()})
    finally:
        dist.destroy_process_group()


def test_synchronised_batchnorm_is_batchnorm_over_the_global_batch(tmp_path):
    mp.spawn(_bn_worker, (2, str(tmp_path / "init"), str(tmp_path)), nprocs=2)
    net, (x, w) = _bn_net(), _bn_data()
    y = net(x)
    (y * w).sum().backward()
    ranks = [dict(np.load(tmp_path / f"bn-{r}.npz")) for r in (0, 1)]
    for r, got in enumerate(ranks):  # outputs, gradients and running statistics of one process
        np.testing.assert_allclose(got["y"], y[r::2].detach().numpy(), atol=1e-5)
        for i, p in enumerate(net.parameters()):
            np.testing.assert_allclose(got[f"g{i}"], p.grad.numpy(), rtol=1e-4, atol=1e-5)
        for k, v in net.state_dict().items():
            np.testing.assert_allclose(got[f"b.{k}"], v.numpy(), atol=1e-6, err_msg=k)


def _spawn(tmp_path, names, no_bn=False, stop_at=0):
    init = tmp_path / "init"
    mp.spawn(_worker, (2, str(init), str(tmp_path), names, no_bn, stop_at), nprocs=2)
    return [{name: dict(np.load(tmp_path / f"{name}-{r}.npz")) for name in names} for r in (0, 1)]


@pytest.fixture(scope="module")
def exact(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exact")
    return _spawn(tmp, list(EXACT), no_bn=True)


@pytest.mark.parametrize("name", list(EXACT))
def test_two_ranks_train_as_one_process_with_the_same_global_batch(exact, name):
    est, y = _fit(EXACT, name, no_bn=True)
    one = {f"w.{k}": v.detach().numpy() for k, v in est.net_.state_dict().items()}
    two = exact[0][name]
    # every weight, to the reduction order: 1e-6 for SeCu (SGD); DAC's RMSprop and DSCL's Adam
    # divide by the gradients' running RMS, which makes float-order noise in small gradients
    # weight noise of up to 4e-5 -- objectives per rank's share instead of the gathered batch
    # moved the weights by 3e-2
    tol = 1e-6 if name.startswith("secu") else 5e-4
    for k, w in one.items():
        np.testing.assert_allclose(two[k], w, rtol=0, atol=tol, err_msg=k)
    if name.startswith("secu"):
        np.testing.assert_allclose(two["centers"], est.cluster_centers_, atol=1e-5)
        np.testing.assert_allclose(two["rho"], est.trace_[-1].arrays["rho"], atol=1e-6)
    assert abs(nmi(y, two["labels"]) - nmi(y, est.labels_)) <= 0.01  # near-ties may flip a few labels
    assert np.unique(est.labels_).size >= 3  # a real partition, not one cluster


def test_ranks_hold_one_model_with_batchnorm_and_views(tmp_path):
    ranks = _spawn(tmp_path, list(SYNCED))
    for name in SYNCED:
        r0, r1 = ranks[0][name], ranks[1][name]
        assert set(r0) == set(r1)
        for k in r0:  # weights, BN statistics, centres and labels: equal, not close
            np.testing.assert_array_equal(r0[k], r1[k], err_msg=f"{name}: {k}")
        assert np.unique(r0["labels"]).size >= 2, name


def test_a_signal_on_one_rank_stops_both_after_the_same_round(tmp_path):
    ranks = _spawn(tmp_path, ["secu"], stop_at=1)
    for r in ranks:
        assert int(r["secu"]["rounds"]) == 1 and bool(r["secu"]["stopped"])


def test_torchrun_runs_the_cli_on_two_ranks_and_rank_0_writes_the_run(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "clustlib.cli", "train", "dscl", "--data", "digits:n=300", "--preset", "tiny",
                           "--device", "cpu", "--quiet", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and lines[0]["out"] == str(out)  # rank 0 prints, rank 1 does not
    run = Run.load(out)
    assert run.info["processes"] == 2 and run.estimator.labels_.shape == (300,)
    assert not list(tmp_path.glob(".*.lock"))


def test_cli_ctrl_c_stops_every_rank_and_saves(tmp_path):
    out = tmp_path / "run"
    err = open(tmp_path / "stderr", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "clustlib.cli", "train", "secu", "--data", "digits:n=300",
                             "--preset", "tiny", "--set", "max_iter=500", "--device", "cpu", "--nproc", "2",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=err, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and "epoch 3" not in open(tmp_path / "stderr").read():
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends the launcher
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, open(tmp_path / "stderr").read()[-2000:]
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 reports, rank 1 does not
    assert 3 <= lines[0]["rounds"] < 500
    run = Run.load(out)
    assert run.estimator.n_iter_ == lines[0]["rounds"] and run.info["processes"] == 2
    assert "stopped after" in open(tmp_path / "stderr").read()
    assert not list(tmp_path.glob(".*.lock"))


def test_nproc_is_refused_for_whole_set_methods_and_bad_counts(capsys):
    from clustlib.cli import main

    assert main(["train", "knet", "--data", "moons:n=100", "--nproc", "2", "--out", tempfile.mkdtemp()]) == 2
    assert "knet trains in one process" in capsys.readouterr().err
    assert main(["train", "secu", "--nproc", "0", "--out", tempfile.mkdtemp()]) == 2
    assert "--nproc 0" in capsys.readouterr().err
