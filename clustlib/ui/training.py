"""Training from a page: the Train button, the job's progress polled each second, the
method's live picture while it trains (``clustlib.ui.jobs`` runs the fit)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import streamlit as st

from ..methods import METHODS
from ..request import TrainRequest
from ..timing import duration_text, estimate_seconds
from . import access
from .jobs import TrainingJob, saved_runs
from .setup import share_state_ui
from .store import data_label, matching_run, plain


def busy(key: str) -> bool:
    """Whether this page's training job is still running."""
    job = st.session_state.get(f"{key}_job")
    return job is not None and job.running


LIVE_EVERY_S = 3.0  # the live pictures are redrawn at most this often


def live_ui(job: TrainingJob, live) -> None:
    """The method's pictures of the latest round, in a fragment of their own redrawn
    every ``LIVE_EVERY_S`` (redrawn with the progress bar, twice a second, the charts
    kept a third of a browser's core busy and slowed the training beside it)."""

    @st.fragment(run_every=LIVE_EVERY_S)
    def draw():
        if not job.running:
            return
        figures = live_figures(job, live) if job.trace else []
        cols = st.columns(len(figures)) if len(figures) > 1 else [st]
        for i, (col, fig) in enumerate(zip(cols, figures)):
            col.plotly_chart(fig, width="stretch", key=f"live_{job.id}_{i}")  # one element, updated

    draw()


def train_ui(key: str, request: TrainRequest, ds, disabled: bool = False) -> None:
    """The sidebar's Train button for the page's request (also written to the link). A
    shared link whose request has no saved run says so at the top of the page and offers
    to train exactly that run."""
    share_state_ui(key, request)
    running = busy(key)
    expected = expected_text(request)
    clicked = st.sidebar.button("Train", type="primary", disabled=running or ds is None or disabled,
                                width="stretch", key=f"{key}_train", help=expected)
    st.sidebar.caption(expected)
    if (st.session_state.get(f"{key}_q_shared") and not running and f"{key}_job" not in st.session_state
            and not st.session_state.get(f"{key}_loaded") and ds is not None and not disabled
            and matching_run(request) is None):
        held = len(request.unseen or ())
        st.info(f"No saved run matches this link ({request.method}, {data_label(request.data)}, preset {request.preset}, "
                f"seed {request.seed}{', ' + str(held) + ' unseen classes' if held else ''}): the page shows "
                "the demo run below. Train the linked run now (or press Train in the sidebar later).")
        clicked = st.button("Train the linked run", key=f"{key}_train_link") or clicked
    if clicked:
        start_job_ui(key, request)


def expected_text(request: TrainRequest) -> str:
    """How long Train should take, from the saved runs of these settings (their recorded
    seconds; this machine's first): said before it starts."""

    found = estimate_seconds(request, [(p, i) for _, p, i in saved_runs()])
    if found is None:
        return ("Not trained with these settings before: its time left shows once it runs (from its first "
                "rounds).")
    seconds, basis = found
    return f"Expected: about {duration_text(seconds)} ({plain(basis)})."


def time_left(job: TrainingJob) -> str:
    """Time left of a running job, from its rounds so far (updated each round)."""

    if not job.started or job.rounds_done < 1 or not job.max_rounds:
        return ""
    spent = time.time() - job.started
    left = spent / job.rounds_done * max(job.max_rounds - job.rounds_done, 0)
    return f"about {duration_text(left)} left"


def start_job_ui(key: str, request: TrainRequest) -> None:
    """Queue a training of this session (a visitor's is refused in one line while another
    of theirs waits or runs, or when the queue is full)."""
    try:
        job = TrainingJob(request, who=access.session()).start()
    except access.Refused as err:
        st.error(f"Not started: {plain(err)}")
        return
    st.session_state[f"{key}_job"] = job
    st.query_params["job"] = job.id  # a reload of this page finds the job again


def job_progress_ui(key: str) -> None:
    """Poll the job each second from a fragment: its place in the queue, or its
    progress and a Stop button; when it ends, hand its run to the page."""
    job: TrainingJob | None = st.session_state.get(f"{key}_job")
    if job is None:
        return

    @st.fragment(run_every=1.0)
    def poll():
        if job.status == "queued":
            ahead = max(job.position - 1, 0)
            st.info(f"Waiting in the queue: {ahead} training{'s' if ahead != 1 else ''} ahead of this one "
                    f"(position {job.position}); it starts by itself.")
            if job.may_stop(access.session()) and st.button("Cancel", key=f"{key}_stop", help="leave the queue"):
                job.stop()
            return
        if job.running:
            about = METHODS[job.method].ABOUT
            shown = " · ".join(f"{k.upper() if k in ('nmi', 'acc', 'ari') else k.replace('_', ' ')} {job.scalars[k]:.3f}"
                               for k in about.progress
                               if k != "n_clusters" and np.isfinite(job.scalars.get(k, np.nan)))
            where = (f"{job.stage} · {job.progress:.0%} of the training" if job.max_rounds  # every start counted
                     else "setting up")
            left = time_left(job)
            st.progress(job.progress, text=f"Training {about.title}: {where} · {_threads(job)}"
                        + (f" · {left}" if left else "") + (f" · {shown}" if shown else ""))
            if not job.may_stop(access.session()):
                st.caption("Another session started this training: you can watch it; it or the host can stop it.")
            elif st.button("Stop", key=f"{key}_stop", help="end training after this round and keep what was learned"):
                job.stop()
            return
        if job.status == "failed":
            st.error(f"Training failed: {plain(job.error)}")
        elif job.status == "cancelled":
            st.caption("Training cancelled before it started.")
        elif job.run is not None and st.session_state.get(f"{key}_run_path") != str(job.path):
            st.session_state[f"{key}_run"] = job.run
            st.session_state[f"{key}_run_path"] = str(job.path)
            st.session_state[f"{key}_loaded"] = True
            st.rerun()
        else:
            capped = (f" at its time limit of {job.time_cap / 60:.0f} minutes for a visitor's training" if job.capped
                      else "")
            kept = f" ({plain(job.kept)}: that is what was saved)" if job.kept else ""
            st.success(f"Training {job.status} in {job.seconds or 0:.1f} s{capped} with {_threads(job)}: "
                       f"saved as {plain(job.path.name)}{kept}")

    poll()


def _threads(job: TrainingJob) -> str:
    if not job.threads:  # before the training process has chosen
        return "choosing threads"
    return f"{job.threads} thread{'s' if job.threads != 1 else ''}"


LIVE_POINTS = 300  # tracked points drawn in the live pictures (all of them once trained)


def live_figures(job: TrainingJob, live) -> list:
    """The live pictures of a job, built once per new Snapshot from at most
    ``LIVE_POINTS`` of the tracked points (a browser without a GPU spent a tenth of a core
    drawing DAC's 1,000-point circle every two seconds, taken from the training)."""

    n = len(job.trace)
    cached = getattr(job, "_live", None)
    if cached is None or cached[0] != n:
        from threadpoolctl import threadpool_limits

        m = len(job.trace[0].labels)
        keep = np.linspace(0, m - 1, min(m, LIVE_POINTS)).astype(int)
        trace = [replace(s, labels=s.labels[keep], embedding=None if s.embedding is None else s.embedding[keep])
                 for s in job.trace[:n]]
        y = None if job.track_y is None else np.asarray(job.track_y)[keep]
        try:  # one BLAS thread: the cores belong to the training (a 400 x 160 SVD with
            with threadpool_limits(1):  # spinning BLAS threads beside it took 0.5 s, not 5 ms)
                figures = live(trace, y)
        except ValueError:  # not enough rounds yet for this picture
            figures = []
        cached = (n, figures)
        job._live = cached
    return cached[1]
