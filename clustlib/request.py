"""What to train, as one immutable :class:`TrainRequest`: the object the CLI builds from its
flags, a page from its widgets, a job carries to its process -- with its two written forms,
the link (``to_query`` / ``from_query``: ``?data=digits&preset=demo&seed=0&max_iter=5``)
and the run.json a run records (``from_info`` / ``matches``).

>>> r = TrainRequest("knet", "moons:n=120", preset="tiny", seed=0)
>>> r.to_query()["data"], TrainRequest.from_query("knet", r.to_query(), "digits") == r
('moons:n=120', True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from .base import DeepClusterer
from .data import parse_classes
from .dataset import DatasetError
from .methods import METHODS
from .runs import _jsonable


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
