"""DAC: deep adaptive image clustering.

Chang, Wang, Meng, Xiang, Pan, "Deep Adaptive Image Clustering", ICCV 2017 (equation
numbers are the paper's and its supplementary's).
Clustering as binary pairwise classification ("same cluster or not?"):

* the network ends in the *restraint layer* (supplementary Eq. 17):
  l_h = exp(x_h - max x) then l / ||l||_2, so label features are non-negative unit
  vectors and l_i . l_j is the cosine similarity of two samples;
* *adaptive learning*: in every batch, pairs with l_i . l_j > u(lambda) are taken as
  similar (r_ij = 1), pairs below l(lambda) as dissimilar (r_ij = 0), the rest are
  ignored; binary cross-entropy on the selected pairs (main paper Eq. 5-6);
* lambda grows every epoch, u falls and l rises, more pairs are selected; training
  ends when u <= l;
* cluster = argmax of the label feature; the circle map of supplementary Eq. 1 that
  pictures the label features is ``clustlib.viz.circle_map``.

Schedules: ``"reimpl"`` u = 0.95 - lambda, l = 0.455 + 0.1 lambda, lambda += 1.1 x 0.009
per epoch (the widely used re-implementation); ``"code"``: the released Keras code,
u = 0.99 and l = 0.8 moved toward each other by (0.99 - 0.8) / 100 per epoch.

Collapse (the original's known failure: fewer than k clusters come out) is detected
every epoch (``n_used`` < k in the snapshot scalars, ``collapsed_`` after fit). The
remedy offered is ``balance`` > 0: a penalty KL(mean soft assignment || uniform) on each
batch (the soft assignment is l_i / ||l_i||_1, the weights of the circle map), which
keeps every label dimension in use. It is *not* in the paper: ``balance=0`` is the
paper's method (preset ``paper``); the ``demo`` preset uses 3.0, which on digits also
lifted NMI (docs/dac.md).

>>> from clustlib.methods.dac import restraint
>>> import torch
>>> l = restraint(torch.tensor([[1.0, 2.0, 3.0]]))
>>> bool((l >= 0).all()), round(float(l.norm()), 6)
(True, 1.0)
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from .. import distributed
from ..about import About, Demo
from ..base import DeepClusterer, Track
from ..nets import (
    affine_views,
    allconv,
    apply_batched,
    fit_standardizer,
    load_net_tensors,
    net_tensors,
    to_tensor,
)
from ..params import Choice, Int, Real

SCHEDULES = ("reimpl", "code")


def restraint(x: torch.Tensor) -> torch.Tensor:
    """Supplementary Eq. 17: exp(x - max x) (17a), then L2-normalise (17b)."""
    e = torch.exp(x - x.max(dim=1, keepdim=True).values)
    return e / e.norm(dim=1, keepdim=True)


class Restraint(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return restraint(x)


def select_pairs(sim: torch.Tensor, upper: float, lower: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(targets, mask) for a batch similarity matrix: 1 above ``upper``, 0 below
    ``lower``, the rest (and the diagonal) not selected."""
    n = sim.shape[0]
    off = ~torch.eye(n, dtype=torch.bool, device=sim.device)
    pos = (sim > upper) & off
    neg = (sim < lower) & off
    return pos.to(sim.dtype), pos | neg


def pair_loss(L: torch.Tensor, upper: float, lower: float,
              L_select: torch.Tensor | None = None) -> tuple[torch.Tensor, int, int]:
    """Binary cross-entropy on the selected pairs of label features L (B, k).
    Pairs are selected on ``L_select`` (default L; the released code selects on the
    clean batch and trains on its augmented views) without gradient.
    Returns (loss, n_selected, n_similar)."""
    sim = (L @ L.T).clamp(1e-7, 1 - 1e-7)
    with torch.no_grad():
        ref = sim if L_select is None else L_select @ L_select.T
        r, mask = select_pairs(ref, upper, lower)
    n_sel = int(mask.sum())
    if n_sel == 0:
        return sim.sum() * 0.0, 0, 0
    bce = -(r * torch.log(sim) + (1 - r) * torch.log(1 - sim))
    return bce[mask].mean(), n_sel, int(r[mask].sum())


def schedule_end(schedule: str) -> int:
    """The first epoch at which u <= l (training ends there)."""
    return next(e for e in range(1, 10_000) if thresholds(schedule, e)[0] <= thresholds(schedule, e)[1])


def thresholds(schedule: str, epoch: int) -> tuple[float, float]:
    """(u, l) at an epoch (0 = before the first) for the schedule."""
    if schedule == "reimpl":
        lam = 1.1 * 0.009 * epoch
        return 0.95 - lam, 0.455 + 0.1 * lam
    step = (0.99 - 0.8) / 100
    return 0.99 - step * epoch, 0.8 + step * epoch


class DAC(DeepClusterer):
    """Deep adaptive clustering, scikit-learn style.

    Parameters
    ----------
    n_clusters : int; default 10
        k, the size of the label features.
    schedule : str; default 'reimpl'
        "reimpl" or "code" (see module docstring).
    max_iter : int; default 50
        the most epochs (was ``max_epochs``; one round is one epoch): an upper bound,
        training ends when u <= l.
    batch_size, lr : int, float; default 128, 0.001
        RMSProp (paper: lr 0.001, batch 32; released code 128).
    steps_per_epoch : int or None; default None
        batches per epoch (None: one pass over the data).
    lr_decay : str; default 'none'
        "none" (the paper: a constant rate) or "cosine" over the epochs the
        schedule needs (u meets l), which calms the epoch-to-epoch swings at the end.
    augment : float; default 1.0
        strength of the random affine views for images (0 = none).
    balance : float; default 3.0
        weight of the anti-collapse term (0 = the paper's method).
    width : int; default 64
        channels of the All-ConvNet (64 = the paper's; 32 is faster on a CPU).
        With torch.distributed (torchrun) ``batch_size`` is the global batch, split over
        the ranks; the label features are gathered, so the pairs are those of the whole
        global batch, as in one process.
    n_init, init_rounds : int, int or None; default 1, None
        several starts from derived seeds; the start whose label features
        separate its own clusters best is kept (no labels; compared after ``init_rounds`` rounds,
        or at the end): ``DeepClusterer._fit_starts``. Not in the paper (n_init=1).
    track_max, random_state, device : int, int or None, str; default 2000, None, 'auto'
        see :class:`~clustlib.base.DeepClusterer`.

    Attributes
    ----------
    net_ : torch.nn.Module
        The All-ConvNet (images) or MLP (vectors) ending in the k label features (softmax).
    mean_, scale_ : ndarray
        The per-feature standardisation fitted on X (vectors) or its identity (images).
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Samples per cluster of ``labels_``.
    collapsed_ : bool
        True when some cluster is empty (the failure the anti-collapse ``balance`` term
        prevents).
    Plus the common ones of :class:`~clustlib.base.DeepClusterer`.
    """

    ABOUT: ClassVar[About] = About(
        name="dac", title="DAC", year=2017, icon=":material/donut_large:", page_title="DAC (label-feature circle)",
        description="DAC (Chang et al., ICCV 2017): pairwise same/different learning on confident pairs; "
                    "label features drift to the k vertices of a circle",
        picture="The circular label-feature map (Chang et al. 2017, suppl. Eq. 1): every sample's label "
                "feature drifting, epoch by epoch, to one of the k vertices as the thresholds u and l close.",
        demos={"dac-digits": Demo("digits", {"n_clusters": 10, "track_max": 500})},
        progress=("nmi", "acc", "loss", "selected", "n_clusters"))
    PRESETS: ClassVar[dict[str, dict]] = {
        "paper": dict(schedule="reimpl", max_iter=100, batch_size=32, lr=1e-3, lr_decay="none",
                      augment=1.0, balance=0.0, width=64),
        # the paper's lr 1e-3 with a cosine decay; the best separated of four starts of the
        # half-width net (each about a third of the paper's width 64 in time; docs/dac.md)
        "demo": dict(schedule="reimpl", max_iter=50, batch_size=128, lr=1e-3, lr_decay="cosine",
                     augment=1.0, balance=3.0, width=32, n_init=4),
        "tiny": dict(schedule="reimpl", max_iter=3, batch_size=64, lr=1e-3, lr_decay="none",
                     augment=0.0, balance=1.0, width=16),
    }
    round_name: ClassVar[str] = "epoch"
    RENAMED: ClassVar[dict[str, str]] = {"max_epochs": "max_iter"}  # old names, still accepted
    streams: ClassVar[bool] = True

    PARAM_RULES: ClassVar[dict] = {
        "schedule": Choice(*SCHEDULES), "max_iter": Int(1, 100_000), "batch_size": Int(2, 100_000),
        "lr": Real(0, 10, lo_open=True), "steps_per_epoch": Int(1, 10**6, none=True),
        "lr_decay": Choice("none", "cosine"), "augment": Real(0, 100), "balance": Real(0, 1e6),
        "width": Int(1, 1024), "n_init": Int(1, 100), "init_rounds": Int(1, 100_000, none=True)}

    def __init__(self, n_clusters: int = 10, *, schedule: str = "reimpl", max_iter: int = 50,
                 batch_size: int = 128, lr: float = 1e-3, steps_per_epoch: int | None = None,
                 lr_decay: str = "none",
                 augment: float = 1.0, balance: float = 3.0, width: int = 64, n_init: int = 1, init_rounds: int | None = None,
                 track_max: int = 2000,
                 random_state: int | None = None, device: str = "auto", **renamed):
        self.n_clusters = n_clusters
        self.schedule = schedule
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.steps_per_epoch = steps_per_epoch
        self.augment = augment
        self.balance = balance
        self.width = width
        self.n_init = n_init
        self.init_rounds = init_rounds
        self.track_max = track_max
        self.random_state = random_state
        self.device = device
        self._take_renamed(renamed)

    # ------------------------------------------------------------------ helpers
    def _net(self) -> nn.Sequential:
        return nn.Sequential(allconv(self.input_shape_, int(self.n_clusters), int(self.width)), Restraint())

    def _scaled(self, X: np.ndarray) -> torch.Tensor:
        """Vector data is standardised with the training statistics; images as they are."""
        if len(self.input_shape_) == 1:
            X = (X - self.mean_) / self.scale_
        return to_tensor(X, self.device_)

    def _labels_all(self) -> np.ndarray:
        return apply_batched(self.net_, self._X, 2048).argmax(1).cpu().numpy()  # in chunks

    # ------------------------------------------------------------------ hooks
    def _min_samples(self) -> int:
        return 2 * int(self.n_clusters)

    def _setup(self, X, y) -> None:
        self.mean_, self.scale_ = fit_standardizer(X)
        self._X = self._source(X, self._scaled)
        self.net_ = self._net().to(self.device_)
        self._opt = torch.optim.RMSprop(self.net_.parameters(), lr=self.lr)
        self._aug = affine_views(self.input_shape_, float(self.augment))
        self._u, self._l = thresholds(self.schedule, 0)
        self._end = schedule_end(self.schedule)
        self._last: dict = {}

    def _fit_round(self, r: int) -> tuple[dict, bool]:
        u, lo = thresholds(self.schedule, r - 1)
        if self.lr_decay == "cosine":
            total = min(self._end, int(self.max_iter))
            for g in self._opt.param_groups:
                g["lr"] = self.lr * 0.5 * (1 + math.cos(math.pi * (r - 1) / total))
        self._u, self._l = u, lo
        n = self._X.n
        bs = min(int(self.batch_size), n)
        steps = int(self.steps_per_epoch or math.ceil(n / bs))
        k = int(self.n_clusters)
        self.net_.train()
        tot = {"loss": 0.0, "pair_loss": 0.0, "balance_loss": 0.0, "selected": 0.0, "similar": 0.0}
        perm = torch.randperm(n, generator=self._torch_gen)
        batches = []
        for s in range(steps):
            idx = perm[(s * bs) % n:(s * bs) % n + bs]
            if idx.numel() < 2 * self._world:
                idx = perm[:bs]
            batches.append(self._local(idx))  # the rank's share of the global batch
        done = 0
        for x in self._X.batches(batches):
            if self._stop_now():
                break
            sel = None
            if self._aug is not None:
                with torch.no_grad():
                    sel = self._train_net(x)  # pairs chosen on the clean batch, as the released code
                x = self._aug(x)
            L = distributed.gather_batch(self._train_net(x))  # the global batch's pairs, on every rank
            sel = None if sel is None else distributed.gather_batch(sel)
            loss, n_sel, n_sim = pair_loss(L, u, lo, sel)
            bal = torch.zeros((), device=L.device)
            if self.balance > 0:
                p = (L / L.sum(1, keepdim=True)).mean(0)
                bal = (p * torch.log(p * k + 1e-12)).sum()  # KL(p || uniform)
            total = loss + float(self.balance) * bal
            self._opt.zero_grad()
            (total * self._world).backward()  # DDP averages the ranks' gradients
            self._opt.step()
            pairs = L.shape[0] * (L.shape[0] - 1)
            tot["loss"] += float(total.detach())
            tot["pair_loss"] += float(loss.detach())
            tot["balance_loss"] += float(bal.detach())
            tot["selected"] += n_sel / pairs
            tot["similar"] += n_sim / pairs
            done += 1
        out = {key: v / max(done, 1) for key, v in tot.items()}
        out.update(u=u, l=lo)
        self._last = out
        return out, r >= self._end

    def _track(self):
        L_all = apply_batched(self.net_, self._X, 2048)  # one pass: the sizes and the tracked rows
        L = L_all[torch.as_tensor(self.track_index_, dtype=torch.long, device=L_all.device)].cpu().numpy()
        sizes = np.bincount(L_all.argmax(1).cpu().numpy(), minlength=int(self.n_clusters))
        extra = {"u": self._u, "l": self._l, **self._last, "n_clusters": float((sizes > 0).sum()),
                 "n_used": float((sizes > 0).sum()), "collapsed": float((sizes > 0).sum() < int(self.n_clusters)),
                 "smallest": float(sizes.min())}
        return Track(L.argmax(1), L, extra, {"sizes": sizes.astype(np.int64)})

    def _finish(self) -> np.ndarray:
        labels = self._labels_all()
        self.cluster_sizes_ = np.bincount(labels, minlength=int(self.n_clusters))
        self.collapsed_ = bool((self.cluster_sizes_ == 0).any())
        return labels

    # ------------------------------------------------------------------ out of sample
    def _embed(self, X: np.ndarray) -> np.ndarray:
        """The label features l(x) (non-negative unit vectors, Eq. 17)."""
        return apply_batched(self.net_, self._scaled(X), 2048).cpu().numpy()

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._embed(X).argmax(1)

    # ------------------------------------------------------------------ runs
    def _state(self):
        tensors = net_tensors(self.net_)
        tensors.update(mean=self.mean_, scale=self.scale_, sizes=self.cluster_sizes_)
        return tensors, {"collapsed": self.collapsed_}

    def _load_state(self, tensors, meta) -> None:
        self.net_ = load_net_tensors(self._net(), tensors, self.device_)
        self.mean_, self.scale_ = tensors["mean"], tensors["scale"]
        self.cluster_sizes_ = tensors["sizes"]
        self.collapsed_ = bool(meta.get("collapsed", False))
