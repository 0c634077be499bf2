"""Where a run's frames come from: one reader per source, registered the way a method
registers itself.

A run directory's run.json names its source (``"method"``): one of the five methods
(``clustlib.methods`` registers each: a network in model.pt that embeds new samples) or
``"external"``, a model recorded elsewhere (``clustlib.external``: the recorded
embeddings, no network). A folder that is not a run directory but reads as one -- a
TensorBoard embedding log (``clustlib.tblogs``) -- registers a :class:`FolderReader`.
:mod:`clustlib.runs` (the run format) and :mod:`clustlib.library` (listing runs) ask this
registry and import none of the sources, so no source imports back into a circle.

Adding a run source: a module that calls :func:`register` (or :func:`register_folder`)
at import, named in ``BUILTIN`` (or imported before its runs are opened).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BUILTIN = ("clustlib.methods", "clustlib.external", "clustlib.tblogs")  # imported on the first lookup


@dataclass(frozen=True)
class RunSource:
    """How runs of one source are rebuilt from their files.

    ``build(params, doc)`` returns the unfitted estimator; ``restore(est, doc, tensors,
    arrays)`` puts the fitted state back (tensors: model.pt's, empty when ``network`` is
    False; arrays: trace.npz's). ``network``: the run holds model.pt and its estimator
    embeds new samples (``transform``/``predict``); without one a run carries the samples
    it tracked. ``demo``: the file name of its demo run in the app's assets.
    ``upgrade(params)``: run.json's parameters under their names now (a run saved
    before a rename)."""

    name: str
    build: Callable
    restore: Callable
    network: bool
    demo: str
    upgrade: Callable[[dict], dict] = dict


@dataclass(frozen=True)
class FolderReader:
    """A folder that reads as a run without being a run directory: ``detect(path)``
    (cheap), ``load(path)`` -> Run, ``describe(path)`` -> what the listings show;
    ``error`` is the exception type it raises for a damaged folder."""

    name: str
    detect: Callable[[Path], bool]
    load: Callable
    describe: Callable[[Path], dict]
    error: type[Exception]


_SOURCES: dict[str, RunSource] = {}
_FOLDERS: dict[str, FolderReader] = {}


def register(source: RunSource) -> None:
    if source.name in _SOURCES and _SOURCES[source.name] != source:
        raise ValueError(f"two run sources are named {source.name!r}")
    _SOURCES[source.name] = source


def register_folder(reader: FolderReader) -> None:
    _FOLDERS[reader.name] = reader


def _builtin() -> None:
    for module in BUILTIN:  # idempotent: a module registers once, when first imported
        importlib.import_module(module)


def get(name) -> RunSource | None:
    """The source named ``name`` (run.json's ``method``), or None for an unknown one."""
    _builtin()
    return _SOURCES.get(name) if isinstance(name, str) else None


def names() -> list[str]:
    _builtin()
    return list(_SOURCES)


def folder_reader(path) -> FolderReader | None:
    """The reader of a folder that is not a run directory but reads as one, or None."""
    _builtin()
    path = Path(path)
    if (path / "run.json").exists():
        return None
    return next((r for r in _FOLDERS.values() if r.detect(path)), None)
