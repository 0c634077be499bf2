"""Your own model: clustlib.Recorder in a torch loop, `clustlib import`, the Run they write,
`clustlib evaluate`, the "Your model" page; bad input refused in one line."""

import io
import json
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import clustlib
from clustlib.cli import main
from clustlib.external import Recorder, import_npz
from clustlib.runs import Run, RunFormatError


def _loop(rec, X, epochs=3, seed=0):
    """A tiny torch model trained on X for a few epochs, recorded each epoch."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    head = torch.nn.Linear(4, X.shape[1])
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=1e-2)
    Xt = torch.tensor(X, dtype=torch.float32)
    for epoch in range(epochs):
        loss = ((head(net(Xt)) - Xt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec.record(epoch, net(Xt), loss=loss)  # a torch tensor with grad, a torch scalar
    return rec


def test_a_torch_loop_recorded_for_three_epochs_is_a_run(tmp_path):
    from sklearn.datasets import make_blobs

    X, y = make_blobs(150, centers=3, cluster_std=0.4, random_state=0)
    rec = _loop(clustlib.Recorder(X, y=y, name="tiny-ae"), X)
    run = rec.save(tmp_path / "ae")
    assert sorted(p.name for p in (tmp_path / "ae").iterdir()) == ["labels.npy", "run.json", "trace.npz"]
    back = Run.load(tmp_path / "ae")
    assert back.method == "external" and back.info["model"] == "tiny-ae" and len(back.trace) == 3
    assert [s.stage for s in back.trace] == ["epoch 0", "epoch 1", "epoch 2"]
    assert back.trace[-1].embedding.shape == (150, 4) and back.estimator.track_y_.tolist() == y.tolist()
    assert "loss" in back.trace[1].scalars and 0 <= back.trace[-1].scalars["nmi"] <= 1
    assert back.metrics["nmi"] == pytest.approx(run.metrics["nmi"])
    with pytest.raises(ValueError, match="no network"):
        back.estimator.transform(X)


def test_clustlib_evaluate_scores_a_recorded_run(tmp_path, capsys):
    from sklearn.datasets import make_blobs

    X, y = make_blobs(200, centers=4, cluster_std=0.3, random_state=1)
    rec = clustlib.Recorder(X, y=y, unseen=[2, 3])
    for epoch in range(2):  # the seen classes exactly; the unseen ones on top of each other
        rec.record(epoch, np.where(np.isin(y, [2, 3])[:, None], 0.0, X * (epoch + 1)), labels=np.where(y > 1, 0, y))
    rec.save(tmp_path / "r")
    assert main(["evaluate", str(tmp_path / "r")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seen_nmi"] == pytest.approx(1.0) and out["unseen_nmi"] == pytest.approx(0.0, abs=1e-6)
    assert main(["evaluate", str(tmp_path / "r"), "--data", "digits"]) == 2
    assert "no network" in capsys.readouterr().err


def test_recorder_bounds_memory_and_refuses_bad_input_in_one_line():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(500, 3)), np.arange(500) % 5
    rec = clustlib.Recorder(X, y=y, max_points=100, max_frames=8)
    for epoch in range(20):
        rec.record(epoch, rng.normal(size=(500, 6)))
    assert len(rec.frames) <= 8 and rec.frames[0]["stage"] == "epoch 0" and rec.frames[-1]["stage"] == "epoch 19"
    assert rec.frames[-1]["embedding"].dtype == np.float16 and rec.frames[-1]["embedding"].shape == (100, 6)
    bad = [((400, 6), "expected \\(500, d\\)"), ((500,), "expected \\(500, d\\)")]
    for shape, match in bad:
        with pytest.raises(ValueError, match=match):
            rec.record(99, np.zeros(shape))
    with pytest.raises(ValueError, match="NaN"):
        rec.record(99, np.full((500, 2), np.nan))
    with pytest.raises(ValueError, match="cluster ids from 0"):
        rec.record(99, np.zeros((500, 2)), labels=np.full(500, -1))
    with pytest.raises(ValueError, match="not a number"):
        rec.record(99, np.zeros((500, 2)), loss="high")
    with pytest.raises(ValueError, match="nothing recorded"):
        clustlib.Recorder(X, y=y).save("never")
    with pytest.raises(ValueError, match="knows no cluster count"):
        clustlib.Recorder(X).record(0, X)


def test_recorder_follows_samples_of_a_dataset_by_index(tmp_path):
    idx = np.arange(0, 1797, 4)
    rec = clustlib.Recorder(idx, data="digits", name="idx")
    ds = clustlib.load_dataset("digits")
    rec.record("warm-up", ds.X[idx].reshape(len(idx), -1))
    back = Run.load(rec.save(tmp_path / "d") and tmp_path / "d")
    assert back.info["dataset"] == "digits" and back.estimator.track_y_.tolist() == ds.y[idx].tolist()
    assert back.estimator.track_images_.shape == (len(idx), 8, 8) and back.trace[0].stage == "warm-up"
    assert back.estimator.dataset_index_.tolist() == idx.tolist()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_clustlib_import_of_a_hand_made_npz(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    emb = np.stack([rng.normal(size=(90, 2)) + (e + 1) * np.eye(3)[y][:, :2] * 3 for e in range(4)])
    (tmp_path / "e.npz").write_bytes(_npz(embeddings=emb, y=y, epoch=np.array(["a", "b", "c", "d"])))
    assert main(["import", str(tmp_path / "e.npz"), "--out", str(tmp_path / "run"), "--name", "other-tool"]) == 0
    line = json.loads(capsys.readouterr().out)
    back = Run.load(tmp_path / "run")
    assert back.info["model"] == "other-tool" and [s.stage for s in back.trace] == ["a", "b", "c", "d"]
    assert line["nmi"] == back.metrics["nmi"] and back.trace[-1].scalars["nmi"] > back.trace[0].scalars["nmi"]


@pytest.mark.parametrize("arrays, match", [
    ({"y": np.arange(3)}, "no array named 'embeddings'"),
    ({"embeddings": np.zeros((2, 2, 2, 2))}, "expected numbers of shape"),
    ({"embeddings": np.full((2, 10, 3), np.nan), "labels": np.zeros((2, 10), int)}, "NaN"),
    ({"embeddings": np.zeros((2, 10, 3)), "labels": np.zeros((3, 10), int)}, "labels has shape"),
])
def test_clustlib_import_refuses_bad_files_in_one_line(tmp_path, capsys, arrays, match):
    (tmp_path / "bad.npz").write_bytes(_npz(**arrays))
    assert main(["import", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and __import__("re").search(match, err), err
    assert not (tmp_path / "run").exists()


def test_clustlib_import_refuses_objects_and_a_billion_declared_rows_before_reading(tmp_path, capsys):
    (tmp_path / "obj.npz").write_bytes(_npz(embeddings=np.array([{"a": 1}], dtype=object)))
    assert main(["import", str(tmp_path / "obj.npz"), "--out", str(tmp_path / "r1")]) == 2
    assert "Python objects" in capsys.readouterr().err
    # an .npy header declaring 10^9 rows of 3 floats, with no data behind it
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 3), }"
    header += " " * (63 - len(header) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("embeddings.npy", npy)
    (tmp_path / "huge.npz").write_bytes(buf.getvalue())
    assert main(["import", str(tmp_path / "huge.npz"), "--out", str(tmp_path / "r2")]) == 2
    assert "above the limit" in capsys.readouterr().err and not (tmp_path / "r2").exists()


def test_a_recorded_run_zip_round_trips_without_model_pt(tmp_path):
    from clustlib.library import import_zip, zip_run

    rng = np.random.default_rng(0)
    run = import_npz_bytes(tmp_path, embeddings=rng.normal(size=(3, 40, 2)), y=np.arange(40) % 2)
    data = zip_run(run)
    assert "model.pt" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    back = import_zip(data, tmp_path / "lib")
    assert Run.load(back).method == "external"
    with pytest.raises(RunFormatError, match="model.pt"):  # a method's run still needs its network
        from clustlib.runs import files_of  # noqa: F401

        info = json.loads((back / "run.json").read_text())
        info["method"] = "knet"
        (back / "run.json").write_text(json.dumps(info))
        Run.load(back)


def import_npz_bytes(tmp_path, **arrays):
    (tmp_path / "in.npz").write_bytes(_npz(**arrays))
    import_npz(tmp_path / "in.npz", tmp_path / "rec")
    return tmp_path / "rec"


# --------------------------------------------------------------------------- live recordings

LIVE_SCRIPT = """
import os, signal, sys
import numpy as np
from clustlib import Recorder
rng = np.random.default_rng(0)
X, y = rng.normal(size=(120, 6)), np.repeat(np.arange(3), 40)
rec = Recorder(X, y=y, name="live", out=sys.argv[1])
for epoch in range(10):
    rec.record(epoch, X + epoch * np.eye(3)[y] @ rng.normal(size=(3, 6)), loss=1.0 / (epoch + 1))
    if epoch == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_recording_killed_after_3_epochs_leaves_a_run_of_3_epochs(tmp_path):
    import subprocess
    import sys

    from clustlib.external import recording_status
    from clustlib.library import list_runs

    out = tmp_path / "runs" / "live"
    proc = subprocess.run([sys.executable, "-c", LIVE_SCRIPT, str(out), "2"], capture_output=True)
    assert proc.returncode == -9  # SIGKILL: no atexit, no close
    run = Run.load(out)
    assert [s.stage for s in run.trace] == ["epoch 0", "epoch 1", "epoch 2"] and run.info["live"]["stage"] == "epoch 2"
    assert run.estimator.scores()["nmi"] > 0.5
    [(_, info)] = list_runs(tmp_path / "runs")
    assert recording_status(info) == "recording ended without closing at epoch 2 (its process is gone)"
    done = subprocess.run([sys.executable, "-c", LIVE_SCRIPT, str(tmp_path / "done"), "99"], capture_output=True)
    assert done.returncode == 0
    final = Run.load(tmp_path / "done")  # the script ended: closed by itself, final
    assert len(final.trace) == 10 and "live" not in final.info


def test_a_live_recording_is_on_disk_after_each_epoch_and_final_when_closed(tmp_path):
    from clustlib.external import recording_status
    from clustlib.rundir import OutputError

    X, y = np.random.default_rng(1).normal(size=(60, 4)), np.repeat([0, 1, 2], 20)
    with Recorder(X, y=y, out=tmp_path / "r") as rec:
        for epoch in range(2):
            rec.record(epoch, X)
            on_disk = Run.load(tmp_path / "r")
            assert len(on_disk.trace) == epoch + 1
            assert re.fullmatch(rf"recording, epoch {epoch}, \d s ago", recording_status(on_disk.info))  # seconds: load
    final = Run.load(tmp_path / "r")
    assert "live" not in final.info and recording_status(final.info) is None and len(final.trace) == 2
    with pytest.raises(OutputError, match="already exists"):
        Recorder(X, y=y, out=tmp_path / "r")  # a finished run is never replaced unasked
    assert not list(tmp_path.glob(".r.*"))  # no lock or temporary folder left


def test_the_your_model_page_follows_a_recording_in_progress(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path))
    X, y = np.random.default_rng(2).normal(size=(60, 4)), np.repeat([0, 1, 2], 20)
    rec = Recorder(X, y=y, name="watched", out=tmp_path / "exp" / "watched")
    try:
        for epoch in range(2):
            rec.record(epoch, X)
        at = AppTest.from_file(app, default_timeout=120)
        at.query_params["run"] = "exp/watched"
        at.run()
        at.switch_page("app_pages/external.py")
        at.run()
        assert not at.exception
        assert any("2 recorded epochs" in h.value for h in at.subheader)
        assert any(i.value.startswith("recording, epoch 1,") for i in at.info), [i.value for i in at.info]
        rec.record(2, X * 2)
        at.run()  # the follower sees the new epoch and shows it
        assert any("3 recorded epochs" in h.value for h in at.subheader)
        lib = AppTest.from_file(app, default_timeout=120)
        lib.run()
        lib.switch_page("app_pages/runs.py")
        lib.run()
        table = lib.dataframe[0].value
        [status] = list(table["status"].dropna())
        assert re.fullmatch(r"recording, epoch 2, \d s ago", status)  # the seconds since: 0 on a quiet machine
        assert "exp/watched" in list(table["run"])
    finally:
        rec.close()
