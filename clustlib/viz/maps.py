"""Static 2-D maps of samples: a scatter, labelled panels, the unseen categories'
maps (with Omniglot's glyphs), a scatter to select points from."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import plotly.graph_objects as go

from .style import PALETTE, TEMPLATE, _colored, _f32, class_color, to_2d


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
