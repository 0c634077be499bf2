import streamlit as st

from clustlib.methods.secu import SeCu
from clustlib.ui import widgets as w
from clustlib.viz import centres_animation, metric_curves, sizes_animation

KEY = "secu"
DATASETS = ["digits", "digits:n=600", "omniglot", "blobs", "iris", "wine"]

st.title("SeCu — stable cluster discrimination under a size constraint")
st.caption("Qian (ICCV 2023). Features of two augmented views are assigned online to unit-norm "
           "centres, every cluster kept above γN/K by dual variables; only the assigned centre "
           "gets gradient, the others are frozen for the epoch.")

preset, spec, ds, unseen, k, seed = w.train_setup_ui(KEY, SeCu.PRESETS, DATASETS, "digits", 300, 10)
constraint = w.setting_ui(KEY, "constraint", st.sidebar.radio, "Constraint", SeCu.PRESETS[preset]["constraint"],
                          options=["size", "entropy"], horizontal=True)
gamma = w.setting_ui(KEY, "gamma", st.sidebar.slider, "γ: smallest cluster as a share of N/K",
                     SeCu.PRESETS[preset]["gamma"], 0.0, 1.0, step=0.05)
centres = w.setting_ui(KEY, "centre_update", st.sidebar.radio, "Centre update", SeCu.PRESETS[preset]["centre_update"],
                       options=["closed", "sgd"], horizontal=True,
                       help="closed: Theorem 1 (Eq. 4) each epoch; sgd: constant centre learning rate")
target = w.setting_ui(KEY, "target", st.sidebar.radio, "Representation loss", SeCu.PRESETS[preset].get("target", "hard"),
                      options=["hard", "soft"], horizontal=True,
                      help="hard: the paper's stable loss (Eq. 6-8); soft: the authors' code "
                           "(other view's prediction + previous epoch's label, frozen centres)")
epochs = w.setting_ui(KEY, "epochs", st.sidebar.slider, "Epochs", SeCu.PRESETS[preset]["epochs"], 1, 200)
params = {**SeCu.PRESETS[preset], "n_clusters": k, "constraint": constraint, "gamma": gamma,
          "centre_update": centres, "target": target, "epochs": epochs, "random_state": int(seed)}
w.train_ui(KEY, "secu", params, spec, ds, unseen, preset, seed)


def live(trace, track_y):
    floor = trace[-1].scalars.get("floor") if constraint == "size" else None
    return [sizes_animation(trace[-1:], floor, title="Cluster sizes"),
            centres_animation(trace[-1:], track_y)]


run = w.current_run_ui(KEY, "secu", SeCu.ABOUT.demo, (spec, preset, int(seed), unseen), live)

est = run.estimator
st.subheader(f"{w.data_label(run.info.get('dataset'))} · {len(est.labels_)} samples · {est.n_rounds_} epochs")
w.metrics_row_ui(run)
w.starts_ui(run)
floor = est.trace_[-1].scalars.get("floor") if est.constraint == "size" else None
st.caption("**What you are watching.** The bars are the clusters' sizes under the epoch's online assignment, "
           "largest first" + (f"; the dashed line is the floor γN/K = {floor:.0f} that the dual variables "
                             "enforce, and a red bar is a cluster below it" if floor is not None else "")
           + ". Below, the features of the tracked points (coloured by true class) gather around the unit-norm "
             "centres (✖), in one PCA of the last epoch.")
w.chart(run, f"sizes {floor}", lambda: sizes_animation(est.trace_, floor, title="Cluster sizes (online assignment)"))
left, right = st.columns(2)
w.chart(run, "centres", lambda: centres_animation(est.trace_, est.track_y_), left)
right.plotly_chart(metric_curves(est.trace_, ["nmi", "loss", "smallest_over_floor"], "Quality, loss, smallest / floor"),
                   width="stretch")
w.baselines_ui(KEY, run, "SeCu (this run)")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
