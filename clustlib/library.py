"""The runs library: the runs under a folder (at any depth, damaged ones listed with
the reason), runs that differ only in their seed, and a run as a zip to download or
upload. What a run directory holds and how it is read is :mod:`clustlib.runs`; where
runs live, their names and their life on disk is :mod:`clustlib.rundir`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
import zipfile
from pathlib import Path

import numpy as np

from . import sources
from .limits import unzip
from .rundir import safe_name
from .runs import FILES, Run, RunFormatError, _short, files_of, read_run_json

MAX_DEPTH = 4  # how deep list_runs looks below a runs folder (exp/model/seed-0: 3)
MAX_LISTED = 5_000  # folders it opens at most (a runs folder pointed at a home directory stays quick)


def list_runs(*folders, depth: int = MAX_DEPTH) -> list[tuple[Path, dict | str]]:
    """(path, info) for each run directory in the folders, at any depth up to ``depth``
    (like ``tensorboard --logdir``: ``runs/exp1/seed-0``); info is the error text for a
    damaged one. A run's own folder is not searched further; hidden (dot) directories --
    interrupted saves, views, uploads -- are skipped."""
    out: list[tuple[Path, dict | str]] = []
    budget = [MAX_LISTED]

    def visit(folder: Path, left: int) -> None:
        try:
            subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for d in subs:
            budget[0] -= 1
            if budget[0] < 0:
                return
            if any((d / f).is_file() for f in FILES):  # a run, or what is left of one (listed as damaged)
                out.append((d, _listed(d)))
            elif (reader := sources.folder_reader(d)) is not None:  # a TensorBoard embedding log
                out.append((d, _listed_folder(reader, d)))
            elif left > 0:
                visit(d, left - 1)

    for folder in folders:
        folder = Path(folder).expanduser()
        if folder.is_dir():
            visit(folder, depth - 1)
    return out


def _listed_folder(reader: sources.FolderReader, d: Path) -> dict | str:
    try:
        return reader.describe(d)
    except (reader.error, OSError) as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - a foreign log is listed as damaged, never fatal
        return f"{d}: not a readable {reader.name} log ({_short(err)})."


def _listed(d: Path) -> dict | str:
    """What the listings show of run ``d``, or the one line that says why it is damaged."""
    try:
        doc = read_run_json(d)
    except RunFormatError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - one bad run is listed as damaged, never fatal
        return f"{d / 'run.json'}: not a readable run ({_short(err)})."
    return {k: doc.get(k) for k in ("method", "dataset", "created", "metrics", "unseen", "params", "preset", "seed",
                                    "live", "model", "machine", "threads")}


def seed_groups(listed) -> list[dict]:
    """Runs that differ only in their seed, grouped: the same method, dataset, unseen
    classes and every other parameter. ``listed``: (path, info) pairs (:func:`list_runs`).
    Each group of two or more: its setting, its runs by seed, and mean / worst / best of
    each metric over the seeds -- seed sensitivity, shown rather than hidden."""
    groups: dict[str, list] = {}
    for path, info in listed:
        if not isinstance(info, dict) or info.get("seed") is None:
            continue
        params = {k: v for k, v in (info.get("params") or {}).items() if k not in ("random_state", "device")}
        key = json.dumps([info.get("method"), info.get("dataset"), sorted(info.get("unseen") or []), params],
                         sort_keys=True, default=str)
        groups.setdefault(key, []).append((path, info))
    out = []
    for members in groups.values():
        seeds = {info["seed"]: (path, info) for path, info in members}  # one run a seed
        if len(seeds) < 2:
            continue
        metrics = {}
        for m in ("nmi", "acc", "ari", "unseen_nmi", "seconds"):
            vals = [info["metrics"][m] for _, info in seeds.values() if isinstance((info.get("metrics") or {}).get(m), (int, float))]
            if len(vals) == len(seeds):
                worst, best = (max(vals), min(vals)) if m == "seconds" else (min(vals), max(vals))
                metrics[m] = {"mean": float(np.mean(vals)), "std": float(np.std(vals)), "worst": worst, "best": best}
        _, first = next(iter(seeds.values()))
        out.append({"method": first.get("method"), "dataset": first.get("dataset"), "preset": first.get("preset"),
                    "seeds": sorted(seeds), "runs": {s: p for s, (p, _) in sorted(seeds.items())}, "metrics": metrics})
    return out


# --------------------------------------------------------------------------- zip / delete
MAX_ZIP_BYTES = 100 * 2**20  # an uploaded run zip (compressed); unpacked: limits.MAX_UNZIPPED_BYTES


def zip_run(path) -> bytes:
    """A run directory as zip bytes (its four files under one folder named like the run)."""

    d = Path(path).expanduser()
    method = read_run_json(d)["method"]  # only real runs
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files_of(method):
            z.write(d / f, f"{d.name}/{f}")
    return buf.getvalue()


def import_zip(data: bytes, folder, name: str | None = None) -> Path:
    """Validate an uploaded run zip exactly like :meth:`Run.load` (nothing is unpickled)
    and add it to ``folder`` under a new name. Raises RunFormatError with one line; on
    any error nothing in ``folder`` changes."""

    if len(data) > MAX_ZIP_BYTES:
        raise RunFormatError(f"the upload is {len(data) / 2**20:.0f} MiB; runs up to "
                             f"{MAX_ZIP_BYTES // 2**20} MiB can be uploaded (copy larger ones into the runs folder).")
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload.tmp-{uuid.uuid4().hex[:8]}"

    def run_file(parts) -> bool:
        if len(parts) > 2 or parts[-1] not in FILES:
            raise ValueError(f"the zip holds {'/'.join(parts)!r}; expected only {', '.join(FILES)} "
                             "(optionally inside one folder).")
        return True

    try:
        try:
            written = unzip(data, tmp, "the upload", keep=run_file)
        except ValueError as err:
            raise RunFormatError(str(err)) from None
        if len({p[0] for p in written if len(p) == 2}) > 1 or any(len(p) == 1 for p in written) and any(
                len(p) == 2 for p in written):
            raise RunFormatError("the zip holds files of more than one folder; zip one run folder.")
        missing = [f for f in FILES if f != "model.pt" and not any(p[-1] == f for p in written)]  # model.pt: Run.load's
        if missing:
            raise RunFormatError(f"the zip lacks {', '.join(missing)}; a run has {', '.join(FILES)}.")
        run_dir = tmp / written[0][0] if len(written[0]) == 2 else tmp
        Run.load(run_dir)  # the same checks as opening a run; raises RunFormatError
        base = safe_name(name or (written[0][0] if len(written[0]) == 2 else "uploaded-run"))
        target = folder / base
        i = 2
        while target.exists():
            target = folder / f"{base}-{i}"
            i += 1
        os.replace(run_dir, target)
        return target
    except RunFormatError as err:
        raise RunFormatError(str(err).replace(str(tmp), "the uploaded run")) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
