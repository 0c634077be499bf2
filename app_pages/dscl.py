import streamlit as st

from clustlib.methods.dscl import DSCL
from clustlib.ui import widgets as w
from clustlib.viz import embedding_animation, metric_curves

KEY = "dscl"
DATASETS = ["omniglot", "digits", "wine", "iris", "breast_cancer", "blobs"]

st.title("DSCL — a metric learned for clustering, tried on categories it never saw")
st.caption("Law, Urtasun, Zemel (ICML 2017). An embedding network is trained on labelled seen "
           "categories to maximise tr(F F⁺ C) (Eq. 7): the column space of the batch embedding "
           "should hold the true partition. Unseen categories are then clustered by k-means. "
           "The demo: 136 Omniglot characters of five alphabets seen in training, 106 characters "
           "of three other alphabets never seen.")

preset, spec, ds, unseen, k, seed = w.train_setup_ui(KEY, DSCL.PRESETS, DATASETS, "omniglot", 300, 5,
                                                     unseen_half=True)
epochs = st.sidebar.slider("Epochs", 1, 100, DSCL.PRESETS[preset]["epochs"], key=f"{KEY}_ep_{preset}")
dim = st.sidebar.select_slider("Embedding size d", [8, 16, 32, 64, 128], DSCL.PRESETS[preset]["embed_dim"],
                               key=f"{KEY}_d_{preset}")
params = {**DSCL.PRESETS[preset], "n_clusters": k, "epochs": epochs, "embed_dim": dim,
          "random_state": int(seed)}
no_labels = ds is not None and ds.y is None
if no_labels:
    st.sidebar.error("DSCL learns from labelled seen categories; this dataset has no labels.")
w.train_ui(KEY, "dscl", params, spec, ds, unseen, preset, seed, disabled=no_labels)


def live(trace, track_y):
    return [embedding_animation(trace[-1:], track_y, "label", title="Seen categories"),
            metric_curves(trace, ["loss", "nmi"], "k − tr(F F⁺ C) (Eq. 7) and NMI of the seen classes")]


run = w.current_run_ui(KEY, "dscl", DSCL.ABOUT.demo, (spec, preset, int(seed), unseen), live)

est = run.estimator
st.subheader(f"{w.plain(run.info.get('dataset'))} · trained on {len(est.labels_)} samples of seen classes · "
             f"{est.n_rounds_} epochs")
w.unseen_view_ui(KEY, run)
w.metrics_row_ui(run)
c1, c2 = st.columns(2)
c1.plotly_chart(metric_curves(est.trace_, ["loss"], "k − tr(F F⁺ C) per epoch (Eq. 7)"), width="stretch")
c2.plotly_chart(embedding_animation(est.trace_, est.track_y_, "label", title="Seen categories"),
                width="stretch")
w.shared_map_ui(KEY, run)
w.inspect_ui(KEY, run)
