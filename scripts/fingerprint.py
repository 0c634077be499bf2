"""Fingerprints of seeded tiny runs of all five methods, trained the three ways clustlib
trains (the library's ``train_run``, the CLI, the app's training job): labels, every
Snapshot, ``transform`` and ``predict`` on the training data, and what run.json records.

A refactoring that claims "no behaviour change" prints the same lines before and after::

    python scripts/fingerprint.py > before.txt   # on the old commit
    python scripts/fingerprint.py > after.txt    # on the new one
    diff before.txt after.txt                    # empty: bit-identical

Each line: method, the way it trained, sha256 (16 hex digits) of each part; run.json is
read as the current clustlib reads it (renamed parameters under their names now), so a
rename alone leaves the lines unchanged. Takes about a minute on 2 cores.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clustlib.cli import main as cli_main  # noqa: E402
from clustlib.data import load_dataset, split_classes  # noqa: E402
from clustlib.methods import METHODS  # noqa: E402
from clustlib.request import TrainRequest  # noqa: E402
from clustlib.runs import Run, read_run_json  # noqa: E402
from clustlib.train import train_run
from clustlib.ui.jobs import TrainingJob  # noqa: E402

SEED = 3
RECORDED = ("method", "dataset", "preset", "seed", "unseen", "params", "threads", "device", "data_hash")


def _h(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(np.ascontiguousarray(p).tobytes() if isinstance(p, np.ndarray) else
                 json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def fingerprint(path: Path, spec: str) -> dict:
    run = Run.load(path)
    est = run.estimator
    ds = load_dataset(spec)
    if run.info.get("unseen"):
        ds = split_classes(ds, run.info["unseen"])[0]
    info = read_run_json(path)  # parameters under their names now, whichever clustlib saved the run
    snaps = [_h(s.round, s.stage, {k: round(float(v), 12) for k, v in s.scalars.items()}, np.asarray(s.labels),
                np.zeros(0) if s.embedding is None else np.asarray(s.embedding)) for s in run.trace]
    return {"labels": _h(np.asarray(est.labels_)), "snapshots": _h(snaps),
            "transform": _h(np.asarray(est.transform(ds.X))), "predict": _h(np.asarray(est.predict(ds.X))),
            "run.json": _h({k: info.get(k) for k in RECORDED})}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="clustlib-fingerprint-"))
    for name, cls in METHODS.items():
        spec = cls.small_data
        request = TrainRequest(name, spec, preset="tiny", seed=SEED)

        def by_library(out, r=request):
            train_run(r, out)
            return out

        def by_cli(out, name=name, spec=spec):
            with contextlib.redirect_stdout(io.StringIO()):
                held = ["--unseen", "8,9"] if spec.startswith("digits") else []  # classes held out
                cli_main(["train", name, "--data", spec, "--preset", "tiny", "--seed", str(SEED), *held,
                          "--out", str(out), "--quiet"])
            return out

        def by_job(out, r=request):
            job = TrainingJob(r, out_dir=out).start()
            job.join(600)
            if job.run is None:
                raise SystemExit(f"{r.method}: the job failed: {job.error}")
            return job.path

        ways = {"train_run": by_library, "cli": by_cli, "job": by_job}
        for way, train in ways.items():
            path = train(tmp / f"{name}-{way}")  # each run read back as saved
            print(json.dumps({"method": name, "way": way, **fingerprint(path, spec)}), flush=True)


if __name__ == "__main__":
    main()
