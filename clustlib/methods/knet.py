"""KNet (KernelNet): deep kernel learning for clustering.

Wu, Khan, Ioannidis, Dy, "Deep Kernel Learning for Clustering", SDM 2020
(arXiv:1908.03515); equation numbers are the paper's. A network psi is trained so that
the Gaussian kernel on psi(x) maximises HSIC with a spectral embedding U that is
learned jointly (Eq. 4.8), alternating (Algorithm 1):

1. initialise psi to the identity map by pre-training psi and a decoder psi' (Eq. 5.12),
   U to the spectral embedding U0 of X (Eq. 3.6), sigma fixed from the data;
2. repeat: theta-step -- Adam ascent on Eq. 4.11 with U and D fixed (minus lambda times
   the autoencoder error, Eq. 4.8); update D (Eq. 3.3); U-step by eigendecomposition
   (KNet_EIG, Eq. 5.14) or by Cayley-transform ascent on the Stiefel manifold with a
   step-size search (KNet_SMA, Eq. 5.15-5.17); until the kernel stops changing; then,
   as the authors' code does (``delta_iter``), a few iterations with Gamma built from the
   one-hot partition;
3. k-means on psi(X): Eq. 4.11 pulls each cluster together and pushes clusters apart,
   so the clusters of psi(x) become convex and the kernel block diagonal.

Out of sample: psi embeds new points; ``predict`` gives the nearest k-means centre,
and ``train_size`` trains on a subset and clusters the whole set (Table 4). Measurements
and deviations: docs/knet.md.

>>> from clustlib.methods.knet import KNet
>>> from clustlib.data import load_dataset
>>> ds = load_dataset("moons:n=200")
>>> km = KNet.from_preset("demo", n_clusters=2, random_state=0).fit(ds.X)
>>> km.labels_.shape
(200,)
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import rand_score
from torch import nn

from .. import spectral as sp
from ..about import About, Demo
from ..base import DeepClusterer, Track
from ..nets import apply_batched, mlp, net_tensors, to_tensor
from ..params import Bool, Choice, Int, Real, Rule, Share

MAX_KERNEL_N = 10_000  # N x N kernels: beyond this, train on a subset (train_size)


class KNetModule(nn.Module):
    """psi (encoder) and psi' (decoder), 3 layers each (Sec. 6: hidden width d, or 20
    for 2-D data)."""

    def __init__(self, d: int, hidden: int, d_out: int):
        super().__init__()
        self.encoder = mlp([d, hidden, hidden, d_out])
        self.decoder = mlp([d_out, hidden, hidden, d])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, d')
        return self.encoder(x)


class KNet(DeepClusterer):
    """KernelNet clustering (HSIC deep kernel), scikit-learn style.

    Parameters
    ----------
    n_clusters : int; default 2
        c, the number of clusters.
    u_update : str; default 'eig'
        ``"eig"`` (KNet_EIG, Eq. 5.14) or ``"sma"`` (KNet_SMA, Eq. 5.15-5.17).
    sigma : float or str; default 'knn'
        Gaussian kernel width on the standardised data, fixed after initialisation:
        a number; ``"median"``, the paper's rule (Sec. 6): ``sigma_ratio`` x the median
        pairwise distance -- Table 6's Moon/Spiral widths are 0.1 x it (the authors'
        ``sigma_ratio``), its real data 1 x; or ``"knn"`` (default, label-free, not in the
        paper): ``sigma_ratio`` x the median distance to the k-th nearest neighbour, k =
        ceil(0.01 N) but at least 5, which gives 0.05-0.07 x the median on Moon/Spiral and
        0.46 x on Wine. Either rule is estimated on every sample given to ``fit`` (also with
        ``train_size``).
    sigma_ratio : float; default 1.0
        multiplies the rule's width.
    hidden : int or None; default None
        hidden width of psi and psi'; None = d (real data) or 20 when d <= 2 (Sec. 6).
    embed_dim : int or None; default None
        d', the output width of psi; None = d (Eq. 5.12 needs d' = d).
    ae_weight : float; default 0.0
        lambda of Eq. 4.8 (the paper selects 0).
    degree : str; default 'fixed'
        ``"fixed"`` (Alg. 1: the degree matrix D of the last U-step stays fixed during
        the theta-step, Eq. 4.11) or ``"batch"`` (each mini-batch's kernel normalised by its
        own degrees; not in the paper).
    assign : str; default 'kmeans'
        ``"kmeans"`` (k-means on psi(X), Alg. 1 step 3; new points go to the nearest
        centre) or ``"spectral"`` (k-means on the row-normalised U of the learned kernel,
        what the authors' code reports; new points by the learned kernel's vote).
    eig_solver : str; default 'lanczos'
        ``"lanczos"`` (ARPACK, only the top c eigenvectors, as the paper suggests
        for c << N, warm-started) or ``"full"`` (a complete eigendecomposition).
    lr, batch_size : float, int or None; default 0.001, 5
        Adam step and mini-batch of the theta-step (paper: 1e-3 and 5;
        ``batch_size=None`` = one full batch).
    theta_epochs : int; default 1
        epochs of the theta-step per outer iteration (Alg. 1: one; the authors'
        code: 20).
    theta_steps : int or None; default None
        if set, the theta-step is this many Adam steps on random mini-batches
        instead of ``theta_epochs`` epochs, so a 300-point subset trains as long as 3,000
        points (the ascent needs hundreds of steps per iteration whatever N is).
    u_every : int; default 1
        rounds (theta-steps) per U-step and D update (Alg. 1: 1); more rounds show
        the clusters of psi(x) contracting frame by frame while U stays fixed.
    delta_iter : int; default 0
        the authors' code's second phase, not in the paper (0 = Algorithm 1 only):
        after U settles, up to this many iterations in which Gamma is built from the one-hot
        partition of the training points, with lambda = 0. The authors take the partition
        from k-means on the row-normalised U; here it follows ``assign`` (with "kmeans",
        k-means on psi(X), which measured steadier once psi has made the clusters convex).
        Rounds, counted within ``max_iter``.
    pretrain_steps, pretrain_lr : int, float; default 1000, 0.005
        Adam steps of the identity pre-training (Eq. 5.12) on
        mini-batches of up to 1024 (the paper uses SGD; Adam reaches the identity sooner).
    sma_steps : int; default 5
        Cayley steps per U-step for ``u_update="sma"``.
    max_iter, tol : int, float; default 50, 0.001
        outer iterations; stop when ||K_t - K_t-1||_F / ||K_t-1||_F < tol.
    train_size : float or int or None; default None
        None (all), a fraction in (0, 1] or a count: train psi on a random
        subset, then embed and cluster every sample (the out-of-sample protocol).
    standardize : bool; default True
        centre and scale each feature (Sec. 6).
    kmeans_n_init : int; default 10
        restarts of the final k-means.
    track_max, random_state, device : int, int or None, str; default 2000, None, 'auto'
        see :class:`~clustlib.base.DeepClusterer`.

    Attributes
    ----------
    net_ : torch.nn.Module
        psi, and psi' for the auto-encoder term (Eq. 4.8).
    sigma_ : float
        The kernel width used (on standardised data), from ``sigma``.
    hidden_, embed_dim_ : int
        The widths used (``hidden`` and ``embed_dim`` resolved).
    mean_, scale_ : ndarray of shape (n_features,)
        The standardisation (zeros and ones when ``standardize=False``).
    train_index_ : ndarray
        The samples psi was trained on (all, or the ``train_size`` subset).
    hsic_ : float
        HSIC(K, UU^T) (Eq. 4.7) at the end.
    pretrain_error_ : float
        Mean squared error of the identity pre-training (Eq. 5.12).
    train_embedding_ : ndarray of shape (n_train, embed_dim_)
        psi of the training samples.
    train_labels_ : ndarray of shape (n_train,)
        Their partition (``assign``); new points join it by ``predict``.
    cluster_centers_ : ndarray of shape (n_clusters, embed_dim_)
        With ``assign="kmeans"``: the k-means centres in psi space.
    Plus the common ones of :class:`~clustlib.base.DeepClusterer`.
    """

    ABOUT: ClassVar[About] = About(
        name="knet", title="KNet", year=2020, icon=":material/grid_view:", page_title="KNet (deep kernel)",
        description="KNet / KernelNet (Wu et al., SDM 2020): HSIC deep kernel; the kernel matrix turns "
                    "block-diagonal",
        picture="The learned kernel matrix, rows sorted by cluster, turning block-diagonal while "
                "the embedding becomes convex (Wu et al. 2020, Fig. 1, 4–7).",
        demos={"knet-spirals": Demo("spirals", {"n_clusters": 3, "track_max": 600}),
               "knet-moons": Demo("moons", {"n_clusters": 2, "track_max": 500})},
        progress=("nmi", "acc", "hsic", "n_clusters"))
    PRESETS: ClassVar[dict[str, dict]] = {
        # the paper's settings (Sec. 6): KNet_EIG, Adam 1e-3 on batches of 5, lambda = 0
        # (Sec. 6.1), with the authors' code's schedule: 20 theta-epochs per outer iteration
        # and, after the first, up to 9 iterations with the one-hot partition in Gamma
        "paper": dict(u_update="eig", lr=1e-3, batch_size=5, theta_epochs=20, max_iter=10,
                      delta_iter=9, pretrain_steps=3000, ae_weight=0.0, tol=1e-3),
        # 500 Adam steps (batches of 64, a larger step) per U-step, in rounds of 100 so the
        # picture shows psi contracting; KNet_SMA; seconds on 2 cores
        "demo": dict(u_update="sma", lr=3e-3, batch_size=64, theta_steps=100, u_every=5,
                     max_iter=40, delta_iter=20, pretrain_steps=800, ae_weight=0.0, tol=2e-3),
        # for unit tests and quick looks: a handful of short iterations
        "tiny": dict(u_update="sma", lr=3e-3, batch_size=32, theta_steps=200, max_iter=4,
                     delta_iter=2, pretrain_steps=200, ae_weight=0.0, tol=2e-3),
    }
    PARAM_RULES: ClassVar[dict] = {
        "u_update": Choice("eig", "sma"), "degree": Choice("fixed", "batch"),
        "assign": Choice("kmeans", "spectral"), "eig_solver": Choice("lanczos", "full"),
        "sigma": Rule("real", 0, 1e6, lo_open=True, options=("knn", "median"), none=True),
        "sigma_ratio": Real(0, 1e6, lo_open=True), "hidden": Int(1, 4096, none=True),
        "embed_dim": Int(1, 4096, none=True), "ae_weight": Real(0, 1e6),
        "delta_iter": Int(0, 1_000_000, at_most="max_iter"), "u_every": Int(1, 10_000), "lr": Real(0, 10, lo_open=True),
        "batch_size": Int(2, 10**7, none=True), "theta_epochs": Int(1, 100_000),
        "theta_steps": Int(1, 10**7, none=True), "pretrain_steps": Int(0, 10**7),
        "pretrain_lr": Real(0, 10, lo_open=True), "sma_steps": Int(1, 10_000),
        "max_iter": Int(1, 1_000_000), "tol": Real(0, 1e6, lo_open=True),
        "train_size": Share(10**9, none=True), "standardize": Bool(),
        "kmeans_n_init": Int(1, 1000)}
    round_name: ClassVar[str] = "iteration"
    small_data: ClassVar[str] = "moons:n=60"

    def __init__(self, n_clusters: int = 2, *, u_update: str = "eig", sigma: float | str = "knn",
                 sigma_ratio: float = 1.0, hidden: int | None = None, embed_dim: int | None = None,
                 ae_weight: float = 0.0, degree: str = "fixed", assign: str = "kmeans",
                 delta_iter: int = 0, u_every: int = 1, lr: float = 1e-3, batch_size: int | None = 5,
                 theta_epochs: int = 1, theta_steps: int | None = None, pretrain_steps: int = 1000, pretrain_lr: float = 5e-3,
                 sma_steps: int = 5, eig_solver: str = "lanczos", max_iter: int = 50, tol: float = 1e-3,
                 train_size: float | int | None = None, standardize: bool = True,
                 kmeans_n_init: int = 10, track_max: int = 2000,
                 random_state: int | None = None, device: str = "auto"):
        self.n_clusters = n_clusters
        self.u_update = u_update
        self.sigma = sigma
        self.sigma_ratio = sigma_ratio
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.ae_weight = ae_weight
        self.degree = degree
        self.assign = assign
        self.delta_iter = delta_iter
        self.u_every = u_every
        self.lr = lr
        self.batch_size = batch_size
        self.theta_epochs = theta_epochs
        self.theta_steps = theta_steps
        self.pretrain_steps = pretrain_steps
        self.pretrain_lr = pretrain_lr
        self.sma_steps = sma_steps
        self.eig_solver = eig_solver
        self.max_iter = max_iter
        self.tol = tol
        self.train_size = train_size
        self.standardize = standardize
        self.kmeans_n_init = kmeans_n_init
        self.track_max = track_max
        self.random_state = random_state
        self.device = device

    # ------------------------------------------------------------------ training set
    def _train_count(self, n: int) -> int:
        """Training samples ``train_size`` gives of n (its type and range are PARAM_RULES)."""
        ts = self.train_size
        if ts is None:
            m = n
        elif isinstance(ts, (float, np.floating)):
            m = max(int(round(ts * n)), 2)
        else:
            m = min(int(ts), n)
        if m < int(self.n_clusters):
            raise ValueError(f"train_size gives {m} training samples, fewer than n_clusters={self.n_clusters}.")
        if m > MAX_KERNEL_N:
            raise ValueError(f"KNet forms N x N kernels and N={m} exceeds {MAX_KERNEL_N}; set "
                             f"train_size (e.g. train_size={MAX_KERNEL_N // 2}) to train on a subset "
                             "and cluster every sample (the paper's out-of-sample protocol).")
        return m

    # ------------------------------------------------------------------ hooks
    def _setup(self, X: np.ndarray, y) -> None:
        n = X.shape[0]
        m = self._train_count(n)
        dev = self.device_
        flat = X.reshape(n, -1).astype(np.float64)
        self.mean_ = flat.mean(0) if self.standardize else np.zeros(flat.shape[1])
        scale = flat.std(0) if self.standardize else np.ones(flat.shape[1])
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        Xs = (flat - self.mean_) / self.scale_
        self.train_index_ = (np.arange(n) if m == n else np.sort(self._rng.choice(n, m, replace=False)))
        self._Xall = to_tensor(Xs, dev)
        self._Xt = self._Xall[to_tensor(self.train_index_, dev, torch.long)]
        d = Xs.shape[1]
        self.hidden_ = int(self.hidden or (20 if d <= 2 else d))
        self.embed_dim_ = int(self.embed_dim or d)
        self.net_ = KNetModule(d, self.hidden_, self.embed_dim_).to(dev)
        self._pretrain()
        # sigma from the standardised data, fixed afterwards (Table 6); from every sample given
        # (label-free), so that training on a subset (train_size) uses the width of the whole
        if self.sigma in ("median", None):
            self.sigma_ = sp.median_sigma(self._Xall.double(), self.sigma_ratio, generator=self._torch_gen)
        elif self.sigma == "knn":
            self.sigma_ = self.sigma_ratio * sp.knn_sigma(self._Xall.double(), generator=self._torch_gen)
        else:
            self.sigma_ = float(self.sigma)
        # U0 and D from X itself (Eq. 3.6; the authors' code too), not from the pre-trained
        # psi(X), which only approximates X
        self._K = sp.affinity(self._Xt.double(), self.sigma_)
        self._d = sp.degrees(self._K)
        L = sp.normalized_laplacian(self._K, self._d)
        self._U = sp.top_eigenvectors(L, int(self.n_clusters), self.eig_solver)  # U0, Eq. 3.6
        self._tau = 1.0
        self._delta_left: int | None = None  # rounds left in the delta phase (None: phase 1)
        self._Ug = self._U
        self._opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        self.hsic_ = sp.hsic(L, self._U)
        self._input_contrast = None  # block contrast of the input kernel, for the snapshots
        if self._y is not None:
            w0, b0 = sp.block_means(self._Xall[to_tensor(self.track_index_, dev, torch.long)].double().cpu(),
                                    self.sigma_, self._track_classes())
            self._input_contrast = w0 - b0

    def _pretrain(self) -> None:
        """Eq. 5.12: min ||X - psi(X)||^2 + ||X - psi'(psi(X))||^2, so psi starts as the identity."""
        X = self._Xt
        if self.embed_dim_ != X.shape[1]:
            return  # psi cannot be the identity when d' != d; start from the random init
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.pretrain_lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(int(self.pretrain_steps), 1))
        bs = min(X.shape[0], 1024)
        for _ in range(int(self.pretrain_steps)):
            idx = torch.randint(0, X.shape[0], (bs,), generator=self._torch_gen).to(X.device)
            x = X[idx]
            z = self.net_.encoder(x)
            loss = ((x - z) ** 2).sum(1).mean() + ((x - self.net_.decoder(z)) ** 2).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            z = apply_batched(self.net_.encoder, X)
            self.pretrain_error_ = float(((X - z) ** 2).sum(1).mean())

    def _theta_batches(self, n: int, bs: int):
        """Mini-batch indices of one theta-step: ``theta_epochs`` shuffled epochs, or
        ``theta_steps`` batches drawn from consecutive shuffled epochs."""
        todo = None if self.theta_steps is None else int(self.theta_steps)
        epochs = 0
        while (epochs < int(self.theta_epochs)) if todo is None else todo > 0:
            perm = torch.randperm(n, generator=self._torch_gen).to(self._Xt.device)
            for i in range(0, n - bs + 1, bs):
                if todo is not None:
                    if todo == 0:
                        return
                    todo -= 1
                yield perm[i:i + bs]
            epochs += 1

    def _theta_step(self) -> tuple[float, float]:
        """Adam ascent on Eq. 4.11 (minus lambda x AE error, Eq. 4.8) with U and D fixed: one
        epoch in Algorithm 1, ``theta_epochs`` or ``theta_steps`` here. In the delta phase
        Gamma comes from the one-hot partition and lambda is 0 (the authors' code)."""
        X = self._Xt
        n = X.shape[0]
        delta = self._delta_left is not None
        Ug = self._Ug if delta else self._U
        A = sp.gamma_factor(Ug, self._d).float()  # Gamma = A A^T
        bs = n if self.batch_size is None else min(int(self.batch_size), n)
        total, ae_total, steps = 0.0, 0.0, 0
        for idx in self._theta_batches(n, bs):
            z = self.net_.encoder(X[idx])
            if self.degree == "batch":
                K = sp.gaussian_kernel(z, self.sigma_)
                s = sp.degrees(K).rsqrt()
                Kn = K * s[:, None] * s[None, :]
                Ub = Ug[idx].float()
                HU = Ub - Ub.mean(0, keepdim=True)
                obj = (Kn * (HU @ HU.T)).sum() * (n / bs)
            else:
                obj = sp.kernel_objective(z, A[idx], self.sigma_) * (n / bs) ** 2
            loss = -obj
            if self.ae_weight > 0 and not delta:
                ae = ((X[idx] - self.net_.decoder(z)) ** 2).sum() * (n / bs)
                loss = loss + self.ae_weight * ae
                ae_total += float(ae.detach())
            self._opt.zero_grad()
            loss.backward()
            self._opt.step()
            total += float(obj.detach())
            steps += 1
        return total / max(steps, 1), ae_total / max(steps, 1)

    def _fit_round(self, r: int) -> tuple[dict, bool]:
        objective, ae = self._theta_step()
        delta = self._delta_left is not None
        scalars = {"objective": objective, "delta_phase": float(delta)}
        if self.ae_weight > 0 and not delta:
            scalars["ae_error"] = ae
        if r % int(self.u_every) and r < int(self.max_iter):
            return scalars, False  # U and D stay fixed for u_every rounds
        Z = apply_batched(self.net_, self._Xt).double()
        K = sp.affinity(Z, self.sigma_)
        change = float(torch.linalg.norm(K - self._K) / torch.linalg.norm(self._K))
        self._K, self._d = K, sp.degrees(K)  # update D (Eq. 3.3)
        L = sp.normalized_laplacian(K, self._d)
        U_old = self._U
        if self.u_update == "eig":
            self._U = sp.top_eigenvectors(L, int(self.n_clusters), self.eig_solver, self._U)  # Eq. 5.14
        else:
            self._U, self._tau = sp.stiefel_ascent(L, self._U, int(self.sma_steps), self._tau)
        c = self._U.shape[1]
        u_change = math.sqrt(max(2 * c - 2 * float((U_old.T @ self._U).pow(2).sum()), 0.0) / (2 * c))
        self.hsic_ = sp.hsic(L, self._U)
        scalars.update(kernel_change=change, u_change=u_change)
        if self.u_update == "sma":
            scalars["tau"] = self._tau
        return scalars, self._next_phase(r, change)

    def _next_phase(self, r: int, change: float) -> bool:
        """Convergence, and the authors' code's second phase (``delta_iter``): once U has
        settled (or ``delta_iter`` rounds before ``max_iter``), Gamma is built from the
        one-hot partition of the training points instead of U itself, and the autoencoder
        term is dropped, until that partition stops changing."""
        n_delta = int(self.delta_iter)
        if self._delta_left is None:  # phase 1: Algorithm 1
            if n_delta == 0:
                return change < self.tol
            if change >= self.tol and r < int(self.max_iter) - n_delta:
                return False
            self._delta_left = n_delta
            self._Ug = self._partition_indicator()
            return False
        self._delta_left -= int(self.u_every)
        old = self._Ug.argmax(1).cpu().numpy()
        self._Ug = self._partition_indicator()
        # the authors' exit test: at most 1 % of the pairs changed co-membership
        return self._delta_left <= 0 or rand_score(old, self._Ug.argmax(1).cpu().numpy()) >= 0.99

    def _partition_indicator(self) -> torch.Tensor:
        """One-hot (N, c) of the current partition of the training points by ``assign``:
        k-means on psi(X), or on the row-normalised U (spectral; the authors' code)."""
        labels = self._train_partition(3)[1]
        return torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.long), int(self.n_clusters)).to(
            self._U.device, self._U.dtype)

    def _kmeans(self, Z: np.ndarray, n_init: int) -> KMeans:
        seed = int(self._rng.integers(2**31 - 1))
        return KMeans(int(self.n_clusters), n_init=n_init, random_state=seed).fit(Z)

    def _train_partition(self, n_init: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(psi of the training points, their labels, the k-means centres or None) by the
        chosen ``assign``: k-means on psi(X) (Alg. 1, step 3) or k-means on the
        row-normalised U of the learned kernel (spectral clustering, what the authors'
        code reports)."""
        Z = apply_batched(self.net_, self._Xt).cpu().numpy()
        if self.assign == "kmeans":
            km = self._kmeans(Z, n_init)
            return Z, km.labels_, km.cluster_centers_.astype(np.float32)
        U = self._U / self._U.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return Z, self._kmeans(U.cpu().numpy(), n_init).labels_, None

    def _assign_new(self, Z_new: np.ndarray, centers, train_Z: np.ndarray, train_labels: np.ndarray) -> np.ndarray:
        """Labels of embedded points: nearest k-means centre, or the learned-kernel vote
        over the training points (out of sample for ``assign="spectral"``)."""
        if self.assign == "kmeans":
            return ((Z_new[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
        return sp.kernel_vote(torch.as_tensor(Z_new), torch.as_tensor(train_Z),
                              torch.as_tensor(train_labels), int(self.n_clusters), self.sigma_).numpy()

    def _track_classes(self) -> torch.Tensor:
        return torch.as_tensor(np.unique(self._y, return_inverse=True)[1][self.track_index_])

    def _track(self):
        Z, train_labels, centers = self._train_partition(3)
        X_track = self._Xall[to_tensor(self.track_index_, self.device_, torch.long)]
        emb = self._embed_std(X_track)
        labels = self._assign_new(emb, centers, Z, train_labels)
        scalars = {"hsic": self.hsic_, "sigma": self.sigma_}
        if self._y is not None:  # how block diagonal the kernel is, rows grouped by true label
            within, between = sp.block_means(torch.as_tensor(emb, dtype=torch.float64), self.sigma_,
                                             self._track_classes())
            scalars.update(kernel_within=within, kernel_between=between, block_contrast=within - between,
                           input_contrast=self._input_contrast)
        return Track(labels, emb, scalars, {})

    def _finish(self) -> np.ndarray:
        Z, self.train_labels_, centers = self._train_partition(int(self.kmeans_n_init))
        if centers is not None:
            self.cluster_centers_ = centers
        self.train_embedding_ = Z.astype(np.float32)
        labels = self._predict_std(self._embed_std(self._Xall))
        labels[self.train_index_] = self.train_labels_
        return labels

    # ------------------------------------------------------------------ out of sample
    def _embed_std(self, Xs: torch.Tensor) -> np.ndarray:
        return apply_batched(self.net_, Xs).cpu().numpy()

    def _embed(self, X: np.ndarray) -> np.ndarray:
        flat = (X.reshape(X.shape[0], -1).astype(np.float64) - self.mean_) / self.scale_
        return self._embed_std(to_tensor(flat, self.device_))

    def _predict_std(self, Z: np.ndarray) -> np.ndarray:
        return self._assign_new(Z, getattr(self, "cluster_centers_", None), self.train_embedding_,
                                self.train_labels_)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._predict_std(self._embed(X))

    def kernel_matrix(self, X) -> np.ndarray:
        """The learned (unnormalised) Gaussian kernel exp(-||psi(x_i)-psi(x_j)||^2 / 2 sigma^2)."""
        Z = torch.as_tensor(self.transform(X), dtype=torch.float64)
        return sp.gaussian_kernel(Z, self.sigma_).numpy()

    # ------------------------------------------------------------------ runs
    def _state(self):
        tensors = net_tensors(self.net_)
        tensors.update(mean=self.mean_, scale=self.scale_, train_embedding=self.train_embedding_,
                       train_labels=np.asarray(self.train_labels_, dtype=np.int64))
        if self.assign == "kmeans":
            tensors["centers"] = self.cluster_centers_
        meta = {"sigma": self.sigma_, "hidden": self.hidden_, "embed_dim": self.embed_dim_,
                "d": int(self.mean_.shape[0])}
        return tensors, meta

    def _load_state(self, tensors, meta) -> None:
        self.net_ = KNetModule(int(meta["d"]), int(meta["hidden"]), int(meta["embed_dim"]))
        state = {k[4:]: torch.as_tensor(v) for k, v in tensors.items() if k.startswith("net.")}
        self.net_.load_state_dict(state)
        self.net_.to(self.device_)
        self.mean_, self.scale_ = tensors["mean"], tensors["scale"]
        self.train_embedding_, self.train_labels_ = tensors["train_embedding"], tensors["train_labels"]
        if "centers" in tensors:
            self.cluster_centers_ = tensors["centers"]
        self.sigma_, self.hidden_, self.embed_dim_ = float(meta["sigma"]), meta["hidden"], meta["embed_dim"]
