"""One module per paper; the registry maps a method name to its estimator class."""

from .jule import JULE
from .knet import KNet

METHODS = {"jule": JULE, "knet": KNet}

DESCRIPTIONS = {
    "jule": "JULE (Yang et al., CVPR 2016): agglomerative clustering and a CNN learned together; clusters fall period by period",
    "knet": "KNet / KernelNet (Wu et al., SDM 2020): HSIC deep kernel; the kernel matrix turns block-diagonal",
}

__all__ = ["METHODS", "DESCRIPTIONS", "JULE", "KNet"]
