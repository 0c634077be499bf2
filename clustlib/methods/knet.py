"""KNet (KernelNet): deep kernel learning for clustering.

Wu, Khan, Ioannidis, Dy, SDM 2020 (``papers/knet-wu2020.md``). A network psi is
trained so that the Gaussian kernel on psi(x) maximises HSIC with a spectral
embedding U that is learned jointly (Eq. 4.8), alternating (Algorithm 1):

1. initialise psi to the identity map by pre-training psi and a decoder psi' (Eq. 5.12),
   U to the spectral embedding U0 of X (Eq. 3.6), sigma from the median distance;
2. repeat: theta-step -- one epoch of Adam maximising Eq. 4.11 with U and D fixed
   (minus lambda times the autoencoder error, Eq. 4.8); update D (Eq. 3.3);
   U-step by eigendecomposition (KNet_EIG, Eq. 5.14) or by Cayley-transform ascent
   on the Stiefel manifold with a step-size search (KNet_SMA, Eq. 5.15-5.17);
   until the kernel stops changing;
3. k-means on psi(X).

Out of sample: psi embeds new points; ``predict`` gives the nearest k-means centre,
and ``train_size`` trains on a subset and clusters the whole set (Table 4).

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
from torch import nn

from .. import spectral as sp
from ..base import DeepClusterer
from ..nets import apply_batched, mlp, net_tensors, to_tensor

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
    n_clusters : c, the number of clusters.
    u_update : ``"eig"`` (KNet_EIG, Eq. 5.14) or ``"sma"`` (KNet_SMA, Eq. 5.15-5.17).
    sigma : Gaussian kernel width; None = ``sigma_ratio`` x median pairwise distance of
        the standardised data (Table 1), fixed after initialisation.
    sigma_ratio : 1.0 in the paper's real data, 0.1 for Moon and Spiral.
    hidden : hidden width of psi and psi'; None = d (real data) or 20 when d <= 2 (Sec. 6).
    embed_dim : d', the output width of psi; None = d (Eq. 5.12 needs d' = d).
    ae_weight : lambda of Eq. 4.8 (the paper selects 0).
    lr, batch_size : Adam step and mini-batch of the theta-step (paper: 1e-3 and 5;
        ``batch_size=None`` = one full batch).
    theta_epochs : epochs of the theta-step per outer iteration (Alg. 1: one).
    pretrain_steps, pretrain_lr : Adam steps of the identity pre-training (Eq. 5.12) on
        mini-batches of up to 1024 (the paper uses SGD; Adam reaches the identity sooner).
    sma_steps : Cayley steps per U-step for ``u_update="sma"``.
    max_iter, tol : outer iterations; stop when ||K_t - K_t-1||_F / ||K_t-1||_F < tol.
    train_size : None (all), a fraction in (0, 1] or a count: train psi on a random
        subset, then embed and cluster every sample (the out-of-sample protocol).
    standardize : centre and scale each feature (Sec. 6).
    kmeans_n_init : restarts of the final k-means.
    track_max, random_state, device : see :class:`~clustlib.base.DeepClusterer`.
    """

    PRESETS: ClassVar[dict[str, dict]] = {
        # the paper's settings (Sec. 6, Appendix F): Adam 1e-3, batch 5, KNet_EIG. lambda:
        # the paper picks 0 (Sec. 6.1), the authors' code weights the autoencoder term for
        # Moon/Spiral; with D held fixed and lambda = 0, psi contracts until clusters merge
        # (measured: Moon NMI 0.51), so the presets keep lambda = 1; set ae_weight=0 for 0.
        "paper": dict(u_update="eig", lr=1e-3, batch_size=5, theta_epochs=1, max_iter=50,
                      pretrain_steps=3000, ae_weight=1.0, tol=1e-3),
        # the same algorithm with larger batches and KNet_SMA: seconds on 2 CPU cores
        "demo": dict(u_update="sma", lr=1e-3, batch_size=128, theta_epochs=1, max_iter=20,
                     pretrain_steps=800, ae_weight=1.0, tol=2e-3),
        # for unit tests and quick looks: a handful of iterations
        "tiny": dict(u_update="sma", lr=2e-3, batch_size=128, theta_epochs=1, max_iter=4,
                     pretrain_steps=200, ae_weight=1.0, tol=2e-3),
    }
    round_name: ClassVar[str] = "iteration"

    def __init__(self, n_clusters: int = 2, *, u_update: str = "eig", sigma: float | None = None,
                 sigma_ratio: float = 1.0, hidden: int | None = None, embed_dim: int | None = None,
                 ae_weight: float = 0.0, degree: str = "fixed", assign: str = "spectral", lr: float = 1e-3, batch_size: int | None = 5,
                 theta_epochs: int = 1, pretrain_steps: int = 1000, pretrain_lr: float = 5e-3,
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
        self.lr = lr
        self.batch_size = batch_size
        self.theta_epochs = theta_epochs
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

    # ------------------------------------------------------------------ validation
    def _check_params(self, n: int) -> int:
        if self.eig_solver not in ("lanczos", "full"):
            raise ValueError(f"eig_solver={self.eig_solver!r}; expected 'lanczos' or 'full'.")
        if self.degree not in ("fixed", "batch"):
            raise ValueError(f"degree={self.degree!r}; expected 'fixed' (Alg. 1) or 'batch'.")
        if self.assign not in ("spectral", "kmeans"):
            raise ValueError(f"assign={self.assign!r}; expected 'spectral' or 'kmeans'.")
        if self.u_update not in ("eig", "sma"):
            raise ValueError(f"u_update={self.u_update!r}; expected 'eig' (KNet_EIG) or 'sma' (KNet_SMA).")
        for name in ("sigma_ratio", "lr", "pretrain_lr", "tol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise ValueError(f"{name}={v!r} must be a positive number.")
        if self.sigma is not None and not self.sigma > 0:
            raise ValueError(f"sigma={self.sigma!r} must be positive, or None for the median heuristic.")
        if self.ae_weight < 0:
            raise ValueError(f"ae_weight={self.ae_weight} must be >= 0.")
        if self.batch_size is not None and int(self.batch_size) < 2:
            raise ValueError(f"batch_size={self.batch_size} must be >= 2 (pairs), or None for full batch.")
        for name in ("theta_epochs", "max_iter", "sma_steps", "kmeans_n_init"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1.")
        ts = self.train_size
        if ts is None:
            m = n
        elif isinstance(ts, float) and 0 < ts <= 1:
            m = max(int(round(ts * n)), 2)
        elif isinstance(ts, (int, np.integer)) and ts >= 2:
            m = min(int(ts), n)
        else:
            raise ValueError(f"train_size={ts!r}; use None, a fraction in (0, 1] or a count >= 2.")
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
        m = self._check_params(n)
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
        # sigma from the standardised data, fixed afterwards (Table 1)
        self.sigma_ = float(self.sigma) if self.sigma is not None else sp.median_sigma(
            self._Xt.double(), self.sigma_ratio, generator=self._torch_gen)
        # U0 and D from X itself (Eq. 3.6; the authors' code too), not from the pre-trained
        # psi(X), which only approximates X
        self._K = sp.affinity(self._Xt.double(), self.sigma_)
        self._d = sp.degrees(self._K)
        L = sp.normalized_laplacian(self._K, self._d)
        self._U = sp.top_eigenvectors(L, int(self.n_clusters), self.eig_solver)  # U0, Eq. 3.6
        self._tau = 1.0
        self._opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        self.hsic_ = sp.hsic(L, self._U)

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

    def _theta_step(self) -> tuple[float, float]:
        """One epoch of Adam ascent on Eq. 4.11 (minus lambda x AE error, Eq. 4.8) with U, D fixed."""
        X = self._Xt
        n = X.shape[0]
        A = sp.gamma_factor(self._U, self._d).float()  # Gamma = A A^T
        bs = n if self.batch_size is None else min(int(self.batch_size), n)
        total, ae_total, steps = 0.0, 0.0, 0
        for _ in range(int(self.theta_epochs)):
            perm = torch.randperm(n, generator=self._torch_gen).to(X.device)
            for i in range(0, n - bs + 1, bs):
                idx = perm[i:i + bs]
                z = self.net_.encoder(X[idx])
                if self.degree == "batch":
                    K = sp.gaussian_kernel(z, self.sigma_)
                    s = sp.degrees(K).rsqrt()
                    Kn = K * s[:, None] * s[None, :]
                    Ub = self._U[idx].float()
                    HU = Ub - Ub.mean(0, keepdim=True)
                    obj = (Kn * (HU @ HU.T)).sum() * (n / bs)
                else:
                    obj = sp.kernel_objective(z, A[idx], self.sigma_) * (n / bs) ** 2
                loss = -obj
                if self.ae_weight > 0:
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
        scalars = {"hsic": self.hsic_, "objective": objective, "kernel_change": change,
                   "u_change": u_change}
        if self.ae_weight > 0:
            scalars["ae_error"] = ae
        if self.u_update == "sma":
            scalars["tau"] = self._tau
        return scalars, change < self.tol

    def _kmeans(self, Z: np.ndarray, n_init: int) -> KMeans:
        seed = int(self._rng.integers(2**31 - 1))
        return KMeans(int(self.n_clusters), n_init=n_init, random_state=seed).fit(Z)

    def _train_labels(self, n_init: int) -> tuple[np.ndarray, np.ndarray]:
        """(psi of the training points, their labels) by the chosen ``assign``:
        k-means on psi(X) (Alg. 1, step 3) or k-means on the row-normalised U of the
        learned kernel (spectral clustering, what the authors' code reports)."""
        Z = apply_batched(self.net_, self._Xt).cpu().numpy()
        if self.assign == "kmeans":
            km = self._kmeans(Z, n_init)
            self.cluster_centers_ = km.cluster_centers_.astype(np.float32)
            return Z, km.labels_
        U = self._U / self._U.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return Z, self._kmeans(U.cpu().numpy(), n_init).labels_

    def _assign_new(self, Z_new: np.ndarray) -> np.ndarray:
        """Labels of embedded points: nearest k-means centre, or the learned-kernel vote
        over the training points (out of sample for ``assign="spectral"``)."""
        if self.assign == "kmeans":
            return ((Z_new[:, None, :] - self.cluster_centers_[None]) ** 2).sum(-1).argmin(1)
        return sp.kernel_vote(torch.as_tensor(Z_new), torch.as_tensor(self.train_embedding_),
                              torch.as_tensor(self.train_labels_), int(self.n_clusters),
                              self.sigma_).numpy()

    def _track(self):
        Z, self.train_labels_ = self._train_labels(3)
        self.train_embedding_ = Z
        emb = self._embed_std(self._Xall[to_tensor(self.track_index_, self.device_, torch.long)])
        labels = self._assign_new(emb)
        return labels, emb, {"hsic": self.hsic_, "sigma": self.sigma_}, {}

    def _finish(self) -> np.ndarray:
        Z, self.train_labels_ = self._train_labels(int(self.kmeans_n_init))
        self.train_embedding_ = Z.astype(np.float32)
        labels = self._assign_new(self._embed_std(self._Xall))
        labels[self.train_index_] = self.train_labels_
        for name in ("_Xall", "_Xt", "_K", "_d", "_U", "_opt"):
            self.__dict__.pop(name, None)
        return labels

    # ------------------------------------------------------------------ out of sample
    def _embed_std(self, Xs: torch.Tensor) -> np.ndarray:
        return apply_batched(self.net_, Xs).cpu().numpy()

    def _embed(self, X: np.ndarray) -> np.ndarray:
        flat = (X.reshape(X.shape[0], -1).astype(np.float64) - self.mean_) / self.scale_
        return self._embed_std(to_tensor(flat, self.device_))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._assign_new(self._embed(X))

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
