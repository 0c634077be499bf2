import json

import pytest

from clustlib.cli import main
from clustlib.runs import Run


def test_methods_and_datasets(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "knet" in out and "preset demo" in out
    assert main(["datasets"]) == 0
    assert "spirals" in capsys.readouterr().out


def test_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "knet", "--data", "moons:n=200", "--preset", "tiny",
                 "--set", "u_update=eig", "--seed", "1", "--out", str(out), "--quiet"])
    assert code == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(line)
    assert {"nmi", "acc", "ari", "seconds"} <= set(result)
    run = Run.load(out)
    assert run.info["params"]["u_update"] == "eig" and run.info["params"]["random_state"] == 1
    assert main(["evaluate", str(out)]) == 0
    ev = json.loads(capsys.readouterr().out.strip())
    assert ev["nmi"] == pytest.approx(result["nmi"], abs=1e-9) and ev["n"] == 200


def test_train_with_unseen_records_and_evaluates_them(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "knet", "--data", "iris", "--unseen", "2", "--preset", "tiny",
                 "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert Run.load(out).info["unseen"] == [2]
    assert main(["evaluate", str(out)]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n"] == 100 and "unseen_nmi" in ev


@pytest.mark.slow
def test_omniglot_holds_out_whole_alphabets_by_default_or_by_name(tmp_path, capsys):
    from clustlib import load_dataset

    ds = load_dataset("omniglot")
    default, named = tmp_path / "default", tmp_path / "named"
    for out, extra in ((default, []), (named, ["--unseen", "Tagalog"])):
        assert main(["train", "dscl", "--data", "omniglot:n=500", "--preset", "tiny", "--out", str(out),
                     "--quiet", *extra]) == 0
    capsys.readouterr()
    assert Run.load(default).info["unseen"] == list(ds.default_unseen)
    assert {ds.class_groups[c] for c in Run.load(named).info["unseen"]} == {"Tagalog"}
    assert main(["datasets"]) == 0
    assert "omniglot " in capsys.readouterr().out


@pytest.mark.parametrize("argv,match", [
    (["train", "nosuch", "--out", "x"], "unknown method"),
    (["train", "knet", "--data", "nosuch", "--out", "x"], "unknown dataset"),
    (["train", "knet", "--data", "iris", "--preset", "huge", "--out", "x"], "no preset"),
    (["train", "knet", "--data", "iris", "--set", "bogus=1", "--out", "x"], "bogus"),
    (["train", "knet", "--data", "iris", "--set", "novalue", "--out", "x"], "key=value"),
    (["train", "knet", "--data", "iris", "--unseen", "9", "--out", "x"], "do not exist"),
    (["train", "knet", "--data", "moons:n=4", "--n-clusters", "9", "--out", "x"], "n_clusters"),
    (["evaluate", "no/such/run"], "not a run directory"),
])
def test_bad_input_exits_2_with_one_line(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err and err.startswith("clustlib: error:")


def test_refuses_to_overwrite(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    assert main(["train", "knet", "--data", "iris", "--out", str(tmp_path / "taken")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_threads_are_chosen_recorded_and_checked(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        out = tmp_path / "one"
        assert main(["train", "knet", "--data", "moons:n=200", "--preset", "tiny", "--threads", "1",
                     "--out", str(out), "--quiet"]) == 0
        assert Run.load(out).info["threads"] == 1 and torch.get_num_threads() == before  # restored after
        assert main(["train", "knet", "--data", "moons:n=200", "--preset", "tiny", "--threads", "-2",
                     "--out", str(tmp_path / "bad"), "--quiet"]) == 2
        assert "--threads -2" in capsys.readouterr().err and not (tmp_path / "bad").exists()
        assert not list(tmp_path.glob(".*.lock"))  # refused before the output was claimed
    finally:
        torch.set_num_threads(before)
