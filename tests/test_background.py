"""Nothing a page computes blocks it: baselines and maps run in processes of their own,
within a time budget, only when asked for, and stop when nobody waits for them."""

import time
from pathlib import Path

import numpy as np
import pytest
import slow_tasks
from streamlit.testing.v1 import AppTest

from clustlib.ui import background

pytestmark = pytest.mark.slow  # processes, servers or whole pages: `make test`, not `make test-fast`

APP = str(Path(__file__).resolve().parents[1] / "app.py")



def stop_all() -> None:
    """Stop every background task and forget them (between tests)."""
    with background._LOCK:
        for task in background._TASKS.values():
            if not task.finished:
                background._stop(task, "abandoned", "stopped")
        background._TASKS.clear()


def wait(task, seconds=30):
    deadline = time.time() + seconds
    while not task.finished and time.time() < deadline:
        time.sleep(0.1)
        background.ask(task.key, task.fn, *task.args)  # a page polling keeps it alive
    return task


def test_a_task_runs_in_its_own_process_and_is_shared_by_key():
    key = ("test", "double", time.time())
    task = background.ask(key, slow_tasks.double, 21)
    assert background.ask(key, slow_tasks.double, 21) is task  # a second visitor shares it
    assert wait(task).status == "done" and task.result == 42


def test_a_task_over_its_budget_is_cut_and_a_failure_is_one_line():
    cut = background.ask(("test", "forever", time.time()), slow_tasks.forever, budget_s=1.0)
    assert wait(cut).status == "cut" and "time budget" in cut.error
    failed = wait(background.ask(("test", "fail", time.time()), slow_tasks.fail))
    assert failed.status == "failed" and failed.error == "this data has nothing to cluster"
    background.retry(failed.key)  # asked again after a failure: a new try
    assert failed.key not in background._TASKS


def test_a_task_nobody_waits_for_is_stopped(monkeypatch):
    monkeypatch.setattr(background, "ABANDON_S", 1.0)
    task = background.ask(("test", "left", time.time()), slow_tasks.forever)
    deadline = time.time() + 20
    while not task.finished and time.time() < deadline:  # "starting" too: a busy machine spawns slowly
        time.sleep(0.2)  # nobody asks again: the visitor left
    assert task.status == "abandoned"


def _knet_page():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/knet.py")
    at.run()
    return at


def test_the_baselines_never_run_in_the_page_script(monkeypatch, tmp_path):
    """A baseline that takes forever: the page still finishes its script in under 2 s,
    and says that the baseline computes in the background."""
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path))
    monkeypatch.setattr(background, "baseline", slow_tasks.forever)
    stop_all()
    at = _knet_page()
    assert not any(t.key[0] == "baseline" for t in background._TASKS.values())  # section closed: nothing runs
    at.session_state["knet_peers_open"] = True  # the visitor opens "Beside scikit-learn baselines"
    t0 = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - t0
    assert not at.exception and seconds < 2.0, seconds
    assert any("in the background" in i.value for i in at.info)
    running = [t for t in background._TASKS.values() if t.key[0] == "baseline" and t.fn is slow_tasks.forever]
    assert running and all(t.status in ("queued", "starting", "running") for t in running)  # none finished
    stop_all()


@pytest.mark.parametrize("peer, floor", [("KMeans", 0.6), ("Spectral (rbf, median σ)", 0.45),
                                         ("Spectral (nearest neighbours)", 0.7)])
def test_the_baselines_say_something_on_digits(peer, floor):
    from clustlib.baselines import run_peer
    from clustlib.data import load_dataset

    ds = load_dataset("digits")
    assert run_peer(peer, ds.X, ds.y, 10)["nmi"] > floor  # rbf with scikit-learn's gamma=1: NMI 0.001


def test_a_baseline_without_structure_is_skipped_with_its_reason():
    from clustlib.baselines import Skipped, run_peer

    X = np.zeros((300, 4))
    X[:10] = np.random.default_rng(0).normal(size=(10, 4)) * 10  # 290 samples at one point
    with pytest.raises(Skipped, match="in one cluster"):
        run_peer("Spectral (rbf, median σ)", X, None, 3, standardize=False)


def test_tasks_start_in_the_order_they_were_first_asked():
    """A page asks its baselines in order and then polls the first one again: the first
    still runs first (it ran last when the queue followed the latest ask)."""
    stop_all()
    keys = [("test", "order", i, time.time()) for i in range(3)]
    tasks = [background.ask(k, slow_tasks.double, i) for i, k in enumerate(keys)]
    background.ask(keys[0], slow_tasks.double, 0)  # polled again
    for t in tasks:
        wait(t)
    assert [t.status for t in tasks] == ["done"] * 3
    assert tasks[0].started < tasks[1].started < tasks[2].started


def test_a_task_no_page_asks_for_any_more_yields_to_one_a_page_asks_for():
    """A visitor left a dataset while its baselines were queued: the new page's task runs
    before them (they wait until abandoned, or until asked again)."""
    stop_all()
    blocker = background.ask(("test", "block", time.time()), slow_tasks.forever)
    old = background.ask(("test", "left", time.time()), slow_tasks.double, 1)
    new = background.ask(("test", "shown", time.time()), slow_tasks.double, 2)
    with background._LOCK:
        old.asked -= 2 * background.STALE_S  # nobody asked for it since
    deadline = time.time() + 30
    while blocker.status != "running" and time.time() < deadline:
        time.sleep(0.1)
    with background._LOCK:
        background._stop(blocker, "abandoned", "stopped")
    wait(new)
    wait(old)
    assert old.status == "done" and new.started < old.started


def test_a_running_task_nobody_asks_for_is_stopped_for_one_a_page_waits_for():
    """The visitor switched datasets while a slow baseline of the old one ran: it stops
    after 2 x STALE_S unasked, and the new page's map runs (not 20 s later)."""
    stop_all()
    old = background.ask(("test", "old", time.time()), slow_tasks.forever)
    deadline = time.time() + 30
    while old.status != "running" and time.time() < deadline:
        time.sleep(0.1)
        background.ask(old.key, old.fn)
    new = background.ask(("test", "new", time.time()), slow_tasks.double, 3)
    with background._LOCK:
        old.asked -= 3 * background.STALE_S  # the page that asked for it is gone
    assert wait(new, 15).status == "done" and new.result == 6
    assert old.status == "abandoned"
