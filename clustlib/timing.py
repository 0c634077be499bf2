"""How long a training should take here, from the seconds saved runs of the same settings
recorded (this CPU and thread count first), and durations as people read them."""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

from . import cpu
from .request import TrainRequest


def estimate_seconds(request: TrainRequest, listed) -> tuple[float, str] | None:
    """How long ``request`` should take here, from saved runs of the same settings (any
    seed): their recorded seconds, those trained on this CPU with the same thread count
    first. ``listed``: (path, info) pairs (``library.list_runs``). (seconds, where the number
    comes from), or None when no such run was ever trained."""
    here, threads = cpu.machine()["cpu"], cpu.resolve_threads(request.threads)
    same, other = [], []
    for path, info in listed:
        if not isinstance(info, dict) or not isinstance((info.get("metrics") or {}).get("seconds"), (int, float)):
            continue
        unseen = request.unseen if isinstance(request.unseen, tuple) else tuple(info.get("unseen") or ())  # "default"
        if info.get("seed") is None or not dataclasses.replace(request, seed=info["seed"], unseen=unseen).matches(info):
            continue
        model = (info.get("machine") or {}).get("cpu")
        mine = model == here and info.get("threads") == threads
        (same if mine else other).append((float(info["metrics"]["seconds"]), model or "another machine", Path(path).name))
    if same:
        return statistics.median(s for s, _, _ in same), f"measured: {len(same)} run{'s' * (len(same) > 1)} on this machine"
    if other:
        seconds, model, name = sorted(other)[len(other) // 2]
        return seconds, f"as {name} took on {model}; not yet measured on this machine"
    return None


def duration_text(seconds: float) -> str:
    """``45 s``, ``2 min 40 s``, ``1 h 5 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
