"""Work a page asks for but never waits on: scikit-learn baselines and 2-D maps.

A page script must finish in a moment whatever it shows: a spectral clustering that sat
in ARPACK for 17 minutes inside a page script kept that page (and, through the GIL and
the cores, every other visitor's) from finishing. So each such computation is a
:class:`Task` that runs in a process of its own (forked from the training jobs'
forkserver, with torch and clustlib already imported, on one thread), and

- has a **time budget**: past it the process is stopped and the task says so ("cut");
- is **keyed**: visitors asking for the same thing share one task, and a finished result
  is kept (a bounded number of them) for the next visitor;
- is **abandoned** when nobody asks for it for ``ABANDON_S`` seconds (the visitor left the
  page or closed the tab: a page that waits for a task asks again every second), and its
  process is stopped;
- runs at most ``$CLUSTLIB_MAX_TASKS`` (default 1) at a time, the others queued: those a
  page still asks for first (asked in the last ``STALE_S``), in the order first asked; a
  running task nobody asked for in ``2 * STALE_S`` is stopped when a page waits for another
  (the visitor switched datasets: the new map does not wait for the old baselines).

No Streamlit here: the pages (``clustlib.ui.widgets``) poll :func:`ask`. The functions a
task runs take plain arguments (a dataset spec, a run folder) and load what they need
themselves, so nothing large crosses between the processes but the result.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..baselines import run_peer
from ..data import in_memory, load_dataset, split_classes
from ..dataset import stratified_subset
from ..project import (
    load_view,
    project,
    save_view,
    shared_view,
    unseen_view,
    unseen_view_of,
    view_file,
)
from ..runs import Run
from ..settings import settings
from .jobs import _CTX

ABANDON_S = 20.0  # a task nobody asked about for this long is stopped
KEEP_RESULTS = 64  # finished tasks kept for the next visitor (each a small dict of arrays)


def default_budget() -> float:
    """Seconds a task may compute ($CLUSTLIB_TASK_BUDGET_S, default 120)."""
    return settings().task_budget_s


def max_tasks() -> int:
    return settings().max_tasks


@dataclass
class Task:
    """One computation. ``status``: "queued", "starting", "running", "done", "cut" (over its
    budget), "failed" (``error`` says why; a one-line message) or "abandoned"."""

    key: tuple
    fn: Callable
    args: tuple
    budget_s: float
    status: str = "queued"
    result: object = None
    error: str = ""
    asked: float = field(default_factory=time.monotonic)
    created: int = field(default_factory=lambda: next(_ORDER))  # tasks start in the order they were first asked
    started: float = 0.0
    seconds: float = 0.0
    _process: object = None
    _conn: object = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "cut", "failed", "abandoned")


STALE_S = 3.0  # a queued task not asked for this long yields to those a page still asks for (and a
# running one not asked for twice as long is stopped for them: the visitor left its page)
_LOCK = threading.Lock()
_ORDER = itertools.count()
_TASKS: OrderedDict[tuple, Task] = OrderedDict()
_WATCHER: list[threading.Thread] = []


def ask(key: tuple, fn: Callable, *args, budget_s: float | None = None) -> Task:
    """The task for ``key``: the one already known (asked again: kept alive), or a new
    one that runs ``fn(*args)`` in its own process. A failed, cut or abandoned task is
    tried again only when asked with ``retry``."""
    with _LOCK:
        task = _TASKS.get(key)
        if task is None or task.status == "abandoned":
            task = Task(key, fn, args, float(budget_s or default_budget()))
            _TASKS[key] = task
        task.asked = time.monotonic()
        _TASKS.move_to_end(key)
        _start_watcher()  # which starts the process: starting one can wait seconds for the forkserver
    return task


def retry(key: tuple) -> None:
    """Forget a finished task (cut or failed), so the next :func:`ask` starts it again."""
    with _LOCK:
        task = _TASKS.get(key)
        if task is not None and task.finished:
            del _TASKS[key]


def _start_watcher() -> None:  # under _LOCK
    if not _WATCHER or not _WATCHER[0].is_alive():
        t = threading.Thread(target=_watch, name="clustlib-background", daemon=True)
        _WATCHER[:] = [t]
        t.start()


def _watch() -> None:
    while True:
        time.sleep(0.2)
        _tick()


def _tick() -> None:
    """Collect results, stop what is over budget or abandoned, start what may start (the
    watcher thread only: starting a process may wait seconds for the forkserver, and no
    page waits for that, nor for the lock while it happens)."""
    now = time.monotonic()
    with _LOCK:
        running = 0
        wanted = any(t.status == "queued" and now - t.asked <= STALE_S for t in _TASKS.values())
        for task in list(_TASKS.values()):
            if task.status == "running":
                _collect(task, now)
            if task.status in ("queued", "running") and now - task.asked > ABANDON_S:
                _stop(task, "abandoned", "nobody waited for it any more")
            elif task.status == "running" and wanted and now - task.asked > 2 * STALE_S:  # a page's task waits
                _stop(task, "abandoned", "nobody asked for it while a page waited for another")
            running += task.status in ("running", "starting")
        starting = []
        # what a page still asks for first, in the order it first asked (a task no page asked for in
        # STALE_S -- a dataset the visitor left -- waits until it is abandoned or asked again)
        for task in sorted(_TASKS.values(), key=lambda t: (now - t.asked > STALE_S, t.created)):
            if running + len(starting) >= max_tasks():
                break
            if task.status == "queued":
                task.status = "starting"
                starting.append(task)
        finished = [k for k, t in _TASKS.items() if t.finished]
        for k in finished[:max(0, len(finished) - KEEP_RESULTS)]:
            del _TASKS[k]
    for task in starting:
        _launch(task)


def _launch(task: Task) -> None:
    parent, child = _CTX.Pipe(duplex=False)
    process = _CTX.Process(target=_run_in_child, args=(child, task.fn, task.args), name="clustlib-task", daemon=True)
    try:
        process.start()
    except Exception as err:  # noqa: BLE001 - no process, no result: say so on the page
        with _LOCK:
            task.status, task.error = "failed", f"could not start a process: {err}"
        return
    child.close()
    with _LOCK:
        task._conn, task._process = parent, process
        task.status, task.started = "running", time.monotonic()


def _collect(task: Task, now: float) -> None:  # under _LOCK
    try:
        ready = task._conn.poll()
    except (OSError, EOFError):
        ready = False
    task.seconds = now - task.started
    if ready:
        try:
            ok, value = task._conn.recv()
        except (OSError, EOFError) as err:
            ok, value = False, f"the process ended without a result ({type(err).__name__})"
        task.status = "done" if ok else "failed"
        task.result, task.error = (value, "") if ok else (None, value)
        _reap(task)
    elif not task._process.is_alive():
        task.status, task.error = "failed", f"the process ended unexpectedly (exit code {task._process.exitcode})"
        _reap(task)
    elif task.seconds > task.budget_s:
        _stop(task, "cut", f"stopped after {task.budget_s:.0f} s (its time budget)")


def _stop(task: Task, status: str, why: str) -> None:  # under _LOCK
    task.status, task.error = status, why
    if task._process is not None and task._process.is_alive():
        task._process.kill()
    _reap(task)


def _reap(task: Task) -> None:
    if task._process is not None:
        task._process.join(1)
    if task._conn is not None:
        task._conn.close()
    task._process = task._conn = None


def _run_in_child(conn, fn, args) -> None:
    """In the task's process: one thread (the cores belong to training), run, send. Ctrl-C
    in the server's terminal is the server's to handle; a server that dies ends the task
    (nobody is left to read it, and no budget would stop it)."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = mp.parent_process()
    if parent is not None:
        threading.Thread(target=lambda: (parent.join(), os._exit(0)), daemon=True).start()
    try:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        with threadpool_limits(1):
            value = fn(*args)
        conn.send((True, value))
    except Exception as err:  # noqa: BLE001 - reported on the page in one line
        text = str(err).strip().splitlines()
        conn.send((False, text[0][:300] if text else type(err).__name__))
        traceback.print_exc()
    finally:
        conn.close()


# --------------------------------------------------------------------------- what tasks run
# Plain functions of plain arguments (picklable by name): each loads what it needs.


def baseline(spec: str, k: int, peer: str, seed: int = 0) -> dict:
    """One scikit-learn peer (``clustlib.baselines.PEERS``) on the dataset ``spec``."""

    ds = load_dataset(in_memory(spec))
    return run_peer(peer, ds.X, ds.y, k, seed)


def raw_map(spec: str, projection: str, max_points: int = 3000) -> tuple:
    """A 2-D map of (a stratified subsample of) a dataset's raw features: (xy, y, index)."""

    ds = load_dataset(in_memory(spec))
    i = stratified_subset(ds.y, len(ds), max_points, 0)
    X = np.asarray(ds.X[i], dtype=np.float32).reshape(len(i), -1)
    if len(ds.X.shape) == 2:  # vectors: standardise so no feature dominates the map
        X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    y = ds.y[i] if ds.y is not None else np.zeros(len(i), int)
    return project(X, projection), y, i


INPUT_PEERS = {"input-kmeans": "KMeans", "input-umap": "UMAP + k-means"}  # views of a recording's input


def run_view(kind: str, path: str, projection: str, spare: str) -> dict:
    """A view of the run in folder ``path`` (computed, or read from disk), kept on disk
    for the next visitor and server (:func:`view_on_disk`). ``kind``: "unseen" (the
    unseen classes before / after, DSCL supp. Fig. 2-4), "shared" (seen and unseen in one
    map), "final" (a 2-D map of the final embedding of the tracked points)."""
    found = view_on_disk(path, kind, projection, spare)
    if found is not None:
        return found

    view = _compute_view(kind, path, projection)
    file = view_file(path, kind, projection)
    save_view(view, file if _writable_run(path, spare) else _spare_file(file, spare))
    return view


def _compute_view(kind: str, path: str, projection: str) -> dict:
    run = Run.load(path)
    est = run.estimator
    if kind == "final":
        return {"xy": project(np.asarray(run.trace[-1].embedding, dtype=np.float32), projection)}
    if kind in INPUT_PEERS:  # a peer on a recorded model's input: KMeans, UMAP + k-means
        return run_peer(INPUT_PEERS[kind], est.track_input_, est.track_y_, int(est.n_clusters))
    if not run.has_network:  # recorded: the input and the last epoch of the unseen samples
        held = np.isin(est.track_y_, run.info["unseen"])
        return unseen_view_of(est.track_input_[held], est.trace_[-1].embedding[held], est.track_y_[held],
                              projection, index=np.flatnonzero(held))
    seen, unseen = split_classes(load_dataset(in_memory(run.info["dataset"])), run.info["unseen"])
    if kind == "unseen":
        return unseen_view(run.estimator, unseen.X, unseen.y, projection, seed=0)
    return shared_view(run.estimator, seen.X, seen.y, unseen.X, unseen.y, projection, max_points=1500)


def _spare_file(file, spare: str):
    return Path(spare) / ".views" / Path(file).name


def _writable_run(path: str, spare: str) -> bool:
    """A run in the runs folder keeps its views beside it; a demo run (assets/, shipped as
    is) keeps them in the runs folder's ``.views/``."""

    return Path(path).resolve().parent == Path(spare).resolve()


def view_on_disk(path: str, kind: str, projection: str, spare: str) -> dict | None:
    """A run's view from ``.views/`` beside it (the demo script writes the demo runs'),
    else from the runs folder ``spare``'s ``.views/``; None when neither has it."""

    file = view_file(path, kind, projection)
    for candidate in (file, _spare_file(file, spare)):
        view = load_view(candidate)
        if view is not None:
            return view
    return None
