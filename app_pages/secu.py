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
constraint = st.sidebar.radio("Constraint", ["size", "entropy"], horizontal=True, key=f"{KEY}_con")
gamma = st.sidebar.slider("γ: smallest cluster as a share of N/K", 0.0, 1.0, SeCu.PRESETS[preset]["gamma"],
                          0.05, key=f"{KEY}_gamma_{preset}")
centres = st.sidebar.radio("Centre update", ["closed", "sgd"], horizontal=True,
                           index=["closed", "sgd"].index(SeCu.PRESETS[preset]["centre_update"]),
                           key=f"{KEY}_cu_{preset}", help="closed: Theorem 1 (Eq. 4) each epoch; "
                           "sgd: constant centre learning rate")
target = st.sidebar.radio("Representation loss", ["hard", "soft"], horizontal=True, key=f"{KEY}_target",
                          help="hard: the paper's stable loss (Eq. 6-8); soft: the authors' code "
                          "(other view's prediction + previous epoch's label, frozen centres)")
epochs = st.sidebar.slider("Epochs", 1, 200, SeCu.PRESETS[preset]["epochs"], key=f"{KEY}_ep_{preset}")
params = {**SeCu.PRESETS[preset], "n_clusters": k, "constraint": constraint, "gamma": gamma,
          "centre_update": centres, "target": target, "epochs": epochs, "random_state": int(seed)}
w.train_ui(KEY, "secu", params, spec, ds, unseen, preset, seed)


def live(trace, track_y):
    floor = trace[-1].scalars.get("floor") if constraint == "size" else None
    return [sizes_animation(trace[-1:], floor, title="Cluster sizes"),
            centres_animation(trace[-1:], track_y)]


run = w.current_run_ui(KEY, "secu", SeCu.ABOUT.demo, (spec, preset, int(seed), unseen), live)

est = run.estimator
st.subheader(f"{w.plain(run.info.get('dataset'))} · {len(est.labels_)} samples · {est.n_rounds_} epochs")
w.metrics_row_ui(run)
w.starts_ui(run)
floor = est.trace_[-1].scalars.get("floor") if est.constraint == "size" else None
st.plotly_chart(sizes_animation(est.trace_, floor, title="Cluster sizes (online assignment)"), width="stretch")
left, right = st.columns(2)
left.plotly_chart(centres_animation(est.trace_, est.track_y_), width="stretch")
right.plotly_chart(metric_curves(est.trace_, ["nmi", "loss", "smallest_over_floor"], "Quality, loss, smallest / floor"),
                   width="stretch")
w.baselines_ui(run, "SeCu (this run)")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
