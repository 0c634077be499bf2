"""Shared Streamlit widgets (the only package that imports streamlit).

Widget functions end in ``_ui``; data functions are cached and pure.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import streamlit as st

from .. import external
from ..data import (
    UPLOADS,
    DatasetError,
    check_visitor_spec,
    data_roots,
    in_memory,
    load_dataset,
    parse_classes,
    resolve_unseen,
    upload_home,
)
from ..methods import METHODS
from ..runs import EXTERNAL, Run, RunFormatError
from . import access, background
from .jobs import TrainingJob, assets_dir, find_job, runs_dir, saved_runs, warm_up


@st.cache_resource(show_spinner=False)
def _jobs_ready() -> bool:
    warm_up()  # once per server: the first training starts at once
    return True


_jobs_ready()


def data_cache_bytes() -> int:
    """Memory the server keeps datasets in ($CLUSTLIB_DATA_CACHE_MB, default 1024)."""
    try:
        return max(1, int(float(os.environ.get("CLUSTLIB_DATA_CACHE_MB", 1024)) * 2**20))
    except ValueError:
        return 2**30


@st.cache_resource(show_spinner=False)
def _datasets():
    """The server's datasets, shared by every session (one copy, not one per page run),
    least recently used dropped first past :func:`data_cache_bytes`."""
    return OrderedDict(), threading.Lock()


def cached_dataset(spec: str):
    """A dataset the page may show. Every spec here came from a visitor (the URL, the text
    box, an uploaded run), so files are read only from uploads and $CLUSTLIB_DATA_ROOTS."""
    check_visitor_spec(spec, [runs_dir() / UPLOADS, *data_roots()])
    cache, lock = _datasets()
    with lock:
        if spec in cache:
            cache.move_to_end(spec)
            return cache[spec]
    with st.spinner("Loading the dataset…"):
        ds = load_dataset(in_memory(spec))  # a run trained from disk (lazy=1): its images in memory, bounded
    with lock:
        cache[spec] = ds
        while len(cache) > 1 and sum(d.X.nbytes for d in cache.values()) > data_cache_bytes():
            cache.popitem(last=False)
    return ds


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$~])")  # what starts markup; links need [


def plain(text) -> str:
    """``text`` escaped for Streamlit's Markdown: strings from runs, uploads and links
    (dataset specs, file names, error messages quoting them) are shown as plain text,
    never as links, images or formatting."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def data_label(spec) -> str:
    """A dataset spec as shown on a page: an upload by its own file name (escaped)."""
    from ..data import display_name

    return plain(display_name(str(spec))) if spec else "no dataset"


def short_run_name(run: Run, name: str, width: int = 34) -> str:
    """'SeCu · secu-digits' -- a run's method and folder name, shortened for a chart title."""
    title = METHODS[run.method].ABOUT.title if run.method in METHODS else run.info.get("model", run.method)
    return f"{title} · {name if len(name) <= width else name[:width - 1] + '…'}"


def chart(run: Run, name: str, build, where=None, **kwargs):
    """``st.plotly_chart`` of ``build()`` -- built once per run and server (a run is shared
    by every session that shows it; building KNet's 26 kernel frames took 0.5 s a visit).
    ``name`` names the figure and every setting it depends on; ``where``: a column."""
    memo = run.__dict__.setdefault("_charts", {})
    if name not in memo:
        memo[name] = build()
        while len(memo) > 24:
            memo.pop(next(iter(memo)))
    fig = memo[name]
    shown = (where or st).plotly_chart(fig, **{"width": "stretch", **kwargs})
    if fig.frames:
        export_ui(fig, f"{run.info.get('model') or run.method}-{name}", where)
    return shown


def export_ui(fig, name: str, where=None) -> None:
    """Take the animation away: an HTML file that plays offline, an animated GIF for
    slides (each made when its button is pressed)."""
    from ..viz.export import to_gif, to_html

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "animation"
    left, right, _ = (where or st).columns([1, 1, 3])
    left.download_button("HTML", lambda: to_html(fig, safe), f"{safe}.html", "text/html", icon=":material/download:",
                         key=f"_dl_html_{safe}", on_click="ignore", width="stretch",
                         help="the animation as a web page that plays offline (plotly.js inside, about 4 MB)")
    right.download_button("GIF", lambda: to_gif(fig), f"{safe}.gif", "image/gif", icon=":material/download:",
                          key=f"_dl_gif_{safe}", on_click="ignore", width="stretch",
                          help="the animation as an animated GIF, for slides")


def run_dataset_ui(run: Run):
    """The dataset a run was trained on, or None with a caption when the page may not or
    cannot load it (a file outside the allowed folders, a missing file)."""
    try:
        return cached_dataset(run.info["dataset"])
    except DatasetError as err:
        st.caption(f"The run's dataset is not shown: {plain(err)}")
        return None


@st.cache_resource(show_spinner="Loading the run…", max_entries=16)
def cached_run(path: str, mtime: float) -> Run:  # mtime: reload when the run is replaced
    return Run.load(path)


def load_run(path: Path) -> Run:
    return cached_run(str(path), Path(path).stat().st_mtime)


def available_runs(method: str) -> list[tuple[str, Path]]:
    """(label, path) of the valid runs of ``method`` in assets/ and the runs folder."""
    out = []
    for where, path, info in saved_runs():
        if isinstance(info, dict) and info.get("method") == method:
            nmi = (info.get("metrics") or {}).get("nmi")
            score = f", NMI {nmi:.3f}" if isinstance(nmi, float) else ""
            out.append((f"[{where}] {path.name} ({data_label(info.get('dataset'))}{score})", path))
    return out


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


def matching_run(method: str, spec: str, preset: str, seed: int, unseen, params: dict | None = None) -> Path | None:
    """A saved run (demo assets first) of ``method`` trained with exactly these settings:
    dataset, preset, seed, unseen classes and, when given, every one of ``params``."""
    from ..runs import _jsonable

    wanted = {k: v for k, v in _jsonable(params or {}).items() if k not in ("device", "random_state")}
    for _, path, info in saved_runs():
        if (isinstance(info, dict) and info.get("method") == method and info.get("dataset") == spec
                and info.get("preset", "demo") == preset and info.get("seed") == seed
                and sorted(info.get("unseen") or []) == sorted(unseen)
                and all((info.get("params") or {}).get(k) == v for k, v in wanted.items())):
            return path
    return None


def default_run_ui(key: str, name: str, method: str = "", wanted: tuple | None = None) -> None:
    """Show the pretrained demo run ``assets/<name>`` until the user loads or trains
    another; a shared link (``wanted`` = spec, preset, seed, unseen) opens the saved run
    that matches it instead, when there is one."""
    if f"{key}_run" in st.session_state or f"{key}_job" in st.session_state:
        return
    path = assets_dir() / name
    if wanted is not None and st.session_state.get(f"{key}_q_shared"):
        path = matching_run(method, *wanted, st.session_state.get(f"_{key}_params")) or path
    linked = st.session_state.pop(f"{key}_q_run", None) or (  # ?run=NAME: a saved run by its name (never a path)
        st.query_params.get("run") if method == EXTERNAL else None)
    if linked:
        found = [p for _, p, info in saved_runs() if p.name == linked and isinstance(info, dict)
                 and info.get("method") == method]
        if found:
            path = found[0]
        else:
            st.warning(f"No saved {method} run is named {plain(linked[:80])}; showing the demo run.")
    try:
        st.session_state[f"{key}_run"] = load_run(path)
        st.session_state[f"{key}_run_path"] = str(path)
    except (RunFormatError, OSError):
        pass  # no demo assets (run `make demo-assets`): the page says how to get a run


def busy(key: str) -> bool:
    """Whether this page's training job is still running."""
    job = st.session_state.get(f"{key}_job")
    return job is not None and job.running


def current_run_ui(key: str, method: str, demo: str, wanted: tuple | None = None, live=None) -> Run:
    """Sidebar "Load" section, the demo run (or the run a shared link names: ``wanted`` =
    spec, preset, seed, unseen) until another is chosen; while a job trains, its progress
    and ``live(trace, track_y)`` -> figures of the latest round in place of the page
    (which then stops). Returns the run to show, or stops the page with a hint."""
    st.sidebar.header("Load")
    default_run_ui(key, demo, method, wanted)
    job_progress_ui(key)
    load_run_ui(method, key)
    if busy(key):
        if live is not None:
            live_ui(st.session_state[f"{key}_job"], live)
        st.stop()  # the live view is the page while training
    run = st.session_state.get(f"{key}_run")
    if run is not None and method == EXTERNAL and st.session_state.get(f"{key}_run_path"):
        st.query_params["run"] = Path(st.session_state[f"{key}_run_path"]).name  # the link opens it
    if run is None:
        st.info("No recording yet: record your model with `clustlib.Recorder` (examples/record_autoencoder.py) "
                "and open it here, or upload one in the sidebar." if method == EXTERNAL else
                "No run yet: train one from the sidebar, or run `make demo-assets` for the demo runs.")
        st.stop()
    return run


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


def train_ui(key: str, method: str, params: dict, spec: str, ds, unseen, preset: str, seed: int,
             disabled: bool = False) -> None:
    """The sidebar's Train button. A shared link whose settings have no saved run says so
    at the top of the page and offers to train exactly that run."""
    share_state_ui(key, spec, preset, seed, unseen, int(params["n_clusters"]))
    st.session_state[f"_{key}_params"] = params  # what a shared link's run must have been trained with
    running = busy(key)
    clicked = st.sidebar.button("Train", type="primary", disabled=running or ds is None or disabled,
                                width="stretch", key=f"{key}_train")
    if (st.session_state.get(f"{key}_q_shared") and not running and f"{key}_job" not in st.session_state
            and not st.session_state.get(f"{key}_loaded") and ds is not None and not disabled
            and matching_run(method, spec, preset, int(seed), unseen, params) is None):
        st.info(f"No saved run matches this link ({method}, {data_label(spec)}, preset {preset}, seed {int(seed)}"
                f"{', ' + str(len(unseen)) + ' unseen classes' if unseen else ''}): the page shows "
                "the demo run below. Train the linked run now (or press Train in the sidebar later).")
        clicked = st.button("Train the linked run", key=f"{key}_train_link") or clicked
    if clicked:
        start_job_ui(key, method, params, spec, unseen, preset)


def start_job_ui(key: str, method: str, params: dict, dataset: str, unseen, preset: str) -> None:
    """Queue a training of this session (a visitor's is refused in one line while another
    of theirs waits or runs, or when the queue is full)."""
    try:
        job = TrainingJob(method, params, dataset, unseen, preset, who=access.session()).start()
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
            if st.button("Cancel", key=f"{key}_stop", help="leave the queue"):
                job.stop()
            return
        if job.running:
            about = METHODS[job.method].ABOUT
            shown = " · ".join(f"{k.upper() if k in ('nmi', 'acc', 'ari') else k.replace('_', ' ')} {job.scalars[k]:.3f}"
                               for k in about.progress
                               if k != "n_clusters" and np.isfinite(job.scalars.get(k, np.nan)))
            where = (f"{job.stage} · {job.rounds_done} of {job.max_rounds} rounds planned" if job.max_rounds
                     else "setting up")
            st.progress(job.progress, text=f"Training {about.title}: {where} · {_threads(job)}"
                        + (f" · {shown}" if shown else ""))
            if st.button("Stop", key=f"{key}_stop", help="end training after this round and keep what was learned"):
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
            capped = (f" at its time limit of {job.time_cap / 60:.0f} minutes for a visitor's training (what it learned "
                      "is saved)" if job.capped else "")
            st.success(f"Training {job.status}{capped} in {job.seconds or 0:.1f} s with {_threads(job)}: "
                       f"saved to {plain(job.path)}")

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
    from dataclasses import replace

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
    for col, key in zip(cols, ("nmi", "acc", "ari", "seconds")):
        if isinstance(m.get(key), (int, float)):
            col.metric(key.upper() + seen if key != "seconds" else "seconds", f"{m[key]:.3f}")
    cols[4].metric("rounds", f"{run.estimator.n_rounds_}")


def dataset_ui(key: str, options: list[str], linked: bool = False) -> tuple[str, object]:
    """Sidebar: a dataset spec (presets first, or typed) and the loaded Dataset. With
    ``linked`` (the Dataset page), the spec is taken from the link's ``?data=`` on the
    first run and written back to it."""
    if linked and not st.session_state.get(f"{key}_q_done"):
        st.session_state[f"{key}_q_done"] = True
        data = st.query_params.get("data")
        if data and data not in options:
            st.session_state[f"{key}_ds"], st.session_state[f"{key}_spec"] = "other spec…", str(data)[:500]
        elif data:
            st.session_state[f"{key}_ds"] = data
    choice = st.sidebar.selectbox("Dataset", options + ["upload…", "other spec…"], key=f"{key}_ds")
    spec = choice
    if choice == "upload…":
        return upload_dataset_ui(key)
    if choice == "other spec…":
        st.session_state.setdefault(f"{key}_spec", "npz:path/to/data.npz")
        spec = st.sidebar.text_input("Dataset spec", key=f"{key}_spec")
    if linked and spec and st.query_params.get("data") != spec:
        st.query_params["data"] = spec
    try:
        return spec, cached_dataset(spec)
    except DatasetError as err:
        st.sidebar.error(plain(err))
        return spec, None


def query_state_ui(key: str, presets: dict, datasets: list[str], default: str) -> None:
    """On a page's first run in a session, take preset, dataset, seed and unseen classes
    from the URL query string (a shared link) and set the widgets' state from it;
    everything else starts from the defaults. Widgets are then created without their own
    default values (Streamlit warns when both are given)."""
    if st.session_state.get(f"{key}_q_done"):
        return
    st.session_state[f"{key}_q_done"] = True
    q = st.query_params
    preset = q.get("preset", "demo")
    st.session_state[f"{key}_preset"] = preset if preset in presets else "demo"
    data = q.get("data", default)
    if data in datasets:
        st.session_state[f"{key}_ds"] = data
    else:
        st.session_state[f"{key}_ds"] = "other spec…"
        st.session_state[f"{key}_spec"] = data
    try:
        st.session_state[f"{key}_seed"] = max(0, min(10_000, int(q.get("seed", 0))))
    except ValueError:
        st.session_state[f"{key}_seed"] = 0
    try:
        st.session_state[f"{key}_q_unseen"] = parse_classes(q.get("unseen")) if q.get("unseen") else None
    except DatasetError:  # not class ids: group names (Omniglot alphabets), resolved by unseen_ui
        st.session_state[f"{key}_q_unseen"] = str(q.get("unseen"))[:2000]
    try:
        st.session_state[f"{key}_q_k"] = int(q["k"]) if "k" in q else None
    except ValueError:
        st.session_state[f"{key}_q_k"] = None
    st.session_state[f"{key}_q_settings"] = {k: str(v)[:100] for k, v in q.items() if k not in QUERY_KEYS}
    st.session_state[f"{key}_q_run"] = q.get("run")
    st.session_state[f"{key}_q_shared"] = any(k in q for k in ("data", "preset", "seed", "unseen"))
    job = find_job(q.get("job"), key)  # a reload during (or after) training: the same job again
    if job is not None:
        st.session_state[f"{key}_job"] = job


QUERY_KEYS = ("data", "preset", "seed", "k", "unseen", "job", "run")  # the rest of a link: method settings


def setting_ui(key: str, name: str, widget, label: str, default, *args, options=None, **kwargs):
    """A method setting in the sidebar (epochs, γ, η, ...), kept in the URL like the
    dataset and the seed (``?epochs=5``): a reload or a shared link keeps it. Each preset
    has its own widget, starting from the preset's value; a link's value is taken once,
    when it is one the widget can hold (else the preset's). ``widget`` is
    ``st.sidebar.slider``, ``select_slider`` or ``radio`` (``options`` for the last two)."""
    preset = st.session_state.get(f"{key}_preset", "demo")
    wkey = f"{key}_{name}_{preset}"
    linked = (st.session_state.get(f"{key}_q_settings") or {}).pop(name, None)
    if linked is not None:
        value = _setting_value(linked, default, args, options)
        if value is not None:
            st.session_state[wkey] = value
    if options is not None:
        kwargs["options"] = options
    if wkey not in st.session_state:  # a default only when the state holds none (no warning)
        if getattr(widget, "__name__", "") == "radio":
            kwargs["index"] = list(options).index(default)
        else:
            kwargs["value"] = default
    value = widget(label, *args, key=wkey, **kwargs)
    st.session_state.setdefault(f"_{key}_link", {})[name] = value
    return value


def _setting_value(text: str, default, bounds: tuple, options):
    """A link's text as a setting's value, or None when the widget cannot hold it."""
    if options is not None:
        return next((o for o in options if str(o) == text), None)
    try:
        value = type(default)(float(text)) if isinstance(default, (int, float)) else text
    except (TypeError, ValueError):
        return None
    lo, hi = (bounds + (None, None))[:2]
    if lo is not None and not lo <= value <= hi:
        return None
    return value


def share_state_ui(key: str, spec: str, preset: str, seed: int, unseen, k: int | None = None) -> None:
    """Write the current selections -- and the method settings of :func:`setting_ui` --
    to the URL query string, so the link reproduces them."""
    state = {"data": spec, "preset": preset, "seed": str(int(seed))}
    if k is not None:
        state["k"] = str(int(k))
    job = st.session_state.get(f"{key}_job")
    if job is not None and job.running:
        state["job"] = job.id
    if unseen:
        state["unseen"] = (st.session_state.get(f"{key}_unseen_text")
                           or ",".join(str(int(c)) for c in unseen))
    state.update({name: str(v) for name, v in st.session_state.pop(f"_{key}_link", {}).items()})
    if dict(st.query_params) != state:
        st.query_params.from_dict(state)


EXTERNAL_DEMO = external.DEMO  # assets/: the example's recording


def upload_recording_ui(key: str) -> None:
    """Sidebar: open a recorded model -- a run zip, or an .npz of embeddings as ``clustlib
    import`` reads it -- saved to the runs folder and shown. Checked like every visitor
    file (sizes from the headers first, nothing unpickled); a refusal is one line."""
    import tempfile

    from ..external import import_npz
    from ..runs import import_zip
    from .jobs import run_name

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
                path = runs_dir() / run_name(EXTERNAL, Path(up.name).stem)
                import_npz(source, path, name=Path(up.name).stem)
        access.count_upload(who, path, up.size)
        st.session_state[f"{key}_run"] = load_run(path)
        st.session_state[f"{key}_run_path"] = str(path)
        st.session_state[f"{key}_loaded"] = True
    except (RunFormatError, ValueError) as err:  # access.Refused included
        st.sidebar.error(f"Not opened: {plain(str(err).splitlines()[0] if str(err) else err)}")


def upload_dataset_ui(key: str) -> tuple[str, object]:
    """Sidebar: upload your own data (.npz X/y, .csv with a 'label' column, or a .zip of
    class folders of images); validated exactly like a dataset spec."""
    from ..data import MAX_UPLOAD_BYTES, discard_upload, save_upload

    up = st.sidebar.file_uploader(f"Your data (.npz, .csv or .zip of class folders; ≤ {MAX_UPLOAD_BYTES // 2**20} MiB)",
                                  type=["npz", "csv", "zip"], key=f"{key}_upload")
    if up is None:
        return "", None
    spec = ""
    who = access.session()
    try:
        first = st.session_state.get(f"{key}_upload_counted") != up.file_id  # each upload counted once
        if first:
            access.check_upload(who, up.size, runs_dir() / UPLOADS)  # quota and room, before anything is kept
        spec = save_upload(up.name, up.getvalue(), runs_dir() / UPLOADS)
        if first:
            access.count_upload(who, upload_home(spec), up.size)
            st.session_state[f"{key}_upload_counted"] = up.file_id
        ds = cached_dataset(spec)
        side = int(round(np.sqrt(ds.X.shape[1]))) if ds.kind == "vector" else 0
        if side >= 4 and side * side == ds.X.shape[1]:  # rows of pixels: show them as images
            pixels = bool(ds.X.min() >= 0 and side >= 16)
            st.session_state.setdefault(f"{key}_upload_img", pixels)
            if st.sidebar.checkbox(f"Rows are {side} × {side} images", key=f"{key}_upload_img"):
                spec = f"{spec},shape={side}x{side}"
                ds = cached_dataset(spec)
        return spec, ds
    except (DatasetError, access.Refused) as err:
        if spec:
            discard_upload(spec, runs_dir() / UPLOADS)  # a refused upload leaves nothing behind
        st.sidebar.error(plain(err))
        return "", None


def train_setup_ui(key: str, presets: dict, datasets: list[str], default: str,
                   k_max: int = 100, k_fallback: int = 10, unseen_half: bool = False):
    """Sidebar head shared by the method pages: preset (demo first chosen), dataset,
    unseen classes, the number of clusters and the seed, initialised from the URL query
    string and written back to it. Returns (preset, spec, ds, unseen, k, seed)."""
    query_state_ui(key, presets, datasets, default)
    st.sidebar.header("Train")
    preset = st.sidebar.selectbox("Preset", list(presets), key=f"{key}_preset")
    spec, ds = dataset_ui(key, datasets)
    unseen = unseen_ui(key, ds, unseen_half)
    k_default = max(2, (ds.n_classes or 2) - len(unseen)) if ds is not None else k_fallback
    k_key = f"{key}_k_{spec}_{len(unseen)}"
    shared_k = st.session_state.pop(f"{key}_q_k", None)  # a link's k, once, within bounds
    if shared_k is not None and k_key not in st.session_state:
        st.session_state[k_key] = max(2, min(k_max, shared_k))
    default = {} if k_key in st.session_state else {"value": min(k_default, k_max)}
    k = st.sidebar.number_input("Clusters", 2, k_max, key=k_key, **default)
    n_train = 0 if ds is None else len(ds) - (int(np.isin(ds.y, unseen).sum()) if unseen else 0)
    if ds is not None and n_train < 2 * int(k):
        st.sidebar.error(f"{n_train} training samples are too few for {int(k)} clusters; "
                         f"use at least {2 * int(k)} or fewer clusters.")
        ds = None
    seed = st.sidebar.number_input("Seed", 0, 10_000, key=f"{key}_seed")
    st.session_state[f"_{key}_link"] = {}  # the method's settings below add themselves
    return preset, spec, ds, unseen, int(k), int(seed)


def unseen_ui(key: str, ds, upper_half: bool = False) -> list[int]:
    """Sidebar: classes held out of training (``upper_half``: the upper half by default;
    a dataset with its own split, e.g. Omniglot, starts from that split). A dataset whose
    classes come in groups (Omniglot's alphabets) is split by whole groups."""
    if ds is None or ds.y is None:
        return []
    classes = sorted(int(c) for c in np.unique(ds.y))
    if ds.default_unseen:
        default = [c for c in ds.default_unseen if c in set(classes)]
    else:
        default = classes[len(classes) // 2:] if upper_half and len(classes) >= 4 else []
    shared = st.session_state.get(f"{key}_q_unseen")
    if shared is not None:
        try:
            ids = resolve_unseen(ds, shared if isinstance(shared, str) else ",".join(map(str, shared)))
            if ids and set(ids) <= set(classes):
                default = ids
        except DatasetError:
            pass
    st.session_state.pop(f"{key}_unseen_text", None)
    if ds.class_groups:
        present = {ds.class_groups[c] for c in classes if c < len(ds.class_groups)}
        groups = sorted(present)
        gkey = f"{key}_unseen_groups_{ds.name}"
        st.session_state.setdefault(gkey, sorted({ds.class_groups[c] for c in default}))  # not both (a warning)
        chosen = st.sidebar.multiselect("Unseen alphabets (held out of training)", groups, key=gkey)
        st.session_state[f"{key}_unseen_text"] = ",".join(chosen)
        return [c for c in classes if ds.class_groups[c] in chosen]
    ukey = f"{key}_unseen_{ds.name}"
    st.session_state.setdefault(ukey, default)
    return st.sidebar.multiselect("Unseen classes (held out of training)", classes, key=ukey)


def task_ui(key: tuple, fn, *args, what: str, budget_s: float | None = None):
    """The result of a background computation (``clustlib.ui.background``), or None: while
    it computes, a line says so and the page reruns itself once it is ready (asking every
    second keeps it alive; a visitor who leaves lets it go); when it was cut by its time
    budget or failed, a line says why and offers to try again. Never waits."""
    task = background.ask(key, fn, *args, budget_s=budget_s)
    if task.status == "done":
        return task.result
    if task.finished:
        st.caption(f"{what[:1].upper()}{what[1:]}: {plain(task.error)}.")
        if st.button(f"Try {what} again", key=f"_retry_{abs(hash(key))}"):
            background.retry(key)
            st.rerun()
        return None

    @st.fragment(run_every=1.0)
    def wait():
        now = background.ask(key, fn, *args, budget_s=budget_s)
        if now.finished:
            st.rerun()
        st.info(f"Computing {what} in the background ({now.seconds:.0f} s of at most {now.budget_s:.0f} s); "
                "the rest of the page is ready and this part appears by itself.")

    wait()
    return None


def baselines_table_ui(spec: str, k: int, rows: dict | None = None) -> None:
    """scikit-learn's peers on dataset ``spec`` (each in the background, within its time
    budget), in one table after ``rows`` (e.g. the run's own metrics)."""
    from ..baselines import PEERS

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


PROJECTIONS = {"t-SNE": "tsne", "UMAP": "umap", "PCA": "pca"}


def run_view_ui(kind: str, path: str, projection: str, what: str) -> dict | None:
    """A run's view (``background.run_view``): at once when it is on disk, else computed in
    the background while the page draws everything else."""
    spare = str(runs_dir())
    view = background.view_on_disk(path, kind, projection, spare)
    if view is not None:
        return view
    mtime = Path(path, "run.json").stat().st_mtime
    return task_ui(("view", kind, str(path), mtime, projection), background.run_view, kind, str(path),
                   projection, spare, what=what)


def unseen_view_ui(key: str, run: Run, expanded: bool = True) -> None:
    """Where the categories no model saw land: t-SNE / UMAP / PCA of the unseen classes
    before (input) and after (learned embedding) training, with k-means NMI and R@1.
    Works for every method (it needs only ``transform``)."""
    unseen = run.info.get("unseen") or []
    path = st.session_state.get(f"{key}_run_path")
    if not unseen:
        st.caption("Train with some *unseen classes* (sidebar) to see where categories the "
                   "model never saw land.")
        return
    if len(unseen) < 2 or not path or not Path(path).exists():
        return
    st.subheader(f"Categories never seen in training: {unseen_names(run, unseen)}")
    name = st.radio("Map", list(PROJECTIONS), horizontal=True, key=f"{key}_proj",
                    help="UMAP compiles with numba the first time it is used (tens of seconds).")
    from ..data import split_classes

    data = ds = None
    if run.method != EXTERNAL:  # a recorded model's view needs only what it recorded
        try:
            ds = cached_dataset(run.info["dataset"])
            data = split_classes(ds, unseen)[1]
        except (DatasetError, ValueError) as err:
            st.warning(f"Unseen view unavailable: {plain(err)}")
            return
    view = run_view_ui("unseen", path, PROJECTIONS[name], f"the {name} maps of the unseen categories")
    if view is None:
        return
    from ..viz import glyph_maps, unseen_figure

    st.markdown(unseen_verdict(view["before"], view["after"]))
    if ds is not None and ds.class_groups and ds.kind == "image" and len(ds.image_shape or ()) == 2:
        images = data.X[view["index"]]
        st.caption("Each point is one drawing, coloured by its alphabet; each character is drawn "
                   "once, at the middle of its drawings. Hover a point for its character.")
        st.plotly_chart(glyph_maps(view, images, ds.class_names, ds.class_groups, name), width="stretch")
    else:
        st.plotly_chart(unseen_figure(view, name), width="stretch")


def unseen_names(run: Run, unseen: list[int]) -> str:
    """'5, 6, 7' -- or, for a dataset with groups, 'the alphabets Sanskrit, Tagalog (59 characters)'."""
    try:
        ds = cached_dataset(run.info["dataset"])
    except (DatasetError, ValueError):
        ds = None
    if ds is not None and ds.class_groups:
        groups = sorted({ds.class_groups[int(c)] for c in unseen if int(c) < len(ds.class_groups)})
        return f"{len(unseen)} characters of the alphabets {', '.join(groups)}"
    text = ", ".join(map(str, unseen[:30]))
    return text + (f" … ({len(unseen)} classes)" if len(unseen) > 30 else "")


def unseen_verdict(before: dict, after: dict) -> str:
    """One visible sentence: does the learned embedding cluster the unseen classes better
    or worse than the input itself (k-means NMI, and Recall@1 when known)?"""
    a, b = before["nmi"], after["nmi"]
    word = "better than" if b > a + 0.005 else "worse than" if b < a - 0.005 else "about as well as"
    r1 = ""
    if "recall@1" in before and "recall@1" in after:
        r1 = f", Recall@1 {before['recall@1']:.2f} → {after['recall@1']:.2f}"
    return (f"**On the unseen classes the learned embedding clusters {word} the input**: "
            f"k-means NMI {a:.2f} → {b:.2f}{r1}.")


def shared_map_ui(key: str, run: Run) -> None:
    """Seen and unseen categories in one learned map (seen fitted, unseen placed into it)."""
    path = st.session_state.get(f"{key}_run_path")
    if not run.info.get("unseen") or not path or not Path(path).exists() or run.method == EXTERNAL:
        return
    name = st.session_state.get(f"{key}_proj", "t-SNE")
    m = run_view_ui("shared", path, PROJECTIONS[name], f"one {name} map of the seen and the unseen categories")
    if m is None:
        return
    m = {**m, "unseen": [int(c) for c in m["unseen"]]}
    from ..viz import labelled_maps

    y = m["y"]
    names = {c: f"{c} ({'unseen' if c in m['unseen'] else 'seen'})" for c in np.unique(y).tolist()}
    ds = run_dataset_ui(run)
    if ds is not None and ds.class_groups:  # 242 characters: colour by alphabet instead
        unseen_groups = {ds.class_groups[c] for c in m["unseen"]}
        y, groups = ds.by_group(y)
        names = {i: f"{g} ({'unseen' if g in unseen_groups else 'seen'})" for i, g in enumerate(groups)}
    st.plotly_chart(labelled_maps([(m["xy"], y, f"{name} fitted on seen categories; "
                                   "unseen ones placed into it")], height=520, names=names),
                    width="stretch")


def tracked_samples(run: Run):
    """(images or feature rows, sample ids) of a run's tracked points, in track order --
    from the run itself for a recorded model, else from its dataset; None when the page
    may not or cannot read them."""
    from ..data import split_classes

    est = run.estimator
    if run.method == EXTERNAL:
        ids = getattr(est, "dataset_index_", est.track_index_)
        images = getattr(est, "track_images_", None)
        return (images if images is not None else getattr(est, "track_input_", None)), ids
    try:
        ds = cached_dataset(run.info["dataset"])
        if run.info.get("unseen"):
            ds = split_classes(ds, run.info["unseen"])[0]
    except (DatasetError, KeyError):
        return None, None
    if int(np.max(est.track_index_)) >= len(ds):
        return None, None  # the dataset spec no longer gives the training data
    return ds.X[est.track_index_], est.track_index_


def inspect_ui(key: str, run: Run) -> None:
    """Select points (box / lasso / click) in the final learned embedding of the tracked
    points and see them: images (or feature values), true and predicted labels, and their
    nearest neighbours in the learned space (like the Embedding Projector)."""
    from ..viz import cluster_grid, image_montage, selectable_scatter

    est = run.estimator
    snap = est.trace_[-1]
    if snap.embedding is None:
        return
    samples, ids = tracked_samples(run)
    if samples is None:
        return
    images = samples.ndim >= 3
    st.subheader("Inspect points")
    if images:
        grid, sizes = cluster_grid(samples, snap.labels, n_clusters=12, per_cluster=12)
        st.image(grid, caption=f"Tracked samples of the largest final clusters, one row per cluster ({sizes})")
    st.caption("Drag a box or lasso (toolbar) or click points in the learned embedding to see them "
               "and their nearest neighbours in the learned space.")
    y_true = est.track_y_ if est.track_y_ is not None else None
    event = st.plotly_chart(selectable_scatter(snap.embedding, snap.labels, y_true), key=f"{key}_inspect",
                            on_select="rerun", selection_mode=("points", "box", "lasso"), width="stretch")
    picked = sorted({int(p["point_index"]) for p in (event.selection.get("points") or [])}) if event else []
    if not picked:
        return
    rows = [{"sample": int(ids[p]), "cluster": int(snap.labels[p]),
             **({"true label": int(y_true[p])} if y_true is not None else {})} for p in picked]
    st.write(f"**{len(picked)} selected** (showing up to 24)")
    if images:
        st.image(image_montage(samples[picked[:24]], min_px=64, per_row=12), caption="selected samples", clamp=True)
    else:
        st.dataframe(np.asarray(samples[picked[:24]], dtype=np.float32).reshape(min(24, len(picked)), -1),
                     width="stretch")
    st.dataframe(rows[:200], hide_index=True)
    d = ((snap.embedding - snap.embedding[picked[0]]) ** 2).sum(1)
    near = [int(j) for j in np.argsort(d)[1:9]]
    st.write(f"Nearest neighbours of sample {int(ids[picked[0]])} in the learned space")
    if images:
        st.image(image_montage(samples[near], min_px=64), caption="8 nearest", clamp=True)
    st.dataframe([{"sample": int(ids[j]), "cluster": int(snap.labels[j]),
                   **({"true label": int(y_true[j])} if y_true is not None else {})} for j in near],
                 hide_index=True)


def all_runs() -> dict[str, Path]:
    """label -> path of every valid run (demo assets first, then the runs folder)."""
    return {f"[{where}] {path.name} ({info.get('method')}, {data_label(info.get('dataset'))})": path
            for where, path, info in saved_runs() if isinstance(info, dict)}
