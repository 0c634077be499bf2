"""JULE: joint unsupervised learning of deep representations and image clusters.

Yang, Parikh, Batra, "Joint Unsupervised Learning of Deep Representations and Image
Clusters", CVPR 2016 (arXiv:1604.03628). Agglomerative
clustering by graph degree linkage (``clustlib.graph``) and a CNN are learned together
by *partial unrolling* (Sec. 3.4, 3.6, Alg. 1): each period

1. forward pass: merge ceil(eta x n_c) pairs (never below the target) by the criterion
   of Eq. 7 on the kNN graph of the current representation (raw pixels in period 1);
2. backward pass: train the CNN for ``epochs_per_period`` epochs on the current labels
   with the weighted triplet loss (Eq. 11 / 35): mean max(0, gamma ||a-p||^2 - ||a-n||^2
   + margin), positives from the anchor's cluster, negatives the anchor's nearest batch
   members from other clusters; SGD with the "inv" learning-rate policy;
3. recompute the graph on the new (L2-normalised, 160-d) representation.

At the end, ``labels_sf_`` is the straight-forward result (OURS-SF) and ``labels_rc_``
re-runs AC-GDL on the learned features (OURS-RC, Table 3); ``labels_`` is RC unless
``recluster=False``.

>>> from clustlib.methods.jule import JULE
>>> from clustlib.data import load_dataset
>>> ds = load_dataset("digits:n=300")
>>> JULE.from_preset("tiny", n_clusters=10, random_state=0).fit(ds.X).labels_.shape
(300,)
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from ..about import About, Demo
from ..base import DeepClusterer, Track
from ..graph import GDLMerger, knn_graph, nn_chain_clusters
from ..nets import apply_batched, jule_cnn, load_net_tensors, net_tensors, to_tensor
from ..params import Bool, Choice, Int, Real


def weighted_triplet_loss(a: torch.Tensor, p: torch.Tensor, n: torch.Tensor, valid: torch.Tensor,
                          gamma: float = 2.0, margin: float = 0.2) -> torch.Tensor:
    """Eq. 35: mean over valid (anchor, negative) pairs of
    max(0, gamma ||a - p||^2 - ||a - n||^2 + margin). a, p: (B, D); n: (B, K, D); valid: (B, K)."""
    pos = ((a - p) ** 2).sum(1, keepdim=True)  # (B, 1)
    neg = ((a[:, None, :] - n) ** 2).sum(2)  # (B, K)
    hinge = torch.relu(gamma * pos - neg + margin) * valid
    return hinge.sum() / valid.sum().clamp_min(1)


class JULE(DeepClusterer):
    """JULE clustering, scikit-learn style.

    Parameters
    ----------
    n_clusters : int; default 10
        the target number of clusters.
    eta : float; default 0.9
        unrolling rate: each period merges ceil(eta x clusters) pairs (paper 0.9
        for digits/objects, 0.2 for faces).
    ks, kc, lam : int, int, float; default 20, 5, 1.0
        K_s graph neighbours, K_c and lambda of Eq. 7.
    update : str; default 'exact'
        affinity update after a merge: "exact" (Eq. 14), "approx" (Eq. 18).
    epochs_per_period, batch_size, lr, momentum, weight_decay : int, int, float, float, float; default 20, 100, 0.01, 0.9, 5e-05
        the backward pass
        (paper: 20, 100, 0.01, 0.9, 5e-5, "inv" policy lr (1 + 1e-4 it)^-0.75).
    gamma, margin, n_neg : float, float, int; default 2.0, 0.2, 20
        the weighted triplet loss (paper Table 2: 2, 0.2, 20 negatives).
    triplets : str; default 'batch'
        "batch" (the authors' code: all same-cluster pairs of a random batch, so
        small clusters rarely form pairs) or "cluster" (each sample an anchor once an epoch,
        its positive drawn from its whole cluster: it pulls pairs of outliers together
        until the graph no longer links them; USPS paper preset 0.75 vs 0.81).
    negatives : str; default 'nearest'
        "nearest" (the paper, Sec. 3.5.2: the anchor's nearest batch members of
        other clusters) or "random" (the authors' code: random other-cluster members).
    train_first : bool; default False
        train the CNN on the initial over-clustering before the first merge, as
        the authors' code does (period 1 merges nothing; the ``paper`` preset); False merges
        on raw pixels first. Alone, with the BN head and before ``join_small``, it lost on
        MNIST-test (0.71 vs 0.86); in the code's full recipe it is part of what reaches Table 3.
    join_small : float; default 0.05
        before each round of merges, join clusters smaller than this share of
        the mean cluster size to their nearest cluster (mean feature); 0 = the paper. Not
        in the paper or the authors' code: without it, pairs of outlying samples survive to
        the end (Eq. 7 rarely picks them) and the last merges join two real clusters
        instead (MNIST-test RC from the same features: 0.83-0.87 -> 0.91).
    train_last : bool; default False
        train the CNN once more on the final partition (Algorithm 1 read
        literally). False (default) is the authors' code (``train.lua`` leaves its loop
        as soon as the merges reach the target): the OURS-RC features then still carry
        the structure of the last over-clustering, and RC can undo wrong final merges
        (measured in docs/jule.md).
    conv_padding, head_bn : str, bool; default 'same', False
        the CNN (:func:`clustlib.nets.jule_cnn`): "same" padded convs
        (default) or "valid" (Table 9 / the authors' code exactly); head_bn=False (default)
        is the authors' linear + L2 head with their N(0, 0.01) initialisation, True adds a
        BatchNorm before the L2 normalisation (the ``tiny`` preset's choice).
    max_iter : int; default 100
        the most periods (was ``max_periods``; one round is one period): an upper bound,
        training stops when n_clusters is reached.
    recluster : bool; default True
        report OURS-RC (AC-GDL on the learned features) as ``labels_``.
    track_max, random_state, device : int, int or None, str; default 2000, None, 'auto'
        see :class:`~clustlib.base.DeepClusterer`.

    Attributes
    ----------
    net_ : torch.nn.Module
        The CNN whose L2-normalised features the merges use.
    n_initial_clusters_ : int
        Clusters of the initial over-clustering (Sec. 3.2, K_s neighbours).
    labels_sf_ : ndarray of shape (n_samples,)
        OURS-SF: the partition the recurrent merges ended with.
    labels_rc_ : ndarray of shape (n_samples,)
        OURS-RC: AC-GDL run again on the learned features (``labels_`` when ``recluster``).
    cluster_centers_ : ndarray of shape (n_clusters, n_features_out)
        Mean feature of each cluster of ``labels_`` (``predict`` assigns to the nearest).
    Plus the common ones of :class:`~clustlib.base.DeepClusterer`.
    """

    ABOUT: ClassVar[About] = About(
        name="jule", title="JULE", year=2016, icon=":material/merge:", page_title="JULE (merge stages)",
        description="JULE (Yang et al., CVPR 2016): agglomerative clustering and a CNN learned together; "
                    "clusters fall period by period",
        picture="Merge stages: the learned representation coloured by current cluster, one frame per "
                "period, the number of clusters falling (Yang et al. 2016, Fig. 1, 10); sample images "
                "of the largest clusters at any stage.",
        demos={"jule-digits": Demo("digits", {"n_clusters": 10, "track_max": 400})},
        progress=("nmi", "acc", "loss", "n_clusters"))
    PRESETS: ClassVar[dict[str, dict]] = {
        # Table 2's schedule (eta 0.9, 20 epochs a period, K_s 20, K_c 5, batch 100, lr 0.01,
        # margin 0.2) trained as the authors' code trains it: their unpadded Table 9 nets,
        # gamma 1 (Table 2 says 2), random negatives, the CNN first trained on the initial
        # clusters, and no training once the target is reached (numbers: docs/jule.md)
        "paper": dict(eta=0.9, ks=20, kc=5, epochs_per_period=20, batch_size=100, lr=0.01,
                      gamma=1.0, margin=0.2, n_neg=20, triplets="batch", negatives="random",
                      train_first=True, conv_padding="valid", train_last=False),
        # more, shorter periods (the merge stages show as an animation), gamma 1 as in the
        # authors' Torch code, 3 epochs a period (numbers: docs/jule.md)
        "demo": dict(eta=0.5, ks=20, kc=5, epochs_per_period=3, batch_size=100, lr=0.01,
                     gamma=1.0, margin=0.2, n_neg=20, triplets="batch"),
        # a few seconds (tests). A BN head: after a dozen SGD steps a period the authors'
        # N(0, 0.01) head leaves RC to chance (docs/jule.md)
        "tiny": dict(eta=0.6, ks=10, kc=5, epochs_per_period=2, batch_size=100, lr=0.01,
                     gamma=2.0, margin=0.2, n_neg=10, head_bn=True),
    }
    round_name: ClassVar[str] = "period"
    # before a period's merges the authors' code joins clusters that the graph links to no
    # other cluster to their nearest one, while there are more than 20 x the target
    join_isolated_above: ClassVar[int] = 20
    RENAMED: ClassVar[dict[str, str]] = {"max_periods": "max_iter"}  # old names, still accepted

    PARAM_RULES: ClassVar[dict] = {
        "eta": Real(0, 1, lo_open=True), "ks": Int(1, 1000), "kc": Int(1, 1000), "lam": Real(0, 1e6),
        "update": Choice("exact", "approx"), "epochs_per_period": Int(1, 10_000),
        "batch_size": Int(1, 100_000), "lr": Real(0, 10, lo_open=True), "momentum": Real(0, 1),
        "weight_decay": Real(0, 1), "gamma": Real(0, 1e6), "margin": Real(0, 1e6),
        "n_neg": Int(1, 10_000), "triplets": Choice("batch", "cluster"),
        "negatives": Choice("nearest", "random"), "train_first": Bool(),
        "conv_padding": Choice("same", "valid"), "head_bn": Bool(), "join_small": Real(0, 1, hi_open=True),
        "train_last": Bool(), "max_iter": Int(1, 100_000), "recluster": Bool()}

    def __init__(self, n_clusters: int = 10, *, eta: float = 0.9, ks: int = 20, kc: int = 5,
                 lam: float = 1.0, update: str = "exact", epochs_per_period: int = 20,
                 batch_size: int = 100, lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 5e-5, gamma: float = 2.0, margin: float = 0.2,
                 n_neg: int = 20, triplets: str = "batch", negatives: str = "nearest",
                 train_first: bool = False, conv_padding: str = "same", head_bn: bool = False,
                 join_small: float = 0.05, train_last: bool = False,
                 max_iter: int = 100,
                 recluster: bool = True,
                 track_max: int = 2000, random_state: int | None = None, device: str = "auto", **renamed):
        self.n_clusters = n_clusters
        self.eta = eta
        self.ks = ks
        self.kc = kc
        self.lam = lam
        self.update = update
        self.epochs_per_period = epochs_per_period
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.gamma = gamma
        self.margin = margin
        self.n_neg = n_neg
        self.triplets = triplets
        self.negatives = negatives
        self.train_first = train_first
        self.conv_padding = conv_padding
        self.join_small = join_small
        self.train_last = train_last
        self.head_bn = head_bn
        self.max_iter = max_iter
        self.recluster = recluster
        self.track_max = track_max
        self.random_state = random_state
        self.device = device
        self._take_renamed(renamed)

    # ------------------------------------------------------------------ helpers
    def _cnn(self) -> torch.nn.Module:
        return jule_cnn(self.input_shape_, padding=self.conv_padding, head_bn=bool(self.head_bn))

    def _features(self, X: torch.Tensor) -> np.ndarray:
        return apply_batched(self.net_, X, 1024).cpu().numpy()

    def _new_merger(self, feats: np.ndarray, labels: np.ndarray) -> GDLMerger:
        self._W = knn_graph(feats, int(self.ks))
        return GDLMerger(self._W, labels, int(self.kc), self.lam, self.update, features=feats)

    # ------------------------------------------------------------------ hooks
    def _setup(self, X: np.ndarray, y) -> None:
        n = X.shape[0]
        self._X = to_tensor(X, self.device_)
        self.net_ = self._cnn().to(self.device_)
        raw = X.reshape(n, -1).astype(np.float64)
        raw /= np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)  # JULE L2-normalises
        init = nn_chain_clusters(raw)  # ~4 samples per initial cluster
        self._merger = self._new_merger(raw, init)  # period 1 merges on raw pixels
        self.n_initial_clusters_ = self._merger.n_clusters
        self._opt = torch.optim.SGD(self.net_.parameters(), lr=self.lr, momentum=self.momentum,
                                    weight_decay=self.weight_decay)
        self._sched = torch.optim.lr_scheduler.LambdaLR(self._opt, lambda it: (1 + 1e-4 * it) ** -0.75)
        self._loss = float("nan")

    def _fit_round(self, r: int) -> tuple[dict, bool]:
        m = self._merger
        target = int(self.n_clusters)
        # forward pass; with train_first the first period only trains on the initial clusters
        n_merge = 0 if (r == 1 and self.train_first) else self._merge_round(m, target)
        labels = m.labels_
        done = m.n_clusters <= target
        if not done or self.train_last:  # the authors' code stops at the target, untrained on it
            self._loss = self._train_epochs(labels)  # backward pass
            feats = self._features(self._X)
            self._merger = self._new_merger(feats, labels)  # graph on the new representation
        return {"loss": self._loss, "merged": float(n_merge), "lr": self._sched.get_last_lr()[0]}, done

    def _min_samples(self) -> int:
        return int(self.n_clusters) + 1  # at least one merge

    def _planned_rounds(self) -> int:
        """Periods to merge the initial clusters down to k at rate eta (Sec. 3.3): an upper
        bound, as joining isolated and small clusters only shortens the way."""
        c, target = self._merger.n_clusters, int(self.n_clusters)
        periods = 1 if self.train_first else 0
        while c > target:
            c -= min(math.ceil(self.eta * c), c - target)
            periods += 1
        return max(periods, 1)

    def _merge_round(self, m: GDLMerger, target: int) -> int:
        """One forward pass: join isolated clusters while there are more than 20 x the
        target (the authors' code, see ``GDLMerger.join_isolated``) and, with
        ``join_small``, clusters below that share of the mean size; then merge
        ceil(eta x clusters) pairs by Eq. 7, never below the target. Returns the merges."""
        if m.n_clusters > self.join_isolated_above * target:
            m.join_isolated(min_clusters=target)
        if self.join_small > 0:  # outliers: clusters far below the mean size
            m.join_small(self.join_small * m.sizes[m.alive].sum() / m.n_clusters, min_clusters=target)
        n_merge = min(math.ceil(self.eta * m.n_clusters), m.n_clusters - target)
        m.merge(n_merge)
        return n_merge

    def _train_epochs(self, labels: np.ndarray) -> float:
        """Weighted triplet loss on the current clusters (Eq. 35), ``epochs_per_period``
        epochs of SGD. The negatives of an anchor are its n_neg nearest batch members from
        other clusters ("at most K_c neighbour samples of x_i from other clusters in a
        training batch", Sec. 3.5.2). The (anchor, positive) pairs come from
        ``triplets``: "batch" (the authors' code) -- random batches, every pair of
        same-cluster members of a batch; "cluster" -- every sample is an anchor once an
        epoch, with a positive drawn from its whole cluster."""
        total, steps = 0.0, 0
        self.net_.train()
        for _ in range(int(self.epochs_per_period)):
            for idx, a_rows, p_rows in self._triplet_batches(labels):
                f = self.net_(self._X[torch.as_tensor(idx, device=self.device_)])
                fa, fp = f[a_rows], f[p_rows]
                c = labels[idx]
                with torch.no_grad():
                    d = torch.cdist(fa, f) ** 2  # (pairs, batch)
                    other = torch.as_tensor(c[a_rows][:, None] != c[None, :], device=d.device)
                    if self.negatives == "random":  # random other-cluster batch members
                        d = torch.rand(d.shape, generator=self._torch_gen).to(d.device)
                    d = d.masked_fill(~other, float("inf"))
                    nd, nn_idx = d.topk(min(int(self.n_neg), d.shape[1]), largest=False)
                loss = weighted_triplet_loss(fa, fp, f[nn_idx], torch.isfinite(nd).float(),
                                             self.gamma, self.margin)
                self._opt.zero_grad()
                loss.backward()
                self._opt.step()
                self._sched.step()
                total += float(loss.detach())
                steps += 1
        return total / max(steps, 1)

    def _triplet_batches(self, labels: np.ndarray):
        """Yield (sample indices of a batch, anchor rows, positive rows) for one epoch."""
        rng, bs = self._rng, int(self.batch_size)
        if self.triplets == "batch":
            perm = rng.permutation(labels.size)
            for i in range(0, perm.size, bs):
                idx = perm[i:i + bs]
                a_rows, p_rows = np.triu_indices(idx.size, 1)
                same = labels[idx][a_rows] == labels[idx][p_rows]
                if same.any():
                    yield idx, a_rows[same], p_rows[same]
            return
        order = np.argsort(labels, kind="stable")
        sizes = np.bincount(labels)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        perm = rng.permutation(np.flatnonzero(sizes[labels] > 1))  # anchors with a positive
        for i in range(0, perm.size, bs):
            a_idx = perm[i:i + bs]
            if a_idx.size < 2:
                continue
            c = labels[a_idx]
            pick = starts[c] + rng.integers(0, sizes[c])
            p_idx = order[pick]
            clash = p_idx == a_idx  # drew the anchor itself: take the next member
            p_idx[clash] = order[starts[c[clash]] + (pick[clash] - starts[c[clash]] + 1) % sizes[c[clash]]]
            b = a_idx.size
            yield np.concatenate([a_idx, p_idx]), np.arange(b), np.arange(b, 2 * b)

    def _track(self):
        emb = self._features(self._X[to_tensor(self.track_index_, self.device_, torch.long)])
        labels = self._merger.labels_[self.track_index_]
        # the count over all samples, not only the tracked ones
        return Track(labels, emb, {"loss": self._loss, "n_clusters": self._merger.n_clusters}, {})

    def _finish(self) -> np.ndarray:
        target = int(self.n_clusters)
        self._merger.merge_to(target)  # a stopped run still ends at the target count
        self.labels_sf_ = self._merger.labels_
        feats = self._features(self._X)
        # OURS-RC: AC-GDL on the learned features from a new nearest-neighbour-chain start,
        # merged as the authors' code does it: rounds of ceil(eta x clusters) merges, each
        # after joining isolated clusters while there are more than 20 x the target
        rc = self._new_merger(feats, nn_chain_clusters(feats))
        while rc.n_clusters > target:
            self._merge_round(rc, target)
        self.labels_rc_ = rc.labels_
        labels = self.labels_rc_ if self.recluster else self.labels_sf_
        self.cluster_centers_ = self._centroids(feats, labels)
        return labels

    @staticmethod
    def _centroids(feats: np.ndarray, labels: np.ndarray) -> np.ndarray:
        cent = np.stack([feats[labels == c].mean(0) for c in range(int(labels.max()) + 1)])
        return (cent / np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    # ------------------------------------------------------------------ out of sample
    def _embed(self, X: np.ndarray) -> np.ndarray:
        return self._features(to_tensor(X, self.device_))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return (self._embed(X) @ self.cluster_centers_.T).argmax(1)  # nearest centroid (cosine)

    # ------------------------------------------------------------------ runs
    def _state(self):
        tensors = net_tensors(self.net_)
        tensors.update(centroids=self.cluster_centers_, labels_sf=self.labels_sf_, labels_rc=self.labels_rc_)
        return tensors, {"n_initial_clusters": int(self.n_initial_clusters_),
                         "conv_padding": self.conv_padding, "head_bn": bool(self.head_bn)}

    def _load_state(self, tensors, meta) -> None:
        if "conv_padding" not in meta:  # saved before the two options: padded convs, BN head
            self.conv_padding, self.head_bn = "same", True
        self.net_ = load_net_tensors(self._cnn(), tensors, self.device_)
        self.cluster_centers_ = tensors["centroids"]
        self.labels_sf_, self.labels_rc_ = tensors["labels_sf"], tensors["labels_rc"]
        self.n_initial_clusters_ = int(meta["n_initial_clusters"])
