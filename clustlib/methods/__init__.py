"""One module per paper; the registry finds them.

Every module of this package that defines a :class:`~clustlib.base.DeepClusterer`
subclass with an ``ABOUT`` is a method: ``METHODS`` maps its name to the class, in the
order of the papers' years. Adding a method is its module here, its page
``app_pages/<name>.py`` and its test file ``tests/test_<name>.py`` (docs/architecture.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from .. import sources
from ..base import DeepClusterer


def _discover() -> dict[str, type[DeepClusterer]]:
    found = []
    for mod_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{mod_info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, DeepClusterer) and obj.__module__ == module.__name__
                    and "ABOUT" in vars(obj)):
                found.append(obj)
    found.sort(key=lambda cls: (cls.ABOUT.year, cls.ABOUT.name))
    methods = {cls.ABOUT.name: cls for cls in found}
    if len(methods) != len(found):
        raise ImportError("two clustlib methods share a name: " + ", ".join(c.ABOUT.name for c in found))
    return methods


METHODS: dict[str, type[DeepClusterer]] = _discover()
globals().update({cls.__name__: cls for cls in METHODS.values()})  # clustlib.methods.JULE, ...

__all__ = ["METHODS", *(cls.__name__ for cls in METHODS.values())]


def _source(cls: type[DeepClusterer]) -> sources.RunSource:
    """A method as a run source: its parameters from run.json (JSON has no tuples: a list
    parameter was one), its networks from model.pt."""

    def build(params: dict, doc: dict) -> DeepClusterer:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})

    def restore(est: DeepClusterer, doc: dict, tensors: dict, arrays: dict) -> None:
        est._load_state(tensors, doc["state"])

    return sources.RunSource(cls.ABOUT.name, build, restore, network=True, demo=cls.ABOUT.demo,
                             upgrade=lambda params: cls.renamed(params, warn=False))


for _cls in METHODS.values():
    sources.register(_source(_cls))
