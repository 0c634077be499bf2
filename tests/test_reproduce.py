"""Same seed, same run: a seeded fit does not depend on the machine's load, a run records
what repeating it takes, and `clustlib reproduce` says whether it repeats."""

import json
import subprocess
import sys

import numpy as np
import pytest

from clustlib.cli import main
from clustlib.cpu import default_threads
from clustlib.request import TrainRequest
from clustlib.runs import Run

# each method's tiny preset on small seeded data (a few seconds each)
from clustlib.train import train_run

CASES = {"jule": ("digits:n=300", {}), "knet": ("moons:n=300", {}), "dac": ("digits:n=300", {}),
         "secu": ("digits:n=300", {}), "dscl": ("digits:n=300", {})}


@pytest.fixture
def spinning():
    """Another process keeping one core busy while the test trains."""
    def start():
        return subprocess.Popen([sys.executable, "-c", "while True: pass"])
    procs = []
    yield lambda: procs.append(start()) or procs[-1]
    for p in procs:
        p.kill()


@pytest.mark.parametrize("method", list(CASES))
def test_a_seeded_fit_gives_the_same_labels_on_a_busy_machine(method, tmp_path, spinning):
    data, params = CASES[method]
    quiet = train_run(TrainRequest(method, data, preset="tiny", params=params, seed=3), tmp_path / "quiet")
    spinning()
    busy = train_run(TrainRequest(method, data, preset="tiny", params=params, seed=3), tmp_path / "busy")
    assert np.array_equal(quiet.estimator.labels_, busy.estimator.labels_)
    assert [s.scalars.get("nmi") for s in quiet.trace] == [s.scalars.get("nmi") for s in busy.trace]
    assert quiet.info["threads"] == busy.info["threads"] == default_threads()  # fixed, not the idle cores


def test_run_json_records_what_repeating_a_run_takes(tmp_path):
    run = train_run(TrainRequest("knet", "moons:n=200", preset="tiny", seed=1), tmp_path / "r")
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    for field in ("threads", "processes", "device", "data_hash", "machine", "versions", "params", "dataset", "seed"):
        assert field in info, field
    assert info["data_hash"].startswith("sha256:") and info["device"] == "cpu" and info["processes"] == 1
    assert {"torch", "numpy", "scikit-learn", "python"} <= set(info["versions"])
    assert info["params"]["random_state"] == 1 and info["params"]["max_iter"] == run.estimator.max_iter


def test_reproduce_says_identical_for_a_fresh_run_and_refuses_other_data(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "secu", "--data", "digits:n=200", "--preset", "tiny", "--seed", "2",
                 "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["reproduce", str(out), "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["identical"] and report["labels_identical"] and report["trace_identical"]
    assert report["metrics"]["nmi"][0] == report["metrics"]["nmi"][1]
    # a run whose labels were changed by hand does not reproduce: exit 3 and by how much
    labels = np.load(out / "labels.npy")
    np.save(out / "labels.npy", (labels + 1) % 10)
    assert main(["reproduce", str(out), "--quiet"]) == 3
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not report["identical"] and report["labels_differ"] > 0.5
    # the spec no longer gives the training data
    info = json.loads((out / "run.json").read_text())
    info["data_hash"] = "sha256:" + "0" * 32
    (out / "run.json").write_text(json.dumps(info))
    assert main(["reproduce", str(out), "--quiet"]) == 2
    assert "no longer gives the data" in capsys.readouterr().err


def test_train_prints_unseen_metrics_and_names_the_seen_ones(tmp_path, capsys):
    assert main(["train", "dscl", "--data", "digits:n=400", "--preset", "tiny", "--unseen", "7,8,9",
                 "--out", str(tmp_path / "d"), "--quiet"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"seen_nmi", "seen_acc", "unseen_nmi", "unseen_recall@1"} <= set(line) and "nmi" not in line
    assert 0 <= line["unseen_nmi"] <= 1
    assert Run.load(tmp_path / "d").metrics["unseen_nmi"] == line["unseen_nmi"]
    assert main(["evaluate", str(tmp_path / "d")]) == 0  # evaluate names them the same way
    scores = json.loads(capsys.readouterr().out)
    assert "seen_nmi" in scores and abs(scores["unseen_nmi"] - line["unseen_nmi"]) < 1e-9


def test_seeds_report_mean_worst_and_best(tmp_path, capsys):
    assert main(["train", "knet", "--data", "moons:n=200", "--preset", "tiny", "--seeds", "0-2",
                 "--out", str(tmp_path / "s"), "--quiet"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [x["seed"] for x in lines[:3]] == [0, 1, 2]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["seed-0", "seed-1", "seed-2"]
    summary = lines[3]
    nmis = [x["nmi"] for x in lines[:3]]
    assert summary["seeds"] == [0, 1, 2] and summary["nmi"]["worst"] == min(nmis)
    assert summary["nmi"]["best"] == max(nmis) and abs(summary["nmi"]["mean"] - np.mean(nmis)) < 1e-4
    assert main(["train", "knet", "--seeds", "3-x", "--out", str(tmp_path / "bad")]) == 2
    from clustlib.library import list_runs, seed_groups  # the Compare page's "Seeds of one setting"

    (group,) = seed_groups(list_runs(tmp_path / "s"))
    assert group["seeds"] == [0, 1, 2] and group["metrics"]["nmi"]["worst"] == pytest.approx(min(nmis))
