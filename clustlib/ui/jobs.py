"""Training jobs that run in a background thread and never call Streamlit.

A page starts a :class:`TrainingJob`, keeps it in ``st.session_state`` and polls its
public fields from a fragment. Stop ends training cleanly and keeps what was learned;
the finished (or stopped) run is saved to the runs folder, so a rerun, a closed tab or
a crash of the page loses nothing.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import threading
import time
import traceback
from pathlib import Path

from ..data import load_dataset, split_classes
from ..methods import METHODS
from ..runs import Run, list_runs


def runs_dir() -> Path:
    """Where the app saves runs: $CLUSTLIB_RUNS or ./runs."""
    return Path(os.environ.get("CLUSTLIB_RUNS", "runs")).expanduser()


def assets_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "assets"


def saved_runs():
    """(where, path, info) of every run folder: the demo assets first ("demo"), then the
    runs folder ("runs"); ``info`` is the error text for a damaged run."""
    for where, folder in (("demo", assets_dir()), ("runs", runs_dir())):
        for path, info in list_runs(folder):
            yield where, path, info


def run_name(method: str, dataset: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset)[:40].strip("_") or "data"
    return f"{method}-{safe}-{stamp}"


class TrainingJob:
    """Train ``method`` with ``params`` on ``dataset`` (minus ``unseen`` classes) in a thread.

    Fields read by the page: ``status`` ("running", "done", "stopped", "failed"),
    ``round``, ``max_rounds``, ``scalars`` (of the last snapshot), ``stage``,
    ``error``, ``run`` and ``path`` (when saved).
    """

    def __init__(self, method: str, params: dict, dataset: str, unseen=(), preset: str | None = None,
                 out_dir: Path | None = None):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}.")
        self.method, self.params, self.dataset = method, dict(params), dataset
        self.unseen, self.preset = [int(c) for c in unseen], preset
        self.out_dir = Path(out_dir) if out_dir is not None else runs_dir()
        self.status, self.round, self.stage = "running", 0, "starting"
        self.max_rounds = 1
        self.scalars: dict = {}
        self.error: str | None = None
        self.run: Run | None = None
        self.path: Path | None = None
        self.started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"clustlib-{method}", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end after the current round (what was learned is kept)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def progress(self) -> float:
        return min(self.round / max(self.max_rounds, 1), 1.0)

    def _callback(self, est, snap) -> bool:
        self.round, self.stage, self.scalars = snap.round, snap.stage, dict(snap.scalars)
        return self._stop.is_set()

    def _work(self) -> None:
        try:
            ds = load_dataset(self.dataset)
            train = split_classes(ds, self.unseen)[0] if self.unseen else ds
            est = METHODS[self.method](**self.params)
            self.max_rounds = int(getattr(est, est.max_rounds_param))
            est.fit(train.X, train.y, callbacks=[self._callback])
            run = Run.from_estimator(est, method=self.method, dataset=self.dataset,
                                     unseen=self.unseen, y=train.y, extra={"preset": self.preset})
            self.path = run.save(self.out_dir / run_name(self.method, self.dataset))
            self.run = run
            self.status = "stopped" if est.stopped_early_ else "done"
        except Exception as err:  # noqa: BLE001 - reported on the page, never swallowed silently
            self.error = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            self.traceback = traceback.format_exc()
            self.status = "failed"
