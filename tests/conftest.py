# ruff: noqa: I001 - clustlib is imported before torch on purpose
import os
import sys
from pathlib import Path

import clustlib  # noqa: F401 - before torch: its OpenMP setting must precede torch's import, as for users
import numpy as np
import pytest
import torch

torch.set_num_threads(2)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # app_server, the browser tests' server
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
os.environ.setdefault("CLUSTLIB_FIRST_PAINT_S", "0")  # AppTest pages in one run (the browser's server and
                                                      # the poster test keep the pause a user gets)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def blobs3():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(300, centers=3, cluster_std=0.5, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def fitted_moons():
    """A quickly fitted KNet on 300 moons (shared by run, CLI and viz tests)."""
    from clustlib import load_dataset
    from clustlib.methods.knet import KNet

    ds = load_dataset("moons:n=300")
    est = KNet.from_preset("tiny", n_clusters=2, random_state=0, track_max=120)
    return ds, est.fit(ds.X, ds.y)
