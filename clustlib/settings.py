"""Every setting of clustlib in one frozen object, read from the environment (``CLUSTLIB_*``)
and nowhere else: the library, the CLI, the app and its jobs ask :func:`settings`.

Each field names its variable, its default, its bounds and what it means; the table in
docs/settings.md is this module's (``python -m clustlib.settings`` prints it, and a test
checks the two agree). A value that is not a number where one is needed keeps the
default; one outside the bounds is brought inside them.

>>> settings().max_jobs >= 1
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache


def _setting(env: str, default, meaning: str, lo=None, hi=None):
    return field(default=default, metadata={"env": env, "meaning": meaning, "lo": lo, "hi": hi})


@dataclass(frozen=True)
class Settings:
    # where things are
    runs: str = _setting("CLUSTLIB_RUNS", "runs", "the runs folder: where the app saves runs and lists them, at "
                         "any depth (`clustlib app --runs` sets it)")
    data: str = _setting("CLUSTLIB_DATA", "~/.clustlib/data", "where torchvision datasets are read from (and "
                         "downloaded to, on request only)")
    data_roots: str = _setting("CLUSTLIB_DATA_ROOTS", "", "folders (separated by `:`) whose files the app may read "
                               "when a visitor names them")
    # same seed, same run
    threads: int = _setting("CLUSTLIB_THREADS", 2, "CPU threads of every fit (fixed and recorded)", 1, 4096)
    # what an input may declare
    max_array_mb: float = _setting("CLUSTLIB_MAX_ARRAY_MB", 512.0, "MiB of arrays a dataset or recording file "
                                   "may declare", 1.0, None)
    max_image_pixels: int = _setting("CLUSTLIB_MAX_IMAGE_PIXELS", 4_000_000, "pixels one image of a folder "
                                     "dataset may have", 1, None)
    max_samples: int = _setting("CLUSTLIB_MAX_SAMPLES", 1_000_000, "samples a generated dataset may have", 4, None)
    # a class on one server (docs/safety.md)
    host_token: str = _setting("CLUSTLIB_HOST_TOKEN", "", "when set, only a browser that opened `?host=TOKEN` "
                               "is the host (behind a proxy)")
    max_jobs: int = _setting("CLUSTLIB_MAX_JOBS", 1, "trainings that run at once", 1, 64)
    max_queue: int = _setting("CLUSTLIB_MAX_QUEUE", 4, "trainings that may wait", 1, 1000)
    visitor_job_s: float = _setting("CLUSTLIB_VISITOR_JOB_S", 600.0, "seconds a visitor's training may run "
                                    "(then it stops after its round, saved)", 0.0, None)
    upload_quota_mb: float = _setting("CLUSTLIB_UPLOAD_QUOTA_MB", 100.0, "MiB a visitor's session may upload",
                                      0.0, None)
    visitor_disk_mb: float = _setting("CLUSTLIB_VISITOR_DISK_MB", 2048.0, "MiB of uploads and runs of all "
                                      "visitors (the oldest uploads make room)", 0.0, None)
    # the app's pages
    task_budget_s: float = _setting("CLUSTLIB_TASK_BUDGET_S", 120.0, "seconds a background baseline or map may "
                                    "take", 1.0, None)
    max_tasks: int = _setting("CLUSTLIB_MAX_TASKS", 1, "background tasks that run at once", 1, 64)
    first_paint_s: float = _setting("CLUSTLIB_FIRST_PAINT_S", 0.5, "pause after a session's first poster, for "
                                    "the browser to draw it (0: none)", 0.0, 5.0)
    data_cache_mb: float = _setting("CLUSTLIB_DATA_CACHE_MB", 1024.0, "MiB of datasets the server keeps for all "
                                    "sessions", 1.0, None)

    @classmethod
    def from_env(cls, env) -> Settings:
        values = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or not str(raw).strip():
                continue
            if isinstance(f.default, str):
                values[f.name] = str(raw).strip()
                continue
            try:
                value = type(f.default)(float(raw))
            except (TypeError, ValueError, OverflowError):
                continue  # not a number: the default
            lo, hi = f.metadata["lo"], f.metadata["hi"]
            values[f.name] = min(max(value, lo if lo is not None else value), hi if hi is not None else value)
        return cls(**values)


_ENVS = tuple(f.metadata["env"] for f in fields(Settings))


def settings() -> Settings:
    """The settings now (read again only when a ``CLUSTLIB_*`` variable changed)."""
    return _read(tuple(os.environ.get(name) for name in _ENVS))


@lru_cache(maxsize=16)
def _read(values: tuple) -> Settings:
    return Settings.from_env(dict(zip(_ENVS, values)))


def table() -> str:
    """The Markdown table of docs/settings.md."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        default = f.default if f.default != "" else "(none)"
        if isinstance(default, float) and default.is_integer():
            default = int(default)
        rows.append(f"| `{f.metadata['env']}` | {default} | {f.metadata['meaning']} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(table(), end="")
