"""Curves and tables: metrics over rounds, several runs' curves, a confusion table."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .style import TEMPLATE, wrap

NAMES = {"nmi": "NMI", "acc": "ACC", "ari": "ARI", "loss": "loss", "n_clusters": "clusters",
         "u": "u (same-pair threshold)", "l": "l (different-pair threshold)", "selected": "share of pairs selected",
         "similar": "share judged same", "pair_loss": "pair loss", "balance_loss": "anti-collapse loss",
         "block_contrast": "block contrast (learned)", "input_contrast": "block contrast (input)",
         "kernel_change": "kernel change", "u_change": "U change", "smallest_over_floor": "smallest / floor"}


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
    for i, (name, value) in enumerate((levels or {}).items()):  # each baseline its own dash
        fig.add_trace(go.Scatter(x=[rounds[0], rounds[-1]], y=[value, value], mode="lines", name=name,
                                 line={"dash": ("dash", "dot", "dashdot")[i % 3], "color": "#555"}, hoverinfo="name+y"))
    fig.update_xaxes(tickformat="d", **({"dtick": 1} if rounds and max(rounds) - min(rounds) <= 12 else {}))  # whole rounds
    if right:
        names = [NAMES.get(k, k) for k in right]
        fig.update_layout(yaxis2={"title": " / ".join(names), "overlaying": "y", "side": "right",
                                  "range": [0, 1.05] if set(right) <= {"nmi", "acc", "ari"} else None,
                                  "showgrid": False})
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
