"""Shared encoders, built from the input shape.

>>> from clustlib.nets import mlp
>>> mlp([2, 20, 20, 2])[0]
Linear(in_features=2, out_features=20, bias=True)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def mlp(widths: list[int], activation: type[nn.Module] = nn.ReLU,
        batch_norm: bool = False) -> nn.Sequential:
    """Fully connected layers ``widths[0] -> ... -> widths[-1]``, the activation between
    layers (none after the last)."""
    if len(widths) < 2 or any(int(w) < 1 for w in widths):
        raise ValueError(f"mlp widths must be >= 2 positive sizes, got {widths}.")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(int(a), int(b)))
        if i < len(widths) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(b)))
            layers.append(activation())
    return nn.Sequential(*layers)


def to_tensor(X, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(X, dtype=dtype, device=device)


@torch.no_grad()
def apply_batched(net: nn.Module, X, batch: int = 4096) -> torch.Tensor:
    """net(X) in eval mode, in chunks (bounded memory for large X); X a tensor or a data
    source (``clustlib.stream``: its chunks are read in order, from disk when lazy)."""
    was = net.training
    net.eval()
    out = torch.cat([net(x) for x in (X.split(batch) if torch.is_tensor(X) else X.chunks(batch))])
    net.train(was)
    return out


@torch.no_grad()
def recalibrate_bn(net: nn.Module, X, batch: int = 256) -> None:
    """Reset every BatchNorm's running statistics to their exact average over X ("precise
    BN"). On small sets an epoch is a dozen batches, so the running averages (momentum
    0.1) still lag the moving network and eval-mode features drift -- through the final
    BN before an L2 norm, all towards one direction. X is a tensor (read in chunks of
    ``batch``) or an iterable of batches. Leaves the net in its mode."""
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    was = net.training
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    net.train()
    for chunk in (X.split(batch) if torch.is_tensor(X) else X):
        if chunk.shape[0] > 1:  # BN cannot normalise a single sample
            net(chunk)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    net.train(was)


def fit_standardizer(X) -> tuple:
    """(mean, scale) that standardise vector data (N, d) feature-wise; images (N, H, W) /
    (N, C, H, W) are left as they are (mean 0, scale 1)."""

    if X.ndim != 2:
        return np.zeros(1, np.float32), np.ones(1, np.float32)
    return X.mean(0).astype(np.float32), (X.std(0) + 1e-8).astype(np.float32)


def net_tensors(net: nn.Module) -> dict:
    """A network's weights as numpy arrays under "net.<name>" (for a Run's model.pt)."""
    return {f"net.{k}": v.detach().cpu().numpy() for k, v in net.state_dict().items()}


def load_net_tensors(net: nn.Module, tensors: dict, device: torch.device) -> nn.Module:
    """Fill ``net`` from the "net.<name>" arrays of a Run; returns it on ``device`` in eval mode."""
    net.load_state_dict({k[4:]: torch.as_tensor(v) for k, v in tensors.items() if k.startswith("net.")})
    return net.to(device).eval()


class L2Norm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=1)


def jule_cnn(input_shape: tuple[int, ...], out_dim: int = 160, channels: int = 50,
             padding: str = "same", head_bn: bool = False) -> nn.Sequential:
    """JULE's CNNs (paper Table 9, the authors' ``models_def``): blocks of conv 5x5 (50
    channels), BN, ReLU, max-pool 2, stacked until the top map is about 10 x 10; then a
    linear layer to 160 and L2 normalisation. Vector input gets an MLP d -> 256 -> 160.

    ``padding="valid"`` is the authors' network exactly: unpadded convs, ceil max-pooling
    after a conv whose map is larger than 8 x 8, a new block while the map is larger than
    10 x 10 (USPS 16x16: conv-pool, 6x6 top; MNIST 28x28: conv-pool-conv, 8x8, no pool2 as
    in Table 9; COIL 128x128: 4 conv-pool blocks, 5x5). ``"same"`` (default, measured
    better, see docs/jule.md): padded convs, a pool after every block while the map is
    larger than 10 (MNIST gets a second pool, 7x7 top; 8x8 digits keep their 8x8 map).
    ``head_bn=False`` (default) is the authors' head -- linear, L2 norm -- with their
    ``NetInit`` (conv and linear weights N(0, 0.01), zero bias); True puts a BatchNorm
    before the L2 normalisation and keeps PyTorch's initialisation."""

    if padding not in ("valid", "same"):
        raise ValueError(f"padding={padding!r}; expected 'valid' (Table 9) or 'same'.")
    if len(input_shape) == 1:
        return nn.Sequential(mlp([input_shape[0], 256, out_dim], batch_norm=True), L2Norm())
    c, h, w = (1, *input_shape) if len(input_shape) == 2 else input_shape
    # (N, H, W) input gets its channel axis here
    layers: list[nn.Module] = [nn.Unflatten(1, (1, h))] if len(input_shape) == 2 else []
    while True:
        pad = 2 if padding == "same" or min(h, w) < 5 else 0
        layers += [nn.Conv2d(c, channels, 5, padding=pad), nn.BatchNorm2d(channels), nn.ReLU()]
        c, h, w = channels, h + 2 * pad - 4, w + 2 * pad - 4
        if min(h, w) > (10 if padding == "same" else 8):
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        if min(h, w) <= 10:
            break
    layers += [nn.Flatten(), nn.Linear(c * h * w, out_dim)]
    if head_bn:
        layers.append(nn.BatchNorm1d(out_dim))
    else:
        for m in layers:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
    return nn.Sequential(*layers, L2Norm())


def _channels_first(input_shape: tuple[int, ...]) -> tuple[list[nn.Module], int, int, int]:
    """(leading layers, C, H, W): (N, H, W) input gets its channel axis from nn.Unflatten."""
    if len(input_shape) == 2:
        return [nn.Unflatten(1, (1, input_shape[0]))], 1, input_shape[0], input_shape[1]
    c, h, w = input_shape
    return [], c, h, w


def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2), nn.BatchNorm2d(c_out), nn.ReLU()]


def allconv(input_shape: tuple[int, ...], n_out: int, width: int = 64) -> nn.Sequential:
    """DAC's All-ConvNets (supplementary Table 1), chosen by input size: two blocks of
    [conv, conv, strided conv] (64 then 128 channels), a 1x1 conv to ``n_out`` channels,
    global average pooling and BN. 3x3 kernels and stride 2 up to 32 px (MNIST, CIFAR),
    5x5 and stride 4 above (STL-10); 8x8 digits use the 3x3 net. ``width`` scales the
    channels (64 is the paper's). Vector input: MLP d -> 256 -> 256 -> n_out with BN."""
    if len(input_shape) == 1:
        return nn.Sequential(mlp([input_shape[0], 256, 256, n_out], batch_norm=True),
                             nn.BatchNorm1d(n_out))
    head, c, h, w = _channels_first(input_shape)
    k, s = (3, 2) if min(h, w) <= 32 else (5, 4)
    w1, w2 = width, 2 * width
    layers = head + _conv(c, w1, k) + _conv(w1, w1, k) + _conv(w1, w1, k, s)
    layers += _conv(w1, w2, k) + _conv(w2, w2, k) + _conv(w2, w2, k, s)
    layers += [nn.Conv2d(w2, n_out, 1), nn.BatchNorm2d(n_out), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.BatchNorm1d(n_out)]
    return nn.Sequential(*layers)


def encoder(input_shape: tuple[int, ...], out_dim: int, width: int = 32, hidden: int = 256) -> nn.Sequential:
    """A small feature encoder for DSCL and SeCu: for images, blocks of [3x3 conv, BN,
    ReLU] with width doubling and 2x2 max-pooling while the map is larger than 4 px, then
    a hidden layer of ``hidden`` units (BN, ReLU) and a linear layer (``hidden=0``: the
    linear layer alone); for vectors an MLP d -> hidden -> hidden -> out_dim with BN."""
    if len(input_shape) == 1:
        return mlp([input_shape[0], hidden, hidden, out_dim] if hidden > 0 else [input_shape[0], out_dim],
                   batch_norm=True)
    layers, c, h, w = _channels_first(input_shape)
    ch = width
    while True:
        layers += _conv(c, ch, 3) + _conv(ch, ch, 3)
        c = ch
        if min(h, w) <= 4:
            break
        layers.append(nn.MaxPool2d(2))
        h, w, ch = h // 2, w // 2, min(ch * 2, 256)
    if hidden <= 0:  # a linear map of the conv features (they keep more of unseen classes' structure)
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * h * w, out_dim))
    layers += [nn.Flatten(), nn.Linear(c * h * w, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
               nn.Linear(hidden, out_dim)]
    return nn.Sequential(*layers)


def affine_views(input_shape: tuple[int, ...], strength: float, group: int = 8):
    """Random affine views with torchvision transforms v2 (rotation 10 deg, shifts 0.1,
    zoom 0.1 at strength 1, as in the paper); ``None`` for vector data. v2 draws one
    transform per call, so the batch is transformed in groups of ``group`` samples
    (group=1: a transform per sample, slower on a CPU)."""
    if len(input_shape) == 1 or strength <= 0:
        return None
    from torchvision.transforms import v2

    aff = v2.RandomAffine(degrees=10 * strength, translate=(0.1 * strength, 0.1 * strength),
                          scale=(1 - 0.1 * strength, 1 + 0.1 * strength))
    flat = len(input_shape) == 2

    def views(x: torch.Tensor) -> torch.Tensor:
        x4 = x[:, None] if flat else x
        out = torch.cat([aff(x4[i:i + group]) for i in range(0, x4.shape[0], group)])
        return out[:, 0] if flat else out

    return views


def noise_views(scale: float = 0.1, drop: float = 0.1):
    """Views of (standardised) vectors: Gaussian noise of std ``scale`` and each feature
    zeroed with probability ``drop`` (dropout-style masking)."""
    def views(x: torch.Tensor) -> torch.Tensor:
        keep = (torch.rand_like(x) >= drop).to(x.dtype)
        return (x + scale * torch.randn_like(x)) * keep

    return views
