import streamlit as st

from clustlib.methods.dscl import DSCL
from clustlib.ui import widgets as w
from clustlib.viz import embedding_animation, metric_curves

KEY = "dscl"
DATASETS = ["omniglot", "digits", "wine", "iris", "breast_cancer", "blobs"]

st.title("DSCL — a metric learned for clustering, tried on categories it never saw")
st.caption("Law, Urtasun, Zemel (ICML 2017). An embedding network is trained on labelled seen "
           "categories to maximise tr(F F⁺ C) (Eq. 7): the column space of the batch embedding "
           "should hold the true partition. Unseen categories are then clustered by k-means.")

req, ds = w.train_setup_ui(KEY, DSCL, DATASETS, "omniglot", 300, 5, unseen_half=True)
epochs = w.setting_ui(KEY, DSCL, "max_iter", "Epochs", upto=100)
dim = w.setting_ui(KEY, DSCL, "embed_dim", "Embedding size d", choices=[8, 16, 32, 64, 128])
req = req.with_params(max_iter=epochs, embed_dim=dim)
no_labels = ds is not None and ds.y is None
if no_labels:
    st.sidebar.error("DSCL learns from labelled seen categories; this dataset has no labels.")
w.train_ui(KEY, req, ds, disabled=no_labels)


def seen_map(trace, track_y, data):
    """The seen categories' embedding, coloured by class -- or by group (Omniglot's
    alphabet) when there are more classes than colours; each frame zoomed to its own
    points (the first epochs' embedding is small: one range for all frames drew it as a
    single dot, and the animation used a third of its axes)."""
    y, names = track_y, None
    if data is not None and data.class_groups and track_y is not None:
        y, groups = data.by_group(track_y)
        names = dict(enumerate(groups))
    what = "Seen categories" + (" (coloured by alphabet)" if names else "")
    return embedding_animation(trace, y, "label", title=what, frame_axes=True, names=names,
                               legend="alphabet" if names else "true class")


def live(trace, track_y):
    return [seen_map(trace[-1:], track_y, ds),
            metric_curves(trace, ["loss", "nmi"], "k − tr(F F⁺ C) (Eq. 7) and NMI of the seen classes")]


run = w.current_run_ui(KEY, req, live)

est = run.estimator
data = w.run_dataset_ui(run)
st.subheader(f"{w.data_label(run.info.get('dataset'))} · trained on {len(est.labels_)} samples of "
             f"{len(set(est.track_y_.tolist())) if est.track_y_ is not None else '?'} seen classes · "
             f"{est.n_iter_} epochs")
if run.info.get("unseen"):
    st.caption(f"Held out of training: {w.unseen_names(run, run.info['unseen'])}. The maps below show "
               "where these categories land in the pixels and in the learned embedding.")
seen = lambda: seen_map(est.trace_, est.track_y_, data)  # noqa: E731
w.poster_ui(run, "seen", seen, "At a glance: the embedding of the seen categories after the first epoch → the "
            "last (the animation is further down; first, where the unseen ones land)")
w.unseen_view_ui(KEY, run)
w.metrics_row_ui(run)
c1, c2 = st.columns(2)
c1.plotly_chart(metric_curves(est.trace_, ["loss"], "k − tr(F F⁺ C) per epoch (Eq. 7)"), width="stretch")
w.chart(run, "seen", seen, c2)
w.shared_map_ui(KEY, run)
w.inspect_ui(KEY, run)
