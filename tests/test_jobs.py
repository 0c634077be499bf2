import time

from clustlib.runs import Run
from clustlib.ui.jobs import TrainingJob


def test_stop_keeps_what_was_learned_and_saves(tmp_path):
    params = {"n_clusters": 2, "max_iter": 500, "tol": 1e-12,
              "batch_size": 64, "pretrain_steps": 50, "random_state": 0}
    job = TrainingJob("knet", params, "moons:n=300", out_dir=tmp_path).start()
    deadline = time.time() + 60
    while job.round < 2 and time.time() < deadline and job.running:
        time.sleep(0.05)
    job.stop()
    job.join(60)
    assert job.status == "stopped", job.error
    assert 2 <= job.run.estimator.n_rounds_ < 500
    back = Run.load(job.path)
    assert back.estimator.stopped_early_ and len(back.trace) == back.estimator.n_rounds_ + 1


def test_failure_is_reported_not_raised(tmp_path):
    job = TrainingJob("knet", {"n_clusters": 2}, "nosuch", out_dir=tmp_path).start()
    job.join(30)
    assert job.status == "failed" and "unknown dataset" in job.error
    assert not any(tmp_path.iterdir())
