"""Hostile and careless input: what a visitor sends never names a server path, and a
generated dataset's size is bounded before anything is allocated."""

from pathlib import Path

import numpy as np
import pytest
import torch
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
        Run.from_estimator(est, method="knet", data="moons:n=300", y=ds.y).save(folder)
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

    from clustlib.rundir import recover
    from clustlib.runs import Run

    ds, est = fitted_moons
    run = Run.from_estimator(est, method="knet", data="moons:n=300", y=ds.y)
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


# --------------------------------------------------------------------------- damaged and foreign runs


@pytest.fixture
def saved_run(tmp_path, fitted_moons):
    from clustlib.runs import Run

    ds, est = fitted_moons
    return Run.from_estimator(est, method="knet", data="moons:n=300", y=ds.y).save(tmp_path / "run")


def _edit_json(path, **changes):
    import json

    doc = json.loads((path / "run.json").read_text())
    for key, value in changes.items():
        target = doc
        *parents, last = key.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    (path / "run.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("changes,match", [
    ({"metrics": [1, 2]}, "metrics"), ({"unseen": 5}, "unseen"), ({"created": 5}, "created"),
    ({"trace": []}, "trace"), ({"fitted__n_rounds": 99}, "n_rounds"),
    ({"fitted__input_shape": [-1]}, "input_shape"), ({"method": 3}, "method")])
def test_run_json_with_wrong_types_is_refused_and_listed_as_damaged(saved_run, changes, match):
    from clustlib.runs import Run, RunFormatError, list_runs

    _edit_json(saved_run, **changes)
    with pytest.raises(RunFormatError, match=match):
        Run.load(saved_run)
    [(_, info)] = list_runs(saved_run.parent)
    assert isinstance(info, str) and match in info  # the library shows it as damaged, no crash


def test_inconsistent_arrays_are_refused(saved_run):
    from clustlib.runs import Run, RunFormatError

    good = np.load(saved_run / "labels.npy")
    np.save(saved_run / "labels.npy", good[:-5])
    with pytest.raises(RunFormatError, match="labels.npy has"):
        Run.load(saved_run)
    np.save(saved_run / "labels.npy", good)
    z = dict(np.load(saved_run / "trace.npz"))
    z["track_index"] = z["track_index"] + 10_000
    np.savez_compressed(saved_run / "trace.npz", **z)
    with pytest.raises(RunFormatError, match="tracked indices"):
        Run.load(saved_run)
    z["track_index"] -= 10_000
    z["embedding/1"] = np.full_like(z["embedding/1"], np.nan)
    np.savez_compressed(saved_run / "trace.npz", **z)
    with pytest.raises(RunFormatError, match="not finite"):
        Run.load(saved_run)


def test_nan_weights_are_refused(saved_run):
    from clustlib.runs import Run, RunFormatError

    w = torch.load(saved_run / "model.pt", weights_only=True)
    name = next(iter(w))
    w[name] = torch.full_like(w[name], float("nan"))
    torch.save(w, saved_run / "model.pt")
    with pytest.raises(RunFormatError, match="NaN"):
        Run.load(saved_run)


def test_declared_network_sizes_are_checked_before_allocation(saved_run):
    import resource

    from clustlib.runs import Run, RunFormatError

    _edit_json(saved_run, state__hidden=20_000)  # 2 x 20,000^2 weights: 3 GiB if built
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(RunFormatError, match="declares networks"):
        Run.load(saved_run)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 300


def _bomb_npy(shape) -> bytes:
    """An .npy member whose header declares ``shape`` float64 but that holds no data."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_a_trace_that_declares_gigabytes_is_refused(saved_run):
    import zipfile

    from clustlib.runs import Run, RunFormatError

    with zipfile.ZipFile(saved_run / "trace.npz", "a") as z:
        z.writestr("bomb.npy", _bomb_npy((20_000, 20_000)))
    with pytest.raises(RunFormatError, match="CLUSTLIB_MAX_ARRAY_MB"):
        Run.load(saved_run)


def test_an_npz_upload_that_declares_gigabytes_is_refused(tmp_path):
    import zipfile

    f = tmp_path / "x.npz"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("X.npy", _bomb_npy((200_000, 1_000)))  # 1.5 GiB declared, a few bytes on disk
    with pytest.raises(DatasetError, match="above the limit"):
        load_dataset(f"npz:{f}")


def test_a_huge_image_in_a_folder_is_refused_before_decoding(tmp_path):
    from PIL import Image

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        Image.new("L", (8, 8)).save(tmp_path / c / "0.png")
    Image.new("1", (9000, 9000)).save(tmp_path / "a" / "1.png")  # 10 KB on disk, 81 M pixels
    with pytest.raises(DatasetError, match="CLUSTLIB_MAX_IMAGE_PIXELS"):
        load_dataset(f"folder:{tmp_path}")


def test_deeply_nested_json_and_cuda_on_a_cpu_machine(saved_run):
    from clustlib.runs import Run, RunFormatError

    if not torch.cuda.is_available():
        with pytest.raises(RunFormatError, match="CUDA is not available"):
            Run.load(saved_run, device="cuda")
    (saved_run / "run.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RunFormatError):
        Run.load(saved_run)


# --------------------------------------------------------------------------- leftovers and messages


def test_a_rejected_upload_leaves_nothing_behind(tmp_path, monkeypatch):
    import io
    import zipfile

    from clustlib.data import discard_upload, save_upload

    uploads = tmp_path / "uploads"
    buf = io.BytesIO()
    np.savez(buf, X=np.full((20, 2), np.nan))
    spec = save_upload("nan.npz", buf.getvalue(), uploads)
    with pytest.raises(DatasetError, match="NaN"):
        load_dataset(spec)
    discard_upload(spec, uploads)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("a/x.png", b"not an image")
        z.writestr("b/y.png", b"not an image either")
    spec = save_upload("bad.zip", zbuf.getvalue(), uploads)
    with pytest.raises(DatasetError, match="not a readable image"):
        load_dataset(spec)
    discard_upload(spec, uploads)
    discard_upload("npz:/etc/hosts", uploads)  # never outside the uploads folder
    assert list(uploads.iterdir()) == [] and Path("/etc/hosts").exists()


def test_rejected_upload_in_the_app_is_removed(tmp_path, monkeypatch):
    import io

    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/knet.py")
    at.run()
    at.sidebar.selectbox(key="knet_ds").set_value("upload…")
    at.run()
    buf = io.BytesIO()
    np.savez(buf, X=np.full((20, 2), np.nan))
    at.sidebar.file_uploader(key="knet_upload").upload("nan.npz", buf.getvalue())
    at.run()
    assert any("NaN" in e.value for e in at.sidebar.error)
    assert not any((tmp_path / "runs" / ".uploads").iterdir())


def test_upload_size_message_names_both_sizes(monkeypatch):
    import clustlib.uploads as uploads

    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(DatasetError) as err:
        uploads.save_upload("x.npz", b"0" * 1001, "/nonexistent-never-created")
    assert "1,001 bytes" in str(err.value) and "1,000 bytes" in str(err.value)


def test_user_text_is_shown_as_plain_text_not_markdown():
    from clustlib.ui.widgets import plain

    shown = plain("[free prize](http://evil.example) **now** <img src=x> `code` # title")
    assert "\\[free prize\\]" in shown and "\\*\\*now\\*\\*" in shown and "\\<img" in shown


@pytest.mark.parametrize("kind", ["encrypted", "bad_crc"])
def test_unreadable_zip_members_give_one_line(kind, tmp_path, saved_run):
    import io
    import zipfile

    from clustlib.data import save_upload
    from clustlib.runs import RunFormatError, import_zip, zip_run

    raw = bytearray(zip_run(saved_run))
    z = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    info = z.infolist()[0]
    if kind == "encrypted":  # the "encrypted" flag in the local and central headers
        raw[info.header_offset + 6] |= 1
        raw[raw.find(b"PK\x01\x02") + 8] |= 1
    else:  # a flipped byte inside the first member's data
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        raw[start + 5] ^= 0xFF
    with pytest.raises(RunFormatError) as err:
        import_zip(bytes(raw), tmp_path / "runs")
    assert "\n" not in str(err.value)
    img = io.BytesIO()
    with zipfile.ZipFile(img, "w", zipfile.ZIP_DEFLATED) as zz:
        zz.writestr("a/x.png", b"\x89PNG" + b"0" * 500)
        zz.writestr("b/y.png", b"\x89PNG" + b"1" * 500)
    data = bytearray(img.getvalue())
    if kind == "encrypted":
        data[6] |= 1
        data[data.find(b"PK\x01\x02") + 8] |= 1
    else:
        data[30 + len("a/x.png") + 3] ^= 0xFF
    with pytest.raises(DatasetError) as err:
        save_upload("imgs.zip", bytes(data), tmp_path / "uploads")
    assert "\n" not in str(err.value)


def test_many_images_sized_by_the_first_are_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("CLUSTLIB_MAX_ARRAY_MB", "1")
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(20):
            Image.new("L", (300, 300)).save(tmp_path / c / f"{i}.png")  # 40 x 300^2 x 4 B = 14 MiB
    with pytest.raises(DatasetError, match="size="):
        load_dataset(f"folder:{tmp_path}")
    assert load_dataset(f"folder:{tmp_path},size=32").X.shape == (40, 32, 32)


def test_the_app_listens_on_localhost_by_default():
    root = Path(__file__).resolve().parents[1]
    app_rule = next(line for line in (root / "Makefile").read_text().splitlines()
                    if "streamlit run clustlib/ui/asgi.py" in line)  # the server of app.py
    assert "--server.address $(ADDRESS)" in app_rule
    assert "ADDRESS ?= localhost" in (root / "Makefile").read_text()
    config = (root / ".streamlit" / "config.toml").read_text()
    assert 'address = "localhost"' in config and 'fileWatcherType = "none"' in config


def test_ctrl_c_after_the_first_round_keeps_and_saves_what_was_learned(tmp_path, capsys, monkeypatch):
    from clustlib import cli
    from clustlib.runs import Run

    real = cli._Progress.__call__

    def interrupt_at_round_2(self, est, snap):
        real(self, est, snap)
        if snap.round == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Progress, "__call__", interrupt_at_round_2)
    out = tmp_path / "r"
    assert _train(out) == 0
    err = capsys.readouterr().err
    assert "stopped after 2 rounds; what was learned is saved" in err
    run = Run.load(out)
    assert run.estimator.n_rounds_ == 2 and run.estimator.stopped_early_


def test_spectral_baselines_are_left_out_of_large_data():
    from clustlib.baselines import MAX_SPECTRAL, sklearn_baselines

    ds = load_dataset(f"blobs:n={MAX_SPECTRAL + 1}")
    assert list(sklearn_baselines(ds.X, ds.y, 4)) == ["KMeans"]  # a dense N x N would be 200 MB+
    small = load_dataset("blobs:n=200")
    assert len(sklearn_baselines(small.X, small.y, 4)) == 3
