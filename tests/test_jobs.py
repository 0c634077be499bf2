import time

import pytest

from clustlib.request import TrainRequest
from clustlib.runs import Run
from clustlib.ui.jobs import TrainingJob

pytestmark = pytest.mark.slow  # processes, servers or whole pages: `make test`, not `make test-fast`


def test_stop_keeps_what_was_learned_and_saves(tmp_path):
    params = {"n_clusters": 2, "max_iter": 500, "tol": 1e-12,
              "batch_size": 64, "pretrain_steps": 50, "random_state": 0}
    job = TrainingJob(knet_request(params), out_dir=tmp_path).start()
    deadline = time.time() + 60
    while job.round < 2 and time.time() < deadline and job.running:
        time.sleep(0.05)
    job.stop()
    job.join(60)
    assert job.status == "stopped", job.error
    assert 2 <= job.run.estimator.n_iter_ < 500
    back = Run.load(job.path)
    assert back.estimator.stopped_early_ and len(back.trace) == back.estimator.n_iter_ + 1


def test_failure_is_reported_not_raised(tmp_path):
    job = TrainingJob(knet_request({"n_clusters": 2}, "nosuch"), out_dir=tmp_path).start()
    job.join(30)
    assert job.status == "failed" and "unknown dataset" in job.error
    assert not any(tmp_path.iterdir())


SLOW_KNET = {"n_clusters": 2, "max_iter": 500, "tol": 1e-12, "batch_size": 64, "pretrain_steps": 50,
             "random_state": 0}


def knet_request(params: dict | None = None, data: str = "moons:n=300") -> TrainRequest:
    """KNet with these parameters (the constructor's defaults for the rest: no preset)."""
    return TrainRequest.from_params("knet", data, SLOW_KNET if params is None else params, preset=None)


def test_jobs_train_in_their_own_process_and_report_every_round(tmp_path):
    import os

    job = TrainingJob(knet_request({**SLOW_KNET, "max_iter": 3}), out_dir=tmp_path).start()
    job.join(90)
    assert job.status == "done", job.error
    assert job._process.pid != os.getpid() and job._process.exitcode == 0
    # snapshots arrive while training: the live picture's data, round by round
    assert job.rounds_done == job.run.estimator.n_iter_ == 3
    assert job.trace == []  # once saved, the live view's snapshots are let go (the run holds them)
    assert job.track_y is not None and len(job.track_y) == len(job.run.trace[-1].labels)
    assert job.max_rounds == 3 and job.threads >= 1 and job.run.info["threads"] == job.threads


def test_second_job_waits_in_the_queue_and_a_queued_job_can_be_cancelled(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_MAX_JOBS", "1")
    first = TrainingJob(knet_request(), out_dir=tmp_path).start()
    second = TrainingJob(knet_request({**SLOW_KNET, "max_iter": 2}), out_dir=tmp_path).start()
    third = TrainingJob(knet_request(), out_dir=tmp_path).start()
    assert second.status == "queued" and second.position == 1 and third.position == 2
    third.stop()  # leaves the queue, never trains
    assert third.status == "cancelled" and second.position == 1
    deadline = time.time() + 60
    while first.round < 1 and time.time() < deadline:
        time.sleep(0.05)
    first.stop()
    first.join(60)
    second.join(90)  # started by itself once the first ended
    assert first.status == "stopped" and second.status == "done", (first.error, second.error)
    assert second.started >= first.started + first.seconds - 1.0
    assert third.run is None and len(list(tmp_path.iterdir())) == 2


def test_a_killed_training_process_is_reported(tmp_path):
    job = TrainingJob(knet_request(), out_dir=tmp_path).start()
    deadline = time.time() + 60
    while job.round < 1 and time.time() < deadline:
        time.sleep(0.05)
    job._process.kill()
    job.join(30)
    assert job.status == "failed" and "ended unexpectedly" in job.error


def test_find_job_by_id_and_method(tmp_path):
    from clustlib.ui.jobs import find_job

    job = TrainingJob(knet_request({**SLOW_KNET, "max_iter": 1}), out_dir=tmp_path).start()
    assert find_job(job.id, "knet") is job and find_job(job.id, "dac") is None
    assert find_job("nosuchjob", "knet") is None and find_job(None) is None
    job.join(60)


def test_threads_are_fixed_unless_auto_is_asked_for(monkeypatch):
    from clustlib import cpu

    monkeypatch.setattr(cpu, "usable_cores", lambda: 4)
    monkeypatch.setattr(cpu, "busy_cores", lambda sample_s=0.25, exclude=(): 1.2)
    assert cpu.resolve_threads(None) == cpu.resolve_threads(0) == cpu.DEFAULT_THREADS  # not the load's
    assert cpu.resolve_threads(3) == 3 and cpu.resolve_threads("auto") == 3
    monkeypatch.setattr(cpu, "busy_cores", lambda sample_s=0.25, exclude=(): 7.0)
    assert cpu.resolve_threads("auto") == 1  # a busy machine: one thread, never zero
    assert cpu.resolve_threads(None) == cpu.DEFAULT_THREADS
    for bad in (-1, "many"):
        with pytest.raises(ValueError, match="positive count or 'auto'"):
            cpu.resolve_threads(bad)


def test_fixed_threads_sets_every_pool_and_restores_them():
    import torch
    from threadpoolctl import threadpool_info

    from clustlib import cpu

    before = torch.get_num_threads()
    with cpu.fixed_threads(1):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert torch.get_num_threads() == before


def test_busy_cores_sees_a_busy_process_unless_it_is_excluded():
    import subprocess
    import sys

    from clustlib import cpu

    if cpu._cpu_times() is None:
        pytest.skip("no /proc/stat here")
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert cpu.busy_cores(0.5) > 0.6
        assert cpu.busy_cores(0.5, exclude=(spin.pid,)) < cpu.busy_cores(0.5) - 0.5
    finally:
        spin.kill()
