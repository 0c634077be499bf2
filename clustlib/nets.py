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
