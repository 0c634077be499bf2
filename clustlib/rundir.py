"""A run folder's life on disk, in one place: where runs live and how they are named,
the claim and lock taken before training, the atomic save, what a crash leaves and its
recovery, renaming and deleting. Nothing here reads a run's contents beyond the tag in
its run.json (``clustlib.runs`` reads and validates runs; it builds on this module).

A run's life::

    claim_output(out)        refused if out is another run (unless overwrite), a foreign
                             folder, or locked by a live process; takes .NAME.lock
    save_atomically(out, w)  w writes into .NAME.tmp-PID-xxxx, renamed into place; an
                             older run waits as .NAME.old-PID-xxxx until the new one is in
    recover(out)             after a crash: the old run put back, stale hidden folders gone
    rename_run / delete_run  only runs inside the runs folder
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from .data import display_name
from .settings import settings

FORMAT = "clustlib.run"  # the tag in run.json that makes a folder a run
MAX_JSON_BYTES = 20 * 2**20  # a run.json larger than this is not read


class OutputError(ValueError):
    """The run cannot be written where asked (exists, locked, not writable)."""


def runs_dir() -> Path:
    """Where the app saves runs: $CLUSTLIB_RUNS or ./runs."""
    return Path(settings().runs).expanduser()


def run_name(method: str, dataset: str) -> str:
    """``secu-fashion.npz-20261206-101500-ab12``: method, the data's own name (an upload's
    file name, not its server path), time, a random tail."""

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", display_name(dataset))[:40].strip("_") or "data"
    return f"{method}-{safe}-{stamp}-{secrets.token_hex(2)}"


def is_run_dir(path) -> bool:
    """Whether ``path`` is a folder whose run.json carries the clustlib run tag (a
    readable run is :func:`clustlib.runs.read_run_json`'s to say)."""
    f = Path(path) / "run.json"
    try:
        if not f.is_file() or f.stat().st_size > MAX_JSON_BYTES:
            return False
        doc = json.loads(f.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (a lock's or a hidden save folder's writer)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def _writer_pid(p: Path) -> int | None:
    """The process id in a save's hidden folder name (``.NAME.tmp-PID-xxxx``)."""
    try:
        return int(p.name.rsplit("-", 2)[-2])
    except (ValueError, IndexError):
        return None


def recover(path) -> None:
    """Undo what a crashed save of ``path`` left: if ``path`` is gone but the run it was
    replacing survives as ``.NAME.old-*``, put it back; remove hidden temporary folders
    of processes that no longer run."""
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        return
    leftovers = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not path.exists():
        for old in reversed(leftovers):
            pid = _writer_pid(old)
            busy = pid is not None and pid != os.getpid() and pid_alive(pid)
            if not busy and is_run_dir(old):
                os.replace(old, path)
                leftovers.remove(old)
                break
    for p in [*leftovers, *path.parent.glob(f".{path.name}.tmp-*")]:
        pid = _writer_pid(p)
        if pid is None or not pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def claim_output(out: Path, overwrite: bool = False) -> Path:
    """Check ``out`` before any training and take a lock next to it, so a second training
    with the same ``out`` is refused instead of silently replacing the first one. Returns
    the lock file (the caller removes it when done)."""
    recover(out)
    if out.exists():
        if not overwrite:
            raise OutputError(f"{out} already exists; choose another output (--out) or overwrite it "
                              "(overwrite=True, --overwrite).")
        if not is_run_dir(out):
            raise OutputError(f"{out} is not a clustlib run; overwriting replaces only runs.")
    lock = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write the run to {out}: {err.strerror or err}.") from None
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and pid_alive(pid):
                raise OutputError(f"{out} is being written by another clustlib (pid {pid}); "
                                  "choose another output (--out).") from None
            lock.unlink(missing_ok=True)  # a stale lock of a process that is gone
            continue
        except OSError as err:
            raise OutputError(f"cannot write the run to {out}: {err.strerror or err}.") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return lock
    raise OutputError(f"cannot take the lock {lock}; remove it if no clustlib is running.")


def save_atomically(path, write: Callable[[Path], None], refuse: Callable[[str], Exception] = OutputError) -> Path:
    """Have ``write(folder)`` fill a hidden sibling folder, then rename it to ``path``; an
    existing ``path`` is replaced only if it is itself a run, and the old run stays in
    place until the new one is complete (a crash in between is undone by the next save
    or :func:`recover`). ``refuse`` makes the error for a ``path`` that is not a run."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    if path.exists() and not is_run_dir(path):
        raise refuse(f"{path} exists and is not a clustlib run; refusing to replace it (choose another path).")
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def safe_name(name: str) -> str:
    """A folder name made of letters, digits, ``.``, ``_`` and ``-`` (at most 80)."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    return clean[:80] or "uploaded-run"


def _inside(path, folder, what: str) -> tuple[Path, Path]:
    d, root = Path(path).expanduser().resolve(), Path(folder).expanduser().resolve()
    if root not in d.parents or not (d / "run.json").is_file():  # at any depth below it (clustlib app --runs)
        raise OutputError(f"{path}: not a run in {folder}; only runs of the runs folder can be {what}.")
    return d, root


def rename_run(path, name: str, folder) -> Path:
    """Give a run directory of ``folder`` a new name (made safe; never an existing one).
    Its views in ``.views/`` are named by the old name and content: they are recomputed."""
    d, root = _inside(path, folder, "renamed")
    target = d.parent / safe_name(name)
    if target.exists():
        raise OutputError(f"{target.name} exists already; choose another name.")
    os.replace(d, target)
    return target


def delete_run(path, folder) -> None:
    """Remove a run directory that lives in ``folder`` (never anything else)."""
    d, _ = _inside(path, folder, "deleted")
    shutil.rmtree(d)
