"""A run's trace over its rounds, animated: the embedding (any method), JULE's merge
stages, DAC's label features on the circle, SeCu's cluster sizes and centres. Client-side
Plotly frames with a play button and a slider, axis ranges fixed across frames, at most
``max_frames`` frames.

>>> import numpy as np
>>> from clustlib.base import Snapshot
>>> snaps = [Snapshot(r, f"it {r}", np.zeros(4, int), np.random.rand(4, 2), {"nmi": 0.5}, {}) for r in range(3)]
>>> len(embedding_animation(snaps).frames)
3
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .style import (
    LEGEND,
    LIGHT,
    PALETTE,
    TEMPLATE,
    _animation_layout,
    _axes,
    _class_traces,
    _colored,
    _drawn_note,
    _head,
    _points,
    _rgba,
    _title,
    drawn_points,
    frame_indices,
    to_2d,
)


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
