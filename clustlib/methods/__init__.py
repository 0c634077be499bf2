"""One module per paper; the registry maps a method name to its estimator class."""

from .dscl import DSCL
from .jule import JULE
from .knet import KNet

METHODS = {"jule": JULE, "knet": KNet, "dscl": DSCL}

DESCRIPTIONS = {
    "jule": "JULE (Yang et al., CVPR 2016): agglomerative clustering and a CNN learned together; clusters fall period by period",
    "dscl": "DSCL (Law et al., ICML 2017): supervised spectral metric learning on seen categories; t-SNE of categories never seen",
    "knet": "KNet / KernelNet (Wu et al., SDM 2020): HSIC deep kernel; the kernel matrix turns block-diagonal",
}

__all__ = ["METHODS", "DESCRIPTIONS", "DSCL", "JULE", "KNet"]
