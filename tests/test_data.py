import struct
from pathlib import Path

import numpy as np
import pytest

from clustlib.data import list_datasets, load_dataset, parse_classes, split_classes
from clustlib.dataset import DatasetError
from clustlib.loaders import EMBEDDED


@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded_load_offline(name):
    ds = load_dataset(name)
    assert ds.X.dtype == np.float32 and len(ds) == ds.y.shape[0]
    assert np.isfinite(ds.X).all()
    assert ds.kind == ("image" if name in ("digits", "omniglot", "faces") else "vector")


def test_paper_sizes_and_seeding():
    assert len(load_dataset("moons")) == 1000 and len(load_dataset("spirals")) == 3000
    a, b = load_dataset("spirals:seed=3"), load_dataset("spirals:seed=3")
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, load_dataset("spirals:seed=4").X)
    assert load_dataset("digits").image_shape == (8, 8)


def test_wisconsin_is_the_knet_papers_cancer_set():
    ds = load_dataset("wisconsin")  # KNet Table 6: 683 x 9, 2 classes; integer scores 1-10
    assert ds.X.shape == (683, 9) and np.bincount(ds.y).tolist() == [444, 239]
    assert ds.X.min() == 1 and ds.X.max() == 10 and (ds.X == np.round(ds.X)).all()
    assert ds.class_names == ["benign", "malignant"]
    assert load_dataset("breast_cancer").X.shape == (569, 30)  # the other Wisconsin set


def test_subsample_is_stratified():
    ds = load_dataset("digits:n=300")
    counts = np.bincount(ds.y)
    assert len(ds) == 300 and counts.min() >= 28 and counts.max() <= 32


@pytest.mark.parametrize("spec,match", [
    ("nosuch", "unknown dataset"), ("moons:n=2", "too small"), ("iris:bogus=1", "unknown option"),
    ("npz:", "needs a path"), ("moons:n=abc", "must be int"), ("", "non-empty")])
def test_bad_specs(spec, match):
    with pytest.raises(DatasetError, match=match):
        load_dataset(spec)


def _write_idx(path, arr, magic):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        for s in arr.shape:
            f.write(struct.pack(">I", s))
        f.write(arr.astype(np.uint8).tobytes())


def test_torchvision_mnist_from_real_on_disk_format(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("t10k", 5)):
        _write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 0x803)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n) % 10, 0x801)
    ds = load_dataset(f"mnist:root={tmp_path}")
    assert ds.X.shape == (12, 28, 28) and ds.kind == "image" and ds.X.max() <= 1.0
    assert list(ds.y[:3]) == [0, 1, 2]
    assert len(load_dataset(f"mnist:root={tmp_path},split=test")) == 5


def test_torchvision_missing_gives_clear_offline_error(tmp_path):
    with pytest.raises(DatasetError, match="download=1"):
        load_dataset(f"fashion_mnist:root={tmp_path}")
    with pytest.raises(DatasetError, match="split"):
        load_dataset(f"mnist:root={tmp_path},split=val")


def test_npz_file_and_errors(tmp_path):
    X = np.random.default_rng(0).random((20, 5))
    np.savez(tmp_path / "ok.npz", X=X, y=np.repeat(["a", "b"], 10))
    ds = load_dataset(f"npz:{tmp_path / 'ok.npz'}")
    assert ds.X.shape == (20, 5) and set(ds.y) == {0, 1}
    bad = X.copy()
    bad[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", X=bad)
    with pytest.raises(DatasetError, match="NaN"):
        load_dataset(f"npz:{tmp_path / 'nan.npz'}")
    np.savez(tmp_path / "noX.npz", data=X)
    with pytest.raises(DatasetError, match="no array named 'X'"):
        load_dataset(f"npz:{tmp_path / 'noX.npz'}")
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetError, match="not a readable"):
        load_dataset(f"npz:{tmp_path / 'obj.npz'}")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a readable"):
        load_dataset(f"npz:{tmp_path / 'junk.npz'}")
    np.savez(tmp_path / "y.npz", X=X, y=np.arange(3))
    with pytest.raises(DatasetError, match="3 labels"):
        load_dataset(f"npz:{tmp_path / 'y.npz'}")
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(f"npz:{tmp_path / 'absent.npz'}")


def test_csv_with_label_column(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    ds = load_dataset(f"csv:{f}")
    assert ds.X.shape == (3, 2) and ds.class_names == ["x", "y"] and list(ds.y) == [0, 1, 0]
    f.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(DatasetError, match="non-numeric"):
        load_dataset(f"csv:{f}")


def test_folder_of_class_images(tmp_path):
    from PIL import Image

    for c in ("cat", "dog"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.fromarray(np.full((6, 6), 40 * i, np.uint8)).save(tmp_path / c / f"{i}.png")
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds.X.shape == (6, 6, 6) and ds.class_names == ["cat", "dog"] and ds.kind == "image"


def test_split_classes():
    ds = load_dataset("digits")
    seen, unseen = split_classes(ds, parse_classes("7,8,9"))
    assert set(np.unique(unseen.y)) == {7, 8, 9} and set(np.unique(seen.y)) == set(range(7))
    assert len(seen) + len(unseen) == len(ds)
    with pytest.raises(DatasetError, match="do not exist"):
        split_classes(ds, [42])
    with pytest.raises(DatasetError, match="no seen classes"):
        split_classes(ds, range(10))
    with pytest.raises(DatasetError, match="integers"):
        parse_classes("a,b")


def test_list_datasets_marks_offline():
    rows = {r["name"]: r["available"] for r in list_datasets()}
    assert rows["digits"] == "embedded" and "mnist" in rows


def test_uploads_are_stored_by_content_and_validated(tmp_path):
    import io
    import zipfile

    from PIL import Image

    from clustlib.uploads import save_upload

    buf = io.BytesIO()
    np.savez(buf, X=np.random.default_rng(0).normal(size=(30, 4)), y=np.arange(30) % 3)
    spec = save_upload("mine.npz", buf.getvalue(), tmp_path)
    assert spec.startswith("npz:") and spec.endswith("/mine.npz")  # the file keeps its name
    assert save_upload("mine.npz", buf.getvalue(), tmp_path) == spec  # a re-upload is free
    again = save_upload("again.npz", buf.getvalue(), tmp_path)  # the same content, its own name
    assert again.endswith("/again.npz") and Path(again[4:]).parent == Path(spec[4:]).parent
    assert len(load_dataset(spec)) == 30
    bad = io.BytesIO()
    np.savez(bad, X=np.full((5, 2), np.nan))
    with pytest.raises(DatasetError, match="NaN"):
        load_dataset(save_upload("nan.npz", bad.getvalue(), tmp_path))
    with pytest.raises(DatasetError, match="upload a .npz"):
        save_upload("data.pkl", b"x", tmp_path)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        for c in ("cats", "dogs"):
            for i in range(3):
                im = io.BytesIO()
                Image.fromarray(np.full((6, 6), 40 * i, np.uint8)).save(im, "PNG")
                z.writestr(f"pets/{c}/{i}.png", im.getvalue())
        z.writestr("pets/readme.txt", "ignored")
    ds = load_dataset(save_upload("pets.zip", zbuf.getvalue(), tmp_path))
    assert len(ds) == 6 and ds.class_names == ["cats", "dogs"]
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escape.png", b"x")
    with pytest.raises(DatasetError, match="unsafe path"):
        save_upload("evil.zip", evil.getvalue(), tmp_path)
    assert not (tmp_path.parent / "escape.png").exists()
    with pytest.raises(DatasetError, match="not a zip"):
        save_upload("broken.zip", b"PK nope", tmp_path)
