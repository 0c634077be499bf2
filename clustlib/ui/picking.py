"""Which run a page shows: the demo run, a saved run (the sidebar's "Load"), the run a
shared link names or matches, a training's new run, a recording someone uploads."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from .. import sources
from ..external import METHOD, import_npz, recording_status
from ..library import import_zip
from ..request import TrainRequest
from ..rundir import run_name, runs_dir
from ..runs import Run, RunFormatError
from ..uploads import UPLOADS
from . import access
from .jobs import assets_dir, find_saved_run, run_key
from .store import available_runs, data_label, load_run, matching_run, plain
from .training import busy, job_progress_ui, live_ui

VISITOR_RECORDING_BYTES = 128 * 2**20  # what an uploaded recording's arrays may declare (a 0.5 MB file can say 458 MiB)
VISITOR_RECORDING_FRAMES = 100  # epochs read of it, evenly spaced (each is scored, k-means without labels)


def load_run_ui(method: str, key: str) -> None:
    """Sidebar: choose a saved run (demo assets first) and load it into session state."""
    runs = available_runs(method)
    if not runs:
        st.sidebar.caption("No saved runs yet: train one, or run `make demo-assets`.")
        return
    labels = [label for label, _ in runs]
    shown = st.session_state.get(f"{key}_run_path")
    if shown != st.session_state.get(f"{key}_pick_for"):  # the box names the run on screen
        st.session_state[f"{key}_pick_for"] = shown
        st.session_state[f"{key}_pick"] = next((label for label, p in runs if str(p) == shown), labels[0])
    choice = st.sidebar.selectbox("Saved runs", labels, key=f"{key}_pick")
    if st.sidebar.button("Load run", key=f"{key}_load", width="stretch"):
        path = dict(runs)[choice]
        try:
            st.session_state[f"{key}_run"] = load_run(path)
            st.session_state[f"{key}_run_path"] = str(path)
            st.session_state[f"{key}_loaded"] = True
        except RunFormatError as err:
            st.sidebar.error(plain(err))


def default_run_ui(key: str, method: str, wanted: TrainRequest | None = None) -> None:
    """Show the method's pretrained demo run (``assets/``) until the user loads or trains
    another; a shared link (``wanted``: the page's request, read from the link) opens the
    saved run trained from it instead, when there is one."""
    if f"{key}_run" in st.session_state or f"{key}_job" in st.session_state:
        return
    path = assets_dir() / sources.get(method).demo
    if wanted is not None and st.session_state.get(f"{key}_q_shared"):
        path = matching_run(wanted) or path
    linked = st.session_state.pop(f"{key}_q_run", None) or (  # ?run=NAME: a saved run by its name (never a path)
        st.query_params.get("run") if wanted is None else None)  # a page without training: its own link
    if linked:
        found = find_saved_run(linked, method)
        if found:
            path = found[0]
        else:
            st.warning(f"No saved {method} run is named {plain(linked[:80])}; showing the demo run.")
    try:
        st.session_state[f"{key}_run"] = load_run(path)
        st.session_state[f"{key}_run_path"] = str(path)
    except (RunFormatError, OSError):
        pass  # no demo assets (run `make demo-assets`): the page says how to get a run


def current_run_ui(key: str, wanted: TrainRequest | str, live=None) -> Run:
    """Sidebar "Load" section, the demo run (or the run a shared link names: ``wanted``,
    the page's request; a page without training gives its method's name) until another
    is chosen; while a job trains, its progress and ``live(trace, track_y)`` -> figures
    of the latest round in place of the page (which then stops). Returns the run to
    show, or stops the page with a hint."""
    method = wanted if isinstance(wanted, str) else wanted.method
    st.sidebar.header("Load")
    default_run_ui(key, method, None if isinstance(wanted, str) else wanted)
    job_progress_ui(key)
    load_run_ui(method, key)
    if busy(key):
        if live is not None:
            live_ui(st.session_state[f"{key}_job"], live)
        st.stop()  # the live view is the page while training
    run = st.session_state.get(f"{key}_run")
    if run is not None and isinstance(wanted, str) and st.session_state.get(f"{key}_run_path"):
        st.query_params["run"] = run_key(st.session_state[f"{key}_run_path"])  # the link opens it
    if run is not None and run.info.get("live") and st.session_state.get(f"{key}_run_path"):
        follow_recording_ui(key, run)
    if run is not None and not isinstance(wanted, str):
        differs_ui(run, wanted)
    if run is None:
        st.info("No recording yet: record your model with `clustlib.Recorder` (examples/record_autoencoder.py) "
                "and open it here, or upload one in the sidebar." if not sources.get(method).network else
                "No run yet: train one from the sidebar, or run `make demo-assets` for the demo runs.")
        st.stop()
    return run


def upload_recording_ui(key: str) -> None:
    """Sidebar: open a recorded model -- a run zip, or an .npz of embeddings as ``clustlib
    import`` reads it -- saved to the runs folder and shown. Checked like every visitor
    file (sizes from the headers first, nothing unpickled); a refusal is one line."""

    up = st.sidebar.file_uploader("Open a recording (.npz of embeddings, or a run .zip)", type=["npz", "zip"],
                                  key=f"{key}_upload", help="embeddings (epochs, n, d) or (n, d); optional labels, "
                                  "y, images, X, epoch -- see `clustlib import --help`")
    if up is None or st.session_state.get(f"{key}_uploaded") == up.file_id:
        return
    st.session_state[f"{key}_uploaded"] = up.file_id  # each upload once
    who = access.session()
    try:
        access.check_upload(who, up.size, runs_dir() / UPLOADS)
        if up.name.lower().endswith(".zip"):
            if not who.host:
                raise access.Refused("run zips are added by the host (Runs library); upload your recording as "
                                     "an .npz of embeddings instead.")
            path = import_zip(up.getvalue(), runs_dir(), Path(up.name).stem)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / "upload.npz"
                source.write_bytes(up.getvalue())
                path = runs_dir() / run_name(METHOD, Path(up.name).stem)
                import_npz(source, path, name=Path(up.name).stem, max_frames=VISITOR_RECORDING_FRAMES,
                           max_bytes=VISITOR_RECORDING_BYTES)
        access.count_upload(who, path, up.size)
        st.session_state[f"{key}_run"] = load_run(path)
        st.session_state[f"{key}_run_path"] = str(path)
        st.session_state[f"{key}_loaded"] = True
    except (RunFormatError, ValueError) as err:  # access.Refused included
        st.sidebar.error(f"Not opened: {plain(str(err).splitlines()[0] if str(err) else err)}")


FOLLOW_EVERY_S = 2.0  # how often a page looks for a recording's new epochs


def follow_recording_ui(key: str, run: Run) -> None:
    """A recording in progress (``Recorder(out=...)``, or a folder synced from the machine
    that trains): say so, and look every ``FOLLOW_EVERY_S`` for its next epoch, which
    replaces the run on the page without a reload -- as a method page follows its
    training job. Ends when the recording is final (or its process is gone)."""

    status = recording_status(run.info)
    path = Path(st.session_state[f"{key}_run_path"])
    st.info(f"{plain(status)}." + (" New epochs appear here as they are recorded." if status.startswith("recording,")
                                   else " What it recorded is shown."))
    if not status.startswith("recording,"):
        return
    shown = st.session_state.get(f"{key}_run_mtime") or path.stat().st_mtime
    st.session_state[f"{key}_run_mtime"] = shown

    @st.fragment(run_every=FOLLOW_EVERY_S)
    def follow():
        try:
            mtime = path.stat().st_mtime
            if mtime == st.session_state.get(f"{key}_run_mtime"):
                return
            newer = load_run(path)
        except (OSError, RunFormatError):
            return  # between a save's two renames: the next look finds it
        st.session_state[f"{key}_run"], st.session_state[f"{key}_run_mtime"] = newer, mtime
        st.rerun()

    follow()


def differs_ui(run: Run, request: TrainRequest) -> None:
    """One line when the run on screen is not what Train would train (a run opened by a
    link or from the library, then the sidebar changed): its data, preset and seed beside
    the sidebar's."""
    info = run.info
    shown = (str(info.get("dataset") or ""), info.get("preset", "demo"), info.get("seed"))
    asked = (request.data, request.preset, request.seed)
    if shown == asked:
        return
    st.caption(f"The run shown was trained on {data_label(shown[0])} (preset {plain(shown[1])}, seed {shown[2]}); "
               f"**Train** trains the sidebar's choice: {data_label(asked[0])} (preset {plain(asked[1])}, seed {asked[2]}).")
