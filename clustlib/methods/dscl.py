"""DSCL: deep spectral clustering learning.

Law, Urtasun, Zemel, "Deep Spectral Clustering Learning", ICML 2017 (and its
supplementary material; equation numbers are theirs; docs/dscl.md has the measurements). Supervised
metric learning *for clustering*: on the seen categories, an embedding network f is
trained so that the column space of the batch embedding F (n x d) contains the
ground-truth partition, i.e. to maximise (Eq. 7)

    J(F) = tr(F F^+ C),    C = Y (Y^T Y)^-1 Y^T  (the partition's projector),

whose gradient is (Eq. 8; supplementary Sec. C, gamma = 2)

    dJ/dF = 2 (I - F F^+) C (F^+)^T.

We minimise k_batch - J(F) with that closed-form gradient (:class:`SpectralObjective`,
a custom autograd function; the pseudo-inverse cuts singular values below
``rcond x sigma_max`` so it stays finite). Any set of points - typically categories the
network never saw - is then clustered by k-means on f(x) (``assign="kmeans"``, the
paper's protocol, Eq. 4 with the squared Euclidean Bregman divergence) or by k-means on
the row-normalised top-k left singular vectors of F (``assign="spectral"``, the relaxed
solution F F^+ of Eq. 15).

>>> from clustlib.methods.dscl import DSCL
>>> from clustlib.data import load_dataset
>>> ds = load_dataset("digits:n=300")
>>> DSCL.from_preset("tiny", n_clusters=10, random_state=0).fit(ds.X, ds.y).labels_.shape
(300,)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans

from .. import distributed
from ..about import About, Demo
from ..base import DeepClusterer, Track
from ..nets import affine_views, apply_batched, encoder, load_net_tensors, net_tensors, to_tensor
from ..params import Choice, Int, Real


def safe_pinv(F: torch.Tensor, rcond: float = 1e-6) -> torch.Tensor:
    """Moore-Penrose pseudo-inverse through the SVD, singular values below
    ``rcond x sigma_max`` treated as zero (a rank-deficient batch stays finite)."""
    U, s, Vh = torch.linalg.svd(F, full_matrices=False)
    keep = s > rcond * s.max().clamp_min(torch.finfo(F.dtype).tiny)
    s_inv = torch.where(keep, 1.0 / s.clamp_min(torch.finfo(F.dtype).tiny), torch.zeros_like(s))
    return (Vh.mT * s_inv) @ U.mT


def partition_projector(y: torch.Tensor) -> torch.Tensor:
    """C = Y (Y^T Y)^-1 Y^T for integer labels y (n,): C_ij = 1/|class| when i, j share a class."""
    same = (y[:, None] == y[None, :]).to(torch.float64)
    return same / same.sum(1, keepdim=True)


class SpectralObjective(torch.autograd.Function):
    """J(F) = tr(F F^+ C) (Eq. 7) with the backward pass 2 (I - F F^+) C (F^+)^T (Eq. 8).
    Computed in float64; the gradient is returned in F's dtype."""

    @staticmethod
    def forward(ctx, F: torch.Tensor, C: torch.Tensor, rcond: float = 1e-6) -> torch.Tensor:
        F64 = F.detach().to(torch.float64)
        Fp = safe_pinv(F64, rcond)  # (d, n)
        P = F64 @ Fp  # projector onto the column space of F
        ctx.save_for_backward(P, Fp, C)
        ctx.dtype = F.dtype
        return torch.trace(P @ C).to(F.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        P, Fp, C = ctx.saved_tensors
        eye = torch.eye(P.shape[0], dtype=P.dtype, device=P.device)
        grad = 2.0 * (eye - P) @ C @ Fp.mT
        return (grad_out.to(torch.float64) * grad).to(ctx.dtype), None, None


def spectral_objective(F: torch.Tensor, y: torch.Tensor, rcond: float = 1e-6) -> torch.Tensor:
    return SpectralObjective.apply(F, partition_projector(y).to(F.device), rcond)


def batch_hard_triplet(F: torch.Tensor, y: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """The triplet baseline (Hermans, Beyer, Leibe 2017, "In defense of the triplet loss",
    batch hard): on L2-normalised embeddings, for every anchor the farthest positive and
    the nearest negative of the batch, mean of max(0, margin + d(a, p) - d(a, n))."""
    Z = torch.nn.functional.normalize(F, dim=1)
    D = torch.cdist(Z, Z)
    same = y[:, None] == y[None, :]
    pos = torch.where(same, D, torch.zeros_like(D)).max(1).values
    neg = torch.where(same, torch.full_like(D, float("inf")), D).min(1).values
    return torch.relu(margin + pos - neg).mean()


class DSCL(DeepClusterer):
    """Deep spectral clustering learning, scikit-learn style. Needs labels: ``fit(X, y)``
    on the seen categories; ``transform`` / ``predict`` / ``cluster`` on any others.

    Parameters
    ----------
    n_clusters : int; default 10
        clusters for ``labels_`` / ``predict`` (``cluster(X, k)`` takes any k).
    embed_dim : int; default 32
        d, the embedding size (the objective needs d >= classes per batch).
    width : int; default 32
        channels of the encoder's first conv block (doubling per block, up to 256).
    hidden : int; default 256
        units of the encoder's hidden fully connected layer for images (0: none, f is
        a linear map of the conv features) and of the MLP's layers for vectors.
    classes_per_batch, per_class : int, int; default 10, 16
        batches hold ``per_class`` samples of each of
        ``classes_per_batch`` random seen classes (DSCL needs several of several; with
        fewer seen classes, ``per_class`` is raised so a batch has at least 2 d rows). With
        torch.distributed (torchrun) a batch is split over the ranks and the embeddings
        are gathered: Eq. 7 (and the triplet loss) is computed on the whole global batch,
        as in one process; the softmax baseline's cross-entropy per share.
    max_iter, lr, weight_decay : int, float, float; default 25, 0.001, 1e-05
        Adam on the encoder for ``max_iter`` epochs (was ``epochs``; one round is one
        epoch; the authors' toy: Adam 1e-4).
    assign : str; default 'kmeans'
        "kmeans" (k-means on f(x)) or "spectral" (k-means on the normalised left
        singular vectors of F).
    rcond : float; default 1e-06
        pseudo-inverse cut-off.
    loss : str; default 'spectral'
        "spectral" (the paper, Eq. 7), or a baseline trained with the same encoder,
        batches and schedule: "softmax" (cross-entropy through a linear classifier on
        f(x), dropped after fit) or "triplet" (:func:`batch_hard_triplet`). The
        baselines' embeddings are L2-normalised by ``transform`` (their metric is the
        cosine); DSCL's are not (k-means on f(x) is the paper's protocol).
    margin : float; default 0.2
        the triplet loss's margin.
    augment : float; default 0.0
        strength of random affine views of images during training (0 = none).
    track_max, random_state, device : int, int or None, str; default 2000, None, 'auto'
        see :class:`~clustlib.base.DeepClusterer`.

    Attributes
    ----------
    net_ : torch.nn.Module
        The encoder f (conv blocks for images, an MLP for vectors).
    cluster_centers_ : ndarray of shape (n_clusters, embed_dim)
        Mean embedding of each cluster of ``labels_``.
    seen_classes_ : ndarray
        The categories (labels of y) it was trained on; shown and recorded as "seen".
    Plus the common ones of :class:`~clustlib.base.DeepClusterer`.
    """

    ABOUT: ClassVar[About] = About(
        name="dscl", title="DSCL", year=2017, icon=":material/scatter_plot:", page_title="DSCL (unseen categories)",
        description="DSCL (Law et al., ICML 2017): supervised spectral metric learning on seen categories; "
                    "t-SNE of categories never seen",
        picture="Categories the network never saw: 106 Omniglot characters of three alphabets held out "
                "of training, drawn where they land in t-SNE maps of the pixels and of the learned "
                "embedding, with their k-means NMI and Recall@1 (Law et al. 2017, suppl. Fig. 2–4).",
        demos={"dscl-omniglot": Demo("omniglot", {"n_clusters": 136, "track_max": 408}, "default", ("tsne",)),
               "dscl-digits": Demo("digits", {"n_clusters": 5, "track_max": 400}, (5, 6, 7, 8, 9))},
        progress=("nmi", "acc", "loss"))
    sklearn_skips: ClassVar[dict] = {"check_clustering": "it learns from labels",
                                     "check_fit_score_takes_y": "it learns from labels"}
    PRESETS: ClassVar[dict[str, dict]] = {
        "paper": dict(embed_dim=64, classes_per_batch=10, per_class=20, max_iter=60, lr=1e-4),
        # Omniglot's 136 seen characters in about 100 s on 2 CPU threads (docs/dscl.md)
        "demo": dict(embed_dim=64, hidden=0, classes_per_batch=64, per_class=4, augment=1.0, max_iter=20,
                     lr=1e-3),
        "tiny": dict(embed_dim=16, classes_per_batch=5, per_class=8, max_iter=3, lr=1e-3),
    }
    round_name: ClassVar[str] = "epoch"
    RENAMED: ClassVar[dict[str, str]] = {"epochs": "max_iter"}  # old names, still accepted
    streams: ClassVar[bool] = True

    PARAM_RULES: ClassVar[dict] = {
        "embed_dim": Int(1, 4096), "width": Int(1, 256), "hidden": Int(0, 65_536), "classes_per_batch": Int(1, 10_000), "per_class": Int(1, 10_000),
        "max_iter": Int(1, 100_000), "lr": Real(0, 10, lo_open=True), "weight_decay": Real(0, 1),
        "assign": Choice("kmeans", "spectral"), "rcond": Real(0, 1), "augment": Real(0, 100),
        "loss": Choice("spectral", "softmax", "triplet"), "margin": Real(0, 10)}

    def __init__(self, n_clusters: int = 10, *, embed_dim: int = 32, width: int = 32, hidden: int = 256,
                 classes_per_batch: int = 10,
                 per_class: int = 16, max_iter: int = 25, lr: float = 1e-3, weight_decay: float = 1e-5,
                 assign: str = "kmeans", rcond: float = 1e-6, augment: float = 0.0, loss: str = "spectral",
                 margin: float = 0.2, track_max: int = 2000,
                 random_state: int | None = None, device: str = "auto", **renamed):
        self.n_clusters = n_clusters
        self.embed_dim = embed_dim
        self.width = width
        self.hidden = hidden
        self.classes_per_batch = classes_per_batch
        self.per_class = per_class
        self.max_iter = max_iter
        self.lr = lr
        self.weight_decay = weight_decay
        self.assign = assign
        self.rcond = rcond
        self.augment = augment
        self.loss = loss
        self.margin = margin
        self.track_max = track_max
        self.random_state = random_state
        self.device = device
        self._take_renamed(renamed)

    # ------------------------------------------------------------------ clustering
    def cluster(self, X, n_clusters: int | None = None, random_state: int = 0) -> np.ndarray:
        """Cluster any set (e.g. unseen categories) into ``n_clusters`` groups."""
        return self._assign(self.transform(X), int(n_clusters or self.n_clusters), random_state)

    def _assign(self, F: np.ndarray, k: int, seed: int = 0, n_init: int = 10) -> np.ndarray:
        if F.shape[0] < k:
            raise ValueError(f"cannot make {k} clusters of {F.shape[0]} samples; pass at least {k}.")
        if self.assign == "spectral":
            F = F - F.mean(0)
            U = np.linalg.svd(F, full_matrices=False)[0][:, :k]  # column space of F (Eq. 15)
            F = U / np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-12)
        return KMeans(k, n_init=n_init, random_state=seed).fit_predict(F)

    # ------------------------------------------------------------------ hooks
    def _setup(self, X: np.ndarray, y) -> None:
        if y is None:
            raise ValueError("DSCL learns from labelled (seen) categories: call fit(X, y); "
                             "it then clusters any other categories with cluster(X, k).")
        self.seen_classes_, yi = np.unique(y, return_inverse=True)
        if self.seen_classes_.size < 2:
            raise ValueError("DSCL needs at least 2 seen classes in y.")
        self._yi = yi
        self._X = self._source(X)
        self.net_ = encoder(self.input_shape_, int(self.embed_dim), int(self.width), int(self.hidden)).to(self.device_)
        params = list(self.net_.parameters())
        self._head = None
        if self.loss == "softmax":
            self._head = torch.nn.Linear(int(self.embed_dim), self.seen_classes_.size).to(self.device_)
            params += list(self._head.parameters())
        self._opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        self._members = [np.flatnonzero(yi == c) for c in range(self.seen_classes_.size)]
        self._views = affine_views(self.input_shape_, float(self.augment))
        self._loss = float("nan")

    def _batches(self):
        """One epoch of class-balanced batches: classes drawn at random, ``per_class``
        samples each (with replacement for small classes), about N / batch batches. With
        few classes, ``per_class`` is raised so that a batch holds at least 2 d samples:
        with n <= d rows, F F^+ = I and Eq. 7 is met by any F of full rank."""
        rng, n_cls = self._rng, len(self._members)
        m = min(int(self.classes_per_batch), n_cls)
        per = max(int(self.per_class), -(-2 * int(self.embed_dim) // m))
        for _ in range(max(1, self._yi.size // (m * per))):
            cls = rng.choice(n_cls, m, replace=False)
            yield np.concatenate([rng.choice(self._members[c], per, replace=self._members[c].size < per)
                                  for c in cls])

    def _fit_round(self, r: int) -> tuple[dict, bool]:
        self.net_.train()
        total, steps = 0.0, 0
        batches = [torch.as_tensor(self._local(idx)) for idx in self._batches()]  # the rank's share
        for idx, x in zip(batches, self._X.batches(batches)):
            if self._stop_now():
                break
            F = self._train_net(x if self._views is None else self._views(x))
            yb = torch.as_tensor(self._yi[idx.numpy()], device=self.device_)
            if self.loss != "softmax":  # Eq. 7 and batch-hard triplets couple the batch: all of it
                F, yb = distributed.gather_batch(F), distributed.gather_batch(yb)
            loss, scale = self._batch_loss(F, yb)
            self._opt.zero_grad()
            (loss * (self._world if self.loss != "softmax" else 1)).backward()  # DDP averages
            if self._head is not None:
                distributed.average_grads(self._head.parameters())
            self._opt.step()
            total += float(loss.detach()) / scale
            steps += 1
        self._loss = total / max(steps, 1)
        if self.loss == "softmax":  # each rank's cross-entropy of its share
            self._loss = distributed.mean_scalars({"loss": self._loss}, self.device_)["loss"]
        return {"loss": self._loss}, False

    def _batch_loss(self, F: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The batch loss and the scale that makes it comparable across batches."""
        if self.loss == "softmax":
            return torch.nn.functional.cross_entropy(self._head(F), yb), 1.0
        if self.loss == "triplet":
            return batch_hard_triplet(F, yb, float(self.margin)), 1.0
        k_b = int(torch.unique(yb).numel())
        return k_b - spectral_objective(F, yb, self.rcond), float(k_b)  # 0 when span(F) holds the partition

    def _track(self):
        emb = self._features(self._X.take(self.track_index_))
        labels = self._assign(emb, min(int(self.n_clusters), emb.shape[0]), n_init=2)  # per epoch: cheaper
        return Track(labels, emb, {"loss": self._loss}, {})

    def _finish(self) -> np.ndarray:
        feats = self._features(self._X)
        labels = self._assign(feats, int(self.n_clusters))
        self.cluster_centers_ = np.stack([feats[labels == c].mean(0) for c in range(int(labels.max()) + 1)])
        return labels

    # ------------------------------------------------------------------ out of sample
    def _features(self, X) -> np.ndarray:
        """f(X) of a tensor or of the whole training source (in chunks)."""
        F = apply_batched(self.net_, X, 1024)
        if self.loss != "spectral":
            F = torch.nn.functional.normalize(F, dim=1)
        return F.cpu().numpy()

    def _embed(self, X: np.ndarray) -> np.ndarray:
        return self._features(to_tensor(X, self.device_))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        """Nearest centre of the clusters found at fit time (``cluster`` re-clusters a new set)."""
        F = self._embed(X)
        return ((F[:, None, :] - self.cluster_centers_[None]) ** 2).sum(2).argmin(1)

    # ------------------------------------------------------------------ runs
    def _state(self):
        tensors = net_tensors(self.net_)
        tensors["centroids"] = self.cluster_centers_.astype(np.float32)
        return tensors, {"seen_classes": [int(c) for c in self.seen_classes_]}

    def _load_state(self, tensors, meta) -> None:
        self.net_ = load_net_tensors(encoder(self.input_shape_, int(self.embed_dim), int(self.width), int(self.hidden)), tensors, self.device_)
        self.cluster_centers_ = tensors["centroids"]
        self.seen_classes_ = np.asarray(meta.get("seen_classes", []))
