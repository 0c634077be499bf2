import streamlit as st

from clustlib.methods.secu import SeCu
from clustlib.ui import widgets as w
from clustlib.viz import centers_animation, metric_curves, sizes_animation

KEY = "secu"
DATASETS = ["digits", "digits:n=600", "omniglot", "blobs", "iris", "wine"]

st.title("SeCu — stable cluster discrimination under a size constraint")
st.caption("Qian (ICCV 2023). Features of two augmented views are assigned online to unit-norm "
           "centres, every cluster kept above γN/K by dual variables; only the assigned centre "
           "gets gradient, the others are frozen for the epoch.")

req, ds = w.train_setup_ui(KEY, SeCu, DATASETS, "digits", 300, 10)
constraint = w.setting_ui(KEY, SeCu, "constraint", "Constraint")
gamma = w.setting_ui(KEY, SeCu, "gamma", "γ: smallest cluster as a share of N/K", step=0.05)
centres = w.setting_ui(KEY, SeCu, "center_update", "Centre update",
                       help="closed: Theorem 1 (Eq. 4) each epoch; sgd: constant centre learning rate")
target = w.setting_ui(KEY, SeCu, "target", "Representation loss",
                      help="hard: the paper's stable loss (Eq. 6-8); soft: the authors' code "
                           "(other view's prediction + previous epoch's label, frozen centres)")
epochs = w.setting_ui(KEY, SeCu, "max_iter", "Epochs", upto=200)
req = req.with_params(constraint=constraint, gamma=gamma, center_update=centres, target=target, max_iter=epochs)
w.train_ui(KEY, req, ds)


def live(trace, track_y):
    floor = trace[-1].scalars.get("floor") if constraint == "size" else None
    return [sizes_animation(trace[-1:], floor, title="Cluster sizes"),
            centers_animation(trace[-1:], track_y)]


run = w.current_run_ui(KEY, req, live)

est = run.estimator
st.subheader(f"{w.data_label(run.info.get('dataset'))} · {len(est.labels_)} samples · {est.n_iter_} epochs")
w.metrics_row_ui(run)
w.starts_ui(run)
floor = est.trace_[-1].scalars.get("floor") if est.constraint == "size" else None
sizes = lambda: sizes_animation(est.trace_, floor, title="Cluster sizes (online assignment)")  # noqa: E731
w.poster_ui(run, f"sizes {floor}", sizes, "At a glance: the cluster sizes of the first epoch → the last"
            + (", the line the floor γN/K" if floor is not None else "") + " (the animation below plays every epoch)")
st.caption("**What you are watching.** The bars are the clusters' sizes under the epoch's online assignment, "
           "largest first" + (f"; the dashed line is the floor γN/K = {floor:.0f} that the dual variables "
                             "enforce, and a red bar is a cluster below it" if floor is not None else "")
           + ". Below, the features of the tracked points (coloured by true class) gather around the unit-norm "
             "centres (✖), in one PCA of the last epoch.")
w.chart(run, f"sizes {floor}", sizes)
left, right = st.columns(2)
w.chart(run, "centres", lambda: centers_animation(est.trace_, est.track_y_), left)
right.plotly_chart(metric_curves(est.trace_, ["nmi", "loss", "smallest_over_floor"], "Quality, loss, smallest / floor"),
                   width="stretch")
w.baselines_ui(KEY, run, "SeCu (this run)")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
