"""The baselines beside every run: UMAP + k-means / GMM (N2D's recipe), seeded, and the
one sentence that says where a run stands against the strongest of them."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from clustlib.baselines import PEERS, run_peer
from clustlib.data import load_dataset


@pytest.mark.slow  # umap-learn compiles with numba on first use
@pytest.mark.parametrize("peer", ["UMAP + k-means", "UMAP + GMM"])
def test_the_umap_peers_give_the_same_number_twice_and_beat_kmeans_on_pixels(peer):
    ds = load_dataset("digits:n=400")
    first, again = run_peer(peer, ds.X, ds.y, 10, seed=0), run_peer(peer, ds.X, ds.y, 10, seed=0)
    assert first["nmi"] == again["nmi"] and first["acc"] == again["acc"]
    assert first["nmi"] > run_peer("KMeans", ds.X, ds.y, 10, seed=0)["nmi"] + 0.05  # why it is the peer to beat


def _standing(run_nmi, peers, waiting=()):
    def page(run_nmi, peers, waiting):
        from clustlib.ui.results import standing_ui

        standing_ui("KNet (this run)", {"nmi": run_nmi}, peers, list(waiting))

    at = AppTest.from_function(page, args=(run_nmi, peers, waiting))
    at.run()
    assert not at.exception
    return [w.value for w in at.warning], [c.value for c in at.caption]


def test_a_run_below_its_strongest_baseline_is_said_so_with_both_numbers():
    peers = {"KMeans": {"nmi": 0.62}, "UMAP + GMM": {"nmi": 0.89}, "UMAP + k-means": {"nmi": 0.84}}
    warned, said = _standing(0.731, peers, waiting=["Spectral (rbf, median σ)"])
    assert len(warned) == 1 and not said
    assert "NMI 0.731" in warned[0] and "UMAP + GMM (NMI 0.890)" in warned[0] and "1 baseline still computing" in warned[0]
    warned, said = _standing(0.95, peers)
    assert not warned and "above the strongest baseline, UMAP + GMM (NMI 0.890), by 0.060" in said[0]
    assert _standing(0.5, {}) == ([], [])  # nothing to stand against yet


def test_the_umap_peers_are_among_the_baselines_of_every_page():
    assert PEERS[-2:] == ("UMAP + k-means", "UMAP + GMM")
    with pytest.raises(Exception, match="too few"):
        run_peer("UMAP + k-means", np.zeros((5, 3)), None, 5)
