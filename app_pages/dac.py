import streamlit as st

from clustlib.methods.dac import DAC
from clustlib.ui import widgets as w
from clustlib.viz import circle_animation, metric_curves, sizes_animation

KEY = "dac"
DATASETS = ["digits", "digits:n=600", "omniglot", "blobs", "iris", "wine"]

st.title("DAC — is this pair in the same cluster?")
st.caption("Chang et al. (ICCV 2017). Label features are non-negative unit vectors (restraint "
           "layer); pairs more similar than u are trained as 'same', less similar than l as "
           "'different', the rest wait; u falls and l rises each epoch until they meet.")

req, ds = w.train_setup_ui(KEY, DAC, DATASETS, "digits", 300, 10)
schedule = w.setting_ui(KEY, DAC, "schedule", "Threshold schedule",
                        help="reimpl: u = 0.95 − λ, l = 0.455 + 0.1 λ; "
                             "code: the released code, u = 0.99 and l = 0.8 closing in 100 steps")
balance = w.setting_ui(KEY, DAC, "balance", "Anti-collapse weight (0 = the paper)", choices=[0.0, 0.3, 1.0, 3.0])
req = req.with_params(schedule=schedule, balance=balance)
w.train_ui(KEY, req, ds)


def live(trace, track_y):
    return [circle_animation(trace[-1:], track_y),
            metric_curves(trace, ["nmi", "u", "l", "selected"], "NMI, thresholds u and l, pairs selected")]


run = w.current_run_ui(KEY, req, live)

est = run.estimator
st.subheader(f"{w.data_label(run.info.get('dataset'))} · {len(est.labels_)} samples · {est.n_iter_} epochs")
if est.collapsed_:
    used = int((est.cluster_sizes_ > 0).sum())
    st.warning(f"Collapsed: only {used} of {est.n_clusters} clusters are used. Raise the "
               "anti-collapse weight or try another seed.")
w.metrics_row_ui(run)
circle = lambda: circle_animation(est.trace_, est.track_y_)  # noqa: E731
w.poster_ui(run, "circle", circle, "At a glance: the label features at the start → at the end, coloured by true "
            "class (the animation below plays every epoch)")
w.starts_ui(run)
st.caption("**What you are watching.** Each point is one sample's label feature, placed on the circle by "
           "supplementary Eq. 1: a one-hot feature sits on one of the k vertices (✖, numbered by cluster), an "
           "undecided one inside. As u falls and l rises, points leave the middle for the vertices; the colour is "
           "the true class, so a vertex that gathers one colour is a clean cluster.")
left, right = st.columns([3, 2])
w.chart(run, "circle", circle, left)
right.plotly_chart(metric_curves(est.trace_, ["u", "l", "selected", "similar"],
                                 "Thresholds u(λ), l(λ) and share of pairs selected"), width="stretch")
right.plotly_chart(metric_curves(est.trace_, ["nmi", "pair_loss", "balance_loss"], "Quality and losses"),
                   width="stretch")
w.chart(run, "sizes", lambda: sizes_animation(est.trace_))
w.baselines_ui(KEY, run, "DAC (this run)")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
