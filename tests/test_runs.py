import json
import pickle

import numpy as np
import pytest
import torch

from clustlib.library import list_runs
from clustlib.runs import Run, RunFormatError


@pytest.fixture
def saved(tmp_path, fitted_moons):
    ds, est = fitted_moons
    run = Run.from_estimator(est, method="knet", data="moons:n=300", y=ds.y)
    return run, run.save(tmp_path / "run1"), ds


def test_roundtrip_restores_model_and_trace(saved):
    run, path, ds = saved
    back = Run.load(path)
    est, est2 = run.estimator, back.estimator
    np.testing.assert_array_equal(est2.labels_, est.labels_)
    np.testing.assert_allclose(est2.transform(ds.X), est.transform(ds.X), atol=1e-5)
    np.testing.assert_array_equal(est2.predict(ds.X), est.predict(ds.X))
    assert len(est2.trace_) == len(est.trace_)
    assert est2.trace_[-1].scalars == pytest.approx(est.trace_[-1].scalars)
    np.testing.assert_allclose(est2.trace_[-1].embedding, est.trace_[-1].embedding, atol=1e-2)
    assert back.info["dataset"] == "moons:n=300" and back.metrics["nmi"] == run.metrics["nmi"]
    np.testing.assert_array_equal(est2.track_y_, est.track_y_)


def test_truncated_model_file(saved):
    _, path, _ = saved
    data = (path / "model.pt").read_bytes()
    (path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunFormatError, match="model.pt"):
        Run.load(path)


def test_truncated_trace(saved):
    _, path, _ = saved
    data = (path / "trace.npz").read_bytes()
    (path / "trace.npz").write_bytes(data[:100])
    with pytest.raises(RunFormatError, match="trace.npz"):
        Run.load(path)


def test_wrong_version(saved):
    _, path, _ = saved
    doc = json.loads((path / "run.json").read_text())
    doc["version"] = 99
    (path / "run.json").write_text(json.dumps(doc))
    with pytest.raises(RunFormatError, match="version 99"):
        Run.load(path)


def test_foreign_and_damaged_json(saved, tmp_path):
    _, path, _ = saved
    (path / "run.json").write_text('{"name": "something else"}')
    with pytest.raises(RunFormatError, match="not a clustlib run"):
        Run.load(path)
    (path / "run.json").write_text("{broken")
    with pytest.raises(RunFormatError, match="damaged JSON"):
        Run.load(path)
    with pytest.raises(RunFormatError, match="not a run directory"):
        Run.load(tmp_path / "nowhere")


class Boom:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_pickle_payload_is_never_executed(saved, tmp_path, monkeypatch):
    _, path, _ = saved
    monkeypatch.chdir(tmp_path)
    # a model.pt that would run code if unpickled
    with open(path / "model.pt", "wb") as f:
        pickle.dump({"net.w": Boom()}, f)
    with pytest.raises(RunFormatError, match="model.pt"):
        Run.load(path)
    # the same in a torch-format file
    torch.save({"x": Boom()}, path / "model.pt")
    with pytest.raises(RunFormatError, match="model.pt"):
        Run.load(path)
    # and an object array inside trace.npz
    np.savez(path / "trace.npz", track_index=np.array([Boom()], dtype=object))
    with pytest.raises(RunFormatError):
        Run.load(path)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_interrupted_save_leaves_no_valid_looking_run_and_keeps_old(saved, tmp_path, monkeypatch):
    run, path, _ = saved
    before = (path / "labels.npy").read_bytes()

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(OSError):
        run.save(path)  # overwrite attempt dies half-way
    with pytest.raises(OSError):
        run.save(tmp_path / "fresh")
    monkeypatch.undo()
    assert (path / "labels.npy").read_bytes() == before  # the old run is intact
    Run.load(path)
    assert not (tmp_path / "fresh").exists()
    assert [p.name for p, _ in list_runs(tmp_path)] == ["run1"]
    # a half-written directory (no run.json) is reported, not loaded
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.pt").write_bytes(b"")
    listed = dict((p.name, info) for p, info in list_runs(tmp_path))
    assert isinstance(listed["half"], str) and "missing" in listed["half"]


def _zip(files: dict) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_run_zip_roundtrip_and_bad_uploads(tmp_path, fitted_moons):
    import pickle

    from clustlib.library import import_zip, zip_run
    from clustlib.rundir import OutputError, delete_run
    from clustlib.runs import FILES, RunFormatError

    ds, est = fitted_moons
    src = Run.from_estimator(est, method="knet", data="moons:n=300", y=ds.y).save(tmp_path / "a")
    data = zip_run(src)
    runs = tmp_path / "runs"
    first = import_zip(data, runs)
    assert first.name == "a" and Run.load(first).metrics["nmi"] == Run.load(src).metrics["nmi"]
    assert import_zip(data, runs).name == "a-2"  # never overwrites
    files = {f: (src / f).read_bytes() for f in FILES}

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    bad = {
        "not a zip": b"hello",
        "traversal": _zip({**files, "../evil.txt": b"x"}),
        "foreign file": _zip({**files, "notes.exe": b"x"}),
        "missing": _zip({k: v for k, v in files.items() if k != "model.pt"}),
        "pickle payload": _zip({**files, "model.pt": pickle.dumps(Boom())}),
        "foreign json": _zip({**files, "run.json": b'{"hello": 1}'}),
    }
    before = sorted(p.name for p in runs.iterdir())
    for what, payload in bad.items():
        with pytest.raises(RunFormatError) as err:
            import_zip(payload, runs)
        assert "\n" not in str(err.value), what
    assert sorted(p.name for p in runs.iterdir()) == before  # nothing changed, nothing left behind
    assert not (tmp_path / "pwned").exists()
    delete_run(first, runs)
    assert not first.exists()
    with pytest.raises(OutputError, match="only runs of the runs folder"):
        delete_run(src, runs)  # outside the folder
    assert src.exists()


def test_runs_are_found_at_any_depth_like_a_logdir(saved, tmp_path):
    import shutil

    from clustlib.library import list_runs
    from clustlib.rundir import delete_run

    root = tmp_path / "logdir"
    for where in ("a", "exp1/seed-0", "exp1/seed-1", "deep/b/c/d"):
        shutil.copytree(saved[1], root / where)
    (root / "exp1" / "notes").mkdir()
    found = sorted(p.relative_to(root).as_posix() for p, info in list_runs(root) if isinstance(info, dict))
    assert found == ["a", "deep/b/c/d", "exp1/seed-0", "exp1/seed-1"]
    assert [p.name for p, _ in list_runs(root, depth=1)] == ["a"]
    delete_run(root / "exp1" / "seed-1", root)  # the host's delete reaches nested runs, inside the folder only
    assert not (root / "exp1" / "seed-1").exists()
    with pytest.raises(ValueError, match="only runs of the runs folder"):
        delete_run(root / "a", root / "exp1")
