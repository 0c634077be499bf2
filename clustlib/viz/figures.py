"""Pure Plotly figure builders: Snapshots in, ``go.Figure`` out. No streamlit, no torch.

Animations are client-side Plotly frames with a play button and a slider, axis
ranges fixed across frames, at most ``max_frames`` frames; heatmaps are block-averaged
and sent as compact PNG images.

>>> import numpy as np
>>> from clustlib.base import Snapshot
>>> snaps = [Snapshot(r, f"it {r}", np.zeros(4, int), np.random.rand(4, 2), {"nmi": 0.5}, {}) for r in range(3)]
>>> len(embedding_animation(snaps).frames)
3
"""

from __future__ import annotations

import base64
import html
import io

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


def embedding_animation(trace, track_y=None, color_by: str = "cluster", max_frames: int = 50,
                        title: str = "Embedding", frame_axes: bool = True, names: dict | None = None,
                        legend: str = "true class") -> go.Figure:
    """Animated scatter of the tracked points' embedding, one frame per round (one PCA,
    of the last frame, to 2-D when wider), coloured by true label (a legend entry per
    class, ``names`` for their names) or by current cluster (``color_by="cluster"``).
    ``frame_axes`` (default): each frame zooms to its own points, so an early embedding
    is not a dot in the final frame's range (and KNet's psi contracting clusters stay
    visible); False: one range fits every frame."""
    snaps = [trace[i] for i in frame_indices(len(trace), max_frames)]
    snaps = [s for s in snaps if s.embedding is not None]
    if not snaps:
        raise ValueError("the trace has no embeddings to animate.")
    m = snaps[0].embedding.shape[0]
    keep = drawn_points(m)
    pts = [p[keep] for p in to_2d([s.embedding for s in snaps])]
    by_label = color_by == "label" and track_y is not None
    y = np.asarray(track_y)[keep] if by_label else None
    classes = np.unique(y) if by_label else None
    wide = snaps[-1].embedding.shape[1] > 2
    note = _drawn_note(m, keep)

    def frame_layout(p, s):
        out = {"title": {"text": _head(title, _title(s) + note)}}
        if frame_axes:
            out["xaxis"], out["yaxis"] = _axes(p)
        return out

    def data(p, s):
        if by_label:
            return _class_traces(p, y, classes, names)
        return [_points(x=p[:, 0], y=p[:, 1], mode="markers", hoverinfo="skip", showlegend=False,
                        marker=_colored(s.labels[keep] % len(PALETTE), PALETTE, size=5, opacity=0.8))]

    fig = go.Figure(data=data(pts[0], snaps[0]),
                    frames=[go.Frame(data=data(p, s), name=s.stage, layout=frame_layout(p, s))
                            for p, s in zip(pts, snaps)])
    x_axis, y_axis = _axes(pts[0] if frame_axes else np.vstack(pts))
    what = "PCA axis {} of the last frame" if wide else "embedding dimension {}"
    fig.update_layout(title={"text": _head(title, _title(snaps[0]) + note)}, height=500, template=TEMPLATE,
                      xaxis={**x_axis, "title": what.format(1)}, yaxis={**y_axis, "title": what.format(2)},
                      legend_title_text=legend if by_label else None, legend=LEGEND)
    _animation_layout(fig, [s.stage for s in snaps])
    return fig


def lineage_colors(trace) -> list[dict]:
    """Colours of every cluster in every Snapshot that persist through merges: a cluster
    takes the color of its parent with most (tracked) members, so a merged cluster keeps
    its larger parent's color. The k final clusters get k distinct strong colors: each
    is given to the initial cluster at the root of its chain of larger parents; the
    other initial clusters get light colors, and fade out as they are absorbed."""
    labels = [np.asarray(s.labels) for s in trace]
    parent = []  # parent[t][c]: the cluster of frame t-1 that gave cluster c of frame t most members
    for prev, cur in zip(labels, labels[1:]):
        links = {}
        for c in np.unique(cur):
            ids, counts = np.unique(prev[cur == c], return_counts=True)
            links[int(c)] = int(ids[np.argmax(counts)])
        parent.append(links)
    final, sizes = np.unique(labels[-1], return_counts=True)
    roots = {}
    for rank, c in enumerate(final[np.argsort(-sizes, kind="stable")]):
        r = int(c)
        for links in reversed(parent):
            r = links[r]
        roots.setdefault(r, PALETTE[rank % len(PALETTE)])
    colors = [{int(c): roots.get(int(c), LIGHT[int(c) % len(LIGHT)]) for c in np.unique(labels[0])}]
    for links in parent:
        colors.append({c: colors[-1][p] for c, p in links.items()})
    return colors


def merge_animation(trace, xy: np.ndarray, max_frames: int = 50, title: str = "Merge stages",
                    layout_name: str = "t-SNE of the final features", last_only: bool = False) -> go.Figure:
    """JULE's picture: the tracked points at one fixed 2-D position for every frame
    (``xy``, e.g. a t-SNE of the last period's learned features), coloured by their
    cluster at each period with :func:`lineage_colors` -- clusters visibly absorb their
    neighbours period by period, and the frame never moves under the eye."""
    m = len(xy)
    keep = drawn_points(m)
    xy = np.asarray(xy, dtype=np.float64)[keep]
    idx = [len(trace) - 1] if last_only else frame_indices(len(trace), max_frames)
    colors = lineage_colors(trace)
    every = PALETTE + LIGHT
    code = {c: i for i, c in enumerate(every)}
    note = _drawn_note(m, keep)

    def data(i):
        labels = trace[i].labels[keep]
        return [_points(x=xy[:, 0], y=xy[:, 1], mode="markers", showlegend=False,
                        customdata=labels.astype(np.int16), hovertemplate="cluster %{customdata}<extra></extra>",
                        marker=_colored([code[colors[i][int(c)]] for c in labels], every, size=8, opacity=0.9,
                                         line={"width": 0.4, "color": "#777"}))]

    fig = go.Figure(data=data(idx[0]), frames=[go.Frame(data=data(i), name=trace[i].stage,
                                                        layout={"title": {"text": _head(title, _title(trace[i]) + note)}})
                                               for i in idx])
    x_axis, y_axis = _axes(xy)
    fig.update_layout(title={"text": _head(title, _title(trace[idx[0]]) + note)}, height=520, template=TEMPLATE,
                      xaxis={**x_axis, "title": f"{layout_name}, axis 1", "showticklabels": False},
                      yaxis={**y_axis, "title": f"{layout_name}, axis 2", "showticklabels": False})
    _animation_layout(fig, [trace[i].stage for i in idx])
    return fig


def merge_flow(trace, min_share: float = 0.02, max_periods: int = 8, title: str = "How clusters merged") -> go.Figure:
    """A Sankey of cluster sizes from period to period down to k (the last ``max_periods``
    Snapshots): one node per cluster holding at least ``min_share`` of the tracked points
    (the rest pooled as "smaller clusters"), links weighted by the points that moved,
    nodes in :func:`lineage_colors`."""
    colors = lineage_colors(trace)
    first = max(0, len(trace) - max_periods)
    frames = list(range(first, len(trace)))
    m = len(trace[-1].labels)
    node_of, labels, node_colour = [], [], []
    for t in frames:
        ids, counts = np.unique(trace[t].labels, return_counts=True)
        mapping, small = {}, None
        for c, n in sorted(zip(ids.tolist(), counts.tolist()), key=lambda x: -x[1]):
            if n >= min_share * m:
                mapping[c] = len(labels)
                labels.append(f"{n}")
                node_colour.append(colors[t][c])
            else:
                if small is None:
                    small = len(labels)
                    labels.append("smaller clusters")
                    node_colour.append("#e0e0e0")
                mapping[c] = small
        node_of.append(mapping)
    src, dst, val, link_colour = [], [], [], []
    for a, b in zip(range(len(frames) - 1), range(1, len(frames))):
        pairs, counts = np.unique(np.stack([[node_of[a][int(c)] for c in trace[frames[a]].labels],
                                            [node_of[b][int(c)] for c in trace[frames[b]].labels]]),
                                  axis=1, return_counts=True)
        for (i, j), n in zip(pairs.T.tolist(), counts.tolist()):
            src.append(i)
            dst.append(j)
            val.append(n)
            link_colour.append(_rgba(node_colour[j], 0.35))
    fig = go.Figure(go.Sankey(arrangement="snap", node={"label": labels, "color": node_colour, "pad": 6,
                                                        "thickness": 14, "line": {"width": 0}},
                              link={"source": src, "target": dst, "value": val, "color": link_colour}))
    stages = " → ".join(trace[t].stage.split()[-1] if t else "init" for t in frames)
    fig.update_layout(title=f"{title} (periods {stages}; node = cluster, its number = tracked points)",
                      height=420, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


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


NAMES = {"nmi": "NMI", "acc": "ACC", "ari": "ARI", "loss": "loss", "n_clusters": "clusters",
         "u": "u (same-pair threshold)", "l": "l (different-pair threshold)", "selected": "share of pairs selected",
         "similar": "share judged same", "pair_loss": "pair loss", "balance_loss": "anti-collapse loss",
         "block_contrast": "block contrast (learned)", "input_contrast": "block contrast (input)",
         "kernel_change": "kernel change", "u_change": "U change", "smallest_over_floor": "smallest / floor"}


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


def metric_curves(trace, keys: list[str], title: str = "", x_title: str | None = None,
                  right: tuple = (), levels: dict | None = None) -> go.Figure:
    """Line chart of scalar(s) over rounds, each named in the legend; the keys in
    ``right`` on a second y axis of their own (JULE's NMI, 0-1, beside its cluster
    count, 1,797-10); ``levels`` (name -> value) as dashed horizontal lines, e.g. a
    baseline's NMI. ``x_title`` defaults to the rounds' own name (epoch, period,
    iteration). Non-finite values (a loss before the first round) are left out."""
    fig = go.Figure()
    rounds = [s.round for s in trace]
    for key in keys:
        vals = np.array([s.scalars.get(key, np.nan) for s in trace], dtype=float)
        vals[~np.isfinite(vals)] = np.nan
        if not np.all(np.isnan(vals)):
            fig.add_trace(go.Scatter(x=rounds, y=vals, mode="lines+markers", name=NAMES.get(key, key),
                                     yaxis="y2" if key in right else "y"))
    if x_title is None:
        named = [s.stage.split("· ")[-1].split()[0] for s in trace if s.round > 0]  # "start 2 of 4 · epoch 3"
        x_title = named[-1] if named else "round"
    left = [NAMES.get(k, k) for k in keys if k not in right]
    fig.update_layout(title=wrap(title) if title else None, height=340, template=TEMPLATE, showlegend=True,
                      xaxis_title=x_title, yaxis_title=left[0] if len(left) == 1 else "value",
                      legend={"orientation": "h", "y": -0.3, "yanchor": "top", "x": 0},
                      margin={"l": 50, "r": 50 if right else 10, "t": 60 if len(title) > 44 else 40, "b": 80})
    for name, value in (levels or {}).items():
        fig.add_trace(go.Scatter(x=[rounds[0], rounds[-1]], y=[value, value], mode="lines", name=name,
                                 line={"dash": "dash", "color": "#555"}, hoverinfo="name+y"))
    if right:
        names = [NAMES.get(k, k) for k in right]
        fig.update_layout(yaxis2={"title": " / ".join(names), "overlaying": "y", "side": "right",
                                  "range": [0, 1.05] if set(right) <= {"nmi", "acc", "ari"} else None,
                                  "showgrid": False})
    return fig


def scatter_2d(Z: np.ndarray, color_by, title: str = "", max_points: int = 20000) -> go.Figure:
    """Static scatter of points (PCA to 2-D when wider), coloured by integer ids."""
    Z = np.asarray(Z)
    c = np.asarray(color_by)
    if Z.shape[0] > max_points:
        keep = np.linspace(0, Z.shape[0] - 1, max_points).astype(int)
        Z, c = Z[keep], c[keep]
    p = to_2d([Z])[0]
    fig = go.Figure(go.Scattergl(x=_f32(p[:, 0]), y=_f32(p[:, 1]), mode="markers", hoverinfo="skip",
                                 marker=_colored(c % len(PALETTE), PALETTE, size=4, opacity=0.8)))
    fig.update_layout(title=title, height=420, template=TEMPLATE,
                      xaxis_title="PCA axis 1" if Z.shape[1] > 2 else "dimension 1",
                      yaxis_title="PCA axis 2" if Z.shape[1] > 2 else "dimension 2",
                      margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return fig


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


def labelled_maps(panels: list[tuple[np.ndarray, np.ndarray, str]], height: int = 440,
                  names: dict | None = None, per_row: int | None = None) -> go.Figure:
    """2-D maps [(xy, labels, subplot title)] side by side (``per_row`` to a row, default
    all in one), coloured by label with one legend shared across panels (a class keeps
    its color in every panel)."""
    from plotly.subplots import make_subplots

    per_row = min(per_row or len(panels), len(panels))
    rows = -(-len(panels) // per_row)
    fig = make_subplots(rows=rows, cols=per_row, subplot_titles=[t for _, _, t in panels],
                        horizontal_spacing=0.04, vertical_spacing=0.08 if rows > 1 else 0.0)
    classes = np.unique(np.concatenate([np.asarray(lab) for _, lab, _ in panels]))
    for i, (xy, lab, _) in enumerate(panels):
        lab = np.asarray(lab)
        for c in classes:
            m = lab == c
            if not m.any():
                continue
            fig.add_trace(go.Scattergl(x=_f32(xy[m, 0]), y=_f32(xy[m, 1]), mode="markers", legendgroup=str(c),
                                       name=(names or {}).get(int(c), f"class {int(c)}"),
                                       showlegend=i == 0, hoverinfo="name",
                                       marker={"size": 4, "opacity": 0.8,
                                               "color": class_color(c)}),
                          row=i // per_row + 1, col=i % per_row + 1)
    fig.update_xaxes(showticklabels=False, title_text="map axis 1", zeroline=False)
    fig.update_yaxes(showticklabels=False, title_text="map axis 2", zeroline=False)
    fig.update_layout(height=height, template=TEMPLATE, legend_title_text="class",
                      margin={"l": 40, "r": 10, "t": 50, "b": 40})
    return fig


def unseen_figure(view: dict, projection: str = "t-SNE") -> go.Figure:
    """The unseen-category picture (DSCL supplementary Fig. 2-4): the 2-D map of the
    input and of the learned embedding, coloured by true label, with k-means NMI and
    Recall@1 in the titles. ``view`` is ``clustlib.project.unseen_view``'s output."""
    panels = []
    for part, label in (("before", "input (before training)"), ("after", "learned embedding (after)")):
        v = view[part]
        panels.append((v["xy"], view["y"], f"{projection} of {label} · NMI {v['nmi']:.3f} · R@1 {v['recall@1']:.3f}"))
    return labelled_maps(panels)


def glyph_png(image: np.ndarray, color: str) -> str:
    """A (H, W) ink image in [0, 1] as a PNG data URI: the ink in ``color``, the paper
    transparent, so a thumbnail sits on a map without hiding the points beneath."""
    from PIL import Image

    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    a = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    rgba = np.dstack([np.full_like(a, rgb[0]), np.full_like(a, rgb[1]), np.full_like(a, rgb[2]), a])
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def glyph_maps(view: dict, images: np.ndarray, class_names: list[str], class_groups: list[str],
               projection: str = "t-SNE", height: int = 600, thumb: float = 0.065) -> go.Figure:
    """The unseen view of a dataset whose classes come in groups (Omniglot: characters of
    alphabets): the input and the learned maps side by side, points coloured by group
    (one legend entry per alphabet), the character's name on hover, and for every class
    the member nearest its members' median position drawn there, inked in its group's
    color -- so a tight group of the same glyphs reads as a learned category.
    ``view`` is :func:`clustlib.project.unseen_view`'s output and ``images[i]`` the
    image of ``view["index"][i]``."""
    from plotly.subplots import make_subplots

    y = np.asarray(view["y"])
    groups = sorted({class_groups[int(c)] for c in np.unique(y)})
    color = {g: class_color(i) for i, g in enumerate(sorted(set(class_groups)))}  # as in every map
    titles = [f"{projection} of the {label} · NMI {view[part]['nmi']:.3f} · R@1 {view[part].get('recall@1', float('nan')):.3f}"
              for part, label in (("before", "input (pixels)"), ("after", "learned embedding"))]
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.03)
    point_group = np.array([class_groups[int(c)] for c in y])
    hover = np.array([html.escape(class_names[int(c)].replace("/", " · ")) for c in y])  # names from uploads
    pngs, thumbs = {}, []  # layout images set once: add_layout_image per image is quadratic
    for col, part in enumerate(("before", "after"), start=1):
        xy = np.asarray(view[part]["xy"], dtype=np.float64)
        for g in groups:
            m = point_group == g
            fig.add_trace(go.Scattergl(x=xy[m, 0], y=xy[m, 1], mode="markers", name=g, legendgroup=g,
                                       showlegend=col == 1, hovertext=hover[m], hoverinfo="text",
                                       marker={"size": 4, "opacity": 0.45, "color": color[g]}),
                          row=1, col=col)
        span = max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-9)
        ax = "" if col == 1 else str(col)
        for c in np.unique(y):
            members = np.flatnonzero(y == c)
            centre = np.median(xy[members], axis=0)
            rep = members[np.argmin(((xy[members] - centre) ** 2).sum(1))]
            if int(rep) not in pngs:
                pngs[int(rep)] = glyph_png(images[rep], color[class_groups[int(c)]])
            thumbs.append({"source": pngs[int(rep)], "x": float(centre[0]), "y": float(centre[1]),
                           "xref": f"x{ax}", "yref": f"y{ax}", "sizex": thumb * span, "sizey": thumb * span,
                           "xanchor": "center", "yanchor": "middle", "layer": "above"})
    fig.update_xaxes(showticklabels=False, title_text="map axis 1", showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, title_text="map axis 2", showgrid=False, zeroline=False)
    fig.update_layout(images=thumbs)
    fig.update_layout(height=height, template=TEMPLATE, legend_title_text="alphabet",
                      legend={"orientation": "h", "y": -0.08}, margin={"l": 30, "r": 10, "t": 50, "b": 40})
    return fig


def circle_map(L: np.ndarray) -> np.ndarray:
    """DAC supplementary Eq. 1: o_i = sum_h (l_ih / ||l_i||_1) [sin(2 pi h / k), cos(2 pi h / k)]
    -- a label feature l_i (k non-negative weights) as a point in the unit disc; one-hot
    features sit on the k vertices."""
    L = np.asarray(L, dtype=np.float64)
    k = L.shape[1]
    h = np.arange(1, k + 1)
    w = L / np.maximum(np.abs(L).sum(1, keepdims=True), 1e-12)
    return np.stack([w @ np.sin(2 * np.pi * h / k), w @ np.cos(2 * np.pi * h / k)], axis=1)


def circle_animation(trace, track_y=None, max_frames: int = 50, title: str = "Label features",
                     names: dict | None = None) -> go.Figure:
    """DAC's picture: the tracked points' label features on the circle map (Eq. 1), one
    frame per epoch, coloured by true label (a legend entry per class; by cluster
    without labels), the k vertices marked with their cluster ids."""
    snaps = [trace[i] for i in frame_indices(len(trace), max_frames)]
    m, k = snaps[0].embedding.shape
    keep = drawn_points(m)
    h = np.arange(1, k + 1)
    vx, vy = np.sin(2 * np.pi * h / k), np.cos(2 * np.pi * h / k)
    y = None if track_y is None else np.asarray(track_y)[keep]

    def points(s):
        o = circle_map(s.embedding[keep])
        if y is not None:
            return _class_traces(o, y, np.unique(y), names)
        return [_points(x=o[:, 0], y=o[:, 1], mode="markers", hoverinfo="skip", showlegend=False,
                        marker=_colored(s.labels[keep] % len(PALETTE), PALETTE, size=5, opacity=0.7))]

    def sub(s):
        bits = [s.stage + _drawn_note(m, keep), f"{int(s.scalars.get('n_used', k))}/{k} clusters used"]
        if "u" in s.scalars:
            bits.append(f"u {s.scalars['u']:.3f}, l {s.scalars['l']:.3f}")
        if "nmi" in s.scalars:
            bits.append(f"NMI {s.scalars['nmi']:.3f}")
        return _head(title, " · ".join(bits))

    vertices = go.Scatter(x=vx, y=vy, mode="markers+text", text=[str(i) for i in range(k)], name="cluster vertex",
                          textposition="top center", hoverinfo="skip", showlegend=True,
                          marker={"size": 11, "symbol": "x", "color": "#444"})
    fig = go.Figure(data=[*points(snaps[0]), vertices],
                    frames=[go.Frame(data=[*points(s), vertices], name=s.stage, layout={"title": {"text": sub(s)}})
                            for s in snaps])
    fig.update_layout(title={"text": sub(snaps[0])}, height=540, template=TEMPLATE,
                      legend_title_text="true class" if y is not None else None, legend=LEGEND,
                      xaxis={"range": [-1.2, 1.2], "visible": False},
                      yaxis={"range": [-1.2, 1.2], "visible": False, "scaleanchor": "x"})
    _animation_layout(fig, [s.stage for s in snaps])
    return fig


def sizes_animation(trace, floor: float | None = None, max_frames: int = 50,
                    title: str = "Cluster sizes") -> go.Figure:
    """Cluster sizes (``arrays["sizes"]`` of each Snapshot) as an animated bar chart, one
    frame per round, largest cluster first, with an optional floor line (SeCu's gamma N/K)."""
    snaps = [s for s in (trace[i] for i in frame_indices(len(trace), max_frames)) if "sizes" in s.arrays]
    if not snaps:
        raise ValueError("the trace records no cluster sizes.")
    top = max(int(np.max(s.arrays["sizes"])) for s in snaps)

    def bars(s):
        sizes = np.sort(np.asarray(s.arrays["sizes"]))[::-1]
        low = floor is not None
        colors = ["#d62728" if low and v < floor else "#1f77b4" for v in sizes]
        return go.Bar(x=np.arange(sizes.size), y=sizes, marker={"color": colors}, showlegend=False)

    def sub(s):
        sizes = np.asarray(s.arrays["sizes"])
        bits = [s.stage, f"smallest {int(sizes.min())}", f"largest {int(sizes.max())}"]
        if floor is not None:
            bits.append(f"floor {floor:.0f}")
        return _head(title, " · ".join(bits))

    fig = go.Figure(data=[bars(snaps[0])],
                    frames=[go.Frame(data=[bars(s)], name=s.stage, layout={"title": {"text": sub(s)}})
                            for s in snaps])
    if floor is not None:
        fig.add_hline(y=floor, line_dash="dash", line_color="#d62728", annotation_text="γN/K floor")
    fig.update_layout(title={"text": sub(snaps[0])}, height=380, template=TEMPLATE,
                      xaxis={"title": "cluster (largest first)"}, yaxis={"range": [0, top * 1.05], "title": "samples"},
                      margin={"l": 10, "r": 10, "t": 40, "b": 30})
    _animation_layout(fig, [s.stage for s in snaps])
    return fig


def _centers(snap):
    return snap.arrays.get("centers", snap.arrays.get("centres"))


def centers_animation(trace, track_y=None, max_frames: int = 50, title: str = "Features and centres",
                      names: dict | None = None) -> go.Figure:
    """SeCu's picture: the tracked points' features with the cluster centres
    (``arrays["centers"]``; ``"centres"`` in runs saved before the rename), one PCA (of the last frame) for all frames, each frame
    zoomed to its own points and centres, one frame per epoch; points coloured by true
    label (legend) or cluster, centres as black crosses."""
    snaps = [s for s in (trace[i] for i in frame_indices(len(trace), max_frames))
             if s.embedding is not None and _centers(s) is not None]
    if not snaps:
        raise ValueError("the trace records no centres.")
    total = snaps[0].embedding.shape[0]
    keep = drawn_points(total)
    m = len(keep)
    pts = to_2d([np.vstack([s.embedding[keep], _centers(s)]) for s in snaps])
    y = None if track_y is None else np.asarray(track_y)[keep]
    note = _drawn_note(total, keep)

    def data(p, s):
        if y is not None:
            points = _class_traces(p[:m], y, np.unique(y), names, size=4)
        else:
            points = [_points(x=p[:m, 0], y=p[:m, 1], mode="markers", hoverinfo="skip", showlegend=False,
                              marker=_colored(s.labels[keep] % len(PALETTE), PALETTE, size=4, opacity=0.7))]
        return [*points, _points(x=p[m:, 0], y=p[m:, 1], mode="markers", hoverinfo="skip", name="centre",
                                 marker={"size": 12, "symbol": "x", "color": "black"})]

    def frame_layout(p, s):
        xa, ya = _axes(p)
        return {"title": {"text": _head(title, _title(s) + note)}, "xaxis": xa, "yaxis": ya}

    fig = go.Figure(data=data(pts[0], snaps[0]),
                    frames=[go.Frame(data=data(p, s), name=s.stage, layout=frame_layout(p, s))
                            for p, s in zip(pts, snaps)])
    xa, ya = _axes(pts[0])
    fig.update_layout(title={"text": _head(title, _title(snaps[0]) + note)}, height=500, template=TEMPLATE,
                      xaxis={**xa, "title": "PCA axis 1 of the last frame"},
                      yaxis={**ya, "title": "PCA axis 2 of the last frame"},
                      legend_title_text="true class" if y is not None else None, legend=LEGEND)
    _animation_layout(fig, [s.stage for s in snaps])
    return fig


def selectable_scatter(embedding: np.ndarray, labels: np.ndarray, y_true=None, height: int = 460) -> go.Figure:
    """One-trace scatter of an embedding (PCA to 2-D when wider) coloured by cluster, with
    hover text, in lasso mode: point indices of a selection are row indices of
    ``embedding``."""
    p = to_2d([np.asarray(embedding)])[0]
    labels = np.asarray(labels)
    data = np.stack([np.arange(len(labels)), labels] + ([] if y_true is None else [np.asarray(y_true)]), axis=1)
    hover = "#%{customdata[0]} · cluster %{customdata[1]}" + ("" if y_true is None else " · label %{customdata[2]}")
    fig = go.Figure(go.Scattergl(x=_f32(p[:, 0]), y=_f32(p[:, 1]), mode="markers", customdata=data.astype(np.int32),
                                 hovertemplate=hover + "<extra></extra>",
                                 marker=_colored(labels % len(PALETTE), PALETTE, size=6, opacity=0.8)))
    fig.update_layout(height=height, template=TEMPLATE, dragmode="lasso",
                      title="Learned embedding (final), coloured by cluster",
                      xaxis_title="PCA axis 1", yaxis_title="PCA axis 2",
                      margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return fig


def confusion_heatmap(table: np.ndarray, classes, clusters, title: str = "") -> go.Figure:
    """A classes x clusters contingency table as a heatmap (counts in the cells); pass the
    clusters already ordered by their Hungarian match so a good run shows a diagonal."""
    fig = go.Figure(go.Heatmap(z=table, x=[f"c{int(c)}" for c in clusters], y=[str(int(c)) for c in classes],
                               colorscale="Blues", showscale=False, text=table, texttemplate="%{text}",
                               hovertemplate="class %{y}, cluster %{x}: %{z}<extra></extra>"))
    fig.update_layout(title=title, height=360, template=TEMPLATE, yaxis={"autorange": "reversed"},
                      xaxis_title="cluster (matched order)", yaxis_title="class",
                      margin={"l": 10, "r": 10, "t": 40, "b": 30})
    return fig


def curves_of_runs(traces: dict, key: str = "nmi", title: str = "") -> go.Figure:
    """One line per run (name -> trace) of a scalar over rounds."""
    fig = go.Figure()
    for name, trace in traces.items():
        vals = [s.scalars.get(key, np.nan) for s in trace]
        fig.add_trace(go.Scatter(x=[s.round for s in trace], y=vals, mode="lines+markers", name=name))
    fig.update_layout(title=title or f"{key.upper()} per round", height=340, template=TEMPLATE,
                      xaxis_title="round", margin={"l": 10, "r": 10, "t": 40, "b": 30})
    return fig
