"""One module per paper; the registry maps a method name to its estimator class."""

from .dac import DAC
from .dscl import DSCL
from .jule import JULE
from .knet import KNet
from .secu import SeCu

METHODS = {"jule": JULE, "knet": KNet, "dac": DAC, "dscl": DSCL, "secu": SeCu}

DESCRIPTIONS = {
    "jule": "JULE (Yang et al., CVPR 2016): agglomerative clustering and a CNN learned together; clusters fall period by period",
    "dac": "DAC (Chang et al., ICCV 2017): pairwise same/different learning on confident pairs; label features drift to the k vertices of a circle",
    "dscl": "DSCL (Law et al., ICML 2017): supervised spectral metric learning on seen categories; t-SNE of categories never seen",
    "secu": "SeCu (Qian, ICCV 2023): online cluster discrimination with a size constraint; only the assigned centre moves",
    "knet": "KNet / KernelNet (Wu et al., SDM 2020): HSIC deep kernel; the kernel matrix turns block-diagonal",
}

__all__ = ["METHODS", "DESCRIPTIONS", "DAC", "DSCL", "JULE", "KNet", "SeCu"]
