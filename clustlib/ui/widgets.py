"""Shared Streamlit widgets (the only package that imports streamlit).

Widget functions end in ``_ui``; data functions are cached and pure.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import streamlit as st

from ..baselines import sklearn_baselines
from ..data import (
    DatasetError,
    check_visitor_spec,
    data_roots,
    in_memory,
    load_dataset,
    parse_classes,
    resolve_unseen,
)
from ..methods import METHODS
from ..runs import Run, RunFormatError
from .jobs import TrainingJob, assets_dir, find_job, runs_dir, saved_runs, warm_up


@st.cache_resource(show_spinner=False)
def _jobs_ready() -> bool:
    warm_up()  # once per server: the first training starts at once
    return True


_jobs_ready()


@st.cache_data(show_spinner="Loading the dataset…", max_entries=8)
def cached_dataset(spec: str):
    """A dataset the page may show. Every spec here came from a visitor (the URL, the text
    box, an uploaded run), so files are read only from uploads and $CLUSTLIB_DATA_ROOTS."""
    check_visitor_spec(spec, [runs_dir() / ".uploads", *data_roots()])
    return load_dataset(in_memory(spec))  # a run trained from disk (lazy=1): its images in memory, bounded


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$~])")  # what starts markup; links need [


def plain(text) -> str:
    """``text`` escaped for Streamlit's Markdown: strings from runs, uploads and links
    (dataset specs, file names, error messages quoting them) are shown as plain text,
    never as links, images or formatting."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


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
            out.append((f"[{where}] {path.name} ({info.get('dataset')}{score})", path))
    return out


def load_run_ui(method: str, key: str) -> None:
    """Sidebar: choose a saved run (demo assets first) and load it into session state."""
    runs = available_runs(method)
    if not runs:
        st.sidebar.caption("No saved runs yet: train one, or run `make demo-assets`.")
        return
    labels = [label for label, _ in runs]
    choice = st.sidebar.selectbox("Saved runs", labels, key=f"{key}_pick")
    if st.sidebar.button("Load run", key=f"{key}_load", width="stretch"):
        path = dict(runs)[choice]
        try:
            st.session_state[f"{key}_run"] = load_run(path)
            st.session_state[f"{key}_run_path"] = str(path)
            st.session_state[f"{key}_loaded"] = True
        except RunFormatError as err:
            st.sidebar.error(plain(err))


def matching_run(method: str, spec: str, preset: str, seed: int, unseen) -> Path | None:
    """A saved run (demo assets first) of ``method`` trained with exactly these settings."""
    for _, path, info in saved_runs():
        if (isinstance(info, dict) and info.get("method") == method and info.get("dataset") == spec
                and info.get("preset", "demo") == preset and info.get("seed") == seed
                and sorted(info.get("unseen") or []) == sorted(unseen)):
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
        path = matching_run(method, *wanted) or path
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
    load_run_ui(method, key)
    default_run_ui(key, demo, method, wanted)
    job_progress_ui(key)
    if busy(key):
        if live is not None:
            live_ui(st.session_state[f"{key}_job"], live)
        st.stop()  # the live view is the page while training
    run = st.session_state.get(f"{key}_run")
    if run is None:
        st.info("No run yet: train one from the sidebar, or run `make demo-assets` for the demo runs.")
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
    running = busy(key)
    clicked = st.sidebar.button("Train", type="primary", disabled=running or ds is None or disabled,
                                width="stretch", key=f"{key}_train")
    if (st.session_state.get(f"{key}_q_shared") and not running and f"{key}_job" not in st.session_state
            and not st.session_state.get(f"{key}_loaded") and ds is not None and not disabled
            and matching_run(method, spec, preset, int(seed), unseen) is None):
        st.info(f"No saved run matches this link ({method}, {plain(spec)}, preset {preset}, seed {int(seed)}"
                f"{', ' + str(len(unseen)) + ' unseen classes' if unseen else ''}): the page shows "
                "the demo run below. Train the linked run now (or press Train in the sidebar later).")
        clicked = st.button("Train the linked run", key=f"{key}_train_link") or clicked
    if clicked:
        start_job_ui(key, method, params, spec, unseen, preset)


def start_job_ui(key: str, method: str, params: dict, dataset: str, unseen, preset: str) -> None:
    job = TrainingJob(method, params, dataset, unseen, preset).start()
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
            shown = " · ".join(f"{k.upper() if k in ('nmi', 'acc', 'ari') else k.replace('_', ' ')} {job.scalars[k]:.3f}" for k in about.progress
                               if k in job.scalars and k != "n_clusters")
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
            st.success(f"Training {job.status} in {job.seconds or 0:.1f} s with {_threads(job)}: "
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


def dataset_ui(key: str, options: list[str]) -> tuple[str, object]:
    """Sidebar: a dataset spec (presets first, or typed) and the loaded Dataset."""
    choice = st.sidebar.selectbox("Dataset", options + ["upload…", "other spec…"], key=f"{key}_ds")
    spec = choice
    if choice == "upload…":
        return upload_dataset_ui(key)
    if choice == "other spec…":
        st.session_state.setdefault(f"{key}_spec", "npz:path/to/data.npz")
        spec = st.sidebar.text_input("Dataset spec", key=f"{key}_spec")
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
    st.session_state[f"{key}_q_shared"] = any(k in q for k in ("data", "preset", "seed", "unseen"))
    job = find_job(q.get("job"), key)  # a reload during (or after) training: the same job again
    if job is not None:
        st.session_state[f"{key}_job"] = job


def share_state_ui(key: str, spec: str, preset: str, seed: int, unseen, k: int | None = None) -> None:
    """Write the current selections to the URL query string, so the link reproduces them."""
    state = {"data": spec, "preset": preset, "seed": str(int(seed))}
    if k is not None:
        state["k"] = str(int(k))
    job = st.session_state.get(f"{key}_job")
    if job is not None and job.running:
        state["job"] = job.id
    if unseen:
        state["unseen"] = (st.session_state.get(f"{key}_unseen_text")
                           or ",".join(str(int(c)) for c in unseen))
    if dict(st.query_params) != state:
        st.query_params.from_dict(state)


def upload_dataset_ui(key: str) -> tuple[str, object]:
    """Sidebar: upload your own data (.npz X/y, .csv with a 'label' column, or a .zip of
    class folders of images); validated exactly like a dataset spec."""
    from ..data import MAX_UPLOAD_BYTES, discard_upload, save_upload

    up = st.sidebar.file_uploader(f"Your data (.npz, .csv or .zip of class folders; ≤ {MAX_UPLOAD_BYTES // 2**20} MiB)",
                                  type=["npz", "csv", "zip"], key=f"{key}_upload")
    if up is None:
        return "", None
    spec = ""
    try:
        spec = save_upload(up.name, up.getvalue(), runs_dir() / ".uploads")
        return spec, cached_dataset(spec)
    except DatasetError as err:
        if spec:
            discard_upload(spec, runs_dir() / ".uploads")  # a refused upload leaves nothing behind
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
    share_state_ui(key, spec, preset, seed, unseen, int(k))
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
        chosen = st.sidebar.multiselect("Unseen alphabets (held out of training)", groups,
                                        default=sorted({ds.class_groups[c] for c in default}),
                                        key=f"{key}_unseen_groups_{ds.name}")
        st.session_state[f"{key}_unseen_text"] = ",".join(chosen)
        return [c for c in classes if ds.class_groups[c] in chosen]
    return st.sidebar.multiselect("Unseen classes (held out of training)", classes, default=default,
                                  key=f"{key}_unseen_{ds.name}")


@st.cache_data(show_spinner="Running the scikit-learn baselines…", max_entries=16)
def cached_baselines(spec: str, k: int) -> dict:
    ds = cached_dataset(spec)
    return sklearn_baselines(ds.X, ds.y, k)


def baselines_ui(run: Run, label: str) -> None:
    """The run's metrics beside scikit-learn peers on the same (fully seen) data."""
    spec = run.info.get("dataset")
    if not spec or run.info.get("unseen"):
        return
    with st.expander("Beside scikit-learn baselines on the same data"):
        try:
            peers = cached_baselines(spec, int(run.estimator.n_clusters))
        except (DatasetError, ValueError) as err:
            st.warning(f"Baselines unavailable: {plain(err)}")
            return
        if "Spectral (rbf)" not in peers:
            st.caption("Spectral clustering baselines are left out above 5,000 samples "
                       "(they form N x N matrices).")
        rows = {label: run.metrics, **peers}
        st.dataframe({name: {m: round(float(v), 3) for m, v in r.items()} for name, r in rows.items()})


PROJECTIONS = {"t-SNE": "tsne", "UMAP": "umap", "PCA": "pca"}


def on_disk(path: str, kind: str, projection: str, compute=None) -> dict | None:
    """A run's view from ``.views/`` beside it (the demo script makes the demo runs'),
    else computed (None when ``compute`` is None) and kept for the next visitor and
    server: beside the run in the runs folder, in the runs folder's ``.views/`` for a
    demo run (assets/ stays as shipped)."""
    from ..project import load_view, save_view, view_file

    file = view_file(path, kind, projection)
    spare = runs_dir() / ".views" / file.name
    demo = Path(path).resolve().parent == assets_dir().resolve()
    for candidate in (file, spare) if demo else (file,):
        view = load_view(candidate)
        if view is not None:
            return view
    if compute is None:
        return None
    view = compute()
    save_view(view, spare if demo else file)
    return view


@st.cache_resource(show_spinner=False)
def _view_workers():
    """One background thread for the t-SNE / UMAP maps of this server, and their futures."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(1, thread_name_prefix="clustlib-views"), {}


def background_view(kind: str, path: str, projection: str, compute, what: str) -> dict | None:
    """A run's view: at once when it is on disk or already computed; else computed in a
    background thread (once per server) while the page draws everything else, with a
    line saying so that reruns the page when the map is ready. Errors of ``compute``
    are raised here, on the page that asked."""
    view = on_disk(path, kind, projection)
    if view is not None:
        return view
    pool, futures = _view_workers()
    key = (kind, path, Path(path).stat().st_mtime, projection)
    if key not in futures:
        futures[key] = pool.submit(on_disk, path, kind, projection, compute)
        while len(futures) > 16:  # finished maps are on disk; keep the memory bounded
            futures.pop(next(iter(futures)))
    future = futures[key]
    if future.done():
        return future.result()

    @st.fragment(run_every=1.0)
    def wait():
        if future.done():
            st.rerun()
        st.info(f"Computing {what} in the background; the rest of the page is ready. "
                "This part appears by itself when it is done.")

    wait()
    return None


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
    from ..project import unseen_view

    try:
        data = split_classes(cached_dataset(run.info["dataset"]), unseen)[1]
        view = background_view("unseen", path, PROJECTIONS[name], lambda: unseen_view(
            run.estimator, data.X, data.y, PROJECTIONS[name], seed=0), f"the {name} maps of the unseen categories")
    except (DatasetError, ValueError) as err:
        st.warning(f"Unseen view unavailable: {plain(err)}")
        return
    if view is None:
        return
    from ..viz import glyph_maps, unseen_figure

    st.markdown(unseen_verdict(view["before"], view["after"]))
    ds = cached_dataset(run.info["dataset"])
    if ds.class_groups and ds.kind == "image" and len(ds.image_shape or ()) == 2:
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
    if not run.info.get("unseen") or not path or not Path(path).exists():
        return
    from ..data import split_classes
    from ..project import shared_view

    name = st.session_state.get(f"{key}_proj", "t-SNE")
    try:
        seen, unseen = split_classes(cached_dataset(run.info["dataset"]), run.info["unseen"])
        m = background_view("shared", path, PROJECTIONS[name], lambda: shared_view(
            run.estimator, seen.X, seen.y, unseen.X, unseen.y, PROJECTIONS[name], max_points=1500),
            f"one {name} map of the seen and the unseen categories")
    except (DatasetError, ValueError) as err:
        st.warning(f"Shared map unavailable: {plain(err)}")
        return
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


@st.cache_data(show_spinner="Computing the map…", max_entries=8)
def cached_raw_map(spec: str, projection: str, max_points: int = 3000):
    """2-D map of (a stratified subsample of) a dataset's raw features, and its labels."""
    from ..data import stratified_subset
    from ..project import project

    ds = cached_dataset(spec)
    i = stratified_subset(ds.y, len(ds), max_points, 0)
    X = ds.X[i].reshape(len(i), -1)
    if len(ds.X.shape) == 2:  # vectors: standardise so no feature dominates the map
        X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    y = ds.y[i] if ds.y is not None else np.zeros(len(i), int)
    return project(X, projection), y


def inspect_ui(key: str, run: Run) -> None:
    """Select points (box / lasso / click) in the final learned embedding of the tracked
    points and see them: images (or feature values), true and predicted labels, and their
    nearest neighbours in the learned space (like the Embedding Projector)."""
    from ..data import split_classes
    from ..viz import image_montage, selectable_scatter

    est = run.estimator
    snap = est.trace_[-1]
    if snap.embedding is None or not run.info.get("dataset"):
        return
    try:
        ds = cached_dataset(run.info["dataset"])
        if run.info.get("unseen"):
            ds = split_classes(ds, run.info["unseen"])[0]
    except DatasetError:
        return
    if int(np.max(est.track_index_)) >= len(ds):
        return  # the dataset spec no longer gives the training data
    st.subheader("Inspect points")
    st.caption("Drag a box or lasso (toolbar) or click points in the learned embedding to see them "
               "and their nearest neighbours in the learned space.")
    y_true = est.track_y_ if est.track_y_ is not None else None
    event = st.plotly_chart(selectable_scatter(snap.embedding, snap.labels, y_true), key=f"{key}_inspect",
                            on_select="rerun", selection_mode=("points", "box", "lasso"), width="stretch")
    picked = sorted({int(p["point_index"]) for p in (event.selection.get("points") or [])}) if event else []
    if not picked:
        return
    idx = est.track_index_[picked]
    rows = [{"sample": int(i), "cluster": int(snap.labels[p]),
             **({"true label": int(y_true[p])} if y_true is not None else {})} for p, i in zip(picked, idx)]
    st.write(f"**{len(picked)} selected** (showing up to 24)")
    if ds.kind == "image":
        st.image(image_montage(ds.X[idx[:24]], min_px=64, per_row=12), caption="selected samples", clamp=True)
    else:
        st.dataframe(ds.X[idx[:24]].reshape(min(24, len(idx)), -1), width="stretch")
    st.dataframe(rows[:200], hide_index=True)
    d = ((snap.embedding - snap.embedding[picked[0]]) ** 2).sum(1)
    near = [int(j) for j in np.argsort(d)[1:9]]
    st.write(f"Nearest neighbours of sample {int(idx[0])} in the learned space")
    if ds.kind == "image":
        st.image(image_montage(ds.X[est.track_index_[near]], min_px=64), caption="8 nearest", clamp=True)
    st.dataframe([{"sample": int(est.track_index_[j]), "cluster": int(snap.labels[j]),
                   **({"true label": int(y_true[j])} if y_true is not None else {})} for j in near],
                 hide_index=True)


def all_runs() -> dict[str, Path]:
    """label -> path of every valid run (demo assets first, then the runs folder)."""
    return {f"[{where}] {path.name} ({info.get('method')}, {info.get('dataset')})": path
            for where, path, info in saved_runs() if isinstance(info, dict)}


@st.cache_data(show_spinner="Computing the map…", max_entries=16)
def cached_projection(Z: np.ndarray, projection: str) -> np.ndarray:
    from ..project import project

    return project(np.asarray(Z, dtype=np.float32), projection)
