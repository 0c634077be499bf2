"""Hostile and careless input: what a visitor sends never names a server path, and a
generated dataset's size is bounded before anything is allocated."""

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from clustlib.data import load_dataset
from clustlib.dataset import DatasetError
from clustlib.uploads import check_visitor_spec

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
    from clustlib.uploads import data_roots

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
    from clustlib.library import list_runs
    from clustlib.runs import Run, RunFormatError

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

    from clustlib.uploads import discard_upload, save_upload, upload_path

    uploads = tmp_path / "uploads"
    buf = io.BytesIO()
    np.savez(buf, X=np.full((20, 2), np.nan))
    spec = save_upload("nan.npz", buf.getvalue(), uploads)
    with pytest.raises(DatasetError, match="NaN"):
        load_dataset(spec)
    discard_upload(upload_path("nan.npz", buf.getvalue(), uploads), uploads)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("a/x.png", b"not an image")
        z.writestr("b/y.png", b"not an image either")
    spec = save_upload("bad.zip", zbuf.getvalue(), uploads)
    with pytest.raises(DatasetError, match="not a readable image"):
        load_dataset(spec)
    discard_upload(upload_path("bad.zip", zbuf.getvalue(), uploads), uploads)
    discard_upload("/etc/hosts", uploads)  # never outside the uploads folder
    assert list(uploads.iterdir()) == [] and Path("/etc/hosts").exists()


def _knet_page_with_upload(tmp_path, monkeypatch, name: str, data: bytes) -> AppTest:
    """The KNet page of a fresh session with runs in tmp_path, after uploading ``data``."""
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/knet.py")
    at.run()
    at.sidebar.selectbox(key="knet_ds").set_value("upload…")
    at.run()
    at.sidebar.file_uploader(key="knet_upload").upload(name, data)
    at.run()
    return at


def test_rejected_upload_in_the_app_is_removed(tmp_path, monkeypatch):
    import io

    buf = io.BytesIO()
    np.savez(buf, X=np.full((20, 2), np.nan))
    at = _knet_page_with_upload(tmp_path, monkeypatch, "nan.npz", buf.getvalue())
    assert any("NaN" in e.value for e in at.sidebar.error)
    assert not [p for p in (tmp_path / "runs" / ".uploads").iterdir() if not p.name.startswith(".")]  # .key: the ids'


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

    from clustlib.library import import_zip, zip_run
    from clustlib.runs import RunFormatError
    from clustlib.uploads import save_upload

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
    from clustlib.app import server_command
    from clustlib.cli import make_parser

    root = Path(__file__).resolve().parents[1]
    app_rule = next(line for line in (root / "Makefile").read_text().splitlines() if "clustlib app" in line)
    assert "--address $(ADDRESS)" in app_rule and "ADDRESS ?= localhost" in (root / "Makefile").read_text()
    assert make_parser().parse_args(["app"]).address == "localhost"
    cmd = server_command()
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.address"] == "localhost" and flags["--server.fileWatcherType"] == "none"
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("asgi.py")


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
    assert "stopped after 2 iterations; what was learned is saved" in err
    run = Run.load(out)
    assert run.estimator.n_iter_ == 2 and run.estimator.stopped_early_


def test_spectral_baselines_are_left_out_of_large_data():
    from clustlib.baselines import MAX_SPECTRAL, PEERS, sklearn_baselines

    sklearn = PEERS[:3]  # KMeans and the two spectral peers (the UMAP ones: tests/test_baselines.py)
    ds = load_dataset(f"blobs:n={MAX_SPECTRAL + 1}")
    assert list(sklearn_baselines(ds.X, ds.y, 4, peers=sklearn)) == ["KMeans"]  # a dense N x N would be 200 MB+
    small = load_dataset("blobs:n=200")
    assert len(sklearn_baselines(small.X, small.y, 4, peers=sklearn)) == 3


def test_a_refused_upload_never_removes_another_name_of_the_same_bytes(tmp_path):
    """The same bytes under another name (a .csv that is not a table) is refused and
    discarded: the first visitor's .npz of those bytes stays."""
    import io

    from clustlib.uploads import discard_upload, save_upload, upload_path

    uploads = tmp_path / "uploads"
    buf = io.BytesIO()
    np.savez(buf, X=np.random.default_rng(0).normal(size=(30, 2)), y=np.repeat([0, 1, 2], 10))
    data = buf.getvalue()
    first = save_upload("mine.npz", data, uploads)
    save_upload("theirs.csv", data, uploads)
    with pytest.raises(DatasetError):
        load_dataset(f"csv:{upload_path('theirs.csv', data, uploads)}")
    discard_upload(upload_path("theirs.csv", data, uploads), uploads)
    assert not upload_path("theirs.csv", data, uploads).exists()
    assert len(load_dataset(first)) == 30


def test_a_zip_counts_at_its_unpacked_size():
    import io
    import zipfile

    from clustlib.uploads import stored_bytes

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"a/{i}.bmp", b"\0" * 1_000_000)  # padded bitmaps compress 1000-fold
    assert len(buf.getvalue()) < 20_000 and stored_bytes("x.zip", buf.getvalue()) == 3_000_000
    assert stored_bytes("x.npz", b"1234") == 4


@pytest.mark.parametrize("spec, words", [("spirals:noise=-1", "noise=-1"), ("moons:noise=nan", "noise=nan"),
                                         ("moons:seed=-1", "seed=-1"), ("blobs:noise=inf", "noise=inf"),
                                         ("faces:people=500,per=1000", "MiB")])
def test_a_bad_generated_spec_is_one_line(spec, words):
    with pytest.raises(DatasetError, match=words) as err:
        load_dataset(spec)
    assert "\n" not in str(err.value)


def test_a_visitor_link_cannot_generate_gigabytes(tmp_path):
    from clustlib.uploads import check_visitor_spec

    for spec in ("faces:people=500,per=1000", "faces:people=200,per=300"):
        with pytest.raises(DatasetError, match="more than a visitor may ask for"):
            check_visitor_spec(spec, [tmp_path])
    check_visitor_spec("faces", [tmp_path])
    check_visitor_spec("spirals:n=30000", [tmp_path])  # KNet's out-of-sample demo


# --------------------------------------------------------------------------- stops of several starts


def _secu(**kw):
    from clustlib.methods.secu import SeCu

    return SeCu.from_preset("tiny", n_clusters=3, random_state=0, track_max=60, max_iter=3, n_init=3, **kw)


def _stop_in(start: int, at_round: int):
    def cb(est, snap):
        return snap.stage.startswith(f"start {start} ") and snap.round == at_round
    return cb


@pytest.mark.parametrize("init_rounds", [None, 2])
def test_a_stop_in_start_2_of_3_keeps_a_trained_start_and_says_so(init_rounds):
    ds = load_dataset("digits:n=150")
    keep = ds.y < 3
    est = _secu(init_rounds=init_rounds).fit(ds.X[keep], ds.y[keep], callbacks=[_stop_in(2, 1)])
    assert est.stopped_early_ and est.n_iter_ > 0 and est.trace_[-1].round == est.n_iter_
    assert est.trace_[-1].stage.startswith("start 1 of 3")  # the whole first start, not the cut second
    assert "start 2 of 3" in est.stopped_in_ and "kept start 1 of 3" in est.stopped_in_
    assert est.start_scores_ and len(est.start_scores_) == 1


def test_a_stop_while_the_best_start_trains_to_the_end_keeps_the_compared_start():
    ds = load_dataset("digits:n=150")
    keep = ds.y < 3
    est = _secu(init_rounds=2).fit(ds.X[keep], ds.y[keep], callbacks=[_stop_in(1, 1) if False else (
        lambda e, s: "the best of" in s.stage and s.round == 1)])
    assert est.stopped_early_ and est.n_iter_ == 2  # the best start as compared, not its cut retraining
    assert "the best" in est.stopped_in_


def test_ctrl_c_in_start_2_stops_the_cli_and_saves_a_trained_start(tmp_path, capsys, monkeypatch):
    from clustlib import cli
    from clustlib.cli import main
    from clustlib.runs import Run

    real = cli._Progress.__call__

    def interrupt(self, est, snap):
        real(self, est, snap)
        if snap.stage.startswith("start 2 ") and snap.round == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Progress, "__call__", interrupt)
    out = tmp_path / "r"
    assert main(["train", "secu", "--data", "digits:n=120", "--preset", "tiny", "--quiet", "--out", str(out),
                 "--set", "n_init=3", "--set", "max_iter=3"]) == 0
    err = capsys.readouterr().err
    assert "stopped in start 2 of 3" in err and "kept start 1 of 3" in err
    run = Run.load(out)
    assert run.estimator.stopped_early_ and run.estimator.n_iter_ == 3
    assert "kept start 1" in run.estimator.stopped_in_


# --------------------------------------------------------------------------- damaged runs


@pytest.mark.parametrize("changes,match", [({"seed": 10**5000}, "damaged JSON"),
                                           ({"params__n_clusters": 10**9}, "n_clusters")])
def test_a_tampered_run_json_is_one_line_and_listed_as_damaged(saved_run, changes, match):
    import sys

    from clustlib.library import list_runs
    from clustlib.runs import Run, RunFormatError

    sys.set_int_max_str_digits(0)  # to write it; reading it is the test
    try:
        _edit_json(saved_run, **changes)
    finally:
        sys.set_int_max_str_digits(4300)
    with pytest.raises(RunFormatError, match=match) as err:
        Run.load(saved_run)
    assert "\n" not in str(err.value)
    [(_, info)] = list_runs(saved_run.parent)
    assert isinstance(info, str) and match in info


@pytest.mark.parametrize("name, value", [("embedding/1", np.array([["a", "b"]] * 120)),
                                         ("labels/1", np.zeros(120, complex)),
                                         ("track_y", np.full(120, "x"))])
def test_a_trace_of_strings_or_complex_numbers_is_one_line(saved_run, name, value):
    from clustlib.library import list_runs
    from clustlib.runs import Run, RunFormatError

    z = dict(np.load(saved_run / "trace.npz"))
    z[name] = value[: z[name].shape[0]]
    np.savez_compressed(saved_run / "trace.npz", **z)
    with pytest.raises(RunFormatError, match="trace.npz"):
        Run.load(saved_run)
    list_runs(saved_run.parent)  # the listing reads run.json only: never fatal


def test_an_unforeseen_reader_error_is_still_one_runformaterror(saved_run, monkeypatch):
    from clustlib import library, runs

    monkeypatch.setattr(runs, "_array_problem", lambda *a: 1 / 0)
    with pytest.raises(runs.RunFormatError, match="not a readable run .ZeroDivisionError"):
        runs.Run.load(saved_run)
    monkeypatch.setattr(library, "read_run_json", lambda d: {}["x"])
    [(_, info)] = library.list_runs(saved_run.parent)
    assert "KeyError" in info


# --------------------------------------------------------------------------- recordings


def test_labels_past_int32_and_complex_embeddings_are_refused():
    from clustlib import Recorder

    rec = Recorder(np.random.default_rng(0).normal(size=(20, 3)), y=np.repeat([0, 1], 10))
    with pytest.raises(ValueError, match="2\\*\\*31"):
        rec.record(0, np.ones((20, 2)), labels=np.full(20, 2**31, np.int64))
    with pytest.raises(ValueError, match="complex"):
        rec.record(0, np.ones((20, 2), complex))
    assert not rec.frames


def test_a_recording_npz_is_read_one_epoch_at_a_time_and_bounded(tmp_path):
    import tracemalloc

    from clustlib.external import import_npz
    from clustlib.limits import BudgetError

    E = np.zeros((400, 500, 64), np.float32)  # 49 MiB declared, a few hundred KB compressed
    E[:, :250, 0] = 1.0
    np.savez_compressed(tmp_path / "rec.npz", embeddings=E, y=np.repeat([0, 1], 250))
    with pytest.raises(BudgetError, match="declare 49 MiB"):
        import_npz(tmp_path / "rec.npz", tmp_path / "no", max_bytes=16 * 2**20)
    assert not (tmp_path / "no").exists()
    del E
    tracemalloc.start()
    run = import_npz(tmp_path / "rec.npz", tmp_path / "run", max_frames=20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(run.trace) == 20 and run.trace[-1].stage == "epoch 399"
    assert peak < 20 * 2**20  # epoch by epoch, never the 49 MiB at once


# --------------------------------------------------------------------------- jobs and names


def test_only_the_owner_or_the_host_may_stop_a_job_and_finished_jobs_are_forgotten(monkeypatch):
    from clustlib.request import TrainRequest
    from clustlib.ui import jobs
    from clustlib.ui.access import Who

    job = jobs.TrainingJob(TrainRequest("knet", "moons:n=60", preset="tiny"), who=Who("alice", False))
    assert job.may_stop(Who("alice", False)) and job.may_stop(Who("x", True))
    assert not job.may_stop(Who("mallory", False))
    old = []
    for i in range(3):
        j = jobs.TrainingJob(TrainRequest("knet", "moons:n=60", preset="tiny"))
        j.status, j.ended_at = "done", 1.0 + i
        j._ended.set()
        jobs.JOBS[j.id] = j
        old.append(j.id)
    monkeypatch.setattr(jobs, "KEEP_FINISHED", 1)
    with jobs._LOCK:
        jobs._prune()
    assert all(i not in jobs.JOBS for i in old)  # older than KEEP_FINISHED_S as well


def test_a_visitors_second_training_is_refused_in_one_readable_line(monkeypatch):
    from clustlib.request import TrainRequest
    from clustlib.ui import jobs
    from clustlib.ui.access import Refused, Who

    monkeypatch.setattr(jobs.TrainingJob, "_launch", lambda self: setattr(self, "status", "running"))
    request = TrainRequest("knet", "moons:n=60", preset="tiny")
    first = jobs.TrainingJob(request, who=Who("v", False)).start()
    try:
        with pytest.raises(Refused, match="you already have a training running .KNet.; one at a time"):
            jobs.TrainingJob(request, who=Who("v", False)).start()
    finally:
        with jobs._LOCK:
            jobs._RUNNING.discard(first.id)
            jobs.JOBS.pop(first.id, None)


def test_a_recording_name_is_never_markup_in_a_chart(tmp_path):
    from clustlib import Recorder
    from clustlib.ui.store import short_run_name
    from clustlib.viz.charts import curves_of_runs

    rec = Recorder(np.random.default_rng(0).normal(size=(20, 3)), y=np.repeat([0, 1], 10),
                   name="<a href='https:evil.example'>CLICK ME")
    rec.record(0, np.eye(2)[np.repeat([0, 1], 10)])
    run = rec.save(tmp_path / "r")
    name = short_run_name(run, "r")
    fig = curves_of_runs({name: run.trace}, "nmi")
    assert "<a" not in fig.to_json() and "&lt;a href=" in name


# --------------------------------------------------------------------------- in the app


def test_one_damaged_run_json_breaks_no_page(tmp_path, monkeypatch, saved_run):
    import shutil

    runs = tmp_path / "runs"
    runs.mkdir()
    bad = runs / "bad"
    shutil.copytree(saved_run, bad)
    text = (bad / "run.json").read_text()
    (bad / "run.json").write_text(text.replace('"seed": 0', '"seed": ' + "9" * 5000, 1))
    monkeypatch.setenv("CLUSTLIB_RUNS", str(runs))
    for page in ("app_pages/runs.py", "app_pages/knet.py", "app_pages/compare.py", "app_pages/external.py"):
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        if page.endswith("runs.py"):
            table = at.dataframe[0].value
            assert "damaged JSON" in " ".join(table.loc[table["run"] == "bad", "dataset"])


@pytest.mark.parametrize("spec", ["spirals:noise=-1", "moons:noise=nan", "moons:seed=-1"])
def test_a_bad_generated_link_is_one_line_in_the_app(tmp_path, monkeypatch, spec):
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/knet.py")
    at.query_params.update({"data": spec})
    at.run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and "must be a finite number" in errors[0] and "\n" not in errors[0]


def test_an_evicted_upload_is_said_so_and_not_written_again(tmp_path, monkeypatch):
    import io
    import shutil

    buf = io.BytesIO()
    np.savez(buf, X=np.random.default_rng(0).normal(size=(40, 2)), y=np.repeat([0, 1], 20))
    at = _knet_page_with_upload(tmp_path, monkeypatch, "mine.npz", buf.getvalue())
    assert not at.exception and not at.sidebar.error
    uploads = tmp_path / "runs" / ".uploads"
    shutil.rmtree(uploads)  # what make_room does to the oldest visitor upload
    at.run()
    assert not uploads.exists()  # not silently written again
    assert any("was removed from the server to make room" in e.value for e in at.sidebar.error)


def test_a_job_link_lets_another_session_watch_but_not_stop(tmp_path, monkeypatch):
    from clustlib.request import TrainRequest
    from clustlib.ui import jobs
    from clustlib.ui.access import Who

    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(jobs.TrainingJob, "_launch", lambda self: setattr(self, "status", "running"))
    job = jobs.TrainingJob(TrainRequest("knet", "moons:n=60", preset="tiny"), who=Who("alice", False)).start()
    try:
        job.max_rounds, job.stage = 5, "iteration 1"
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page("app_pages/knet.py")
        at.query_params.update({"job": job.id})
        at.session_state["_who"] = Who("mallory", False)
        at.run()
        assert not at.exception
        assert not [b for b in at.button if b.label in ("Stop", "Cancel")]
        assert any("Another session started this training" in c.value for c in at.caption)
    finally:
        with jobs._LOCK:
            jobs._RUNNING.discard(job.id)
            jobs.JOBS.pop(job.id, None)


def test_a_link_names_an_upload_by_an_opaque_id_only_this_server_resolves(tmp_path, monkeypatch):
    import io
    import re

    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, X=np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 6]), y=np.repeat([0, 1], 30))
    at = _knet_page_with_upload(tmp_path, monkeypatch, "two-blobs.npz", buf.getvalue())
    assert not at.exception and not at.sidebar.error
    link = at.query_params["data"]
    link = link[0] if isinstance(link, list) else link
    assert re.fullmatch(r"upload:[0-9a-f]{20}", link), link  # no folder, no content hash
    assert len(load_dataset(link)) == 60
    from clustlib.data import display_name

    assert display_name(link) == "two-blobs.npz"
    other = AppTest.from_file(APP, default_timeout=120)  # the link in another browser
    other.query_params["data"] = link
    other.run()
    other.switch_page("app_pages/knet.py")
    other.run()
    assert not other.exception and not other.sidebar.error
    with pytest.raises(DatasetError, match="no such upload on this server"):
        load_dataset("upload:" + "0" * 20)
