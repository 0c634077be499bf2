"""Hostile and careless input: what a visitor sends never names a server path, and a
generated dataset's size is bounded before anything is allocated."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from clustlib.data import DatasetError, check_visitor_spec, load_dataset

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.mark.parametrize("spec", ["csv:/etc/passwd", "npz:/etc/hosts", "folder:/", "csv:../../etc/passwd",
                                  "mnist:root=/home", "mnist:download=1", "fashion_mnist:root=/,download=1"])
def test_a_visitor_spec_may_not_name_a_server_path(spec, tmp_path):
    with pytest.raises(DatasetError) as err:
        check_visitor_spec(spec, [tmp_path])
    assert "\n" not in str(err.value)


def test_visitor_specs_that_are_allowed(tmp_path, monkeypatch):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "abc.npz").write_bytes(b"")
    for spec in ("digits", "moons:n=500,noise=0.1", "spirals", "mnist:split=test", f"npz:{uploads / 'abc.npz'}"):
        check_visitor_spec(spec, [uploads])
    with pytest.raises(DatasetError):  # a symlink out of the uploads folder is refused
        (uploads / "link.csv").symlink_to("/etc/passwd")
        check_visitor_spec(f"csv:{uploads / 'link.csv'}", [uploads])
    with pytest.raises(DatasetError):  # ".." out of the folder
        check_visitor_spec(f"csv:{uploads}/../secret.csv", [uploads])


def test_a_shared_link_to_a_server_file_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/knet.py")
    at.query_params.update({"data": "csv:/etc/passwd"})
    at.run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("reads files only from uploads" in e for e in errors)
    shown = " ".join(str(getattr(el, "value", "")) for el in at.main) + " ".join(errors)
    assert "root:" not in shown  # nothing of the file reaches the page


def test_configured_data_roots_open_files_to_the_app(tmp_path, monkeypatch):
    from clustlib.data import data_roots

    monkeypatch.setenv("CLUSTLIB_DATA_ROOTS", f"{tmp_path}/a:{tmp_path}/b")
    assert data_roots() == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
    check_visitor_spec(f"npz:{tmp_path}/b/x.npz", data_roots())
    with pytest.raises(DatasetError):
        check_visitor_spec(f"npz:{tmp_path}/c/x.npz", data_roots())


def test_generated_size_is_bounded_before_allocation(monkeypatch):
    with pytest.raises(DatasetError, match="CLUSTLIB_MAX_SAMPLES"):
        load_dataset("moons:n=2000000000")  # would be 7 GiB if generated
    monkeypatch.setenv("CLUSTLIB_MAX_SAMPLES", "100")
    with pytest.raises(DatasetError, match="limit of 100"):
        load_dataset("blobs:n=101")
    assert load_dataset("blobs:n=100").X.shape == (100, 2)
    assert np.isfinite(load_dataset("spirals:n=100").X).all()


# --------------------------------------------------------------------------- data loss


def _train(out, *extra):
    from clustlib.cli import main

    return main(["train", "knet", "--data", "moons:n=120", "--preset", "tiny", "--quiet",
                 "--out", str(out), *extra])


def test_overwrite_replaces_only_a_clustlib_run(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    assert _train(thesis, "--overwrite") == 2
    assert "not a clustlib run" in capsys.readouterr().err
    assert (thesis / "chapter1.tex").read_text() == "years of work"
    run = tmp_path / "run"
    assert _train(run) == 0 and _train(run, "--overwrite") == 0  # a run may be replaced


def test_library_save_refuses_to_replace_a_foreign_directory(tmp_path, fitted_moons):
    from clustlib.runs import Run, RunFormatError

    ds, est = fitted_moons
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"x")
    with pytest.raises(RunFormatError, match="not a clustlib run"):
        Run.from_estimator(est, method="knet", dataset="moons:n=300", y=ds.y).save(folder)
    assert (folder / "a.jpg").exists()


def test_a_second_writer_to_the_same_out_is_refused_before_training(tmp_path, capsys):
    import os
    import subprocess

    out = tmp_path / "run"
    sleeper = subprocess.Popen(["sleep", "30"])  # a live process holding the lock
    try:
        (tmp_path / ".run.lock").write_text(str(sleeper.pid))
        assert _train(out) == 2
        assert "being written by another clustlib" in capsys.readouterr().err
        assert not out.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # the lock of a process that is gone is stale: training proceeds and releases it
    assert _train(out) == 0 and out.is_dir() and not (tmp_path / ".run.lock").exists()
    assert os.listdir(tmp_path) == ["run"]


def test_an_unwritable_out_fails_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file" / "run",):
        assert _train(out) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot write the run" in err


def test_a_crash_between_the_renames_of_an_overwrite_is_recovered(tmp_path, fitted_moons, monkeypatch):
    import os

    from clustlib.runs import Run, recover

    ds, est = fitted_moons
    run = Run.from_estimator(est, method="knet", dataset="moons:n=300", y=ds.y)
    path = run.save(tmp_path / "r")
    before = (path / "labels.npy").read_bytes()
    real = os.replace
    calls = []

    def second_fails(a, b):
        calls.append(a)
        if len(calls) == 2:
            raise OSError("power cut")
        return real(a, b)

    monkeypatch.setattr(os, "replace", second_fails)
    with pytest.raises(OSError):
        run.save(path)
    monkeypatch.undo()
    assert not path.exists()  # the crash window: the old run sits in a hidden folder
    recover(path)
    assert (path / "labels.npy").read_bytes() == before
    assert Run.load(path) and [p.name for p in tmp_path.iterdir()] == ["r"]  # no leftovers
