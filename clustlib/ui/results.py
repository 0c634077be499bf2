"""A run's numbers: its metrics, which of several starts it kept, and scikit-learn's
baselines beside it (run in the background, only while their section is open)."""

from __future__ import annotations

import streamlit as st

from ..baselines import PEERS
from ..runs import Run
from ..timing import duration_text
from . import background
from .store import plain
from .views import task_ui


def starts_ui(run: Run) -> None:
    """Which of several starts (``n_init``) the run kept, and why (no labels involved)."""
    est = run.estimator
    scores = getattr(est, "start_scores_", None)
    if not scores:
        return
    best = est.best_start_
    others = ", ".join(f"{v:.3f}" for i, v in enumerate(scores) if i != best)
    st.caption(f"Kept start {best + 1} of {len(scores)}: its clusters were the best separated (cosine "
               f"silhouette of its own labels {scores[best]:.3f}; the others {others}). Several starts "
               "(n_init) are not in the paper: a start that merges two classes and splits a third "
               "keeps that to the end.")


def metrics_row_ui(run: Run) -> None:
    m = run.metrics
    cols = st.columns(5)
    seen = " (seen classes)" if run.info.get("unseen") else ""  # the unseen ones: see their view
    for col, key in zip(cols, ("nmi", "acc", "ari")):
        if isinstance(m.get(key), (int, float)):
            col.metric(key.upper() + seen, f"{m[key]:.3f}")
    if isinstance(m.get("seconds"), (int, float)):
        cols[3].metric("training time", duration_text(m["seconds"]), help=f"{m['seconds']:.1f} s")
    name = getattr(run.estimator, "round_name", None)
    if name:  # a method: its rounds trained (epochs, periods, iterations)
        cols[4].metric(f"{name}s trained", f"{run.estimator.n_iter_}")
    else:  # a recording: the epochs it recorded
        cols[4].metric("epochs recorded", f"{len(run.trace)}")


def baselines_table_ui(spec: str, k: int, rows: dict | None = None) -> None:
    """scikit-learn's peers on dataset ``spec`` (each in the background, within its time
    budget), in one table after ``rows`` (e.g. the run's own metrics)."""

    table = dict(rows or {})
    waiting = []
    for peer in PEERS:
        task = background.ask(("baseline", spec, int(k), peer), background.baseline, spec, int(k), peer)
        if task.status == "done":
            table[peer] = task.result
        elif task.finished:
            table[peer] = {}
            st.caption(f"{peer}: {plain(task.error)}.")
        else:
            waiting.append(peer)
    if table:
        st.dataframe({name: {m: round(float(v), 3) for m, v in r.items()} for name, r in table.items()})
    for label, row in (rows or {}).items():
        standing_ui(label, row, {p: table[p] for p in PEERS if table.get(p)}, waiting)
    if waiting:
        task_ui(("baseline", spec, int(k), waiting[0]), background.baseline, spec, int(k), waiting[0],
                what=f"the baseline {waiting[0]}")


def baselines_ui(key: str, run: Run, label: str) -> None:
    """The run's metrics beside scikit-learn peers on the same (fully seen) data. The
    peers run only while this section is open (or when their result is known)."""
    spec = run.info.get("dataset")
    if not spec or run.info.get("unseen"):
        return
    section = st.expander("Beside scikit-learn baselines on the same data", key=f"{key}_peers_open",
                          on_change="rerun")
    if section.open:
        with section:
            baselines_table_ui(spec, int(run.estimator.n_clusters), {label: run.metrics})


def standing_ui(label: str, row: dict, peers: dict, waiting: list) -> None:
    """Where a run stands against its strongest baseline, in one sentence: below it (named,
    both numbers) or above it, by how much. A method's score that a baseline already
    reaches is not the method's result."""
    nmi = row.get("nmi")
    scored = {p: r["nmi"] for p, r in peers.items() if isinstance(r.get("nmi"), (int, float))}
    if not isinstance(nmi, (int, float)) or not scored:
        return
    best = max(scored, key=scored.get)
    pending = f" ({len(waiting)} baseline{'s' * (len(waiting) > 1)} still computing)" if waiting else ""
    if nmi < scored[best]:
        st.warning(f"{plain(label)} (NMI {nmi:.3f}) is below the strongest baseline, {best} (NMI {scored[best]:.3f}), "
                   f"on the same data{pending}: a score a baseline already gives is not the method's result.")
    else:
        st.caption(f"{plain(label)} (NMI {nmi:.3f}) is above the strongest baseline, {best} (NMI {scored[best]:.3f}), "
                   f"by {nmi - scored[best]:.3f}{pending}.")
