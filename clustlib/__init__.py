"""clustlib: deep clustering methods from five papers behind one scikit-learn API.

>>> import clustlib
>>> est = clustlib.METHODS["knet"].from_preset("demo", n_clusters=2, random_state=0)
>>> ds = clustlib.load_dataset("moons:n=300")
>>> clustlib.metrics.nmi(ds.y, est.fit(ds.X).labels_) > 0.9
True
"""

from . import metrics
from .base import Callback, DeepClusterer, Snapshot, StartListener
from .data import Dataset, DatasetError, load_dataset, split_classes
from .external import Recorder
from .methods import METHODS
from .runs import Run, RunFormatError
from .train import TrainRequest

__version__ = "0.1.0"
__all__ = ["METHODS", "DeepClusterer", "Snapshot", "Callback", "StartListener", "Dataset",
           "DatasetError", "load_dataset", "split_classes", "Run", "RunFormatError", "Recorder",
           "TrainRequest", "metrics", "__version__"]
