"""Shared encoders, built from the input shape.

>>> from clustlib.nets import mlp
>>> mlp([2, 20, 20, 2])[0]
Linear(in_features=2, out_features=20, bias=True)
"""

from __future__ import annotations

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
def apply_batched(net: nn.Module, X: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """net(X) in eval mode, in chunks (bounded memory for large X)."""
    was = net.training
    net.eval()
    out = torch.cat([net(X[i:i + batch]) for i in range(0, X.shape[0], batch)])
    net.train(was)
    return out


class L2Norm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=1)


def jule_cnn(input_shape: tuple[int, ...], out_dim: int = 160, channels: int = 50) -> nn.Sequential:
    """JULE's CNNs (paper Table 9): blocks of conv 5x5 (50 channels), BN, ReLU, max-pool 2
    while the map is larger than 10 x 10, so the top map is about 10 x 10 (USPS 16x16: 1
    block, MNIST 28x28: 2, COIL 128x128: 4); then a linear layer to 160 and L2
    normalisation. Vector input gets an MLP d -> 256 -> 160 instead."""
    import math

    if len(input_shape) == 1:
        return nn.Sequential(mlp([input_shape[0], 256, out_dim], batch_norm=True), L2Norm())
    c, h, w = (1, *input_shape) if len(input_shape) == 2 else input_shape
    size = min(h, w)
    blocks = max(1, math.ceil(math.log2(size / 10))) if size > 10 else 1
    # (N, H, W) input gets its channel axis here
    layers: list[nn.Module] = [nn.Unflatten(1, (1, h))] if len(input_shape) == 2 else []
    for _ in range(blocks):
        layers += [nn.Conv2d(c, channels, 5, padding=2), nn.BatchNorm2d(channels), nn.ReLU()]
        c = channels
        if min(h, w) > 10:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
    # BN before the L2 normalisation centres the 160-d output: without it the ReLU maps
    # make all outputs nearly parallel (mean cosine 0.99) and the triplet gradients vanish
    layers += [nn.Flatten(), nn.Linear(c * h * w, out_dim), nn.BatchNorm1d(out_dim), L2Norm()]
    return nn.Sequential(*layers)
