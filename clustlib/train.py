"""Load data, hold classes out, fit, save the Run: the one way every front end trains
(the CLI, the app's training jobs, ``scripts/make_demo_assets.py``).

What to train is one :class:`TrainRequest` -- the same object the CLI builds from its
flags, a page from its widgets and its link, a job carries to its process and
``clustlib reproduce`` reads back from a run.json:

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> run = train_run(TrainRequest("knet", "moons:n=120", preset="tiny", seed=0), out)
>>> run.info["method"], run.estimator.labels_.shape
('knet', (120,))
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from . import cpu, deprecation, distributed
from .base import DeepClusterer, held_interrupts
from .data import Dataset, DatasetError, load_dataset, parse_classes, resolve_unseen, split_classes
from .methods import METHODS
from .metrics import embedding_scores
from .rundir import OutputError, claim_output
from .runs import Run


def make_estimator(method: str, preset: str | None = None, params: dict | None = None) -> DeepClusterer:
    """``method``'s estimator from a preset (or the constructor's defaults) and overrides."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}.")
    cls, params = METHODS[method], dict(params or {})
    if preset:
        return cls.from_preset(preset, **params)
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ValueError(f"{method} has no parameter(s) {', '.join(sorted(unknown))}; "
                         f"parameters: {', '.join(cls._get_param_names())}.")
    return cls(**params)


_OWN_FIELDS = {"n_clusters": "k", "random_state": "seed", "device": "device"}  # parameters with a field of their own


@dataclasses.dataclass(frozen=True)
class TrainRequest:
    """What to train: everything a Run needs to be trained again, in one immutable object.

    Parameters
    ----------
    method : str
        A registry name (``clustlib.methods.METHODS``: jule, knet, dac, dscl, secu).
    data : str
        A dataset spec (``clustlib.data``: ``"digits"``, ``"npz:PATH"``, ...).
    preset : str or None; default "demo"
        The method's preset; it fills every parameter ``params`` leaves out (None: the
        constructor's defaults).
    params : mapping; default {}
        The method's parameters over the preset. The number of clusters, the seed and
        the device have fields of their own (``k``, ``seed``, ``device``).
    unseen : tuple of int, str or None; default None
        Classes held out of training: ids (``()`` holds none out), the CLI's text
        (``"7,8,9"``, Omniglot alphabets, ``"none"``), or None for the dataset's own split.
    seed : int or None; default None
        ``random_state`` of the estimator (None: its default).
    k : int or None; default None
        ``n_clusters`` (None: the number of training classes).
    threads : int, "auto" or None; default None
        The fit's CPU threads, fixed for the whole fit (``clustlib.cpu``; None: the default).
    device : str; default "auto"
        ``"auto"``, ``"cpu"`` or ``"cuda"``.

    A request's URL form (:meth:`to_query`, :meth:`from_query`) is the app's share link;
    :meth:`from_info` reads the request a saved run was trained from.
    """

    method: str
    data: str
    preset: str | None = "demo"
    params: Mapping = dataclasses.field(default_factory=dict)
    unseen: tuple[int, ...] | str | None = None
    seed: int | None = None
    k: int | None = None
    threads: int | str | None = None
    device: str = "auto"

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; known: {', '.join(METHODS)}.")
        params = METHODS[self.method].renamed(self.params)  # old parameter names still work (and warn)
        own = sorted(set(params) & set(_OWN_FIELDS))
        if own:
            raise ValueError(f"give {', '.join(f'{p} as {_OWN_FIELDS[p]}=' for p in own)} of the request, "
                             "not in its params.")
        if self.unseen is not None and not isinstance(self.unseen, str):
            object.__setattr__(self, "unseen", tuple(sorted({int(c) for c in self.unseen})))
        object.__setattr__(self, "params", MappingProxyType(params))

    def __reduce__(self):  # pickled to a job's process: the read-only params as a plain dict
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return _request_from_fields, ({**fields, "params": dict(self.params)},)

    @classmethod
    def from_params(cls, method: str, data: str, params: Mapping | None = None, **fields) -> TrainRequest:
        """A request from a full parameter dict (``n_clusters``, ``random_state`` and
        ``device`` taken into their own fields)."""
        params = dict(params or {})
        for name, field in _OWN_FIELDS.items():
            if name in params:
                fields[field] = params.pop(name)
        return cls(method, data, params=params, **fields)

    @classmethod
    def from_info(cls, info: Mapping) -> TrainRequest:
        """The request a saved run was trained from (its run.json): the same method,
        data, classes held out, parameters, seed and threads."""
        return cls.from_params(info["method"], info["dataset"], info.get("params"), preset=info.get("preset"),
                               unseen=tuple(info.get("unseen") or ()), threads=info.get("threads"))

    def with_params(self, **params) -> TrainRequest:
        """The same request with these parameters set as well."""
        return dataclasses.replace(self, params={**self.params, **params})

    def estimator_params(self) -> dict:
        """The keyword arguments of the estimator: ``params`` with ``n_clusters``
        (when ``k`` is set), ``random_state`` (when ``seed`` is set) and ``device``."""
        out = dict(self.params)
        if self.k is not None:
            out["n_clusters"] = int(self.k)
        if self.seed is not None:
            out["random_state"] = int(self.seed)
        out["device"] = self.device
        return out

    def resolved_params(self) -> dict:
        """Every parameter the fit will see that the request decides: the preset's values
        under :meth:`estimator_params`."""
        cls = METHODS[self.method]
        preset = cls.PRESETS.get(self.preset, {}) if self.preset else {}
        return {**preset, **self.estimator_params()}

    def estimator(self, n_clusters: int | None = None) -> DeepClusterer:
        """The estimator to fit (``n_clusters``: the number used when ``k`` is None). The
        preset fills only what the parameters leave out: a request read back from a run
        (every parameter given) builds the same estimator even if the preset has changed."""
        params = self.estimator_params()
        if self.k is None and n_clusters is not None:
            params["n_clusters"] = int(n_clusters)
        complete = set(METHODS[self.method]._get_param_names()) <= set(params)
        return make_estimator(self.method, None if complete else self.preset, params)

    def matches(self, info: Mapping) -> bool:
        """Whether a saved run (its run.json ``info``) was trained from this request:
        method, dataset, preset, seed, classes held out and every parameter (the device
        aside: a run trained on another device still shows these settings)."""
        if not isinstance(self.unseen, tuple):
            return False
        from .runs import _jsonable

        wanted = {k: v for k, v in _jsonable(self.resolved_params()).items() if k not in ("device", "random_state")}
        have = METHODS[self.method].renamed(info.get("params") or {}, warn=False)  # a run saved before a rename
        return (info.get("method") == self.method and info.get("dataset") == self.data
                and info.get("preset", "demo") == self.preset and info.get("seed") == self.seed
                and sorted(info.get("unseen") or []) == list(self.unseen)
                and all(have.get(k) == v for k, v in wanted.items()))

    def to_query(self) -> dict[str, str]:
        """The request as a share link's query (``?data=...&preset=...&seed=...``): data,
        preset, seed, k, the classes held out and the method's settings, all text."""
        q = {"data": self.data, "preset": str(self.preset or "")}
        if self.seed is not None:
            q["seed"] = str(int(self.seed))
        if self.k is not None:
            q["k"] = str(int(self.k))
        if self.unseen:
            q["unseen"] = self.unseen if isinstance(self.unseen, str) else ",".join(map(str, self.unseen))
        q.update({name: str(v) for name, v in self.params.items()})
        return q

    @classmethod
    def from_query(cls, method: str, query: Mapping[str, str], default_data: str) -> TrainRequest:
        """A share link's request, read leniently (it is a visitor's text): an unknown
        preset is the demo one, a seed outside 0..10,000 or a k that is not a number is
        left out, and the method's settings stay text (``params``) for the page's widgets
        to check against their own bounds."""
        presets = METHODS[method].PRESETS
        preset = query.get("preset", "demo")
        fields: dict = {"preset": preset if preset in presets else "demo", "seed": 0}
        try:
            fields["seed"] = max(0, min(10_000, int(query.get("seed", 0))))
        except ValueError:
            pass
        try:
            fields["k"] = int(query["k"]) if "k" in query else None
        except ValueError:
            pass
        text = query.get("unseen")
        if text:
            try:
                fields["unseen"] = tuple(parse_classes(text))
            except DatasetError:  # not class ids: group names (Omniglot alphabets)
                fields["unseen"] = str(text)[:2000]
        settings = METHODS[method].renamed({k: str(v)[:100] for k, v in query.items()  # an old link's names
                                            if k not in LINK_KEYS and k not in _OWN_FIELDS}, warn=False)
        return cls(method, str(query.get("data", default_data))[:500], params=settings, **fields)


def _request_from_fields(fields: dict) -> TrainRequest:
    return TrainRequest(**fields)


LINK_KEYS = ("data", "preset", "seed", "k", "unseen", "job", "run")  # the rest of a link: method settings


def train_run(request: TrainRequest | str, out=None, *legacy, callbacks: Sequence = (), overwrite: bool = False,
              extra: dict | None = None, **legacy_kw) -> Run:
    """Train what ``request`` asks for and save the Run to ``out``; returns it.

    ``n_clusters`` defaults to the number of training classes. ``out`` is checked and
    locked before any training (an existing run is replaced only with ``overwrite``);
    Ctrl-C stops the fit and what was learned is still saved. ``extra`` is recorded in
    run.json.

    The fit's threads are fixed for the whole fit and recorded -- with the seed, the
    parameters, the data's content hash, the device and the library versions, what
    ``clustlib reproduce`` needs to train the same run again. With held-out classes the
    run also records how its embedding clusters them (``unseen_nmi``, ``unseen_recall@1``).

    Inside a torch.distributed group (torchrun) every rank calls this: rank 0 claims and
    writes ``out`` (the others learn whether it could), all ranks train together.

    The older form ``train_run(method, data, out, preset=, params=, unseen=, threads=)``
    still works and warns (DeprecationWarning); it builds the same request.
    """
    if isinstance(request, str):
        request, out = _legacy_request(request, out, *legacy, **legacy_kw)
    elif legacy or legacy_kw:
        raise TypeError(f"train_run(request, out, *, callbacks, overwrite, extra): unexpected "
                        f"{', '.join(legacy_kw) or 'positional arguments'}.")
    ds = load_dataset(request.data)
    held = list(request.unseen) if isinstance(request.unseen, tuple) else resolve_unseen(ds, request.unseen)
    train, others = split_classes(ds, held) if held else (ds, None)
    n_threads = cpu.resolve_threads(request.threads)
    if request.k is None and train.n_classes is None:
        raise ValueError(f"{request.data} has no labels; give n_clusters.")
    est = request.estimator(train.n_classes)
    preset, threads = request.preset, request.threads
    out = Path(out).expanduser()
    rank, world = distributed.world()
    lock, refused = None, None
    if rank == 0:
        try:
            lock = claim_output(out, overwrite)
        except OutputError as err:
            refused = str(err)
    refused = distributed.broadcast(refused)  # every rank stops before training, or none
    if refused:
        raise OutputError(refused)
    try:
        t0 = time.perf_counter()
        with cpu.fixed_threads(n_threads):
            est.fit(train.X, train.y, callbacks=list(callbacks))
        seconds = time.perf_counter() - t0
        repeat = {"preset": preset, "threads": n_threads, "threads_asked": str(threads or "default"),
                  "processes": world, "device": str(est.device_), "data_hash": data_hash(train),
                  "machine": machine()}
        run = Run.from_estimator(est, method=request.method, data=request.data, unseen=held, y=train.y,
                                 extra={**repeat, **(extra or {})})
        run.info["metrics"]["seconds"] = round(seconds, 3)
        if others is not None and others.y is not None:
            with cpu.fixed_threads(n_threads):
                scores = embedding_scores(est.transform(others.X), others.y)
            run.info["metrics"].update({f"unseen_{k}": v for k, v in scores.items()})
        if rank == 0:
            with held_interrupts():  # Ctrl-C while saving would lose what was learned
                run.save(out)
    finally:
        if lock is not None:
            lock.unlink(missing_ok=True)
    return run


def _legacy_request(method: str, data: str, out, *, preset: str | None = "demo", params: dict | None = None,
                    unseen=None, threads=None) -> tuple[TrainRequest, object]:
    deprecation.warn("train_run(method, data, out, ...)", "train_run(TrainRequest(method, data, ...), out)", stacklevel=4)
    if unseen is not None and not isinstance(unseen, str):
        unseen = tuple(unseen)
    return TrainRequest.from_params(method, data, params, preset=preset, unseen=unseen, threads=threads), out


def data_hash(ds: Dataset) -> str:
    """The content of a (training) dataset: sha256 of its samples and labels -- or, for
    images read from disk, of their file names and sizes -- so that a re-run can tell
    whether the spec still gives the data the run was trained on."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    if hasattr(ds.X, "files"):  # stream.LazyImages: the files, not their decoded pixels
        for f in ds.X.files:
            h.update(f"{Path(f).name}:{Path(f).stat().st_size};".encode())
    else:
        X = np.ascontiguousarray(ds.X, dtype=np.float32)
        h.update(repr(X.shape).encode())
        h.update(X.tobytes())
    if ds.y is not None:
        h.update(np.ascontiguousarray(ds.y, dtype=np.int64).tobytes())
    return "sha256:" + h.hexdigest()[:32]


def machine() -> dict:
    """:func:`_machine`'s answer (a copy: callers may add to it); read once a process."""
    return dict(_machine())


@functools.lru_cache(maxsize=1)
def _machine() -> dict:
    """The CPU (its model decides which kernels BLAS and oneDNN run, so another model may
    give other numbers for the same seed), its cores, the platform and the GPU if any."""
    import platform

    import torch

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    except OSError:
        pass
    out = {"cpu": model, "cores": os.cpu_count() or 1, "platform": platform.platform(terse=True)}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def estimate_seconds(request: TrainRequest, listed) -> tuple[float, str] | None:
    """How long ``request`` should take here, from saved runs of the same settings (any
    seed): their recorded seconds, those trained on this CPU with the same thread count
    first. ``listed``: (path, info) pairs (``library.list_runs``). (seconds, where the number
    comes from), or None when no such run was ever trained."""
    import dataclasses
    import statistics

    here, threads = machine()["cpu"], cpu.resolve_threads(request.threads)
    same, other = [], []
    for path, info in listed:
        if not isinstance(info, dict) or not isinstance((info.get("metrics") or {}).get("seconds"), (int, float)):
            continue
        unseen = request.unseen if isinstance(request.unseen, tuple) else tuple(info.get("unseen") or ())  # "default"
        if info.get("seed") is None or not dataclasses.replace(request, seed=info["seed"], unseen=unseen).matches(info):
            continue
        model = (info.get("machine") or {}).get("cpu")
        mine = model == here and info.get("threads") == threads
        (same if mine else other).append((float(info["metrics"]["seconds"]), model or "another machine", Path(path).name))
    if same:
        return statistics.median(s for s, _, _ in same), f"measured: {len(same)} run{'s' * (len(same) > 1)} on this machine"
    if other:
        seconds, model, name = sorted(other)[len(other) // 2]
        return seconds, f"as {name} took on {model}; not yet measured on this machine"
    return None


def duration_text(seconds: float) -> str:
    """``45 s``, ``2 min 40 s``, ``1 h 5 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
