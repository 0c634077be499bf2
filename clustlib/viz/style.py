"""What every figure shares: colours, the compact template, frame and point sampling,
titles, the animation controls and the compaction that keeps a page's figures small."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"]


LIGHT = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#fcbba1", "#dadaeb", "#d9d9d9", "#fde0ef", "#e5f5e0",
         "#ffffcc", "#d0f0f0", "#bcbddc", "#fee6ce", "#c7eae5", "#f2f0f7", "#e7e1ef"]


TEMPLATE = go.layout.Template(layout={  # plotly_white's look in 0.3 KB (its own is 8 KB in every figure)
    "paper_bgcolor": "white", "plot_bgcolor": "white", "colorway": PALETTE, "hovermode": "closest",
    "font": {"color": "#2a3f5f"}, "title": {"x": 0.05},
    "xaxis": {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "automargin": True},
    "yaxis": {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "automargin": True}})


ANIM_POINTS = 500  # points an animation draws in every frame (a stratified sample of the tracked ones)


def _discrete(colors: list[str]) -> list:
    """A colorscale that gives integer i the color ``colors[i]`` (with cmin=-0.5,
    cmax=n-0.5): per-point colors sent as small integers, not as a hex string each."""
    n = len(colors)
    return [pair for i, c in enumerate(colors) for pair in ([i / n, c], [(i + 1) / n, c])]


def _colored(codes, colors: list[str], **marker) -> dict:
    """A marker dict colouring point i with ``colors[codes[i]]``."""
    return {**marker, "color": np.asarray(codes, dtype=np.int8 if len(colors) < 128 else np.int16),
            "colorscale": _discrete(colors), "cmin": -0.5, "cmax": len(colors) - 0.5, "showscale": False}


def _f32(a) -> np.ndarray:
    """Coordinates as float32 (4 bytes a number in the figure spec, not 8 or a decimal string)."""
    return np.asarray(a, dtype=np.float32)


def drawn_points(m: int, cap: int = ANIM_POINTS) -> np.ndarray:
    """Which of m tracked points an animation draws: all up to ``cap``, else ``cap`` evenly
    spaced ones (tracked points are in dataset order, so every class keeps its share)."""
    return np.arange(m) if m <= cap else np.unique(np.linspace(0, m - 1, cap).round().astype(int))


def _drawn_note(m: int, keep: np.ndarray) -> str:
    return f" · {len(keep):,} of {m:,} points drawn" if len(keep) < m else ""


def class_color(c) -> str:
    """The color of class (or group) id ``c``: the same in every chart of the app."""
    return PALETTE[int(c) % len(PALETTE)]


def frame_indices(n: int, max_frames: int = 50) -> list[int]:
    """At most max_frames indices out of n, always keeping the first and the last."""
    if n <= max_frames:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, max_frames)})


def to_2d(embeddings: list[np.ndarray]) -> list[np.ndarray]:
    """Project every frame with one PCA (fitted on the last frame) so frames are comparable."""
    last = embeddings[-1].astype(np.float64)
    if last.shape[1] <= 2:
        return [np.pad(e, ((0, 0), (0, 2 - e.shape[1]))) for e in embeddings]
    mean = last.mean(0)
    _, _, vt = np.linalg.svd(last - mean, full_matrices=False)
    return [(e - mean) @ vt[:2].T for e in embeddings]


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    return a == b


def _flat(trace: dict) -> dict:
    """A trace's properties one level deep: {"x": .., ("marker", "color"): .., ...}."""
    out = {}
    for k, v in trace.items():
        if isinstance(v, dict):
            out.update({(k, sub): w for sub, w in v.items()})
        else:
            out[k] = v
    return out


def _compact(fig: go.Figure) -> None:
    """Frames that carry only the properties that change from frame to frame (the
    coordinates, a color per point, an image): a trace's name, legend group, marker size
    and hover settings -- and a trace that never changes (DAC's vertices) -- are sent
    once, in the figure's own data. Plotly merges a frame into the traces it names."""
    if not fig.frames:
        return
    frames = [[_flat(t.to_plotly_json()) for t in fr.data] for fr in fig.frames]
    base = [_flat(t.to_plotly_json()) for t in fig.data]
    width = min(len(base), *(len(f) for f in frames))
    varying = []
    for i in range(width):
        keys = set(base[i]).union(*(f[i] for f in frames)) - {"type"}
        varying.append({k for k in keys if any(k not in f[i] or not _same(f[i][k], base[i].get(k)) for f in frames)})
    changed = [i for i in range(width) if varying[i]]
    slim = []
    for fr, flat in zip(fig.frames, frames):
        data = []
        for i in changed:
            d: dict = {"type": flat[i]["type"]}
            for k in varying[i]:
                if isinstance(k, tuple):
                    d.setdefault(k[0], {})[k[1]] = flat[i].get(k)
                else:
                    d[k] = flat[i].get(k)
            data.append(d)
        slim.append(go.Frame(data=data, traces=changed, name=fr.name, layout=fr.layout))
    fig.frames = slim


def _animation_layout(fig: go.Figure, labels: list[str], duration: int = 500) -> None:
    """Play (one frame per ``duration`` ms), Fast (4x) and Pause on the left, the frame
    slider to their right, the current frame's name above the slider; no labels under
    the slider's ticks (50 of them overlapped and the last was clipped). One frame: no
    controls at all (a live picture of the latest round). Frames are made compact
    (:func:`_compact`)."""
    _compact(fig)
    if len(labels) <= 1:
        fig.update_layout(margin={"l": 50, "r": 10, "t": 70, "b": 50})
        return

    def play(ms):
        return [None, {"frame": {"duration": ms, "redraw": True}, "fromcurrent": True,
                       "transition": {"duration": 0}}]

    steps = [{"args": [[name], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate",
                                "transition": {"duration": 0}}],
              "label": name, "method": "animate"} for name in labels]
    fig.update_layout(
        updatemenus=[{"type": "buttons", "showactive": False, "x": 0.0, "y": -0.1,
                      "xanchor": "left", "yanchor": "top", "direction": "left", "pad": {"r": 4, "t": 28},
                      "buttons": [
                          {"label": "▶ Play", "method": "animate", "args": play(duration)},
                          {"label": "▶▶ Fast", "method": "animate", "args": play(max(duration // 4, 50))},
                          {"label": "❚❚ Pause", "method": "animate",
                           "args": [[None], {"frame": {"duration": 0, "redraw": False},
                                             "mode": "immediate"}]}]}],
        # a full-width slider under the buttons; the frame's name on the buttons' row, right
        sliders=[{"active": 0, "x": 0.0, "len": 1.0, "y": -0.1, "yanchor": "top", "pad": {"t": 70, "b": 0},
                  "font": {"color": "rgba(0,0,0,0)", "size": 1}, "ticklen": 3,
                  "currentvalue": {"visible": True, "xanchor": "right", "prefix": "", "offset": 6,
                                   "font": {"size": 13, "color": "#333"}},
                  "steps": steps}],
        margin={"l": 50, "r": 10, "t": 70, "b": 150})


def _title(s, extra: str = "") -> str:
    bits = [s.stage]
    if "n_clusters" in s.scalars:
        bits.append(f"{int(s.scalars['n_clusters'])} clusters")
    for key, fmt in (("nmi", ".3f"), ("hsic", ".4g")):
        if key in s.scalars:
            bits.append(f"{key.upper()} {s.scalars[key]:{fmt}}")
    return " · ".join(bits) + extra


def _head(title: str, detail: str = "") -> str:
    """A chart's title on one line and the frame's details (stage, clusters, NMI) on a
    second, smaller one: one long line ran under the chart's toolbar and was cut off at
    the chart's edge (1366 px screens, two charts side by side)."""
    return f"<b>{title}</b>" + (f"<br><span style='font-size:12px'>{detail}</span>" if detail else "")


LEGEND = {"font": {"size": 11}, "tracegroupgap": 0, "itemsizing": "constant"}  # no scrolling for 10-20 classes


def _axes(points: np.ndarray) -> tuple[dict, dict]:
    lo, hi = points.min(0), points.max(0)
    pad = 0.05 * np.maximum(hi - lo, 1e-9)
    return ({"range": [float(lo[0] - pad[0]), float(hi[0] + pad[0])], "zeroline": False},
            {"range": [float(lo[1] - pad[1]), float(hi[1] + pad[1])], "zeroline": False})


def _points(**kw):
    """A scatter of tracked points: SVG (they are bounded by ``track_max``). A new WebGL
    context for every chart (and every live redraw) is what a browser without a GPU --
    a projector's laptop, a headless test -- spends its CPU on."""
    n = len(kw.get("x", ()))
    for axis in ("x", "y"):
        if axis in kw:
            kw[axis] = _f32(kw[axis])
    return (go.Scatter if n <= 3000 else go.Scattergl)(**kw)


def _class_traces(p: np.ndarray, y: np.ndarray, classes, names: dict | None, size: int = 5) -> list:
    """One Scattergl per class (the legend), the same classes in every frame."""
    return [_points(x=p[y == c, 0], y=p[y == c, 1], mode="markers", name=(names or {}).get(int(c), f"class {int(c)}"),
                         legendgroup=str(c), hoverinfo="name",
                         marker={"size": size, "color": class_color(c), "opacity": 0.8}) for c in classes]


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def wrap(text: str, width: int = 44) -> str:
    """A chart title broken into lines of at most ``width`` characters (``<br>``): a long
    one-line title ran under the chart's toolbar and past its edge at 1366 px."""
    lines, line = [], ""
    for word in str(text).split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join([*lines, line])
