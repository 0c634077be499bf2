"""Serving a class: who may delete what, one training at a time per visitor, a time cap on
visitors' trainings, upload quotas (clustlib.ui.access)."""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from clustlib.request import TrainRequest
from clustlib.runs import Run
from clustlib.ui import access
from clustlib.ui.jobs import TrainingJob

pytestmark = pytest.mark.slow  # processes, servers or whole pages: `make test`, not `make test-fast`

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SLOW_KNET = {"n_clusters": 2, "max_iter": 500, "tol": 1e-12, "batch_size": 64, "pretrain_steps": 50,
             "random_state": 0}


def knet_request(params: dict | None = None, data: str = "moons:n=300") -> TrainRequest:
    """KNet with these parameters (the constructor's defaults for the rest: no preset)."""
    return TrainRequest.from_params("knet", data, SLOW_KNET if params is None else params, preset=None)


@pytest.fixture(autouse=True)
def runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(access, "_OWNERS", {})  # each test its own server's registry
    monkeypatch.setattr(access, "_UPLOADED", {})
    return tmp_path / "runs"


def test_host_is_the_local_request_or_the_token_holder(monkeypatch):
    monkeypatch.delenv("CLUSTLIB_HOST_TOKEN", raising=False)
    assert access.decide_host("127.0.0.1", None) and access.decide_host("::1", None)
    assert not access.decide_host("10.0.0.7", None)  # a student's laptop
    monkeypatch.setenv("CLUSTLIB_HOST_TOKEN", "s3cret")  # behind a proxy: only the token counts
    assert not access.decide_host("127.0.0.1", None) and not access.decide_host("127.0.0.1", "guess")
    assert access.decide_host("10.0.0.7", "s3cret")


def _library(monkeypatch, host: bool) -> AppTest:
    """The runs library in a new browser session of a host (the token in its link) or a visitor."""
    monkeypatch.setenv("CLUSTLIB_HOST_TOKEN", "s3cret")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/runs.py")
    if host:
        at.query_params["host"] = "s3cret"
    at.run()
    assert not at.exception
    return at


def _select(at, name):
    box = at.selectbox(key="lib_pick")
    box.set_value(next(o for o in box.options if name in o))
    at.run()


def test_a_visitor_deletes_only_their_own_runs_and_the_host_any(runs_folder, fitted_moons, monkeypatch):
    ds, est = fitted_moons
    for name in ("teachers", "students"):
        Run.from_estimator(est, method="knet", data="moons:n=300", y=ds.y).save(runs_folder / name)
    visitor = _library(monkeypatch, host=False)
    access.claim(runs_folder / "students", visitor.session_state["_who"].owner)  # the session made it
    assert "host" not in visitor.query_params
    _select(visitor, "teachers")
    assert not visitor.checkbox and any("Only the host" in c.value for c in visitor.caption)
    assert not any(b.label == "Delete" for b in visitor.button)
    assert any("added here by the person who started" in c.value for c in visitor.caption)  # no upload box
    _select(visitor, "students")
    visitor.checkbox[0].check().run()
    next(b for b in visitor.button if b.label == "Delete").click().run()
    assert not visitor.exception and not (runs_folder / "students").exists()
    assert (runs_folder / "teachers").exists()
    host = _library(monkeypatch, host=True)
    assert host.session_state["_who"].host and "host" not in host.query_params  # the token leaves the URL
    _select(host, "teachers")
    host.checkbox[0].check().run()
    next(b for b in host.button if b.label == "Delete").click().run()
    assert not host.exception and not (runs_folder / "teachers").exists()


def test_one_training_per_visitor_and_a_bounded_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_MAX_QUEUE", "2")
    visitor = access.Who("student-1", False)
    first = TrainingJob(knet_request(), out_dir=tmp_path, who=visitor).start()
    try:
        with pytest.raises(access.Refused, match="already have a training"):
            TrainingJob(knet_request(), out_dir=tmp_path, who=visitor).start()
        host = access.Who("teacher", True)
        queued = [TrainingJob(knet_request(), out_dir=tmp_path, who=host).start() for _ in range(2)]
        with pytest.raises(access.Refused, match="queue is full"):
            TrainingJob(knet_request(), out_dir=tmp_path, who=access.Who("student-2", False)).start()
        for job in queued:
            job.stop()
    finally:
        first.stop()
        first.join(60)


def test_a_visitors_training_over_its_time_cap_stops_and_is_saved(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_VISITOR_JOB_S", "3")
    job = TrainingJob(knet_request(), out_dir=tmp_path, who=access.Who("student", False)).start()
    job.join(90)
    assert job.status == "stopped" and job.capped, job.error
    back = Run.load(job.path)
    assert back.estimator.stopped_early_ and back.estimator.n_iter_ < 500  # round 0 on a busy machine
    assert access.owner_of(job.path) == "student"


def _npz(n: int) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(n)
    np.savez(buf, X=rng.normal(size=(n, 8)), y=np.arange(n) % 2)
    return buf.getvalue()


def test_the_upload_quota_refuses_in_one_line_and_leaves_nothing_behind(runs_folder, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_HOST_TOKEN", "s3cret")  # this session is a visitor
    monkeypatch.setenv("CLUSTLIB_UPLOAD_QUOTA_MB", "0.05")  # 52 KB
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/knet.py")
    at.run()
    at.sidebar.selectbox(key="knet_ds").set_value("upload…").run()
    at.sidebar.file_uploader(key="knet_upload").upload("small.npz", _npz(200)).run()  # 15 KB: kept
    assert not at.sidebar.error
    kept = list((runs_folder / ".uploads").rglob("*.npz"))
    assert len(kept) == 1
    at.sidebar.file_uploader(key="knet_upload").upload("big.npz", _npz(800)).run()  # 52 KB more: refused
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and "upload quota" in errors[0] and "\n" not in errors[0]
    assert list((runs_folder / ".uploads").rglob("*.npz")) == kept  # nothing of the refused one


def _upload_in_turn(whos, uploads, first: int) -> list:
    """Each session uploads an .npz of ~40 KB (oldest first); the places they are kept."""
    from clustlib.uploads import save_upload, upload_path

    kept = []
    for i, who in enumerate(whos):
        data, name = _npz(first + i), f"f{first + i}.npz"
        access.check_upload(who, len(data), uploads)
        save_upload(name, data, uploads)
        access.count_upload(who, upload_path(name, data, uploads), len(data))
        kept.append(upload_path(name, data, uploads))
        time.sleep(0.05)
    return kept


def test_visitors_space_is_made_by_removing_the_oldest_visitor_uploads(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_VISITOR_DISK_MB", "0.1")  # 105 KB for all visitors
    uploads = tmp_path / ".uploads"
    homes = _upload_in_turn([access.Who("a", False), access.Who("b", False), access.Who("c", False)], uploads, 600)
    assert not homes[0].exists() and homes[1].exists() and homes[2].exists()  # the oldest made room
    with pytest.raises(access.Refused, match="space for visitors"):
        access.check_upload(access.Who("d", False), 200_000, uploads)
    assert homes[1].exists() and homes[2].exists()  # what cannot make room is not removed


def test_the_hosts_uploads_neither_count_nor_go_to_make_room(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_VISITOR_DISK_MB", "0.1")  # 105 KB for all visitors
    kept = _upload_in_turn([access.Who("host", True), access.Who("a", False), access.Who("b", False),
                            access.Who("c", False)], tmp_path / ".uploads", 700)
    assert kept[0].exists()  # the host's, the oldest of all, stays
    assert not kept[1].exists() and kept[2].exists() and kept[3].exists()  # the oldest visitor's made room


def test_the_runs_library_names_the_servers_folder_to_the_host_only(runs_folder, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_HOST_TOKEN", "s3cret")
    for query, host in (({}, False), ({"host": "s3cret"}, True)):
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page("app_pages/runs.py")
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception
        said = " ".join(c.value for c in at.caption)
        assert (str(runs_folder) in said) == host, said
