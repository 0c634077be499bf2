"""Run: a trained estimator + its trace + its provenance, saved as a directory.

::

    run.json    format name + version, method, hyperparameters, dataset spec, unseen
                classes, seed, library versions, wall time, final metrics, trace scalars
    model.pt    tensors only (``torch.load(weights_only=True)``)
    trace.npz   snapshot arrays (``np.load(allow_pickle=False)``)
    labels.npy  final labels

Saving is atomic (a temporary sibling directory renamed into place; an older run at
the same path is removed only after the new one is complete). Loading never executes
code from the files and turns any damage into a one-line :class:`RunFormatError`
naming the file.

>>> from clustlib.runs import FORMAT, VERSION
>>> FORMAT, VERSION
('clustlib.run', 1)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from . import sources
from .base import DeepClusterer, Snapshot
from .deprecation import old_keyword
from .limits import BudgetError, check_npz
from .metrics import evaluate
from .rundir import FORMAT, MAX_JSON_BYTES, save_atomically

VERSION = 1
FILES = ("run.json", "model.pt", "trace.npz", "labels.npy")


def files_of(method: str) -> tuple[str, ...]:
    """The files a run of ``method`` holds (a source without a network, such as a recorded
    model, has no model.pt)."""
    source = sources.get(method)
    return FILES if source is None or source.network else tuple(f for f in FILES if f != "model.pt")


MAX_TRACE_BYTES = 256 * 2**20  # what trace.npz may declare (a demo trace is under 1 MiB)


class RunFormatError(ValueError):
    """A run directory that is missing, damaged, foreign or from another format version."""


def _versions() -> dict:
    import sklearn

    from . import __version__

    return {"clustlib": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None  # JSON has no NaN: null, read back as nan
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class Run:
    """A trained estimator with its trace and provenance (``info``)."""

    estimator: DeepClusterer
    info: dict = field(default_factory=dict)

    @property
    def trace(self) -> list[Snapshot]:
        return self.estimator.trace_

    @property
    def method(self) -> str:
        return self.info.get("method", "")

    @property
    def has_network(self) -> bool:
        """Whether its estimator embeds new samples (``transform``/``predict``); a recorded
        model has no network and carries the samples it tracked instead."""
        return "model.pt" in files_of(self.method)

    @property
    def metrics(self) -> dict:
        return self.info.get("metrics", {})

    @classmethod
    def from_estimator(cls, est: DeepClusterer, *, method: str, data: str = "",
                       unseen=(), y=None, extra: dict | None = None, dataset: str | None = None) -> Run:
        """Wrap a fitted estimator; ``data`` is its dataset spec (run.json's ``dataset``; the
        keyword was ``dataset``, still accepted), ``y`` (labels of the training data) scores it."""

        data = old_keyword(data, dataset, "Run.from_estimator")
        metrics = {"seconds": round(float(est.fit_seconds_), 3)}
        if y is not None:
            metrics.update(evaluate(y, est.labels_))
        info = {"method": method, "params": _jsonable(est.get_params()), "dataset": data,
                "unseen": [int(c) for c in unseen], "seed": est.random_state,
                "metrics": metrics, "versions": _versions(),
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "n_samples": int(est.labels_.shape[0]), **(extra or {})}
        return cls(est, info)

    # ------------------------------------------------------------------ save
    def save(self, path, compress: bool = True) -> Path:
        """Write the run to directory ``path`` atomically; returns the path. An existing
        ``path`` is replaced only if it is itself a clustlib run, and the old run stays in
        place until the new one is complete (a crash in between is undone by the next save
        or :func:`recover`). ``compress=False``: a recording's saves while it records (each
        epoch's, quick; the last one is compressed)."""
        return save_atomically(path, lambda d: self._write(d, compress), refuse=RunFormatError)

    def _write(self, d: Path, compress: bool = True) -> None:
        est = self.estimator
        tensors, meta = est._state()
        if "model.pt" in files_of(self.method):  # a recorded model has no network
            torch.save({k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in tensors.items()},
                       d / "model.pt")
        arrays: dict[str, np.ndarray] = {"track_index": np.asarray(est.track_index_)}
        for name in ("track_y", "dataset_index", "track_input", "track_images"):  # the last three: recorded models
            if getattr(est, f"{name}_", None) is not None:
                arrays[name] = getattr(est, f"{name}_")
        snaps = []
        for i, s in enumerate(est.trace_):
            arrays[f"labels/{i}"] = s.labels.astype(np.int32)
            if s.embedding is not None:
                e = s.embedding
                small = np.abs(e).max(initial=0) < 6e4
                arrays[f"embedding/{i}"] = e.astype(np.float16 if small else np.float32)
            for name, a in s.arrays.items():
                arrays[f"array/{name}/{i}"] = np.asarray(a)
            snaps.append({"round": s.round, "stage": s.stage, "scalars": s.scalars,
                          "arrays": sorted(s.arrays), "embedding": s.embedding is not None})
        (np.savez_compressed if compress else np.savez)(d / "trace.npz", **arrays)
        np.save(d / "labels.npy", np.asarray(est.labels_, dtype=np.int64), allow_pickle=False)
        doc = {"format": FORMAT, "version": VERSION, **_jsonable(self.info),
               "state": _jsonable(meta),
               "fitted": {"input_shape": list(est.input_shape_), "n_rounds": int(est.n_iter_),
                          "stopped_early": bool(est.stopped_early_),
                          "fit_seconds": float(est.fit_seconds_),
                          **({"start_scores": list(est.start_scores_), "best_start": int(est.best_start_)}
                             if hasattr(est, "start_scores_") else {}),
                          **({"stopped_in": str(est.stopped_in_)} if hasattr(est, "stopped_in_") else {})},
               "trace": _jsonable(snaps)}
        (d / "run.json").write_text(json.dumps(doc, indent=1, allow_nan=False))
        for f in files_of(self.method):  # durable before the rename makes the run visible
            with open(d / f, "rb") as fh:
                os.fsync(fh.fileno())

    # ------------------------------------------------------------------ load
    @classmethod
    def load(cls, path, device: str = "cpu") -> Run:
        """Read a run directory; never executes code from it. Raises RunFormatError (one
        line) for anything a damaged or foreign run can throw."""
        try:
            return cls._load(path, device)
        except RunFormatError:
            raise
        except (Exception, RecursionError) as err:  # noqa: BLE001 - damage we did not foresee stays one line
            raise RunFormatError(f"{Path(path).expanduser()}: not a readable run ({_short(err)}).") from None

    @classmethod
    def _load(cls, path, device: str) -> Run:
        reader = sources.folder_reader(path)
        if reader is not None:  # a folder that reads as a run (a TensorBoard embedding log)
            try:
                return reader.load(path)
            except reader.error as err:
                raise RunFormatError(str(err)) from None

        d = Path(path).expanduser()
        if torch.device(device).type == "cuda" and not torch.cuda.is_available():
            raise RunFormatError(f"{d}: device={device!r} asked for, but CUDA is not available here; "
                                 "load with device='cpu'.")
        if not d.is_dir():
            raise RunFormatError(f"{d}: not a run directory (expected a folder with {', '.join(FILES)}).")
        doc = read_run_json(d)
        method = doc.get("method")
        source = sources.get(method)
        if source is None:
            raise RunFormatError(f"{d / 'run.json'}: unknown method {method!r}; this clustlib reads runs of "
                                 f"{', '.join(sources.names())}.")
        try:
            params = doc.get("params", {})
            if not isinstance(params, dict):
                raise TypeError("params is not an object")
            est = source.build(params, doc)
        except (TypeError, ValueError) as err:
            raise RunFormatError(f"{d / 'run.json'}: parameters do not fit {method} ({err}).") from None
        tensors = _load_model(d / "model.pt") if source.network else {}
        arrays = _load_npz(d / "trace.npz")
        try:
            labels = np.load(d / "labels.npy", allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise RunFormatError(f"{d / 'labels.npy'}: unreadable ({_short(err)}).") from None
        problem = _array_problem(doc, tensors, arrays, labels) or (
            _network_problem(source, doc, tensors) if source.network else None)
        if problem:
            raise RunFormatError(f"{d}: {problem}.")
        try:
            fitted = doc["fitted"]
            est.device_ = torch.device(device)
            est.input_shape_ = tuple(int(s) for s in fitted["input_shape"])
            est.n_features_in_ = int(np.prod(est.input_shape_))
            est.labels_ = labels.astype(np.int64)
            source.restore(est, doc, tensors, arrays)
            est.n_iter_ = int(fitted["n_rounds"])
            est.stopped_early_ = bool(fitted["stopped_early"])
            est.fit_seconds_ = float(fitted["fit_seconds"])
            if "start_scores" in fitted:  # several starts (n_init): how each separated
                est.start_scores_ = [float(v) for v in fitted["start_scores"][:100]]
                est.best_start_ = int(fitted["best_start"])
            if isinstance(fitted.get("stopped_in"), str):  # where a stop came, which start was kept
                est.stopped_in_ = fitted["stopped_in"][:300]
            est.track_index_ = arrays["track_index"]
            est.track_y_ = arrays.get("track_y")
            est.trace_ = [_snapshot(i, s, arrays) for i, s in enumerate(doc["trace"])]
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise RunFormatError(f"{d}: run files are inconsistent ({_short(err)}).") from None
        info = {k: v for k, v in doc.items() if k not in ("format", "version", "state", "fitted", "trace")}
        return cls(est, info)


def _array_problem(doc: dict, tensors: dict, arrays: dict, labels: np.ndarray) -> str | None:
    """What makes the arrays disagree with each other or with run.json, or None."""
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or labels.size == 0 or labels.min() < 0 or labels.max() >= 2**31:
        return "labels.npy must be a non-empty 1-D array of cluster ids"
    if _is_int(doc.get("n_samples")) and labels.size != doc["n_samples"]:
        return f"labels.npy has {labels.size} labels but run.json says {doc['n_samples']} samples"
    text = next((name for name, a in arrays.items() if a.dtype.kind not in "biuf"), None)
    if text is not None:  # strings, dates, complex numbers: no run writes them
        return f"trace.npz: {text} holds {arrays[text].dtype} values, not numbers"
    idx = arrays.get("track_index")
    if idx is None or idx.ndim != 1 or idx.dtype.kind not in "iu" or (idx.size and (
            idx.min() < 0 or idx.max() >= labels.size)):
        return "trace.npz: tracked indices missing or outside the samples"
    if arrays.get("track_y") is not None and (arrays["track_y"].shape != idx.shape
                                             or arrays["track_y"].dtype.kind not in "iu"):
        return "trace.npz: track_y does not match the tracked points"
    for name, kinds in (("track_input", "f"), ("track_images", "u"), ("dataset_index", "iu")):  # recorded models
        a = arrays.get(name)
        if a is not None and (a.ndim < (1 if kinds == "iu" else 2) or a.shape[0] != idx.size or a.dtype.kind not in kinds
                              or (a.dtype.kind == "f" and not np.isfinite(a).all())):
            return f"trace.npz: {name} does not match the tracked points"
    for i, snap in enumerate(doc["trace"]):
        lab, emb = arrays.get(f"labels/{i}"), arrays.get(f"embedding/{i}")
        if lab is None or lab.shape != idx.shape:
            return f"trace.npz: labels of snapshot {i} missing or of the wrong length"
        if lab.dtype.kind not in "iu" or (lab.size and (lab.min() < 0 or lab.max() >= 2**31)):
            return f"trace.npz: labels of snapshot {i} must be non-negative cluster ids"
        if snap["embedding"] and (emb is None or emb.ndim != 2 or emb.shape[0] != idx.size
                                  or emb.dtype.kind not in "fiu" or not np.isfinite(emb).all()):
            return f"trace.npz: embedding of snapshot {i} missing, misshapen or not finite"
        if any(f"array/{name}/{i}" not in arrays for name in snap["arrays"]):
            return f"trace.npz: an array of snapshot {i} is missing"
    for name, t in tensors.items():
        if t.dtype.kind == "f" and not np.isfinite(t).all():
            return f"model.pt: tensor {name!r} holds NaN or infinity"
    return None


def _network_problem(source, doc: dict, tensors: dict) -> str | None:
    """Build the run's networks on the meta device first (no memory): a run.json that
    declares far more parameters than model.pt holds (say a hidden width of 20,000) is
    refused before gigabytes are allocated."""
    held = sum(int(t.size) for t in tensors.values())
    try:
        probe = source.build(doc["params"], doc)
        probe.device_ = torch.device("meta")
        probe.input_shape_ = tuple(int(v) for v in doc["fitted"]["input_shape"])
        probe.n_features_in_ = int(np.prod(probe.input_shape_))
    except Exception:  # noqa: BLE001 - the real load reports what is wrong
        return None

    skip = dict.fromkeys(("normal_", "zeros_", "ones_", "uniform_", "kaiming_uniform_",
                          "kaiming_normal_", "xavier_uniform_", "constant_"), lambda t, *a, **k: t)
    try:  # initialisers skipped: on meta tensors they load torch's reference kernels (~1 s)
        with torch.device("meta"), mock.patch.multiple(torch.nn.init, **skip):
            source.restore(probe, doc, tensors, {})
    except Exception:  # noqa: BLE001 - a size mismatch: count what was built all the same
        pass
    built = sum(int(p.numel()) for v in vars(probe).values() if isinstance(v, torch.nn.Module)
                for p in v.state_dict().values())
    if built > held + 100_000:
        return f"run.json declares networks of {built:,} numbers but model.pt holds {held:,}"
    return None


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:160] if text else ''}"


def read_run_json(d: Path) -> dict:
    """The validated run.json of directory d (cheap: for listings); the parameters under
    their names now (``DeepClusterer.RENAMED``), whatever version of clustlib saved it."""
    f = Path(d) / "run.json"
    if not f.is_file():
        raise RunFormatError(f"{f}: missing; not a clustlib run (or its save was interrupted).")
    if f.stat().st_size > MAX_JSON_BYTES:
        raise RunFormatError(f"{f}: {f.stat().st_size} bytes is too large for a run description.")
    try:
        doc = json.loads(f.read_text())
    except RecursionError:
        raise RunFormatError(f"{f}: JSON nested too deeply.") from None
    except (OSError, ValueError) as err:  # damaged text, bad JSON, an integer of 5,000 digits
        raise RunFormatError(f"{f}: damaged JSON ({_short(err)}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RunFormatError(f"{f}: not a clustlib run file (no 'format': '{FORMAT}').")
    if doc.get("version") != VERSION:
        raise RunFormatError(f"{f}: format version {doc.get('version')!r}; this clustlib reads "
                             f"version {VERSION} (use the clustlib that wrote it, or re-train).")
    for key in ("method", "params", "state", "fitted", "trace"):
        if key not in doc:
            raise RunFormatError(f"{f}: lacks the field {key!r}.")
    problem = _schema_problem(doc)
    if problem:
        raise RunFormatError(f"{f}: {problem}.")
    source = sources.get(doc["method"])
    if source is not None:  # a run saved before a parameter's rename: its names now
        doc["params"] = source.upgrade(doc["params"])
    return doc


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None


def _schema_problem(doc: dict) -> str | None:
    """What is wrong with the types and ranges of a run.json, or None (so that every run
    that loads can be listed and shown by every page)."""
    fitted, trace = doc["fitted"], doc["trace"]
    checks = [
        (isinstance(doc["method"], str), "'method' must be a string"),
        (isinstance(doc["params"], dict), "'params' must be an object"),
        (isinstance(doc["state"], dict), "'state' must be an object"),
        (isinstance(fitted, dict), "'fitted' must be an object"),
        (isinstance(trace, list) and 1 <= len(trace) <= 100_000, "'trace' must be a list of 1 to 100,000 snapshots"),
    ]
    for ok, why in checks:
        if not ok:
            return why
    shape = fitted.get("input_shape")
    if not (isinstance(shape, list) and 1 <= len(shape) <= 3 and all(_is_int(v) and 1 <= v <= 100_000 for v in shape)
            and int(np.prod(shape)) <= 10**8):
        return "'fitted.input_shape' must be 1 to 3 positive sizes"
    if not (_is_int(fitted.get("n_rounds")) and fitted["n_rounds"] == len(trace) - 1):
        return "'fitted.n_rounds' must be the number of snapshots minus one"
    if not isinstance(fitted.get("stopped_early"), bool) or not _is_num(fitted.get("fit_seconds")):
        return "'fitted.stopped_early' must be true/false and 'fitted.fit_seconds' a number"
    for i, snap in enumerate(trace):
        if not (isinstance(snap, dict) and _is_int(snap.get("round")) and isinstance(snap.get("stage"), str)
                and isinstance(snap.get("scalars"), dict) and all(_is_num(v) for v in snap["scalars"].values())
                and isinstance(snap.get("arrays"), list) and all(isinstance(a, str) for a in snap["arrays"])
                and isinstance(snap.get("embedding"), bool)):
            return f"snapshot {i} of 'trace' is malformed (round, stage, scalars, arrays, embedding)"
    optional = {"dataset": lambda v: isinstance(v, str), "created": lambda v: isinstance(v, str),
                "model": lambda v: isinstance(v, str),
                "preset": lambda v: v is None or isinstance(v, str),
                "seed": lambda v: v is None or _is_int(v),
                "n_samples": lambda v: _is_int(v) and v >= 0,
                "unseen": lambda v: isinstance(v, list) and all(_is_int(c) for c in v),
                "metrics": lambda v: isinstance(v, dict) and all(_is_num(x) for x in v.values()),
                "versions": lambda v: isinstance(v, dict),
                "live": lambda v: (isinstance(v, dict) and _is_int(v.get("pid")) and isinstance(v.get("host"), str)
                                   and _is_num(v.get("updated")) and isinstance(v.get("stage"), str))}
    for key, ok in optional.items():
        if key in doc and not ok(doc[key]):
            return f"field {key!r} has the wrong type"
    k, n = doc["params"].get("n_clusters"), doc.get("n_samples")
    if k is not None and not (_is_int(k) and 2 <= k <= (n if _is_int(n) and n >= 2 else 10**7)):
        return f"params.n_clusters={k!r} must be a whole number from 2 to the number of samples"
    return None


def _load_model(f: Path) -> dict[str, np.ndarray]:
    if not f.is_file():
        raise RunFormatError(f"{f}: missing.")
    try:
        obj = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any damage or foreign content
        raise RunFormatError(f"{f}: not a readable tensor file ({_short(err)}).") from None
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                            for k, v in obj.items()):
        raise RunFormatError(f"{f}: expected a dict of named tensors.")
    return {k: v.numpy() for k, v in obj.items()}


def _load_npz(f: Path) -> dict[str, np.ndarray]:
    if not f.is_file():
        raise RunFormatError(f"{f}: missing.")
    try:
        check_npz(f, str(f), MAX_TRACE_BYTES)  # a compression bomb is refused before it is read
        with np.load(f, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except BudgetError as err:
        raise RunFormatError(str(err)) from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise RunFormatError(f"{f}: not a readable array archive ({_short(err)}).") from None


def _snapshot(i: int, s: dict, arrays: dict) -> Snapshot:
    emb = arrays.get(f"embedding/{i}")
    return Snapshot(
        round=int(s["round"]), stage=str(s["stage"]),
        labels=arrays[f"labels/{i}"].astype(np.int64),
        embedding=None if emb is None else emb.astype(np.float32),
        scalars={str(k): float("nan") if v is None else float(v) for k, v in s["scalars"].items()},
        arrays={name: arrays[f"array/{name}/{i}"] for name in s["arrays"]})
