"""Training jobs for the app: each in its own process, queued, never calling Streamlit.

A page starts a :class:`TrainingJob` and polls its public fields from a fragment. The
fit runs in a child process (``forkserver``: a clean process with torch already
imported, so a job starts in well under a second; a thread of the server trained 8-20x
slower than the CLI) with the CLI's fixed thread count, so a seed trained in the app is
the same run as from the command line. Snapshots come back round by round, so the page
can draw the picture while it forms.

At most ``$CLUSTLIB_MAX_JOBS`` (default 1) jobs train at once; the others wait in a
queue and know their place in it. Jobs live in this server process, keyed by a random
id the page writes into its URL, so a reload finds its job again. Stop ends training
cleanly after the current round and keeps what was learned; the child saves the run
itself, so a closed tab, a rerun or a server that dies loses nothing (the child stops
and saves when its parent disappears).
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import multiprocessing.spawn as _spawn
import queue
import secrets
import signal
import threading
import time
import traceback
from multiprocessing import forkserver
from pathlib import Path

from ..app import assets_dir
from ..base import stop_text
from ..cpu import resolve_threads
from ..library import list_runs
from ..methods import METHODS
from ..request import TrainRequest
from ..rundir import run_name, runs_dir
from ..runs import Run
from ..settings import settings
from ..train import train_run
from ..uploads import UPLOADS
from .access import Refused, Who, claim, make_room, max_queue, visitor_job_seconds


def saved_runs():
    """(where, path, info) of every run folder: the demo assets first ("demo"), then the
    runs folder ("runs", at any depth); ``info`` is the error text for a damaged run."""
    for where, folder in (("demo", assets_dir()), ("runs", runs_dir())):
        for path, info in list_runs(folder):
            yield where, path, info


def find_saved_run(name: str, method: str) -> tuple[Path, dict] | None:
    """The readable run of ``method`` a link names (``?run=NAME``, :func:`run_key`)."""
    return next(((p, i) for _, p, i in saved_runs()
                 if isinstance(i, dict) and i.get("method") == method and run_key(p) == name), None)


def run_key(path) -> str:
    """A run's name in lists and links (``?run=``): its path below the runs folder (or the
    demo folder), ``exp1/seed-0`` -- never a server path."""
    path = Path(path)
    for folder in (runs_dir(), assets_dir()):
        try:
            return path.resolve().relative_to(Path(folder).expanduser().resolve()).as_posix()
        except ValueError:
            continue
    return path.name


def max_jobs() -> int:
    """Jobs that may train at once ($CLUSTLIB_MAX_JOBS, default 1: on a small machine two
    fits side by side are each slower than one after the other)."""
    return settings().max_jobs


_CTX = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
if _CTX.get_start_method() == "forkserver":
    # torch and the methods, imported once; and the module torch.use_deterministic_algorithms
    # imports on its first call (1-2 s that every job's fit would otherwise pay again)
    _CTX.set_forkserver_preload(["clustlib.ui.jobs", "torch._inductor.config"])


def _no_main(get_preparation_data):
    """A child of ours does not import the parent's ``__main__``. While a page script runs,
    Streamlit's ``__main__`` is that page: multiprocessing would run the page again, bare,
    in every job and task (a second of work and ~19 'missing ScriptRunContext' warnings
    each). Our children need only what they import by name. Patched because no
    supported API does it: ``multiprocessing`` always sends the parent's ``__main__``
    to a spawned or forkserver child (``spawn.get_preparation_data``; CPython 3.11 to
    3.13 have no option to leave it out), and a child must not be forked from the server
    itself (its threads). Only our children (named ``clustlib-...``) are changed."""
    def prepared(name):
        data = get_preparation_data(name)
        if str(name).startswith("clustlib-"):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data
    prepared.clustlib = True
    return prepared


if not getattr(_spawn.get_preparation_data, "clustlib", False):  # the module forkserver and spawn consult
    _spawn.get_preparation_data = _no_main(_spawn.get_preparation_data)


def warm_up() -> None:
    """Start the process that forks the jobs (it imports torch and the methods, a few
    seconds) in the background, so the first Train click does not wait for it."""
    if _CTX.get_start_method() == "forkserver":
        threading.Thread(target=forkserver.ensure_running, name="clustlib-forkserver", daemon=True).start()


_LOCK = threading.Lock()
JOBS: dict[str, TrainingJob] = {}  # every job of this server process, by id
_WAITING: list[TrainingJob] = []
_RUNNING: set[str] = set()


def find_job(job_id, method: str | None = None) -> TrainingJob | None:
    """The job with this id (from a page's URL), if it exists and trains ``method``. Any
    session may watch it; only its owner and the host may stop it (:meth:`TrainingJob.may_stop`)."""
    job = JOBS.get(str(job_id)) if job_id else None
    return job if job is not None and (method is None or job.method == method) else None


KEEP_FINISHED = 32  # finished jobs kept for a reload to find (each holds its run in memory)
KEEP_FINISHED_S = 30 * 60  # and for at most this long


def _prune() -> None:
    """Forget finished jobs past ``KEEP_FINISHED`` or older than ``KEEP_FINISHED_S`` (their
    runs are saved; the registry would otherwise hold every run and trace of the server's
    life in memory). Under _LOCK."""
    done = sorted((j for j in JOBS.values() if not j.running and j._ended.is_set()), key=lambda j: j.ended_at or 0)
    now = time.time()
    for i, job in enumerate(done):
        if i < len(done) - KEEP_FINISHED or now - (job.ended_at or now) > KEEP_FINISHED_S:
            del JOBS[job.id]


def _schedule() -> None:
    with _LOCK:
        while _WAITING and len(_RUNNING) < max_jobs():
            job = _WAITING.pop(0)
            _RUNNING.add(job.id)
            job._launch()


class TrainingJob:
    """Train what a :class:`~clustlib.request.TrainRequest` asks for, in a process of its own.

    Fields read by the page: ``status`` ("queued", "running", "done", "stopped",
    "cancelled", "failed"), ``position`` (in the queue, 0 once started), ``round``,
    ``max_rounds`` (the rounds the method plans, all its starts together), ``rounds_done``,
    ``stage``, ``scalars`` (of the last snapshot), ``trace`` (the Snapshots of the current
    start so far), ``track_y``, ``threads``, ``error``, ``run`` and ``path`` (when saved).
    """

    def __init__(self, request: TrainRequest, out_dir: Path | None = None, who: Who | None = None):
        self.who = who or Who("", True)  # the library's own jobs: the host's
        self.time_cap = None if self.who.host else visitor_job_seconds()
        self.capped = False  # stopped at its time cap (a visitor's job)
        self.id = secrets.token_hex(8)
        self.request, self.method = request, request.method
        self.out_dir = Path(out_dir) if out_dir is not None else runs_dir()
        self.status, self.round, self.rounds_done, self.stage = "queued", 0, 0, "waiting"
        self.max_rounds = 0  # the rounds the method plans, known once it has set up
        self.scalars: dict = {}
        self.trace: list = []
        self.track_y = None
        self.threads = 0
        self.error: str | None = None
        self.traceback = ""
        self.run: Run | None = None
        self.kept = ""  # a stopped job: what it kept (``base.stop_text``)
        self.path: Path | None = None
        self.created = time.time()
        self.started: float | None = None
        self.seconds: float | None = None
        self.ended_at: float | None = None
        self._stop = _CTX.Event()
        self._ended = threading.Event()
        self._process = None

    # ------------------------------------------------------------------ page API
    def start(self) -> TrainingJob:
        """Queue the job (it starts at once when no other job trains). A visitor's job is
        refused (:class:`access.Refused`, one line) while the same session has one queued or
        running, and when ``access.max_queue()`` jobs wait already."""
        if not self.who.host:  # a visitor's run counts in the visitors' space: refused when it is full
            make_room(0, self.out_dir / UPLOADS)
        with _LOCK:
            if not self.who.host:
                mine = [j for j in JOBS.values() if j.who.owner == self.who.owner and j.running]
                if mine:
                    where = (f"waiting at position {_WAITING.index(mine[0]) + 1}" if mine[0] in _WAITING
                             else "running")
                    raise Refused(f"you already have a training {where} ({METHODS[mine[0].method].ABOUT.title}); "
                                  "one at a time per visitor: stop it or wait for it to finish.")
                if len(_WAITING) >= max_queue():
                    raise Refused(f"the queue is full ({len(_WAITING)} trainings waiting for the server's "
                                  f"{max_jobs()} training slot{'s' if max_jobs() > 1 else ''}); try again in a few minutes.")
            _prune()
            JOBS[self.id] = self
            _WAITING.append(self)
        _schedule()
        return self

    def may_stop(self, who: Who) -> bool:
        """Whether ``who`` may stop or cancel this job: the session that started it, or the
        host (a shared link to a job lets others watch it, not end it)."""
        return who.host or who.owner == self.who.owner

    def stop(self) -> None:
        """End training after the current round (what was learned is kept and saved); a
        queued job is taken out of the queue."""
        with _LOCK:
            if self in _WAITING:
                _WAITING.remove(self)
                self.status = "cancelled"
                self.ended_at = time.time()
                self._ended.set()
                return
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._ended.wait(timeout)

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def position(self) -> int:
        with _LOCK:
            return _WAITING.index(self) + 1 if self in _WAITING else 0

    @property
    def progress(self) -> float:
        return min(self.rounds_done / max(self.max_rounds, 1), 1.0)

    # ------------------------------------------------------------------ parent side
    def _launch(self) -> None:
        """Start the child process and the thread that reads what it sends (under _LOCK)."""
        self.status, self.stage, self.started = "running", "starting", time.time()
        self._queue = _CTX.Queue()
        self._process = _CTX.Process(target=_train_in_child, name=f"clustlib-{self.method}", daemon=True,
                                     args=(self.request, str(self.out_dir), self._queue, self._stop))
        try:
            self._process.start()
        except Exception as err:  # noqa: BLE001 - no process, no job: say so on the page
            self._fail(f"could not start the training process: {err}")
            _RUNNING.discard(self.id)  # the next queued job may start (the caller's loop goes on)
            self._ended.set()
            return
        threading.Thread(target=self._read, name=f"clustlib-job-{self.id}", daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                if self.time_cap and time.time() - self.started > self.time_cap and not self._stop.is_set():
                    self.capped = True  # a visitor's time is up: stop after this round, saved
                    self._stop.set()
                try:
                    msg = self._queue.get(timeout=0.5)
                except queue.Empty:
                    if not self._process.is_alive():
                        try:  # a last message may still be on its way
                            msg = self._queue.get(timeout=1.0)
                        except queue.Empty:
                            self._fail("the training process ended unexpectedly "
                                       f"(exit code {self._process.exitcode}); nothing was saved.")
                            break
                    else:
                        continue
                if self._handle(msg):
                    break
        finally:
            self._process.join(5)
            self.seconds = time.time() - (self.started or self.created)
            self.ended_at = time.time()
            self.trace = []  # the saved run holds it; the live view is over
            self.__dict__.pop("_live", None)
            with _LOCK:
                _RUNNING.discard(self.id)
            self._ended.set()
            _schedule()

    def _handle(self, msg: tuple) -> bool:
        """Apply one message from the child; True when it was the last one."""
        kind = msg[0]
        if kind == "start":
            self.max_rounds, self.track_y, self.threads = int(msg[1]), msg[2], int(msg[3])
        elif kind == "snap":
            snap, self.threads = msg[1], int(msg[2])
            if snap.round == 0:  # a method's next start (n_init) draws its own picture
                self.trace = []
            self.trace.append(snap)
            self.rounds_done += snap.round > 0
            self.round, self.stage, self.scalars = snap.round, snap.stage, dict(snap.scalars)
        elif kind == "saved":
            self.path = Path(msg[1])
            claim(self.path, self.who.owner, self.who.host)
            try:
                self.run = Run.load(self.path)
            except Exception as err:  # noqa: BLE001
                self._fail(f"the run was saved to {self.path} but cannot be read back: {err}")
                return True
            self.status, self.kept = msg[2], msg[3]
            return True
        elif kind == "failed":
            self.traceback = msg[2]
            self._fail(msg[1])
            return True
        return False

    def _fail(self, text: str) -> None:
        self.error = text
        self.status = "failed"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _train_in_child(request: TrainRequest, out_dir, out: mp.Queue, stop) -> None:
    """The child process: load, fit with a callback that reports every Snapshot and
    honours Stop, save the run, report where. Stops (and saves) when the app dies. The
    fit runs on the default, fixed thread count (``clustlib.cpu``): the app's run of a
    seed is the CLI's run of that seed, however busy the server is."""

    # Ctrl-C in the server's terminal reaches its whole process group: the server decides,
    # and when it exits it asks its children to end (SIGTERM): stop after the round, save.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *a: (stop.set(), out.cancel_join_thread()))  # the server no longer reads
    parent = mp.parent_process()
    if parent is not None:  # the server went away: finish the round, save, exit
        threading.Thread(target=lambda: (parent.join(), stop.set()), daemon=True).start()
    try:
        threads = resolve_threads(request.threads)

        class Report:
            def on_start(self, est, planned):
                y = None if est._y is None else est._y[est.track_index_].astype("int64")
                out.put(("start", planned, y, threads))

            def __call__(self, est, snap):
                out.put(("snap", snap, threads))
                return stop.is_set()

        path = Path(out_dir) / run_name(request.method, request.data)
        run = train_run(dataclasses.replace(request, threads=threads), path, callbacks=[Report()])
        est = run.estimator
        out.put(("saved", str(path), "stopped" if est.stopped_early_ else "done",
                 stop_text(est) if est.stopped_early_ else ""))
    except Exception as err:  # noqa: BLE001 - reported on the page, never swallowed silently
        out.put(("failed", _first_line(err), traceback.format_exc()))
    finally:
        out.close()
        out.join_thread()
