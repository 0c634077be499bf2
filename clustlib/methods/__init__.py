"""One module per paper; the registry maps a method name to its estimator class."""

from .knet import KNet

METHODS = {"knet": KNet}

DESCRIPTIONS = {
    "knet": "KNet / KernelNet (Wu et al., SDM 2020): HSIC deep kernel; the kernel matrix turns block-diagonal",
}

__all__ = ["METHODS", "DESCRIPTIONS", "KNet"]
