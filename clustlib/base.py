"""The estimator base every method stands on: validation, the one round loop,
Snapshots of tracked points, callbacks, devices and seeds.

A method subclasses :class:`DeepClusterer`, describes itself once in ``ABOUT`` (an
:class:`About`: its name, paper, page, picture and demo runs -- the registry, the app's
navigation and home page, the demo-asset script and the Run format read it), declares
its parameter rules in ``PARAM_RULES`` (``clustlib.params``), and overrides the hooks
``_setup`` (build nets, initialise), ``_fit_round`` (one epoch / period / outer
iteration), ``_track`` (a :class:`Track`: what a Snapshot shows), ``_finish`` (final
labels), ``_embed`` (the learned representation) and ``_state`` / ``_load_state``
(what a saved Run keeps). The loop lives here only.

Names: fitted attributes end with ``_`` (scikit-learn's rule; ``cluster_centers_`` where a
method has centres); fit-time state starts with ``_`` and is dropped by the base once the
final labels are computed, so a fitted estimator holds only what predicting needs.

>>> import numpy as np
>>> from clustlib.base import Snapshot
>>> s = Snapshot(0, "init", np.zeros(3, int), None, {"nmi": 1.0}, {})
>>> s.stage
'init'
"""

from __future__ import annotations

import inspect
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import NotFittedError

from . import deprecation, distributed, stream
from .about import About
from .dataset import stratified_subset
from .metrics import evaluate
from .params import check_params


@dataclass(frozen=True)
class Snapshot:
    """What one round looked like, for the tracked points (bounded in size)."""

    round: int
    stage: str  # e.g. "init", "iteration 3", "epoch 12"
    labels: np.ndarray  # (m,) cluster ids of the tracked points
    embedding: np.ndarray | None  # (m, d') float32 representation of the tracked points
    scalars: dict[str, float] = field(default_factory=dict)  # losses, nmi/acc/ari, ...
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # method pictures


class Callback(Protocol):
    """What ``fit(callbacks=[...])`` calls after every round (any such callable is one)::

        def cb(estimator, snapshot) -> bool | None: ...   # True: stop cleanly after this round

    The estimator keeps what it learned when a callback stops it (``stopped_early_``)."""

    def __call__(self, estimator: DeepClusterer, snapshot: Snapshot, /) -> bool | None: ...


@runtime_checkable
class StartListener(Protocol):
    """A callback that also has ``on_start`` hears, once the method is set up and before
    the first Snapshot, how many rounds it plans to run (the app's progress bar)."""

    def on_start(self, estimator: DeepClusterer, planned_rounds: int, /) -> None: ...


class Track(NamedTuple):
    """What a method shows of the tracked points after a round (``_track``); reading it
    must not change the estimator."""

    labels: np.ndarray  # (m,) cluster ids
    embedding: np.ndarray | None  # (m, d') representation, or None
    scalars: dict  # method scalars of this round (losses, sizes, ...)
    arrays: dict  # method pictures (kernel, sizes, centres, ...)


def stop_text(est) -> str:
    """What a stopped fit kept, in words: ``stopped after 3 epochs`` or, with several
    starts, where the stop came and which start was kept."""
    where = getattr(est, "stopped_in_", None)
    if where:
        return f"stopped in {where}"
    return f"stopped after {est.n_iter_} {getattr(est, 'round_name', 'round')}s"


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but CUDA is not available here; use device='auto'.")
    return dev


@contextmanager
def cpu_determinism(device: torch.device):
    """On the CPU, torch's deterministic algorithms for the duration (restored after):
    with several threads the default backward of indexing with repeated indices
    (``f[idx]``) accumulates in a thread-dependent order, so a seeded JULE fit on 2 threads
    ended at digits RC 0.909-0.937 over three identical runs. GPUs are left alone (their
    deterministic mode needs settings the user chooses)."""
    if device.type != "cpu":
        yield
        return
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    # a user's strict mode (errors, not warnings) stays strict
    torch.use_deterministic_algorithms(True, warn_only=before[1] if before[0] else True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


@contextmanager
def held_interrupts():
    """Hold Ctrl-C (SIGINT) and SIGTERM (what a scheduler or torchrun sends) until the block
    ends -- for the last steps of a fit and the save of a run, which an interrupt would
    otherwise throw away. Main thread only (the app trains in other threads, where signals
    never arrive); the held interrupt is dropped with a warning, since what it would have
    stopped is already done."""
    hits = []
    with distributed.on_signals(lambda *a: hits.append(1)):
        yield
    if hits:
        warnings.warn("Ctrl-C arrived while finishing or saving; finished first.", stacklevel=3)


def check_array(X, *, name: str = "X", min_samples: int = 2) -> np.ndarray:
    """X as float32 (N, d) / (N, H, W) / (N, C, H, W); one clear error for anything else."""
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array; got {type(X).__name__}.") from None
    if X.ndim not in (2, 3, 4):
        raise ValueError(f"{name} has shape {X.shape}; expected (n_samples, n_features), "
                         "(n_samples, H, W) or (n_samples, C, H, W).")
    if X.shape[0] < min_samples:
        raise ValueError(f"{name} has n_samples={X.shape[0]}; need at least {min_samples}.")
    if X[0].size == 0:  # scikit-learn's wording
        raise ValueError(f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X.reshape(X.shape[0], -1))).any(1).sum())
        raise ValueError(f"{name} contains NaN or infinity in {bad} samples; impute or drop them first.")
    return X


def start_seed(seed: int, i: int) -> int:
    """The seed of start i of ``n_init``: the estimator's own for the first, a derived one after."""
    return seed if i == 0 else int(np.random.SeedSequence([seed, i]).generate_state(1)[0])


def separation(snap: Snapshot) -> float:
    """How well a Snapshot's embedding separates its own clusters: the cosine silhouette of
    its labels (no ground truth). On digits it ranked DAC's and SeCu's seeds as their NMI
    did (docs/dac.md, docs/secu.md); -1 when there is no embedding or one cluster."""
    from sklearn.metrics import silhouette_score

    if snap.embedding is None or np.unique(snap.labels).size < 2:
        return -1.0
    return float(silhouette_score(snap.embedding, snap.labels, metric="cosine"))


class DeepClusterer(ClusterMixin, BaseEstimator):
    """Base of every clustlib method (scikit-learn estimator + ClusterMixin).

    Subclasses define ``__init__`` with explicit keyword arguments (stored unchanged),
    ``PRESETS`` and the hooks below; each method's docstring lists its parameters with
    their types and defaults (numpydoc).

    Parameters
    ----------
    (every method has these)

    n_clusters : int
        The number of clusters of ``labels_`` and ``predict``.
    track_max : int; default 2000
        How many points the Snapshots follow (a stratified sample when y is given).
    random_state : int or None; default None
        The seed of every random choice. With the same thread count (``clustlib.cpu``,
        recorded in a Run) the same seed gives the same run, however busy the machine.
    device : str; default 'auto'
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when present).

    Attributes
    ----------
    (every method has these after ``fit``; each method's docstring lists its own)

    labels_ : ndarray of shape (n_samples,)
        The cluster of each training sample.
    trace_ : list of Snapshot
        One per round: labels, embedding and scalars of the tracked samples.
    track_index_ : ndarray
        The samples the Snapshots follow (at most ``track_max``, stratified by y).
    track_y_ : ndarray or None
        Their labels (y), used only to score.
    n_iter_ : int
        Rounds trained (epochs, periods or iterations: ``round_name``).
    stopped_early_ : bool
        True when a callback or Ctrl-C stopped training before its plan.
    fit_seconds_ : float
        Wall time of ``fit``.
    device_ : str
        The torch device used.
    input_shape_ : tuple
        The shape of one sample; ``n_features_in_`` its size.
    n_features_in_ : int
        Features of one sample (scikit-learn's name).
    start_scores_, best_start_ : list of float, int
        With ``n_init > 1``: each start's label-free separation and the one kept.
    stopped_in_ : str
        With ``n_init > 1``, when a callback or Ctrl-C stopped training: where it stopped
        and which start was kept (an interrupted start is never kept over a whole one).
    """

    ABOUT: ClassVar[About]
    PRESETS: ClassVar[dict[str, dict]] = {}
    PARAM_RULES: ClassVar[dict] = {}
    round_name: ClassVar[str] = "round"
    RENAMED: ClassVar[dict[str, str]] = {}  # an old parameter name -> its name now (still accepted, warns)
    streams: ClassVar[bool] = False  # trains by mini-batch: data on disk, torch.distributed
    small_data: ClassVar[str] = "digits:n=60"  # a dataset spec its tiny preset fits in seconds (tests)
    sklearn_skips: ClassVar[dict] = {}  # scikit-learn estimator check -> why it does not apply

    def __init_subclass__(cls, **kwargs):
        """A method whose ``__init__`` takes ``**renamed`` (the old names of ``RENAMED``)
        shows scikit-learn -- and ``inspect.signature`` -- only its real parameters."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            sig = inspect.signature(init)
            real = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
            if len(real) < len(sig.parameters):
                init.__signature__ = sig.replace(parameters=real)

    # ------------------------------------------------------------------ public API
    @classmethod
    def renamed(cls, params, warn: bool = True) -> dict:
        """``params`` with the old names of renamed parameters (``RENAMED``, e.g. SeCu's
        ``epochs`` now ``max_iter``) under their names now; warns (DeprecationWarning)
        unless ``warn`` is False (a saved run's run.json)."""
        old = [k for k in params if k in cls.RENAMED]
        if old and warn:
            deprecation.warn(f"{cls.__name__}(" + ", ".join(f"{k}=" for k in old) + ")",
                             f"{cls.__name__}(" + ", ".join(f"{cls.RENAMED[k]}=" for k in old) + ")", stacklevel=4)
        return {cls.RENAMED.get(k, k): v for k, v in params.items()}

    @property
    def n_rounds_(self) -> int:
        """The old name of ``n_iter_`` (CHANGELOG.md)."""
        deprecation.warn("n_rounds_", "n_iter_")
        return self.n_iter_

    def _take_renamed(self, given: dict) -> None:
        """``__init__``'s old parameter names (its ``**renamed``), set under their new ones."""
        unknown = sorted(set(given) - set(self.RENAMED))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}")
        for name, value in self.renamed(given).items():
            setattr(self, name, value)

    def set_params(self, **params):
        """scikit-learn's ``set_params``; old parameter names are accepted (and warn)."""
        return super().set_params(**self.renamed(params))

    @classmethod
    def from_preset(cls, preset: str = "demo", **overrides) -> DeepClusterer:
        """An estimator with a preset's hyperparameters, overridden by keyword arguments."""
        if preset not in cls.PRESETS:
            raise ValueError(f"{cls.__name__} has no preset {preset!r}; presets: {', '.join(cls.PRESETS)}.")
        params = {**cls.PRESETS[preset], **cls.renamed(overrides)}
        unknown = set(params) - set(cls._get_param_names())
        if unknown:
            raise ValueError(f"{cls.__name__} has no parameter(s) {', '.join(sorted(unknown))}; "
                             f"parameters: {', '.join(cls._get_param_names())}.")
        return cls(**params)

    def fit(self, X, y=None, callbacks: list[Callback] | None = None):
        """Train on X (labels y are only used to score Snapshots). Returns self.

        X is an array, or -- for the methods that train by mini-batch (``streams``) -- images
        that stay on disk: a ``stream.LazyImages`` (``folder:PATH,lazy=1``) or any map-style
        torch ``Dataset`` of images (its ``targets`` score Snapshots when y is None). Inside
        a ``torch.distributed`` group (torchrun) these methods train data-parallel
        (``clustlib.distributed``); every rank ends with the same model.

        A callback ``cb(estimator, snapshot)`` (:class:`Callback`) runs after every round;
        returning True stops training cleanly, as does Ctrl-C: the estimator keeps what it
        learned. A callback with an ``on_start(estimator, planned_rounds)`` method
        (:class:`StartListener`) hears, once the method is set up and before the first
        Snapshot, how many rounds it plans to run.
        """
        lazy = stream.is_lazy(X)
        self._rank, self._world = distributed.world()
        if (lazy or self._world > 1) and not self.streams:
            raise ValueError(f"{type(self).__name__} trains on the whole set at once: give it an array in one "
                             "process (no lazy=1, no torchrun); DAC, DSCL and SeCu read from disk and train "
                             "data-parallel.")
        if lazy:
            X = stream.as_lazy(X)
            if y is None:
                y = getattr(X, "targets", None)
            if len(X) < 2:
                raise ValueError(f"X has n_samples={len(X)}; need at least 2.")
        else:
            X = check_array(X, min_samples=2)
        check_params(self)  # every parameter's type, range and relation, before any work
        k = int(self.n_clusters)
        if not 2 <= k <= X.shape[0]:
            raise ValueError(f"n_clusters={k} must be between 2 and n_samples={X.shape[0]}.")
        need = self._min_samples()
        if X.shape[0] < need:
            raise ValueError(f"n_samples={X.shape[0]} is too few for {type(self).__name__} with these "
                             f"parameters (n_clusters={k}); it needs at least {need}.")
        if y is not None:
            y = np.asarray(y).ravel()
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"y has {y.shape[0]} labels but X has {X.shape[0]} samples.")
        self.device_ = resolve_device(self.device)
        seed = self.random_state if self.random_state is not None else int(np.random.SeedSequence().entropy % 2**31)
        self._rng = np.random.default_rng(seed)
        self._torch_gen = torch.Generator().manual_seed(int(seed))
        torch.manual_seed(int(seed))
        self.input_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))

        self.track_index_ = stratified_subset(y, X.shape[0], int(self.track_max), int(seed))
        self._y = y
        self.trace_: list[Snapshot] = []
        self.stopped_early_ = False
        t0 = time.perf_counter()
        try:
            with cpu_determinism(self.device_), distributed.stop_signals():
                self._fit_starts(X, y, list(callbacks or []), int(seed))
        finally:
            self._drop_fit_state()
        self.fit_seconds_ = time.perf_counter() - t0
        self.track_y_ = None if y is None else y[self.track_index_].astype(np.int64)
        return self

    def _drop_fit_state(self) -> None:
        """Fit-time state (attributes starting with one ``_``: data, optimisers, duals,
        generators) goes once the final labels exist; fitted attributes (ending with
        ``_``) stay."""
        for name in [n for n in vars(self) if n.startswith("_") and not n.startswith("__")]:
            delattr(self, name)

    def _fit_starts(self, X: np.ndarray, y, callbacks: list[Callback], seed: int) -> None:
        """``n_init`` starts (a method that has the parameter; k-means' way): each trains
        from its own seed, and the one whose embedding separates its own clusters best
        (:func:`separation` over its last three rounds, no labels) is kept. With ``init_rounds`` the starts are
        compared after that many rounds and the best is then trained to the end, from its
        seed again (so its first rounds repeat exactly). One start is the papers' way."""
        n_init = int(getattr(self, "n_init", 1))
        if n_init == 1:
            self._fit_rounds(X, y, callbacks)
            return
        full = int(self.max_iter)
        probe = min(int(getattr(self, "init_rounds", None) or full), full)
        scores, kept = [], {}

        def plan(planned: int) -> int:  # all starts' rounds, and the best's to the end
            return n_init * min(planned, probe) + (planned if probe < full else 0)

        for i in range(n_init):
            self._seed_start(seed, i)
            try:
                self._fit_rounds(X, y, callbacks, f"start {i + 1} of {n_init} · ", probe, plan if i == 0 else None)
            except KeyboardInterrupt:  # Ctrl-C while a start sets up: the starts before it stand
                if not kept:
                    raise
                self.stopped_early_, self.n_iter_ = True, 0
            if self.stopped_early_ and i > 0:  # an interrupted start is not compared with whole ones
                self.stopped_in_ = f"start {i + 1} of {n_init}, {self.round_name} {self.n_iter_}"
                break
            score = float(np.mean([separation(snap) for snap in self.trace_[1:][-3:] or self.trace_]))
            scores.append(distributed.broadcast(score))  # rank 0's: the ranks keep the same start
            if len(scores) == 1 or scores[-1] > max(scores[:-1]):
                kept = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
            if self.stopped_early_:
                self.stopped_in_ = f"start {i + 1} of {n_init}, {self.round_name} {self.n_iter_}"
                break
        stopped = self.stopped_early_  # the kept start's own flag must not hide a stop
        for name, value in kept.items():  # every start sets these anew: no copies needed
            setattr(self, name, value)
        self.stopped_early_ = stopped
        best = int(np.argmax(scores))
        if probe < full and not stopped:
            self._seed_start(seed, best)
            self._fit_rounds(X, y, callbacks, f"start {best + 1}, the best of {n_init} · ", full, None)
            if self.stopped_early_:
                self.stopped_in_ = f"start {best + 1} (the best) trained to the end, {self.round_name} {self.n_iter_}"
                if self.n_iter_ < probe:  # stopped before it got past what the comparison had kept
                    for name, value in kept.items():
                        setattr(self, name, value)
                    self.stopped_early_ = True
        if stopped or self.stopped_early_:
            self.stopped_in_ = (f"{self.stopped_in_}; kept start {best + 1} of {n_init} "
                                f"({self.n_iter_} {self.round_name}s trained)")
        self.start_scores_, self.best_start_ = [float(v) for v in scores], best

    def _seed_start(self, seed: int, i: int) -> None:
        """Start i's generators, from :func:`start_seed`."""
        sub = start_seed(seed, i)
        self._rng = np.random.default_rng(sub)
        self._torch_gen = torch.Generator().manual_seed(sub)
        torch.manual_seed(sub)
        self.trace_ = []

    def _fit_rounds(self, X: np.ndarray, y, callbacks: list[Callback], prefix: str = "",
                    rounds: int | None = None, plan=lambda planned: planned) -> None:
        """Set up, run rounds until converged / stopped / ``rounds`` (default: the
        method's maximum), finish. ``prefix`` names the start in the stage of several;
        ``plan`` turns the rounds the method plans into the total the start hook hears
        (None: this start does not announce)."""
        self._setup(X, y)
        if self._world > 1:  # DDP over the network; each rank its own augmentations
            self._train_net = distributed.wrap(self.net_, self.device_)
            torch.manual_seed(int(np.random.SeedSequence([torch.initial_seed(), self._rank]).generate_state(1)[0]))
        elif self.streams:
            self._train_net = self.net_
        max_rounds = int(rounds or self.max_iter)
        if plan is not None:
            total = plan(min(self._planned_rounds(), int(self.max_iter)))
            for cb in callbacks:
                if isinstance(cb, StartListener):
                    cb.on_start(self, total)
        stop = self._record(0, prefix + "init", {}, callbacks)
        r = 0
        try:
            while not stop and r < max_rounds:
                r += 1
                scalars, converged = self._fit_round(r)
                if self._world > 1:
                    distributed.sync_buffers(self.net_)
                stop = self._record(r, f"{prefix}{self.round_name} {r}", scalars, callbacks)
                if self._world > 1:  # any rank's callback or signal stops them all
                    stop = distributed.agree(stop or distributed.signalled(), self.device_)
                if converged:
                    break
            self.stopped_early_ = bool(stop)
            if distributed.signalled():
                warnings.warn(f"interrupted in {self.round_name} {r} (a signal reached a rank); keeping what "
                              "was learned so far.", stacklevel=3)
        except KeyboardInterrupt:
            warnings.warn(f"interrupted in {self.round_name} {r}; keeping what was learned so far.",
                          stacklevel=3)
            self.stopped_early_ = True
        finally:
            if self._world > 1:
                distributed.unwrap(self.net_)  # plain BatchNorm again
        self.n_iter_ = r
        with held_interrupts():  # the final labels of what was learned
            self.labels_ = np.asarray(self._finish(), dtype=np.int64)

    def transform(self, X) -> np.ndarray:
        """The learned embedding of X (the representation the method clusters in); X may
        be images on disk (read in chunks)."""
        return self._by_chunks(self._embed, X)

    def predict(self, X) -> np.ndarray:
        """Cluster ids of (new) samples."""
        return np.asarray(self._by_chunks(self._predict, X), dtype=np.int64)

    # ------------------------------------------------------------------ helpers
    def _by_chunks(self, fn, X) -> np.ndarray:
        if not stream.is_lazy(X):
            return fn(self._check_new(X))
        X = stream.as_lazy(X)
        self._check_new(np.zeros((1, *X.shape[1:]), np.float32))  # fitted, and the right shape
        chunks = stream.Disk(X, torch.device("cpu")).chunks(2048)
        return np.concatenate([fn(self._check_new(x.numpy())) for x in chunks])

    def _source(self, X, prepare=None) -> stream.Memory | stream.Disk:
        """The training data as the method reads it (``clustlib.stream``): on disk when X
        is lazy, else ``prepare(X)`` in memory."""
        return stream.source(X, self.device_, prepare)

    def _local(self, idx):
        """This rank's share of a global batch of indices (all of it in one process)."""
        return idx if self._world == 1 else idx[self._rank::self._world]

    def _stop_now(self) -> bool:
        """Between two steps: in a group, True on every rank once any rank got SIGINT or
        SIGTERM (the ranks stop at the same step). In one process Ctrl-C raises instead."""
        return self._world > 1 and distributed.agree(distributed.signalled(), self.device_)

    def _check_new(self, X) -> np.ndarray:
        if not hasattr(self, "input_shape_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first.")
        X = check_array(X, min_samples=1)
        if int(np.prod(X.shape[1:])) != self.n_features_in_:  # scikit-learn's wording, then ours
            raise ValueError(f"X has {int(np.prod(X.shape[1:]))} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input (samples of shape {self.input_shape_}).")
        return X.reshape((X.shape[0], *self.input_shape_))

    def _record(self, r: int, stage: str, scalars: dict, callbacks: list[Callback]) -> bool:
        labels, embedding, extra, arrays = self._track()
        scalars = {k: float(v) for k, v in {**scalars, **extra}.items()}
        scalars.setdefault("n_clusters", float(np.unique(labels).size))  # a method may know all
        if self._y is not None:
            scalars.update(evaluate(self._y[self.track_index_], labels))
        emb = None if embedding is None else np.asarray(embedding, dtype=np.float32)
        snap = Snapshot(r, stage, np.asarray(labels, dtype=np.int64), emb, scalars, arrays)
        self.trace_.append(snap)
        stop = False
        for cb in callbacks:
            stop = bool(cb(self, snap)) or stop
        return stop

    # ------------------------------------------------------------------ hooks
    def _setup(self, X: np.ndarray, y: np.ndarray | None) -> None:
        raise NotImplementedError

    def _fit_round(self, r: int) -> tuple[dict, bool]:
        """One round; returns (scalars, converged)."""
        raise NotImplementedError

    def _planned_rounds(self) -> int:
        """Rounds the method will run unless it converges early (called after ``_setup``);
        a method that knows better (JULE: the merge periods down to k) says so."""
        return int(self.max_iter)

    def _min_samples(self) -> int:
        """The fewest samples these parameters can work with (checked before any work)."""
        return int(self.n_clusters)

    def _track(self) -> Track:
        """What a Snapshot shows of the tracked points; no side effects."""
        raise NotImplementedError

    def _finish(self) -> np.ndarray:
        raise NotImplementedError

    def _embed(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> tuple[dict[str, np.ndarray], dict]:
        """(tensors, json-able meta) a saved Run needs to restore transform/predict."""
        raise NotImplementedError

    def _load_state(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        raise NotImplementedError
