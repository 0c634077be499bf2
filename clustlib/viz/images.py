"""Sample images: montages and grids of the images of each cluster."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go


def image_montage(images: np.ndarray, lo: float | None = None, hi: float | None = None,
                  min_px: int = 0, per_row: int | None = None) -> np.ndarray:
    """(n, H, W) or (n, C, H, W) -> one grey/RGB uint8 picture with 2 px gaps, values
    mapped from [lo, hi] (default: the images' own range) to [0, 255]. Each image is
    enlarged by whole pixels to at least ``min_px`` high (8 x 8 digits: 64 px, no
    blur), and rows hold at most ``per_row`` images (default: one row)."""
    imgs = np.asarray(images, dtype=np.float64)
    if imgs.ndim == 4:
        imgs = imgs.transpose(0, 2, 3, 1)
        imgs = imgs[..., 0] if imgs.shape[-1] == 1 else imgs
    lo = imgs.min() if lo is None else lo
    hi = imgs.max() if hi is None else hi
    imgs = (imgs - lo) / (hi - lo) if hi > lo else np.zeros_like(imgs)
    scale = max(1, -(-int(min_px) // imgs.shape[1]))
    imgs = imgs.repeat(scale, axis=1).repeat(scale, axis=2)
    per_row = per_row or len(imgs)
    if len(imgs) % per_row:  # blank tiles complete the last row
        imgs = np.concatenate([imgs, np.ones((per_row - len(imgs) % per_row,) + imgs.shape[1:])])
    gap_shape = (imgs.shape[1], 2) + imgs.shape[3:]
    rows = []
    for start in range(0, len(imgs), per_row):
        parts = []
        for im in imgs[start:start + per_row]:
            parts += [im, np.ones(gap_shape)]
        row = np.concatenate(parts[:-1], axis=1)
        rows += [row, np.ones((2,) + row.shape[1:])]  # 2 px between rows
    return (np.concatenate(rows[:-1], axis=0) * 255).astype(np.uint8)


def cluster_grid(images: np.ndarray, labels: np.ndarray, n_clusters: int = 8, per_cluster: int = 10,
                 min_px: int = 28) -> tuple[np.ndarray, str]:
    """Sample images of the largest clusters, one row per cluster (largest first), as one
    RGB uint8 picture (small images enlarged by whole pixels to ``min_px``), and a line
    naming the rows' clusters and sizes."""
    labels = np.asarray(labels)
    ids, counts = np.unique(labels, return_counts=True)
    top = ids[np.argsort(-counts, kind="stable")][:n_clusters]
    lo, hi = float(np.min(images)), float(np.max(images))  # one scale for the whole grid
    rows = []
    for c in top:
        members = np.flatnonzero(labels == c)[:per_cluster]
        sample = images[members]
        if len(members) < per_cluster:  # pad short rows with light grey tiles (not a black image)
            pad = np.full((per_cluster - len(members),) + sample.shape[1:], lo + 0.85 * (hi - lo))
            sample = np.concatenate([sample, pad])
        rows.append(image_montage(sample, lo, hi, min_px=min_px))
    gap = np.full((3,) + rows[0].shape[1:], 255, np.uint8)
    grid = np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=0)
    if grid.ndim == 2:
        grid = np.repeat(grid[..., None], 3, axis=2)
    sizes = ", ".join(f"#{int(c)}: {int(n)}" for c, n in zip(top, np.sort(counts)[::-1][:n_clusters]))
    return grid, sizes


def png_uri(rgb: np.ndarray) -> str:
    """An RGB uint8 picture as a PNG data URI (a tenth of the bytes of its pixel array in JSON)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def cluster_image_grid(images: np.ndarray, labels: np.ndarray, n_clusters: int = 8,
                       per_cluster: int = 10, title: str = "") -> go.Figure:
    """:func:`cluster_grid` as a figure (a PNG), so a class can see what got merged (JULE)."""
    grid, sizes = cluster_grid(images, labels, n_clusters, per_cluster)
    fig = go.Figure(go.Image(source=png_uri(grid), hoverinfo="skip"))
    fig.update_layout(title=title or f"Largest clusters ({sizes})", height=60 + grid.shape[0],
                      xaxis={"visible": False, "range": [0, grid.shape[1]]},
                      yaxis={"visible": False, "range": [grid.shape[0], 0], "scaleanchor": "x"},
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
