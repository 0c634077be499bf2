"""KNet's kernel matrix turning block-diagonal: block-averaged, sent as compact PNG
images, one frame per snapshot."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go

from .style import TEMPLATE, _animation_layout, _head, _title, frame_indices


def block_average(M: np.ndarray, max_px: int = 256) -> np.ndarray:
    """Average an (m, m) matrix over contiguous blocks down to at most max_px x max_px."""
    m = M.shape[0]
    if m <= max_px:
        return M
    groups = np.array_split(np.arange(m), max_px)
    P = np.zeros((max_px, m), dtype=np.float64)
    for g, idx in enumerate(groups):
        P[g, idx] = 1.0 / idx.size
    return P @ M @ P.T


def gaussian_kernel_np(Z: np.ndarray, sigma: float) -> np.ndarray:
    Z = Z.astype(np.float64)
    sq = (Z * Z).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * Z @ Z.T, 0)
    return np.exp(-d2 / (2 * sigma * sigma))


def kernel_rgb(values: np.ndarray) -> np.ndarray:
    """[0, 1] kernel values -> white-to-dark-blue uint8 RGB (KNet Appendix E colors)."""
    v = np.clip(values, 0, 1)[..., None]
    return ((1 - v) * np.array([255, 255, 255]) + v * np.array([8, 48, 107])).astype(np.uint8)


def _png(values: np.ndarray, levels: int = 64) -> str:
    """[0, 1] values -> a palette PNG data URI of ``levels`` shades of the kernel ramp
    (a sixth of the bytes of the RGB picture; 64 shades are more than the eye tells
    apart on this ramp)."""
    from PIL import Image

    q = np.clip(np.round(np.asarray(values) * (levels - 1)), 0, levels - 1).astype(np.uint8)
    img = Image.fromarray(q, "P")
    img.putpalette(kernel_rgb(np.linspace(0, 1, levels)).reshape(-1).tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def kernel_order(final_labels: np.ndarray, track_y=None) -> np.ndarray:
    """Row order: by final cluster, then by true label inside a cluster."""
    keys = [np.asarray(final_labels)]
    if track_y is not None:
        keys.insert(0, np.asarray(track_y))
    return np.lexsort(keys)


def kernel_heatmap_animation(trace, sigma: float | None = None, track_y=None, max_px: int = 200,
                             max_frames: int = 50, title: str = "Learned kernel",
                             by_label: bool = False) -> go.Figure:
    """The Gaussian kernel of the tracked points' embedding, rows sorted by final cluster
    (or, with ``by_label``, by true label only, as in KNet's figures), block-averaged to
    <= max_px and animated over rounds: it turns block-diagonal (KNet Fig. 1, 4-7), white 0
    to dark blue 1. sigma defaults to the snapshots' ``sigma`` scalar."""
    snaps = [trace[i] for i in frame_indices(len(trace), max_frames)]
    snaps = [s for s in snaps if s.embedding is not None]
    if not snaps:
        raise ValueError("the trace has no embeddings to build kernels from.")
    sig = sigma if sigma is not None else snaps[-1].scalars.get("sigma")
    if not sig or sig <= 0:
        raise ValueError("kernel_heatmap_animation needs sigma > 0 (none was recorded in the trace).")
    if by_label and track_y is not None:
        order = np.argsort(np.asarray(track_y), kind="stable")
    else:
        order = kernel_order(trace[-1].labels, track_y)
    images = [_png(block_average(gaussian_kernel_np(s.embedding[order], sig), max_px)) for s in snaps]
    size = min(len(order), max_px)

    def image(src):
        return go.Image(source=src, hoverinfo="skip")

    fig = go.Figure(data=[image(images[0])],
                    frames=[go.Frame(data=[image(src)], name=s.stage,
                                     layout={"title": {"text": _head(title, _title(s))}})
                            for src, s in zip(images, snaps)])
    fig.update_layout(title={"text": _head(title, _title(snaps[0]))}, height=480,
                      xaxis={"range": [0, size], "showticklabels": False, "showgrid": False, "zeroline": False,
                             "title": "tracked points, " + ("by true class" if by_label else "by final cluster")},
                      yaxis={"range": [size, 0], "scaleanchor": "x", "showticklabels": False, "showgrid": False,
                             "zeroline": False, "title": "the same points"},
                      template=TEMPLATE)
    _animation_layout(fig, [s.stage for s in snaps])
    return fig
