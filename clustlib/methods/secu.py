"""SeCu: stable cluster discrimination for deep clustering.

Qian, "Stable Cluster Discrimination for Deep Clustering", ICCV 2023 (arXiv:2311.14310;
equation numbers are the paper's and its supplementary's). A single-stage method: an
encoder with a 2-layer MLP head gives L2-normalised features x; K unit-norm centres w_j.
Per mini-batch (two augmented views per sample):

1. *assignment* (no gradient): y_i = argmin_j -log p_ij - rho_j (+ rho'_j), with
   p_ij = softmax_j(x_i^T w_j / lambda) averaged over the views, and the dual variables
   of the lower-bound size constraint sum_i y_ij >= gamma N / K updated online
   (supplementary Sec. 2): rho_j <- max(0, rho_j - eta_rho (mean_b y_j - gamma / K));
   the optional upper bound gamma' adds rho'_j. Or the *entropy constraint*
   (``constraint="entropy"``): the assignment maximises log p_ij + tau H(q), linearised
   at the running cluster proportions q, i.e. subtracts tau (log q_j + 1).
2. *stable cluster discrimination*: cross-entropy at temperature lambda over the logits
   x_i^T w_{y_i} (the live centre) and x_i^T w~_k for k != y_i, where w~ are the centres
   frozen at the start of the epoch, so only the assigned centre gets gradient while
   the representation learns against all centres (main paper Eq. 6-8).
3. *centres*: by SGD with a constant learning rate (``center_update="sgd"``) and
   projection to the sphere, or by the closed form of Theorem 1 (supplementary Eq. 4) at
   the end of each epoch, w_j = Pi(sum_{y_i=j} (1 - p_ij) x_i / sum_{y_i=j} (1 - p_ij)),
   which is the gradient step with learning rate 1 (``center_update="closed"``).

The authors' released code trains the representation differently (``target="soft"``):
the centre loss above sees detached features, and the features learn against the frozen
centres with a soft target -- the other view's prediction plus 0.2 times the label the
sample got in the *previous* epoch. Measured on digits it is worse (docs/secu.md), so the main
paper's loss (``target="hard"``) is the default.

Several heads with different K (``extra_k``) share the encoder and add their losses;
``labels_`` come from the head with ``n_clusters``.

>>> import numpy as np
>>> from clustlib.methods.secu import SeCu
>>> X = np.random.default_rng(0).normal(size=(120, 5)).astype(np.float32)
>>> SeCu.from_preset("tiny", n_clusters=3, random_state=0).fit(X).labels_.shape
(120,)
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
    L2Norm,
    affine_views,
    apply_batched,
    encoder,
    fit_standardizer,
    load_net_tensors,
    mlp,
    net_tensors,
    noise_views,
    recalibrate_bn,
    to_tensor,
)
from ..params import Bool, Choice, Int, IntTuple, Real


def assign(logp: torch.Tensor, rho: torch.Tensor, rho_up: torch.Tensor | None = None) -> torch.Tensor:
    """Supplementary Sec. 2: y_i = argmin_j -log p_ij - rho_j + rho'_j."""
    score = logp + rho - (0 if rho_up is None else rho_up)
    return score.argmax(1)


def dual_step(rho: torch.Tensor, y: torch.Tensor, k: int, gamma: float, eta: float,
              rho_up: torch.Tensor | None = None, gamma_up: float | None = None,
              counts: torch.Tensor | None = None):
    """One online dual update (supplementary Sec. 2) after assigning a batch y (b,);
    ``counts``: the batch's cluster counts when they are not those of y (data-parallel
    training: the counts of the whole global batch, summed over the ranks)."""
    counts = torch.bincount(y, minlength=k) if counts is None else counts
    share = counts.to(rho.dtype) / counts.sum()
    rho = (rho - eta * (share - gamma / k)).clamp_min(0)
    if rho_up is not None and gamma_up is not None:
        rho_up = (rho_up + eta * (share - gamma_up / k)).clamp_min(0)
    return rho, rho_up


def stable_loss(x: torch.Tensor, W: torch.Tensor, W_frozen: torch.Tensor, y: torch.Tensor,
                temperature: float) -> torch.Tensor:
    """Cross-entropy with the live centre of the assigned cluster and frozen centres for
    the others (only w_{y_i} gets gradient). x (b, d), W and W_frozen (K, d), y (b,)."""
    logits = x @ W_frozen.detach().T
    own = (x * W[y]).sum(1)
    logits = logits.scatter(1, y[:, None], own[:, None])
    return nn.functional.cross_entropy(logits / temperature, y)


def soft_target_loss(x: torch.Tensor, x_other: torch.Tensor, W_frozen: torch.Tensor, y_prev: torch.Tensor,
                     temperature: float, tau: float) -> torch.Tensor:
    """Representation loss of the authors' released code: cross-entropy of x against the
    centres frozen at the start of the epoch, with the soft target
    (1 - tau) softmax(x_other^T w~ / lambda) + tau onehot(y_prev) -- the other view's
    prediction (no gradient) plus the label assigned in the previous epoch."""
    logits = x @ W_frozen.detach().T / temperature
    with torch.no_grad():
        target = (1 - tau) * torch.softmax(x_other @ W_frozen.T / temperature, 1)
        target[torch.arange(len(y_prev), device=x.device), y_prev] += tau
    return -(torch.log_softmax(logits, 1) * target).sum(1).mean()


def centers_from_sums(num: torch.Tensor, den: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Eq. 4 from its sums: Pi(num_j / den_j), the old centre where a cluster had no weight."""
    mean = num / den.clamp_min(1e-12)[:, None]
    return torch.where((den > 0)[:, None], nn.functional.normalize(mean, dim=1), W)


class SeCu(DeepClusterer):
    """Stable cluster discrimination (SeCu-Size / SeCu-Entropy), scikit-learn style.

    Parameters
    ----------
    n_clusters : int; default 10
        K of the main head.
    extra_k : tuple; default ()
        Ks of additional heads (optional).
    constraint : str; default 'size'
        "size" (lower bound gamma N/K, dual variables) or "entropy".
    gamma, gamma_up : float, float or None; default 0.9, None
        lower-bound ratio (paper 0.9) and optional upper-bound ratio.
    dual_lr : float; default 20.0
        eta_rho (the paper uses large values, e.g. 20 on ImageNet).
    tau : float; default 1.0
        weight of the entropy constraint.
    temperature : float; default 0.05
        lambda (paper 0.05).
    center_update : str; default 'sgd'
        "sgd" (constant ``center_lr``) or "closed" (Theorem 1 each epoch). Was
        ``centre_update`` (still accepted).
    center_lr : float; default 1.0
        the centres' learning rate with ``center_update="sgd"`` (was ``centre_lr``).
    target : str; default 'hard'
        representation loss. "hard" -- the main paper's stable loss (Eq. 6-8): the
        batch's new label with the live assigned centre. "soft" -- the authors' released
        code: only the centre loss uses the live centre (features detached there); the
        representation learns against the frozen centres with the other view's soft
        prediction plus ``label_weight`` times the *previous epoch's* label.
    label_weight : float; default 0.2
        tau of the "soft" target (code default 0.2).
    embed_dim, hidden : int, int; default 64, 256
        head output (paper 128; was ``feat_dim``) and widths.
    max_iter, batch_size, lr, weight_decay : int, int, float, float; default 40, 128, 0.05, 0.0005
        SGD on the encoder for ``max_iter`` epochs (was ``epochs``; one round is one
        epoch) with cosine decay. With
        torch.distributed (torchrun) the batch is the global one, split over the ranks;
        the duals see the whole batch's counts and Eq. 4 the whole epoch's sums.
    augment : float; default 1.0
        strength of the views (affine for images, noise/masking for vectors).
    init : str; default 'kmeans'
        "kmeans" (centres from k-means of the initial features) or "random" (the paper).
    precise_bn : bool; default True
        after each epoch, reset the BatchNorm statistics to their exact average over
        the data (``nets.recalibrate_bn``; not in the paper). A small set has a dozen
        batches an epoch, the running averages lag the network and the eval-mode features
        -- through the BN before the L2 norm -- all drift to one side (docs/secu.md).
    n_init, init_rounds : int, int or None; default 1, None
        several starts from derived seeds; the start whose features
        separate its own clusters best is kept (no labels; compared after ``init_rounds`` rounds,
        or at the end): ``DeepClusterer._fit_starts``. Not in the paper (n_init=1).
    track_max, random_state, device : int, int or None, str; default 2000, None, 'auto'
        see :class:`~clustlib.base.DeepClusterer`.

    Attributes
    ----------
    net_ : torch.nn.Module
        The encoder and projection head (features on the unit sphere).
    head_centers_ : list of ndarray, one (K_h, embed_dim) per head
        The unit-norm cluster centres of each head (the main head first).
    cluster_centers_ : ndarray of shape (n_clusters, embed_dim)
        ``head_centers_[0]``.
    assigned_ : ndarray of shape (n_samples,)
        The constrained online assignment of the last epoch (Eq. 9-10, with the duals).
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Samples per cluster of ``labels_`` (the page's bars against the floor gamma N/K).
    mean_, scale_ : ndarray
        The per-feature standardisation fitted on X (vectors) or its identity (images).
    Plus the common ones of :class:`~clustlib.base.DeepClusterer`.
    """

    ABOUT: ClassVar[About] = About(
        name="secu", title="SeCu", year=2023, icon=":material/bar_chart:", page_title="SeCu (size-constrained)",
        description="SeCu (Qian, ICCV 2023): online cluster discrimination with a size constraint; "
                    "only the assigned centre moves",
        picture="Cluster sizes epoch by epoch against the γN/K floor that the dual variables enforce, "
                "and the features gathering around unit-norm centres (Qian 2023).",
        demos={"secu-digits": Demo("digits", {"n_clusters": 10, "track_max": 300})},
        progress=("nmi", "acc", "loss", "smallest_over_floor"))
    PRESETS: ClassVar[dict[str, dict]] = {
        # CIFAR settings of the released code: its dual rate 0.1 acts on cosines, ours on
        # log-probabilities (cosine / lambda), i.e. 0.1 / 0.05 = 2; SGD centres at 1.2
        "paper": dict(constraint="size", gamma=0.9, dual_lr=2.0, temperature=0.05, center_update="sgd",
                      center_lr=1.2, embed_dim=128, max_iter=400, batch_size=128, lr=0.2, weight_decay=1e-4,
                      augment=1.0, init="random", precise_bn=False),
        # CPU-sized (docs/secu.md): k-means start, closed-form centres, temperature 0.15 (0.05-0.1
        # pull the features to wrong centres on digits), a small encoder rate, precise BN; five
        # starts compared after 10 epochs, the best separated one trained to the end
        "demo": dict(constraint="size", gamma=0.9, dual_lr=2.0, temperature=0.15, center_update="closed",
                     center_lr=1.0, embed_dim=64, max_iter=60, batch_size=128, lr=0.005, augment=1.0,
                     n_init=5, init_rounds=10),
        # a few seconds (tests, a first look): five epochs, no BN recalibration
        "tiny": dict(constraint="size", gamma=0.9, dual_lr=2.0, temperature=0.1, center_update="closed",
                     center_lr=1.0, embed_dim=32, max_iter=5, batch_size=64, lr=0.005, augment=0.5,
                     precise_bn=False),
    }
    round_name: ClassVar[str] = "epoch"
    RENAMED: ClassVar[dict[str, str]] = {"epochs": "max_iter", "feat_dim": "embed_dim",  # old names, still accepted
                                         "centre_update": "center_update", "centre_lr": "center_lr"}
    streams: ClassVar[bool] = True
    sklearn_skips: ClassVar[dict] = {"check_clustering": "its size floor (0.9 N / K) cannot hold scikit-learn's "
                                                         "three unequal blobs split by K=2"}

    PARAM_RULES: ClassVar[dict] = {
        "extra_k": IntTuple(2, 100_000), "constraint": Choice("size", "entropy"), "gamma": Real(0, 1),
        "gamma_up": Real(1, 1e6, none=True), "dual_lr": Real(0, 1e6), "tau": Real(0, 1e6, lo_open=True),
        "temperature": Real(0, 1e3, lo_open=True), "center_update": Choice("sgd", "closed"),
        "center_lr": Real(0, 1e6), "target": Choice("hard", "soft"), "label_weight": Real(0, 1e6),
        "embed_dim": Int(1, 4096), "hidden": Int(1, 8192), "max_iter": Int(1, 100_000),
        "batch_size": Int(2, 100_000), "lr": Real(0, 10, lo_open=True), "weight_decay": Real(0, 1),
        "augment": Real(0, 100), "init": Choice("kmeans", "random"), "precise_bn": Bool(), "n_init": Int(1, 100), "init_rounds": Int(1, 100_000, none=True)}

    def __init__(self, n_clusters: int = 10, *, extra_k: tuple = (), constraint: str = "size",
                 gamma: float = 0.9, gamma_up: float | None = None, dual_lr: float = 20.0,
                 tau: float = 1.0, temperature: float = 0.05, center_update: str = "sgd",
                 center_lr: float = 1.0, target: str = "hard", label_weight: float = 0.2,
                 embed_dim: int = 64, hidden: int = 256, max_iter: int = 40,
                 batch_size: int = 128, lr: float = 0.05, weight_decay: float = 5e-4,
                 augment: float = 1.0, init: str = "kmeans", precise_bn: bool = True, n_init: int = 1, init_rounds: int | None = None,
                 track_max: int = 2000,
                 random_state: int | None = None, device: str = "auto", **renamed):
        self.n_clusters = n_clusters
        self.extra_k = extra_k
        self.constraint = constraint
        self.gamma = gamma
        self.gamma_up = gamma_up
        self.dual_lr = dual_lr
        self.tau = tau
        self.temperature = temperature
        self.center_update = center_update
        self.center_lr = center_lr
        self.target = target
        self.label_weight = label_weight
        self.embed_dim = embed_dim
        self.hidden = hidden
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.augment = augment
        self.init = init
        self.precise_bn = precise_bn
        self.n_init = n_init
        self.init_rounds = init_rounds
        self.track_max = track_max
        self.random_state = random_state
        self.device = device
        self._take_renamed(renamed)

    # ------------------------------------------------------------------ helpers
    @property
    def ks_(self) -> list[int]:
        return [int(self.n_clusters), *[int(k) for k in self.extra_k]]

    def _net(self) -> nn.Sequential:
        h = int(self.hidden)
        return nn.Sequential(encoder(self.input_shape_, h, hidden=h), nn.BatchNorm1d(h), nn.ReLU(),
                             mlp([h, h, int(self.embed_dim)], batch_norm=True),
                             nn.BatchNorm1d(int(self.embed_dim)), L2Norm())  # BN: centred features

    def _scaled(self, X: np.ndarray) -> torch.Tensor:
        if len(self.input_shape_) == 1:
            X = (X - self.mean_) / self.scale_
        return to_tensor(X, self.device_)

    def _min_samples(self) -> int:
        return 2 * max(self.ks_)  # every head's K at most half the samples

    # ------------------------------------------------------------------ hooks
    def _setup(self, X, y) -> None:
        n = X.shape[0]
        self.mean_, self.scale_ = fit_standardizer(X)
        self._X = self._source(X, self._scaled)
        self.net_ = self._net().to(self.device_)
        self._recalibrate_bn()  # so the k-means start sees the features training will see
        self._centers = [self._init_centers(k) for k in self.ks_]
        self._rho = [torch.zeros(k, device=self.device_) for k in self.ks_]
        self._rho_up = [torch.zeros(k, device=self.device_) if self.gamma_up else None for k in self.ks_]
        self._q = [torch.full((k,), 1.0 / k, device=self.device_) for k in self.ks_]
        self._views = affine_views(self.input_shape_, float(self.augment)) or \
            noise_views(0.2 * float(self.augment), 0.1 * float(self.augment))
        self._opt = torch.optim.SGD(self.net_.parameters(), lr=self.lr, momentum=0.9,
                                    weight_decay=self.weight_decay)
        steps = int(self.max_iter) * math.ceil(n / min(int(self.batch_size), n))
        self._sched = torch.optim.lr_scheduler.LambdaLR(
            self._opt, lambda it: 0.5 * (1 + math.cos(math.pi * min(it / steps, 1.0))))
        self._assigned = np.full(n, -1, dtype=np.int64)
        self._labels = [torch.full((n,), -1, dtype=torch.long, device=self.device_) for _ in self.ks_]
        self._last: dict = {}

    def _fit_round(self, r: int) -> tuple[dict, bool]:
        n = self._X.n
        bs = min(int(self.batch_size), n)
        lam = float(self.temperature)
        frozen = [W.clone() for W in self._centers]  # w~: centres at the start of the epoch
        live = [W.clone().requires_grad_(self.center_update == "sgd") for W in self._centers]
        copt = torch.optim.SGD([W for W in live if W.requires_grad], lr=self.center_lr) \
            if self.center_update == "sgd" else None
        sums = [(torch.zeros_like(W), torch.zeros(W.shape[0], device=W.device)) for W in self._centers]
        perm = torch.randperm(n, generator=self._torch_gen)
        batches = [self._local(b) for b in perm.split(bs) if b.numel() >= 2 * self._world]  # the rank's share
        self.net_.train()
        tot, steps = 0.0, 0
        for idx, x in zip(batches, self._X.batches(batches)):
            if self._stop_now():
                break
            z1, z2 = self._train_net(self._views(x)), self._train_net(self._views(x))
            loss = torch.zeros((), device=x.device)
            for h, k in enumerate(self.ks_):
                with torch.no_grad():
                    W = live[h].detach()
                    logp = 0.5 * (torch.log_softmax(z1 @ W.T / lam, 1) + torch.log_softmax(z2 @ W.T / lam, 1))
                    yb = self._assign(h, logp, k)
                if self.target == "hard":
                    for z in (z1, z2):
                        loss = loss + 0.5 * stable_loss(z, live[h], frozen[h], yb, lam)
                else:
                    bi = idx.to(self.device_)
                    prev = torch.where(self._labels[h][bi] >= 0, self._labels[h][bi], yb)
                    self._labels[h][bi] = yb
                    tau = float(self.label_weight)
                    for z, zo in ((z1, z2), (z2, z1)):
                        loss = loss + 0.5 * (stable_loss(z.detach(), live[h], frozen[h], yb, lam)
                                             + soft_target_loss(z, zo.detach(), frozen[h], prev, lam, tau))
                if self.center_update == "closed":
                    with torch.no_grad():  # accumulate Eq. 4 over the epoch
                        zm = nn.functional.normalize(z1.detach() + z2.detach(), dim=1)
                        w = 1 - logp.exp().gather(1, yb[:, None]).squeeze(1)
                        sums[h][0].index_add_(0, yb, w[:, None] * zm)
                        sums[h][1].index_add_(0, yb, w)
                if h == 0:
                    self._assigned[idx.numpy()] = yb.cpu().numpy()
            self._opt.zero_grad()
            if copt is not None:
                copt.zero_grad()
            loss.backward()
            self._opt.step()
            self._sched.step()
            if copt is not None:
                distributed.average_grads([W for W in live if W.requires_grad])
                copt.step()
                with torch.no_grad():
                    for W in live:
                        W.copy_(nn.functional.normalize(W, dim=1))
            tot += float(loss.detach())
            steps += 1
        self._recalibrate_bn()
        if self.center_update == "closed":
            for num, den in sums:  # Eq. 4 sums over the whole epoch: every rank's share
                distributed.all_sum(num, den)
            self._centers = [centers_from_sums(num, den, W) for (num, den), W in zip(sums, self._centers)]
        else:
            self._centers = [W.detach().clone() for W in live]
        if self._world > 1:  # this epoch's assignments of every rank's share (each index is one rank's)
            mine = torch.full((n,), -1, dtype=torch.long, device=self.device_)
            if steps:
                done = torch.cat(batches[:steps])
                mine[done.to(self.device_)] = torch.as_tensor(self._assigned[done.numpy()], device=self.device_)
            distributed.all_max(mine)
            mine = mine.cpu().numpy()
            self._assigned[mine >= 0] = mine[mine >= 0]
        self._last = distributed.mean_scalars({"loss": tot / max(steps, 1)}, self.device_)
        self._last["lr"] = self._sched.get_last_lr()[0]
        return dict(self._last), False

    def _recalibrate_bn(self) -> None:
        """``precise_bn``: exact BN statistics over the (shuffled) training data."""
        if self.precise_bn:
            perm = torch.randperm(self._X.n, generator=self._torch_gen)
            recalibrate_bn(self.net_, self._X.batches(perm.split(256)))

    def _init_centers(self, k: int) -> torch.Tensor:
        """Random unit vectors (``init="random"``, the paper) or k-means centres of the
        initial network's features (``init="kmeans"``: on small data and few epochs the
        random start lets the constraint fit a partition unrelated to the data)."""
        d = int(self.embed_dim)
        if self.init == "random":
            return nn.functional.normalize(torch.randn(k, d, generator=self._torch_gen), dim=1).to(self.device_)
        from sklearn.cluster import KMeans

        F = self._feature_tensor(self._X).cpu().numpy()
        km = KMeans(k, n_init=10, random_state=int(self._rng.integers(2**31 - 1))).fit(F)
        return nn.functional.normalize(torch.as_tensor(km.cluster_centers_, dtype=torch.float32), dim=1).to(self.device_)

    def _assign(self, h: int, logp: torch.Tensor, k: int) -> torch.Tensor:
        """Assign the batch (the rank's share), then update the duals (or the running
        proportions q) from the counts of the whole global batch."""
        if self.constraint == "entropy":
            yb = (logp - float(self.tau) * (torch.log(self._q[h]) + 1)).argmax(1)
            counts = torch.bincount(yb, minlength=k).float()
            distributed.all_sum(counts)
            self._q[h] = (0.9 * self._q[h] + 0.1 * counts / counts.sum()).clamp_min(1e-6)
            return yb
        yb = assign(logp, self._rho[h], self._rho_up[h])
        counts = torch.bincount(yb, minlength=k)
        distributed.all_sum(counts)
        self._rho[h], self._rho_up[h] = dual_step(self._rho[h], yb, k, float(self.gamma), float(self.dual_lr),
                                                  self._rho_up[h], self.gamma_up, counts)
        return yb

    def _feature_tensor(self, X) -> torch.Tensor:
        """Features of a tensor or of the whole training source (in chunks)."""
        return apply_batched(self.net_, X, 2048)

    def _track(self):
        feats = self._feature_tensor(self._X.take(self.track_index_))
        W = self._centers[0]
        labels = (feats @ W.T).argmax(1).cpu().numpy()
        k = int(self.n_clusters)
        assigned = self._assigned[self._assigned >= 0]
        if assigned.size:  # the online assignments of this epoch (what the constraint acts on)
            sizes = np.bincount(assigned, minlength=k)
        else:  # before training: nearest centre
            sizes = np.bincount((self._feature_tensor(self._X) @ W.T).argmax(1).cpu().numpy(), minlength=k)
        floor = float(self.gamma) * self._X.n / k
        extra = {**self._last, "smallest": float(sizes.min()), "floor": floor,
                 "smallest_over_floor": float(sizes.min() / floor) if floor > 0 else float("nan")}
        arrays = {"sizes": sizes.astype(np.int64), "centers": W.cpu().numpy().astype(np.float32),
                  "rho": self._rho[0].cpu().numpy().astype(np.float32)}
        return Track(labels, feats.cpu().numpy(), extra, arrays)

    def _finish(self) -> np.ndarray:
        feats = self._feature_tensor(self._X)
        labels = (feats @ self._centers[0].T).argmax(1).cpu().numpy()
        self.cluster_sizes_ = np.bincount(labels, minlength=int(self.n_clusters))
        self.assigned_ = self._assigned.copy()  # the constrained online assignment of the last epoch
        self.head_centers_ = [W.cpu().numpy() for W in self._centers]  # (K_h, d) unit rows per head
        self.cluster_centers_ = self.head_centers_[0]
        return labels

    # ------------------------------------------------------------------ out of sample
    def _embed(self, X: np.ndarray) -> np.ndarray:
        """L2-normalised head features."""
        return self._feature_tensor(self._scaled(X)).cpu().numpy()

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return (self._embed(X) @ self.cluster_centers_.T).argmax(1)

    # ------------------------------------------------------------------ runs
    def _state(self):
        tensors = net_tensors(self.net_)
        tensors.update({f"centers.{h}": W for h, W in enumerate(self.head_centers_)})
        tensors.update(mean=self.mean_, scale=self.scale_, sizes=self.cluster_sizes_)
        return tensors, {"heads": len(self.head_centers_)}

    def _load_state(self, tensors, meta) -> None:
        self.net_ = load_net_tensors(self._net(), tensors, self.device_)
        old = "centres" if "centres.0" in tensors else "centers"  # runs saved before the rename
        self.head_centers_ = [tensors[f"{old}.{h}"] for h in range(int(meta["heads"]))]
        self.cluster_centers_ = self.head_centers_[0]
        self.mean_, self.scale_ = tensors["mean"], tensors["scale"]
        self.cluster_sizes_ = tensors["sizes"]
