import streamlit as st

from clustlib.methods.knet import KNet
from clustlib.ui import widgets as w
from clustlib.viz import embedding_animation, kernel_heatmap_animation, metric_curves, scatter_2d

KEY = "knet"
DATASETS = ["spirals", "moons", "circles", "wine", "wisconsin", "breast_cancer", "iris", "blobs", "digits"]
SMALL_SIGMA = {"spirals", "moons", "circles"}  # the authors' sigma ratio 0.1 for Moon/Spiral

st.title("KNet — a deep kernel learned for clustering")
st.caption("Wu, Khan, Ioannidis, Dy (SDM 2020). The network ψ is trained so that the Gaussian "
           "kernel on ψ(x) agrees (HSIC) with a jointly learned spectral embedding U.")

preset, spec, ds, unseen, k, seed = w.train_setup_ui(KEY, KNet.PRESETS, DATASETS, "spirals", 50, 2)
u_update = st.sidebar.radio("U-step", ["sma", "eig"], horizontal=True, key=f"{KEY}_u_{preset}",
                            index=["sma", "eig"].index(KNet.PRESETS[preset]["u_update"]),
                            help="sma: Stiefel-manifold ascent (Eq. 5.16); eig: eigendecomposition (Eq. 5.14)")
ratio = st.sidebar.select_slider("σ ratio (× median distance)", [0.05, 0.1, 0.2, 0.5, 1.0, 2.0],
                                 value=0.1 if spec in SMALL_SIGMA else 1.0, key=f"{KEY}_sig_{spec}")
ae = st.sidebar.select_slider("λ autoencoder weight (Eq. 4.8)", [0.0, 0.1, 1.0, 10.0],
                              value=KNet.PRESETS[preset].get("ae_weight", 0.0), key=f"{KEY}_ae_{preset}")
iters = st.sidebar.slider("Outer iterations", 1, 100, KNet.PRESETS[preset]["max_iter"], key=f"{KEY}_it_{preset}")
busy = w.busy(KEY)
params = {**KNet.PRESETS[preset], "n_clusters": k, "u_update": u_update, "sigma_ratio": ratio,
          "ae_weight": ae, "max_iter": iters, "random_state": int(seed)}
if st.sidebar.button("Train", type="primary", disabled=busy or ds is None, width="stretch"):
    w.start_job_ui(KEY, "knet", params, spec, unseen, preset)
if st.sidebar.button("Out-of-sample demo: train on 10 % of spirals", disabled=busy,
                     width="stretch"):
    oos = {**KNet.PRESETS["demo"], "n_clusters": 3, "sigma_ratio": 0.1, "train_size": 0.1,
           "random_state": int(seed)}
    w.start_job_ui(KEY, "knet", oos, "spirals", [], "demo")
run = w.current_run_ui(KEY, "knet", "knet-spirals", (spec, preset, int(seed), unseen))

est = run.estimator
st.subheader(f"{run.info.get('dataset')} · {len(est.labels_)} samples · {est.n_rounds_} iterations")
w.metrics_row_ui(run)
left, right = st.columns(2)
left.plotly_chart(kernel_heatmap_animation(est.trace_, track_y=est.track_y_), width="stretch")
right.plotly_chart(embedding_animation(est.trace_, est.track_y_, "cluster", title="ψ(x)"),
                   width="stretch")
c1, c2 = st.columns(2)
c1.plotly_chart(metric_curves(est.trace_, ["hsic"], "HSIC per iteration"), width="stretch")
c2.plotly_chart(metric_curves(est.trace_, ["nmi", "acc", "kernel_change"], "Quality and kernel change"),
                width="stretch")

data = w.cached_dataset(run.info["dataset"])
if run.info.get("params", {}).get("train_size"):
    st.subheader("Out of sample: ψ trained on a subset, applied to the whole set")
    st.plotly_chart(scatter_2d(est.transform(data.X), est.predict(data.X),
                               f"all {len(data)} points, coloured by predicted cluster"),
                    width="stretch")
w.baselines_ui(run, "KNet (this run)")
w.unseen_view_ui(KEY, run)
w.inspect_ui(KEY, run)
