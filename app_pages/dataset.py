import numpy as np
import streamlit as st

from clustlib.ui import widgets as w
from clustlib.viz import cluster_image_grid, labelled_maps

st.title("Dataset")
st.caption("Start a lesson from the data: samples of every class, class counts, a raw 2-D map "
           "and what scikit-learn's clusterers make of it.")
DATASETS = ["digits", "omniglot", "faces", "wine", "breast_cancer", "wisconsin", "iris", "moons", "spirals", "circles",
            "blobs"]
spec, ds = w.dataset_ui("data", DATASETS, linked=True)
if ds is None:
    st.stop()
st.subheader(f"{w.data_label(ds.name)}: {len(ds)} samples of shape {tuple(ds.X.shape[1:])}"
             + (f", {ds.n_classes} classes" if ds.y is not None else ", no labels"))
if ds.y is not None:
    classes, counts = np.unique(ds.y, return_counts=True)
    names = ds.class_names if len(ds.class_names) == len(classes) else [str(c) for c in classes]
    st.bar_chart({"samples": {names[i]: int(n) for i, n in enumerate(counts)}}, height=220)
if ds.kind == "image":
    y = ds.y if ds.y is not None else np.zeros(len(ds), int)
    st.plotly_chart(cluster_image_grid(ds.X, y, n_clusters=20, per_cluster=12,
                                       title="Samples per class (one row per class)"), width="stretch")
name = st.radio("Raw map", list(w.PROJECTIONS), horizontal=True, key="data_proj",
                help="UMAP compiles with numba the first time it is used (tens of seconds).")
raw = w.task_ui(("raw map", spec, w.PROJECTIONS[name]), w.background.raw_map, spec, w.PROJECTIONS[name],
                what=f"the {name} map of the raw data")
if raw is not None:
    xy, y, index = raw
    names = None
    if ds.class_groups:  # hundreds of characters: colour by alphabet
        y, groups = ds.by_group(y)
        names = dict(enumerate(groups))
    drawn = f" ({len(index):,} of {len(ds):,} samples, stratified)" if len(index) < len(ds) else ""
    st.plotly_chart(labelled_maps([(xy, y, f"{name} of the raw {'pixels' if ds.kind == 'image' else 'features'}{drawn}")],
                                  height=520, names=names), width="stretch")
if ds.y is not None:
    section = st.expander("scikit-learn baselines on this data", key="data_peers_open", on_change="rerun")
    if section.open:
        with section:
            w.baselines_table_ui(spec, int(ds.n_classes))
