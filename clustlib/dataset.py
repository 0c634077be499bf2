"""The Dataset type, dataset specs and their one-line errors, seeded stratified subsets.

A spec is ``name:arg,key=value,...`` (``digits:n=600``, ``npz:my.npz,shape=28x28``);
``clustlib.data`` loads it. This module imports nothing of clustlib.

>>> parse_spec("moons:n=1000,noise=0.05")
('moons', None, {'n': '1000', 'noise': '0.05'})
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

FILE_KIND_NAMES = ("npz", "csv", "folder")  # specs whose argument is a path


class DatasetError(ValueError):
    """A dataset spec that cannot be loaded; the message says how to fix it."""


@dataclass(frozen=True)
class Dataset:
    X: np.ndarray  # (N, d) float32, or (N, H, W) / (N, C, H, W) images in [0, 1] (lazy=1: stream.LazyImages)
    y: np.ndarray | None  # (N,) int64 or None
    kind: str  # "image" | "vector"
    name: str  # the spec it was loaded from
    image_shape: tuple[int, ...] | None = None  # (H, W) or (C, H, W)
    class_names: list[str] = field(default_factory=list)
    class_groups: list[str] = field(default_factory=list)  # a group per class (Omniglot: alphabet)
    default_unseen: tuple[int, ...] = ()  # the split the dataset comes with (Omniglot: by alphabet)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_classes(self) -> int | None:
        return None if self.y is None else int(np.unique(self.y).size)

    def by_group(self, y: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Class ids -> group ids (Omniglot: alphabet) and the sorted group names, for
        colouring hundreds of classes by a handful of groups."""
        groups = sorted(set(self.class_groups))
        index = {g: i for i, g in enumerate(groups)}
        return np.array([index[self.class_groups[int(c)]] for c in y], dtype=np.int64), groups

    def subset(self, index: np.ndarray, name: str | None = None) -> Dataset:
        y = None if self.y is None else self.y[index]
        return replace(self, X=self.X[index], y=y, name=name or self.name)


def parse_spec(spec: str) -> tuple[str, str | None, dict[str, str]]:
    """Split ``name:arg,key=value,...`` into (name, positional arg, options)."""
    if not isinstance(spec, str) or not spec.strip():
        raise DatasetError(f"dataset spec must be a non-empty string, got {spec!r}.")
    name, _, rest = spec.strip().partition(":")
    name = name.strip().lower()
    arg, opts = None, {}
    for part in [p for p in rest.split(",") if p.strip()] if rest else []:
        if "=" in part and not (name in FILE_KIND_NAMES and arg is None):
            key, _, value = part.partition("=")
            opts[key.strip().lower()] = value.strip()
        elif arg is None:
            arg = part.strip()
        else:
            raise DatasetError(f"cannot parse {part!r} in dataset spec {spec!r}; use key=value.")
    return name, arg, opts


OPTION_RANGES = {"seed": (0, 2**32 - 1), "noise": (0.0, 100.0), "workers": (0, 64), "lazy": (0, 1)}  # inclusive


def _opt(opts: dict, key: str, cast, default):
    """Option ``key`` of a spec as ``cast``, checked against ``OPTION_RANGES`` (a negative
    noise or seed, NaN or infinity is one line, not a traceback from deep inside)."""
    if key not in opts:
        return default
    text = opts.pop(key)
    try:
        value = cast(text)
    except (ValueError, OverflowError) as err:
        raise DatasetError(f"option {key}= must be {cast.__name__}: {err}") from None
    lo, hi = OPTION_RANGES.get(key, (None, None))
    if value != value or value in (float("inf"), float("-inf")) or (lo is not None and not lo <= value <= hi):
        where = f" from {lo} to {hi}" if lo is not None else ""
        raise DatasetError(f"option {key}={text} must be a finite number{where}.")
    return value


def stratified_subset(y: np.ndarray | None, n_total: int, n: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subsample of size n, stratified by y when given."""
    rng = np.random.default_rng(seed)
    if n >= n_total:
        return np.arange(n_total)
    if y is None:
        return np.sort(rng.choice(n_total, n, replace=False))
    from sklearn.model_selection import train_test_split

    classes, counts = np.unique(y, return_counts=True)
    if n < classes.size or counts.min() < 2:
        return np.sort(rng.choice(n_total, n, replace=False))
    idx, _ = train_test_split(np.arange(n_total), train_size=n, stratify=y,
                              random_state=int(rng.integers(2**31 - 1)))
    return np.sort(idx)
