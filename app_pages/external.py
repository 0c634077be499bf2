import streamlit as st

from clustlib.ui import widgets as w
from clustlib.viz import embedding_animation, merge_animation, metric_curves

KEY = "external"

st.title("Your model — watch a model you trained yourself")
st.caption("Any training loop, recorded epoch by epoch with `clustlib.Recorder` (or arrays brought in with "
           "`clustlib import`): its embedding of the tracked samples over the epochs, the quality of its "
           "clusters per epoch beside scikit-learn's KMeans on the input, and the categories it never saw.")
w.upload_recording_ui(KEY)
run = w.current_run_ui(KEY, "external")

est = run.estimator
labels_from = run.info.get("labels", "its own labels")
st.subheader(f"{w.plain(run.info.get('model', 'your model'))} · {w.data_label(run.info.get('dataset')) if run.info.get('dataset') else 'its own samples'}"
             f" · {len(est.labels_)} tracked samples · {len(est.trace_)} recorded epochs"
             + (f" (TensorBoard steps of {w.plain(run.info.get('tag'))!r})" if run.info.get("source") == "tensorboard" else ""))
st.caption(f"Cluster labels: {w.plain(labels_from)}."
           + (" Some epochs were thinned to bound memory." if (run.info.get("recorder") or {}).get("thinned") else ""))
w.metrics_row_ui(run)
moving = lambda: embedding_animation(est.trace_, est.track_y_,  # noqa: E731
                                     "label" if est.track_y_ is not None else "cluster", title="Your model's embedding")
w.poster_ui(run, "moving", moving, "At a glance: the embedding of the first recorded epoch → the last "
            "(the animation below plays every epoch)")

view = st.radio("Picture", ["Moving points", "Fixed layout"], horizontal=True, key=f"{KEY}_layout",
                help="Moving points: each epoch's embedding in one PCA (of the last epoch), coloured by true "
                     "class. Fixed layout: every point at its place in a t-SNE of the last epoch, coloured by "
                     "its cluster at each epoch (a cluster keeps its colour through the epochs).")
if view == "Moving points":
    w.chart(run, "moving", moving)
else:
    layout = w.run_view_ui("final", st.session_state[f"{KEY}_run_path"], "tsne",
                           "the t-SNE layout of the last epoch")
    if layout is not None:
        w.chart(run, "fixed", lambda: merge_animation(est.trace_, layout["xy"], title="Clusters per epoch",
                                                      layout_name="t-SNE of the last epoch"))

peers, waiting = {}, []
if getattr(est, "track_input_", None) is not None and est.track_y_ is not None:
    for kind, name in w.background.INPUT_PEERS.items():  # the baselines a researcher tries first
        view = w.run_view_ui(kind, st.session_state[f"{KEY}_run_path"], "none", f"{name} on the input")
        if view:
            peers[f"{name} on the input"] = view
        else:
            waiting.append(name)
last = est.trace_[-1].scalars.get("nmi")
if peers and isinstance(last, float) and last == last:
    w.standing_ui(f"{run.info.get('model', 'Your model')} at its last epoch", {"nmi": last}, peers, waiting)
c1, c2 = st.columns(2)
c1.plotly_chart(metric_curves(est.trace_, ["nmi", "acc", "ari"], "Quality of its clusters per epoch",
                              levels={f"{name} (NMI)": v["nmi"] for name, v in peers.items()} or None),
                width="stretch")
own = sorted({k for s in est.trace_ for k in s.scalars} - {"nmi", "acc", "ari", "n_clusters"}
             - {k for s in est.trace_ for k in s.scalars if k.startswith("unseen_")})
if own:
    c2.plotly_chart(metric_curves(est.trace_, own, "What your loop recorded"), width="stretch")
elif any("unseen_nmi" in s.scalars for s in est.trace_):
    c2.plotly_chart(metric_curves(est.trace_, ["unseen_nmi", "unseen_recall@1"], "Unseen classes per epoch"),
                    width="stretch")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
