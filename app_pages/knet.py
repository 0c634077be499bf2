import streamlit as st

from clustlib.methods.knet import KNet
from clustlib.ui import widgets as w
from clustlib.viz import embedding_animation, kernel_heatmap_animation, metric_curves, scatter_2d

KEY = "knet"
DATASETS = ["spirals", "moons", "circles", "wine", "wisconsin", "breast_cancer", "iris", "blobs", "digits", "omniglot"]
ASSIGN = {"kmeans": "k-means on ψ(X) — Algorithm 1's own assignment",
          "spectral": "spectral clustering of the learned kernel (the authors' code) — "
                      "not a measure of ψ's clusters"}

st.title("KNet — a deep kernel learned for clustering")
st.caption("Wu, Khan, Ioannidis, Dy (SDM 2020). The network ψ is trained so that the Gaussian "
           "kernel on ψ(x) agrees (HSIC) with a jointly learned spectral embedding U: "
           "ψ pulls each cluster together and pushes clusters apart, so the clusters of ψ(x) "
           "become convex and the kernel block diagonal.")

req, ds = w.train_setup_ui(KEY, KNet, DATASETS, "spirals", 300, 2)
preset = KNet.PRESETS[req.preset]
u_update = w.setting_ui(KEY, KNet, "u_update", "U-step",
                        help="sma: Stiefel-manifold ascent (Eq. 5.16); eig: eigendecomposition (Eq. 5.14)")
rule = w.setting_ui(KEY, KNet, "sigma", "σ rule", choices=["knn", "median"],
                    help="knn (label-free default): the median distance to the 1 %-nearest "
                         "neighbour; median: the paper's rule, × 0.1 for Moon/Spiral (Table 6)")
ratio = w.setting_ui(KEY, KNet, "sigma_ratio", "σ × rule", choices=[0.05, 0.1, 0.2, 0.5, 1.0, 2.0])
ae = w.setting_ui(KEY, KNet, "ae_weight", "λ autoencoder weight (Eq. 4.8)", choices=[0.0, 0.1, 1.0, 10.0])
iters = w.setting_ui(KEY, KNet, "max_iter", "Outer iterations", lo=max(preset["delta_iter"], 1), upto=100)
busy = w.busy(KEY)
req = req.with_params(u_update=u_update, sigma=rule, sigma_ratio=ratio, ae_weight=ae, max_iter=iters)
w.train_ui(KEY, req, ds)
if st.sidebar.button("Out-of-sample demo: train on 1 % of 30,000 spiral points", disabled=busy,
                     width="stretch", help="the paper's Spiral2 protocol (Fig. 1, Table 4)"):
    w.start_job_ui(KEY, w.TrainRequest("knet", "spirals:n=30000", preset="demo", params={"train_size": 0.01},
                                       unseen=(), seed=req.seed, k=3))


def live(trace, track_y):
    return [kernel_heatmap_animation(trace[-1:], track_y=track_y, by_label=True, title="Kernel of ψ(x)"),
            embedding_animation(trace[-1:], track_y, "label", frame_axes=True, title="ψ(x) by true class")]


run = w.current_run_ui(KEY, req, live)

est = run.estimator
st.subheader(f"{w.data_label(run.info.get('dataset'))} · {len(est.labels_)} samples · {est.n_iter_} iterations")
assign = run.info.get("params", {}).get("assign", "spectral")  # runs saved before assign existed
st.markdown(f"**Labels of this run:** {ASSIGN.get(assign, assign)}.")
w.metrics_row_ui(run)
kernel = lambda: kernel_heatmap_animation(est.trace_, track_y=est.track_y_, by_label=True,  # noqa: E731
                                          title="Kernel of ψ(x), rows by true class")
w.poster_ui(run, "kernel", kernel, "At a glance: the kernel of ψ(x) at the start → at the end, rows and columns "
            "grouped by true class (the animation below plays every iteration)")
first, last = est.trace_[0].scalars, est.trace_[-1].scalars
if "block_contrast" in last:
    c = st.columns(3)
    c[0].metric("Block contrast, input kernel", f"{last.get('input_contrast', first['block_contrast']):.2f}",
                help="mean within-class minus mean between-class kernel value, rows grouped by "
                     "true label: 1 = a 0/1 block-diagonal kernel, 0 = uninformative")
    c[1].metric("Block contrast, learned kernel", f"{last['block_contrast']:.2f}",
                delta=f"{last['block_contrast'] - last.get('input_contrast', first['block_contrast']):+.2f}")
    c[2].metric(f"NMI at start → end ({'k-means on ψ' if assign == 'kmeans' else assign})",
                f"{first.get('nmi', float('nan')):.2f} → {last.get('nmi', float('nan')):.2f}")
    if assign == "kmeans" and last.get("nmi", 1.0) < first.get("nmi", 0.0) - 0.005:
        st.warning(f"**This run is below its k-means baseline**: k-means on the standardised input (ψ is the "
                   f"identity at the start) gives NMI {first['nmi']:.2f} on the tracked points, the trained ψ "
                   f"{last['nmi']:.2f}. Another seed, or σ × rule, may do better.")
left, right = st.columns(2)
w.chart(run, "kernel", kernel, left)
w.chart(run, "psi", lambda: embedding_animation(est.trace_, est.track_y_, "label", frame_axes=True,
                                                title="ψ(x) by true class, zoomed per frame"), right)
c1, c2 = st.columns(2)
c1.plotly_chart(metric_curves(est.trace_, ["nmi", "block_contrast", "input_contrast"],
                              "NMI and block contrast per iteration"), width="stretch")
c2.plotly_chart(metric_curves(est.trace_, ["kernel_change", "u_change"],
                              "Change of the kernel and of U at each U-step"), width="stretch")
st.caption("After U settles, the last iterations (`delta_iter`, the authors' code) build Γ from "
           "the one-hot partition instead of U: the clusters of ψ(x) contract to compact blobs.")

data = w.run_dataset_ui(run)
if data is not None and run.info.get("params", {}).get("train_size"):
    st.subheader("Out of sample: ψ trained on a subset, applied to the whole set")
    w.chart(run, "out of sample", lambda: scatter_2d(est.transform(data.X), est.predict(data.X),
                                                     f"all {len(data)} points, coloured by predicted cluster"))
w.baselines_ui(KEY, run, "KNet (this run)")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
