"""TensorBoard embedding logs (SummaryWriter.add_embedding) open as runs."""

from pathlib import Path

import numpy as np
import pytest

from clustlib import tblogs
from clustlib.library import list_runs
from clustlib.runs import Run, RunFormatError


def _log(logdir, steps=3, n=30, images=True, **kw):
    """A real SummaryWriter log: three well separated classes that come apart step by step."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], n // 3)
    centres = rng.normal(size=(3, 4)) * 3
    imgs = torch.from_numpy(np.repeat(y[:, None, None, None], 1, 1) * np.ones((1, 1, 4, 5)) / 2).float()
    with SummaryWriter(str(logdir)) as w:
        for step in range(steps):
            emb = rng.normal(size=(n, 4)) + centres[y] * step / max(steps - 1, 1)
            w.add_embedding(torch.from_numpy(emb), metadata=[f"class-{c}" for c in y],
                            label_img=imgs if images else None, global_step=step * 10, **kw)
    return y


def test_a_summarywriter_log_with_3_steps_is_a_run_of_3_frames_with_thumbnails(tmp_path):
    y = _log(tmp_path / "log")
    run = Run.load(tmp_path / "log")
    est = run.estimator
    assert [s.stage for s in run.trace] == ["step 0", "step 10", "step 20"]
    assert run.info["source"] == "tensorboard" and run.info["classes"] == ["class-0", "class-1", "class-2"]
    assert np.array_equal(est.track_y_, y[est.dataset_index_])
    assert est.track_images_.shape == (30, 4, 5)  # cut from the sprite, grey
    assert np.array_equal(est.track_images_[:, 0, 0] // 127, est.track_y_)  # each sample its own thumbnail
    nmi = [s.scalars["nmi"] for s in run.trace]
    assert nmi[-1] > 0.8 and nmi[-1] > nmi[0] + 0.3  # k-means per step: the classes come apart
    [(path, info)] = list_runs(tmp_path)
    assert info["steps"] == 3 and info["model"] == "log"


def test_clustlib_import_of_a_log_and_its_tags_and_columns(tmp_path, capsys):
    from clustlib.cli import main

    _log(tmp_path / "log", steps=2, images=False, metadata_header=None)
    assert main(["import", str(tmp_path / "log"), "--out", str(tmp_path / "run")]) == 0
    assert len(Run.load(tmp_path / "run").trace) == 2
    assert main(["import", str(tmp_path / "log"), "--out", str(tmp_path / "r2"), "--tag", "nope"]) == 2
    assert "no tag 'nope'; its tags: default" in capsys.readouterr().err


def test_metadata_columns_by_name(tmp_path):
    (tmp_path / "m.tsv").write_text("name\tgroup\n" + "".join(f"x{i}\t{i % 2}\n" for i in range(6)))
    ids, names, used = tblogs.read_metadata(tmp_path / "m.tsv", 6)
    assert used == "name" and names == [f"x{i}" for i in range(6)]
    ids, names, used = tblogs.read_metadata(tmp_path / "m.tsv", 6, "group")
    assert list(ids) == [0, 1, 0, 1, 0, 1] and used == "group"
    with pytest.raises(tblogs.LogError, match="no column 'label'; its columns: name, group"):
        tblogs.read_metadata(tmp_path / "m.tsv", 6, "label")


def _hand_log(d: Path, tensors: str, shape=None, sprite=None):
    (d / "00000" / "default").mkdir(parents=True)
    (d / "00000" / "default" / "tensors.tsv").write_text(tensors)
    extra = "".join(f"  tensor_shape: {v}\n" for v in shape or [])
    sprite_part = ""
    if sprite is not None:
        sprite[0].save(d / "00000" / "default" / "sprite.png")
        sprite_part = (f'  sprite {{\n    image_path: "00000/default/sprite.png"\n'
                       f"    single_image_dim: {sprite[1]}\n    single_image_dim: {sprite[1]}\n  }}\n")
    rows = len([line for line in tensors.splitlines() if line.strip()])
    (d / "00000" / "default" / "metadata.tsv").write_text("".join(f"{i % 2}\n" for i in range(rows)))
    (d / tblogs.CONFIG).write_text('embeddings {\n  tensor_name: "default:00000"\n'
                                   '  metadata_path: "00000/default/metadata.tsv"\n'
                                   f'  tensor_path: "00000/default/tensors.tsv"\n{extra}{sprite_part}}}\n')


@pytest.mark.parametrize("case, match", [
    ("ragged", "row 3 has 2 values, row 1 has 3"),
    ("declared", "declares a tensor of 1,000,000,000 x 3"),
    ("sprite", "need 6 x 4"),
    ("outside", "points outside the log directory"),
    ("text", "not numbers"),
])
def test_a_bad_log_is_one_line(tmp_path, case, match):
    from PIL import Image

    d = tmp_path / "log"
    good = "".join(f"{i}\t{i % 3}\t1\n" for i in range(6))
    if case == "ragged":
        _hand_log(d, "1\t2\t3\n4\t5\t6\n7\t8\n")
    elif case == "declared":
        _hand_log(d, good, shape=[10**9, 3])
    elif case == "sprite":
        _hand_log(d, good, sprite=(Image.new("L", (7, 7)), 2))
    elif case == "outside":
        _hand_log(d, good)
        (d / tblogs.CONFIG).write_text('embeddings { tensor_name: "default:00000" tensor_path: "../../etc/passwd" }')
    else:
        _hand_log(d, "a\tb\n")
    with pytest.raises(RunFormatError, match=match) as err:
        Run.load(d, )
    assert "\n" not in str(err.value)
    [(_, info)] = list_runs(tmp_path)  # listed all the same (its config is fine or says why not)
    assert isinstance(info, (dict, str))


def test_the_config_parser_reads_text_protobuf_and_refuses_the_rest(tmp_path):
    entries = tblogs.parse_config('# a comment\nembeddings {\n tensor_name: "t:00001"\n sprite { single_image_dim: 4 '
                                  'single_image_dim: 5 }\n}\nembeddings { tensor_name: "t:00002" }')
    assert [e["tensor_name"] for e in entries] == [["t:00001"], ["t:00002"]]
    assert entries[0]["sprite"][0]["single_image_dim"] == ["4", "5"]
    for bad in ("embeddings {", "embeddings { a: }", "}", "embeddings { x: 'y' }", "{" * 20):
        with pytest.raises(tblogs.LogError):
            tblogs.parse_config(bad)


def test_the_your_model_page_opens_a_log_in_the_runs_folder(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    _log(tmp_path / "tb" / "resnet")
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.query_params["run"] = "tb/resnet"
    at.run()
    at.switch_page("app_pages/external.py")
    at.run()
    assert not at.exception
    assert any("resnet" in h.value and "3 recorded epochs" in h.value for h in at.subheader)
