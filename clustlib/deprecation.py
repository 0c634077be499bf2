"""Old names that still work until ``REMOVED_IN``, each with a DeprecationWarning that says
so. The renamed method parameters are each method's ``RENAMED``, the renamed figure
functions ``clustlib.viz``'s ``RENAMED``, the rest ``OTHERS``; CHANGELOG.md lists every
one of them (``tests/test_sources.py`` checks).
"""

from __future__ import annotations

import warnings

REMOVED_IN = "0.3.0"
OTHERS = {  # old name -> name now
    "dataset=": "data=",  # Run.from_estimator, Recorder, import_npz
    "--dataset": "--data",  # clustlib import
    "train_run(method, data, out, ...)": "train_run(TrainRequest(method, data, ...), out)",
    "n_iter_": "n_iter_",  # a fitted estimator's rounds, scikit-learn's name
}


def warn(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} is now {new}; the old name goes in clustlib {REMOVED_IN} (CHANGELOG.md).",
                  DeprecationWarning, stacklevel=stacklevel)


def old_keyword(value, old_value, where: str, old: str = "dataset", new: str = "data"):
    """A function's renamed keyword: ``old_value`` (given as ``old=``) stands for ``new=``
    when that was left out, with a DeprecationWarning; the value to use."""
    if old_value is None:
        return value
    warn(f"{where}({old}=)", f"{where}({new}=)", stacklevel=4)
    return value or old_value
