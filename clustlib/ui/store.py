"""What pages load, once for the whole server: datasets and runs (shared by every session),
and text from them escaped for Streamlit's Markdown."""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import streamlit as st

from ..data import display_name, in_memory, load_dataset, split_classes
from ..dataset import DatasetError
from ..methods import METHODS
from ..request import TrainRequest
from ..rundir import runs_dir  # noqa: F401
from ..runs import Run, RunFormatError  # noqa: F401 - RunFormatError: the pages' except clauses
from ..settings import settings
from ..uploads import UPLOADS, check_visitor_spec, data_roots
from .jobs import assets_dir, run_key, saved_runs, warm_up  # noqa: F401


@st.cache_resource(show_spinner=False)
def _jobs_ready() -> bool:
    """The forkserver that forks jobs and tasks, started once per server (``clustlib app``
    starts it before the first page; this covers ``streamlit run`` and AppTest)."""
    warm_up()
    return True


_jobs_ready()


def data_cache_bytes() -> int:
    """Memory the server keeps datasets in ($CLUSTLIB_DATA_CACHE_MB, default 1024)."""
    return int(settings().data_cache_mb * 2**20)


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

    return plain(display_name(str(spec))) if spec else "no dataset"


def short_run_name(run: Run, name: str, width: int = 34) -> str:
    """'SeCu · secu-digits' -- a run's method and folder name, shortened for a chart title;
    HTML-escaped, since Plotly draws tags in titles and legends (a recording named
    ``<a href=…>`` would otherwise be a link in other visitors' charts)."""
    title = METHODS[run.method].ABOUT.title if run.method in METHODS else str(run.info.get("model", run.method))[:60]
    return html.escape(f"{title} · {name if len(name) <= width else name[:width - 1] + '…'}")


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
            out.append((f"[{where}] {run_key(path)} ({data_label(info.get('dataset'))}{score})", path))
    return out


def all_runs() -> dict[str, Path]:
    """label -> path of every valid run (demo assets first, then the runs folder)."""
    return {f"[{where}] {run_key(path)} ({info.get('method')}, {data_label(info.get('dataset'))})": path
            for where, path, info in saved_runs() if isinstance(info, dict)}


def tracked_samples(run: Run):
    """(images or feature rows, sample ids) of a run's tracked points, in track order --
    from the run itself for a recorded model, else from its dataset; None when the page
    may not or cannot read them."""

    est = run.estimator
    if not run.has_network:  # a recording carries its samples
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



def matching_run(request: TrainRequest) -> Path | None:
    """A saved run (demo assets first) trained from exactly this request
    (:meth:`TrainRequest.matches`): dataset, preset, seed, unseen classes, every parameter."""
    for _, path, info in saved_runs():
        if isinstance(info, dict) and request.matches(info):
            return path
    return None
