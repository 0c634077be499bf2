"""clustlib: deep clustering methods from five papers behind one scikit-learn API.

>>> import clustlib
>>> est = clustlib.METHODS["knet"].from_preset("demo", n_clusters=2, random_state=0)
>>> ds = clustlib.load_dataset("moons:n=300")
>>> clustlib.metrics.nmi(ds.y, est.fit(ds.X).labels_) > 0.9
True
"""

import os as _os

# Idle OpenMP threads sleep instead of spinning (before torch loads its OpenMP runtime, which
# reads this once): on a machine busy with other work, two spinning threads of a fit took
# 1.5x (two CPU burners) to 12x (a busy class server) as long; on a quiet machine the same.
# Results do not change (they depend on the thread count, not on how threads wait); a
# user's own setting wins. clustlib.cpu and docs/benchmarks.md have the measurements.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
