"""Images read from disk while training (folder:PATH,lazy=1 and torch Datasets): the same
fit as from memory, chunked whole-set passes, clear errors."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from clustlib.cli import main
from clustlib.data import in_memory, load_dataset, split_classes
from clustlib.dataset import DatasetError
from clustlib.methods import METHODS
from clustlib.runs import Run
from clustlib.stream import Disk, LazyImages, Memory


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """240 digits as 8x8 grey PNGs, one folder per class."""
    root = tmp_path_factory.mktemp("digits_png")
    ds = load_dataset("digits:n=240")
    for i, (x, c) in enumerate(zip(ds.X, ds.y)):
        (root / f"d{c}").mkdir(exist_ok=True)
        Image.fromarray((x * 255).round().astype(np.uint8)).save(root / f"d{c}" / f"{i:04d}.png")
    return root


def test_lazy_folder_reads_the_pixels_the_in_memory_loader_reads(folder):
    mem, lazy = load_dataset(f"folder:{folder}"), load_dataset(f"folder:{folder},lazy=1,workers=0")
    assert isinstance(lazy.X, LazyImages) and lazy.X.shape == mem.X.shape == (240, 8, 8)
    np.testing.assert_array_equal(lazy.y, mem.y)
    np.testing.assert_array_equal(lazy.X[17].numpy(), mem.X[17])
    seen, unseen = split_classes(lazy, [8, 9])  # subsets stay on disk
    assert isinstance(seen.X, LazyImages) and len(seen.X) + len(unseen.X) == 240
    np.testing.assert_array_equal(unseen.X[0].numpy(), split_classes(mem, [8, 9])[1].X[0])


@pytest.mark.parametrize("method,workers", [("secu", 0), ("dac", 2), ("dscl", 0)])
def test_a_fit_from_disk_is_the_fit_from_memory(folder, method, workers):
    mem, lazy = load_dataset(f"folder:{folder}"), load_dataset(f"folder:{folder},lazy=1,workers={workers}")
    fits = [METHODS[method].from_preset("tiny", n_clusters=10, random_state=0, device="cpu", track_max=60)
            .fit(ds.X, ds.y) for ds in (mem, lazy)]
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    for a, b in zip(fits[0].trace_, fits[1].trace_):  # every round's scalars and tracked points
        np.testing.assert_equal(a.scalars, b.scalars)  # NaN where a loss is not defined yet
        np.testing.assert_array_equal(a.embedding, b.embedding)
    np.testing.assert_array_equal(fits[1].transform(lazy.X), fits[0].transform(mem.X))  # in chunks
    np.testing.assert_array_equal(fits[1].predict(lazy.X), fits[0].predict(mem.X))


def test_a_torch_dataset_of_image_label_pairs_trains_and_scores(folder):
    mem = load_dataset(f"folder:{folder}")

    class Pairs(torch.utils.data.Dataset):  # what a torchvision dataset with ToTensor gives
        targets = list(mem.y)

        def __len__(self):
            return len(mem.y)

        def __getitem__(self, i):
            return torch.from_numpy(mem.X[i])[None], int(mem.y[i])

    est = METHODS["secu"].from_preset("tiny", n_clusters=10, random_state=0, device="cpu").fit(Pairs())
    assert est.input_shape_ == (1, 8, 8) and "nmi" in est.trace_[-1].scalars  # labels from .targets
    assert est.labels_.shape == (240,)


@pytest.mark.parametrize("method", ["jule", "knet"])
def test_whole_set_methods_refuse_data_on_disk_in_one_line(folder, method):
    lazy = load_dataset(f"folder:{folder},lazy=1")
    with pytest.raises(ValueError, match="trains on the whole set at once") as err:
        METHODS[method].from_preset("tiny", n_clusters=10).fit(lazy.X, lazy.y)
    assert "\n" not in str(err.value)


def test_an_unreadable_image_met_while_training_is_one_line(folder, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    victim = sorted((bad / "d3").iterdir())[0]
    victim.write_bytes(b"not a png")
    lazy = load_dataset(f"folder:{bad},lazy=1,workers=2")  # the header of the first file only
    with pytest.raises(DatasetError, match="not a readable image") as err:
        METHODS["secu"].from_preset("tiny", n_clusters=10).fit(lazy.X, lazy.y)
    assert str(err.value).startswith(str(victim)) and "\n" not in str(err.value)


def test_sources_give_batches_in_order_and_take_keeps_the_tracked_points(folder):
    lazy = load_dataset(f"folder:{folder},lazy=1,workers=0")
    disk, mem = Disk(lazy.X, torch.device("cpu")), Memory(torch.as_tensor(load_dataset(f"folder:{folder}").X))
    index = [torch.tensor([5, 3, 200]), torch.tensor([7])]
    for a, b in zip(disk.batches(index), mem.batches(index)):
        assert torch.equal(a, b)
    assert torch.equal(torch.cat(list(disk.chunks(100))), mem.X) and [len(c) for c in disk.chunks(100)] == [100, 100, 40]
    first = disk.take(np.array([1, 2, 3]))
    assert disk.take(np.array([1, 2, 3])) is first  # read once


def test_cli_trains_from_disk_and_evaluates_and_the_app_reads_it_in_memory(folder, tmp_path, capsys):
    out = tmp_path / "run"
    spec = f"folder:{folder},lazy=1,workers=0"
    assert main(["train", "dac", "--data", spec, "--preset", "tiny", "--out", str(out), "--quiet",
                 "--unseen", "9"]) == 0
    assert json.loads(capsys.readouterr().out)["rounds"] >= 1
    assert Run.load(out).info["dataset"] == spec
    assert main(["evaluate", str(out)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["n"] == 240 - int((load_dataset(spec).y == 9).sum())  # the seen classes, read from disk
    assert "unseen_nmi" in scores
    assert in_memory(spec) == f"folder:{folder}"
    assert in_memory("moons:n=100,seed=2") == "moons:n=100,seed=2"
