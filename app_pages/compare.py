import streamlit as st

from clustlib.library import seed_groups
from clustlib.metrics import matched_confusion
from clustlib.ui import widgets as w
from clustlib.ui.jobs import saved_runs
from clustlib.viz import confusion_heatmap, curves_of_runs, labelled_maps, to_2d

st.title("Compare runs")
st.caption("Two to four runs on the same dataset: metrics beside scikit-learn, their learned "
           "embeddings (one colour per class in every map), confusion matrices and NMI per round.")
runs = w.all_runs()
labels = list(runs)
if not st.session_state.get("cmp_q_done"):  # ?runs=NAME,NAME: runs by their folder names
    st.session_state["cmp_q_done"] = True
    wanted = [n for n in str(st.query_params.get("runs", "")).split(",") if n][:4]
    st.session_state["cmp_runs"] = [lbl for lbl in labels if runs[lbl].name in wanted]
picked = st.multiselect("Runs (2 to 4, same dataset)", labels, max_selections=4, key="cmp_runs", select_all=False)
groups = seed_groups((path, info) for _, path, info in saved_runs())
if groups:
    with st.expander(f"Seeds of one setting ({len(groups)} setting{'s' if len(groups) > 1 else ''} trained with several "
                     "seeds): how much the seed decides", expanded=not picked):
        st.caption("Runs that differ only in their seed (`clustlib train … --seeds 0-4`, or Train with other "
                   "seeds): mean, worst and best over the seeds.")
        st.dataframe([{"method": g["method"], "data": w.data_label(g["dataset"]), "preset": g["preset"],
                       "seeds": ", ".join(map(str, g["seeds"])),
                       **{f"{m} {k}": round(v[k], 3) for m, v in g["metrics"].items() if m != "seconds"
                          for k in ("mean", "worst", "best")}} for g in groups], hide_index=True, width="stretch")
if picked:
    st.query_params["runs"] = ",".join(runs[lbl].name for lbl in picked)
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
    st.error(f"These runs are on different datasets ({w.plain(', '.join(w.data_label(s) for s in sorted(map(str, specs))))}); "
             "pick runs of one dataset.")
    st.stop()
spec = specs.pop()
names = {label: w.short_run_name(r, runs[label].name) for label, r in loaded.items()}
k = max(int(r.estimator.n_clusters) for r in loaded.values())
rows = {names[lbl]: {m: round(float(v), 3) for m, v in r.metrics.items() if m in ("nmi", "acc", "ari", "seconds")}
        for lbl, r in loaded.items()}
st.dataframe(rows, width="stretch")
if not any(r.info.get("unseen") for r in loaded.values()):
    section = st.expander("Beside scikit-learn baselines on the same data", key="cmp_peers_open", on_change="rerun")
    if section.open:
        with section:
            w.baselines_table_ui(spec, k)
st.session_state.setdefault("cmp_proj", "PCA")
proj = st.radio("Map", list(w.PROJECTIONS), horizontal=True, key="cmp_proj")
panels = []
for lbl, r in loaded.items():
    est = r.estimator
    snap = est.trace_[-1]
    if snap.embedding is None:
        continue
    color = est.track_y_ if est.track_y_ is not None else snap.labels
    if w.PROJECTIONS[proj] == "pca":
        xy = to_2d([snap.embedding])[0]
    else:
        view = w.run_view_ui("final", str(runs[lbl]), w.PROJECTIONS[proj], f"the {proj} map of {w.plain(names[lbl])}")
        if view is None:
            continue
        xy = view["xy"]
    panels.append((xy, color, names[lbl]))
if panels:
    st.plotly_chart(labelled_maps(panels, height=420 if len(panels) <= 2 else 760, per_row=2), width="stretch")
cols = st.columns(min(len(loaded), 2))
for i, (lbl, r) in enumerate(loaded.items()):
    est = r.estimator
    if est.track_y_ is not None:
        table, classes, clusters = matched_confusion(est.track_y_, est.trace_[-1].labels)
        cols[i % len(cols)].plotly_chart(confusion_heatmap(table, classes, clusters, names[lbl]), width="stretch")
st.plotly_chart(curves_of_runs({names[lbl]: r.trace for lbl, r in loaded.items()}, "nmi"), width="stretch")
