import numpy as np
import streamlit as st

from clustlib.ui import widgets as w
from clustlib.viz import cluster_image_grid, labelled_maps

st.title("Dataset")
st.caption("Start a lesson from the data: samples of every class, class counts, a raw 2-D map "
           "and what scikit-learn's clusterers make of it.")
DATASETS = ["digits", "omniglot", "wine", "breast_cancer", "wisconsin", "iris", "moons", "spirals", "circles", "blobs"]
spec, ds = w.dataset_ui("data", DATASETS)
if ds is None:
    st.stop()
st.subheader(f"{w.plain(ds.name)}: {len(ds)} samples of shape {tuple(ds.X.shape[1:])}"
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
xy, y = w.cached_raw_map(spec, w.PROJECTIONS[name])
names = None
if ds.class_groups:  # hundreds of characters: colour by alphabet
    y, groups = ds.by_group(y)
    names = dict(enumerate(groups))
st.plotly_chart(labelled_maps([(xy, y, f"{name} of the raw {'pixels' if ds.kind == 'image' else 'features'}")],
                              height=520, names=names), width="stretch")
if ds.y is not None:
    with st.expander("scikit-learn baselines on this data", expanded=True):
        if len(ds) > 2000 and not st.checkbox(f"Run them on all {len(ds):,} samples (tens of seconds)",
                                              key="data_run_baselines"):
            st.stop()
        peers = w.cached_baselines(spec, int(ds.n_classes))
        st.dataframe({n: {m: round(float(v), 3) for m, v in r.items()} for n, r in peers.items()})
