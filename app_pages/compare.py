import streamlit as st

from clustlib.metrics import matched_confusion
from clustlib.ui import widgets as w
from clustlib.viz import confusion_heatmap, curves_of_runs, labelled_maps

st.title("Compare runs")
st.caption("Two to four runs on the same dataset: metrics beside scikit-learn, their learned "
           "embeddings (one colour per class in every map), confusion matrices and NMI per round.")
runs = w.all_runs()
labels = list(runs)
picked = st.multiselect("Runs (2 to 4, same dataset)", labels, default=labels[:0], max_selections=4,
                        key="cmp_runs")
if len(picked) < 2:
    st.info("Pick two to four runs: the demo runs on digits (JULE, DAC, SeCu) compare directly.")
    st.stop()
loaded = {}
for label in picked:
    try:
        loaded[label] = w.load_run(runs[label])
    except w.RunFormatError as err:
        st.error(f"{w.plain(label)}: {w.plain(err)}")
        st.stop()
specs = {r.info.get("dataset") for r in loaded.values()}
if len(specs) != 1:
    st.error(f"These runs are on different datasets ({w.plain(', '.join(sorted(map(str, specs))))}); "
             "pick runs of one dataset.")
    st.stop()
spec = specs.pop()
names = {label: f"{r.method} · {runs[label].name}" for label, r in loaded.items()}
k = max(int(r.estimator.n_clusters) for r in loaded.values())
rows = {names[lbl]: {m: round(float(v), 3) for m, v in r.metrics.items() if m in ("nmi", "acc", "ari", "seconds")}
        for lbl, r in loaded.items()}
if not any(r.info.get("unseen") for r in loaded.values()):
    try:
        rows.update(w.cached_baselines(spec, k))
    except (w.DatasetError, ValueError) as err:
        st.warning(f"Baselines unavailable: {w.plain(err)}")
st.dataframe({n: {m: round(float(v), 3) for m, v in r.items()} for n, r in rows.items()}, width="stretch")
proj = st.radio("Map", list(w.PROJECTIONS), horizontal=True, key="cmp_proj", index=2)
panels = []
for lbl, r in loaded.items():
    est = r.estimator
    snap = est.trace_[-1]
    if snap.embedding is None:
        continue
    color = est.track_y_ if est.track_y_ is not None else snap.labels
    panels.append((w.cached_projection(snap.embedding, w.PROJECTIONS[proj]), color, names[lbl]))
if panels:
    st.plotly_chart(labelled_maps(panels, height=420), width="stretch")
cols = st.columns(len(loaded))
for col, (lbl, r) in zip(cols, loaded.items()):
    est = r.estimator
    if est.track_y_ is not None:
        table, classes, clusters = matched_confusion(est.track_y_, est.trace_[-1].labels)
        col.plotly_chart(confusion_heatmap(table, classes, clusters, names[lbl]), width="stretch")
st.plotly_chart(curves_of_runs({names[lbl]: r.trace for lbl, r in loaded.items()}, "nmi"), width="stretch")
