"""clustlib: deep clustering methods from five papers behind one scikit-learn API.

>>> import clustlib
>>> est = clustlib.METHODS["knet"].from_preset("demo", n_clusters=2, random_state=0)
>>> ds = clustlib.load_dataset("moons:n=300")
>>> clustlib.metrics.nmi(ds.y, est.fit(ds.X).labels_) > 0.9
True
"""

import os as _os
import sys as _sys

# Idle OpenMP threads spin only briefly, then sleep (set before torch loads its OpenMP
# runtime, which reads this once). Spinning long (OpenMP's default) on a machine busy with
# other work took a fit 1.5x (two CPU burners) to 12x (a busy class server) as long;
# sleeping at once (OMP_WAIT_POLICY=PASSIVE) made a quiet machine's DAC epoch 1.3x as long.
# GNU OpenMP (torch's on Linux) spins 1,000 rounds: as fast as spinning when quiet, as
# robust as sleeping when busy; other runtimes sleep. Results do not change (they depend
# on the thread count, not on how threads wait); a user's own setting of either wins.
# docs/benchmarks.md ("A brief spin") has the measurements.
if not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(_os.environ):
    if _sys.platform.startswith("linux"):
        _os.environ["GOMP_SPINCOUNT"] = "1000"
    else:
        _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

from . import metrics  # noqa: E402 - after the OpenMP setting
from .base import Callback, DeepClusterer, Snapshot, StartListener  # noqa: E402
from .data import load_dataset, split_classes
from .dataset import Dataset, DatasetError  # noqa: E402
from .external import Recorder  # noqa: E402
from .methods import METHODS  # noqa: E402
from .request import TrainRequest  # noqa: E402
from .runs import Run, RunFormatError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["METHODS", "DeepClusterer", "Snapshot", "Callback", "StartListener", "Dataset",
           "DatasetError", "load_dataset", "split_classes", "Run", "RunFormatError", "Recorder",
           "TrainRequest", "metrics", "__version__"]
