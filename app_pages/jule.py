import streamlit as st

from clustlib.methods.jule import JULE
from clustlib.metrics import nmi
from clustlib.ui import widgets as w
from clustlib.viz import cluster_image_grid, merge_animation, merge_flow, metric_curves, to_2d

KEY = "jule"
DATASETS = ["digits", "digits:n=600", "omniglot", "blobs", "iris", "wine"]

st.title("JULE — clusters and a CNN learned together")
st.caption("Yang, Parikh, Batra (CVPR 2016). Agglomerative clustering (graph degree linkage) "
           "merges clusters period by period; after each period a CNN is trained on the current "
           "clusters with a weighted triplet loss, and the next merges use its features.")

req, ds = w.train_setup_ui(KEY, JULE, DATASETS, "digits", 300, 10)
eta = w.setting_ui(KEY, JULE, "eta", "Unrolling rate η (share of clusters merged per period)",
                   choices=[0.2, 0.3, 0.5, 0.7, 0.9])
epochs = w.setting_ui(KEY, JULE, "epochs_per_period", "CNN epochs per period", upto=30)
req = req.with_params(eta=eta, epochs_per_period=epochs)
w.train_ui(KEY, req, ds)


def live(trace, track_y):
    xy = to_2d([trace[-1].embedding])[0]  # the latest features; the final t-SNE layout comes at the end
    return [merge_animation(trace, xy, layout_name="PCA of the latest features", last_only=True),
            metric_curves(trace, ["n_clusters", "nmi"], "Clusters and NMI per period", right=("nmi",))]


run = w.current_run_ui(KEY, req, live)

est = run.estimator
st.subheader(f"{w.data_label(run.info.get('dataset'))} · {len(est.labels_)} samples · {est.n_iter_} periods")
w.metrics_row_ui(run)
pca_merges = lambda: merge_animation(est.trace_, to_2d([est.trace_[-1].embedding])[0],  # noqa: E731
                                     layout_name="PCA of the final features")
w.poster_ui(run, "merge pca", pca_merges, "At a glance: the clusters of the first period → the k of the last "
            "(PCA of the final features; the animation below plays every period)")
data = w.run_dataset_ui(run)
if data is not None and data.y is not None and len(data.y) == len(est.labels_sf_):
    which = "OURS-RC" if est.recluster else "OURS-SF"
    st.caption(f"NMI of the last merge stage (OURS-SF) {nmi(data.y, est.labels_sf_):.3f} · after "
               f"re-clustering the learned features (OURS-RC) {nmi(data.y, est.labels_rc_):.3f}; "
               f"the run reports {which}.")
st.caption("Every point is a tracked sample, placed once by a t-SNE of the final learned "
           "features; its colour is its cluster at that period. A merged cluster keeps its larger "
           "parent's colour, so the k final clusters can be followed back through the merges.")
layout = w.run_view_ui("final", st.session_state[f"{KEY}_run_path"], "tsne", "the t-SNE layout of the final features")
if layout is None:  # until the t-SNE is ready: the same picture on a PCA of the final features
    w.chart(run, "merge pca", pca_merges)
else:
    w.chart(run, "merge", lambda: merge_animation(est.trace_, layout["xy"]))
st.plotly_chart(merge_flow(est.trace_), width="stretch")
c1, c2 = st.columns(2)
c1.plotly_chart(metric_curves(est.trace_, ["n_clusters"], "Clusters per period"), width="stretch")
c2.plotly_chart(metric_curves(est.trace_, ["nmi", "acc", "loss"], "Quality and triplet loss"),
                width="stretch")
samples = w.tracked_samples(run)[0]
if samples is not None and samples.ndim >= 3:
    stages = [s.stage for s in est.trace_]
    if st.session_state.get(f"{KEY}_stage") not in stages:
        st.session_state[f"{KEY}_stage"] = stages[-1]
    stage = st.select_slider("Stage for the sample images", stages, key=f"{KEY}_stage")
    snap = est.trace_[stages.index(stage)]
    st.plotly_chart(cluster_image_grid(samples, snap.labels), width="stretch")
w.baselines_ui(KEY, run, "JULE (this run)")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
