"""What a page shows of a run beyond its own animations: figures built once per run (with
their HTML and GIF downloads), maps and baselines computed in the background, the unseen
categories, Inspect points."""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path

import numpy as np
import streamlit as st

from ..data import split_classes
from ..dataset import DatasetError
from ..rundir import runs_dir
from ..runs import Run
from ..settings import settings
from ..viz import (
    cluster_grid,
    glyph_maps,
    image_montage,
    labelled_maps,
    selectable_scatter,
    unseen_figure,
)
from ..viz.export import poster, to_gif, to_html
from . import background
from .store import cached_dataset, plain, run_dataset_ui, tracked_samples  # noqa: F401


def chart(run: Run, name: str, build, where=None, **kwargs):
    """``st.plotly_chart`` of ``build()`` -- built once per run and server (a run is shared
    by every session that shows it; building KNet's 26 kernel frames took 0.5 s a visit).
    ``name`` names the figure and every setting it depends on; ``where``: a column."""
    fig = figure(run, name, build)
    shown = (where or st).plotly_chart(fig, **{"width": "stretch", **kwargs})
    if fig.frames:
        export_ui(fig, f"{run.info.get('model') or run.method}-{name}", where)
    return shown


def figure(run: Run, name: str, build):
    """The figure ``name`` of a run, built once per run and server."""
    memo = run.__dict__.setdefault("_charts", {})
    if name not in memo:
        memo[name] = build()
        while len(memo) > 24:
            memo.pop(next(iter(memo)))
    return memo[name]


def first_paint_s() -> float:
    """What a browser is given to draw a page's poster before its charts arrive
    ($CLUSTLIB_FIRST_PAINT_S, default 0.5; 0 sends poster and charts in one run)."""
    return settings().first_paint_s


def poster_ui(run: Run, name: str, build, caption: str) -> None:
    """The run's main animation at a glance: its first and last frames side by side, drawn
    on the server as one small PNG (once per run). It is the page's first picture: a PNG
    shows about a second after the page opens, while a browser takes 2-3 s more to load
    plotly.js for the interactive charts below (measured: docs/benchmarks.md).

    Streamlit's frontend holds back every element until the lazily loaded code of all of
    them (plotly.js, the sidebar's widgets) is ready, so a poster sent in the same run as
    the charts waits for plotly.js too. So the first page a session shows with a poster
    stops after it, gives the browser :func:`first_paint_s` to draw it and runs again:
    the charts follow in the second run, the poster stays on screen meanwhile."""

    memo = run.__dict__.setdefault("_posters", {})
    if name not in memo:
        memo[name] = poster(figure(run, name, build))
    st.image(memo[name], caption=caption)
    pause = first_paint_s()
    if pause and not st.session_state.get("_charts_loaded"):
        st.session_state["_charts_loaded"] = True
        st.caption("The interactive charts are loading…")
        time.sleep(pause)
        st.rerun()


@functools.lru_cache(maxsize=1)
def _plotly_mb() -> float:
    """The size of the plotly.js an HTML export carries (the installed plotly's)."""
    from plotly.offline import get_plotlyjs

    return len(get_plotlyjs().encode()) / 1e6


def export_ui(fig, name: str, where=None) -> None:
    """Take the animation away: an HTML file that plays offline, an animated GIF for
    slides (each made when its button is pressed)."""

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "animation"
    row = (where or st).container(horizontal=True)  # buttons as wide as their words, in any column
    row.download_button("HTML", lambda: to_html(fig, safe), f"{safe}.html", "text/html", icon=":material/download:",
                        key=f"_dl_html_{safe}", on_click="ignore", width="content",
                        help=f"the animation as a web page that plays offline (plotly.js inside: {_plotly_mb():.1f} MB, "
                             "and the frames)")
    row.download_button("GIF", lambda: to_gif(fig), f"{safe}.gif", "image/gif", icon=":material/download:",
                        key=f"_dl_gif_{safe}", on_click="ignore", width="content",
                        help="the animation as an animated GIF, for slides")


def task_ui(key: tuple, fn, *args, what: str, budget_s: float | None = None):
    """The result of a background computation (``clustlib.ui.background``), or None: while
    it computes, a line says so and the page reruns itself once it is ready (asking every
    second keeps it alive; a visitor who leaves lets it go); when it was cut by its time
    budget or failed, a line says why and offers to try again. Never waits."""
    task = background.ask(key, fn, *args, budget_s=budget_s)
    if task.status == "done":
        return task.result
    if task.finished:
        st.caption(f"{what[:1].upper()}{what[1:]}: {plain(task.error)}.")
        if st.button(f"Try {what} again", key=f"_retry_{abs(hash(key))}"):
            background.retry(key)
            st.rerun()
        return None

    @st.fragment(run_every=1.0)
    def wait():
        now = background.ask(key, fn, *args, budget_s=budget_s)
        if now.finished:
            st.rerun()
        st.info(f"Computing {what} in the background ({now.seconds:.0f} s of at most {now.budget_s:.0f} s); "
                "the rest of the page is ready and this part appears by itself.")

    wait()
    return None


PROJECTIONS = {"t-SNE": "tsne", "UMAP": "umap", "PCA": "pca"}


def run_view_ui(kind: str, path: str, projection: str, what: str) -> dict | None:
    """A run's view (``background.run_view``): at once when it is on disk, else computed in
    the background while the page draws everything else."""
    spare = str(runs_dir())
    view = background.view_on_disk(path, kind, projection, spare)
    if view is not None:
        return view
    mtime = Path(path).stat().st_mtime  # a run replaced, or a log with a new step
    return task_ui(("view", kind, str(path), mtime, projection), background.run_view, kind, str(path),
                   projection, spare, what=what)


def unseen_view_ui(key: str, run: Run, expanded: bool = True) -> None:
    """Where the categories no model saw land: t-SNE / UMAP / PCA of the unseen classes
    before (input) and after (learned embedding) training, with k-means NMI and R@1.
    Works for every method (it needs only ``transform``)."""
    unseen = run.info.get("unseen") or []
    path = st.session_state.get(f"{key}_run_path")
    if not unseen:
        st.caption("Train with some *unseen classes* (sidebar) to see where categories the "
                   "model never saw land.")
        return
    if len(unseen) < 2 or not path or not Path(path).exists():
        return
    st.subheader(f"Categories never seen in training: {unseen_names(run, unseen)}")
    name = st.radio("Map", list(PROJECTIONS), horizontal=True, key=f"{key}_proj",
                    help="UMAP compiles with numba the first time it is used (tens of seconds).")

    data = ds = None
    if run.has_network:  # a recorded model's view needs only what it recorded
        try:
            ds = cached_dataset(run.info["dataset"])
            data = split_classes(ds, unseen)[1]
        except (DatasetError, ValueError) as err:
            st.warning(f"Unseen view unavailable: {plain(err)}")
            return
    view = run_view_ui("unseen", path, PROJECTIONS[name], f"the {name} maps of the unseen categories")
    if view is None:
        return

    st.markdown(unseen_verdict(view["before"], view["after"]))
    if ds is not None and ds.class_groups and ds.kind == "image" and len(ds.image_shape or ()) == 2:
        images = data.X[view["index"]]
        st.caption("Each point is one drawing, coloured by its alphabet; each character is drawn "
                   "once, at the middle of its drawings. Hover a point for its character.")
        st.plotly_chart(glyph_maps(view, images, ds.class_names, ds.class_groups, name), width="stretch")
    else:
        st.plotly_chart(unseen_figure(view, name), width="stretch")


def unseen_names(run: Run, unseen: list[int]) -> str:
    """'5, 6, 7' -- or, for a dataset with groups, 'the alphabets Sanskrit, Tagalog (59 characters)'."""
    try:
        ds = cached_dataset(run.info["dataset"])
    except (DatasetError, ValueError):
        ds = None
    if ds is not None and ds.class_groups:
        groups = sorted({ds.class_groups[int(c)] for c in unseen if int(c) < len(ds.class_groups)})
        return f"{len(unseen)} characters of the alphabets {', '.join(groups)}"
    text = ", ".join(map(str, unseen[:30]))
    return text + (f" … ({len(unseen)} classes)" if len(unseen) > 30 else "")


def unseen_verdict(before: dict, after: dict) -> str:
    """One visible sentence: does the learned embedding cluster the unseen classes better
    or worse than the input itself (k-means NMI, and Recall@1 when known)?"""
    a, b = before["nmi"], after["nmi"]
    word = "better than" if b > a + 0.005 else "worse than" if b < a - 0.005 else "about as well as"
    r1 = ""
    if "recall@1" in before and "recall@1" in after:
        r1 = f", Recall@1 {before['recall@1']:.2f} → {after['recall@1']:.2f}"
    return (f"**On the unseen classes the learned embedding clusters {word} the input**: "
            f"k-means NMI {a:.2f} → {b:.2f}{r1}.")


def shared_map_ui(key: str, run: Run) -> None:
    """Seen and unseen categories in one learned map (seen fitted, unseen placed into it)."""
    path = st.session_state.get(f"{key}_run_path")
    if not run.info.get("unseen") or not path or not Path(path).exists() or not run.has_network:
        return
    name = st.session_state.get(f"{key}_proj", "t-SNE")
    m = run_view_ui("shared", path, PROJECTIONS[name], f"one {name} map of the seen and the unseen categories")
    if m is None:
        return
    m = {**m, "unseen": [int(c) for c in m["unseen"]]}

    y = m["y"]
    names = {c: f"{c} ({'unseen' if c in m['unseen'] else 'seen'})" for c in np.unique(y).tolist()}
    ds = run_dataset_ui(run)
    if ds is not None and ds.class_groups:  # 242 characters: colour by alphabet instead
        unseen_groups = {ds.class_groups[c] for c in m["unseen"]}
        y, groups = ds.by_group(y)
        names = {i: f"{g} ({'unseen' if g in unseen_groups else 'seen'})" for i, g in enumerate(groups)}
    st.plotly_chart(labelled_maps([(m["xy"], y, f"{name} fitted on seen categories; "
                                   "unseen ones placed into it")], height=520, names=names),
                    width="stretch")


def inspect_ui(key: str, run: Run) -> None:
    """Select points (box / lasso / click) in the final learned embedding of the tracked
    points and see them: images (or feature values), true and predicted labels, and their
    nearest neighbours in the learned space (like the Embedding Projector)."""

    est = run.estimator
    snap = est.trace_[-1]
    if snap.embedding is None:
        return
    samples, ids = tracked_samples(run)
    if samples is None:
        return
    images = samples.ndim >= 3
    st.subheader("Inspect points")
    if images:
        grid, sizes = cluster_grid(samples, snap.labels, n_clusters=12, per_cluster=12)
        st.image(grid, caption=f"Tracked samples of the largest final clusters, one row per cluster ({sizes})")
    st.caption("Drag a box or lasso (toolbar) or click points in the learned embedding to see them "
               "and their nearest neighbours in the learned space.")
    y_true = est.track_y_ if est.track_y_ is not None else None
    event = st.plotly_chart(selectable_scatter(snap.embedding, snap.labels, y_true), key=f"{key}_inspect",
                            on_select="rerun", selection_mode=("points", "box", "lasso"), width="stretch")
    picked = sorted({int(p["point_index"]) for p in (event.selection.get("points") or [])}) if event else []
    if not picked:
        return
    rows = [{"sample": int(ids[p]), "cluster": int(snap.labels[p]),
             **({"true label": int(y_true[p])} if y_true is not None else {})} for p in picked]
    st.write(f"**{len(picked)} selected** (showing up to 24)")
    if images:
        st.image(image_montage(samples[picked[:24]], min_px=64, per_row=12), caption="selected samples", clamp=True)
    else:
        st.dataframe(np.asarray(samples[picked[:24]], dtype=np.float32).reshape(min(24, len(picked)), -1),
                     width="stretch")
    st.dataframe(rows[:200], hide_index=True)
    d = ((snap.embedding - snap.embedding[picked[0]]) ** 2).sum(1)
    near = [int(j) for j in np.argsort(d)[1:9]]
    st.write(f"Nearest neighbours of sample {int(ids[picked[0]])} in the learned space")
    if images:
        st.image(image_montage(samples[near], min_px=64), caption="8 nearest", clamp=True)
    st.dataframe([{"sample": int(ids[j]), "cluster": int(snap.labels[j]),
                   **({"true label": int(y_true[j])} if y_true is not None else {})} for j in near],
                 hide_index=True)
