"""Dataset registry: embedded sets, torchvision sets, user files, and class splits.

A dataset *spec* is a string usable on the command line::

    digits                      # embedded (scikit-learn), the default
    moons:n=1000,noise=0.05     # generated, seeded
    mnist:root=~/data,split=test,download=1
    npz:path/to/file.npz        # arrays X and optional y
    csv:path/to/file.csv        # last column is the label if its header is "label"
    folder:path/to/images       # one sub-folder per class
    folder:path/to/images,lazy=1  # ... read from disk while training (DAC, DSCL, SeCu)

Options common to all: ``n=`` (a seeded, stratified subsample) and ``seed=``.

>>> from clustlib.data import load_dataset
>>> ds = load_dataset("iris")
>>> ds.X.shape, ds.kind
((150, 4), 'vector')
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .dataset import Dataset, DatasetError, _opt, parse_spec, stratified_subset
from .loaders import (
    EMBEDDED,
    FILE_KINDS,
    TORCHVISION,
    _embedded,
    _torchvision,
    default_root,
)
from .uploads import (
    UPLOAD,
    UPLOADS,
    resolve_upload,
    upload_spec,
)

DESCRIPTIONS = {
    "digits": "8x8 handwritten digits, 1797 images, 10 classes (scikit-learn)",
    "omniglot": "Omniglot characters 28x28, 4840 images, 242 characters of 8 alphabets; "
                "3 alphabets unseen by default (Lake et al. 2015, MIT licence)",
    "wine": "wine chemistry, 178 x 13, 3 classes (scikit-learn)",
    "breast_cancer": "Wisconsin diagnostic breast cancer, 569 x 30, 2 classes (scikit-learn)",
    "wisconsin": "Wisconsin breast cancer (original), 683 x 9 scores 1-10, 2 classes (KNet's Cancer)",
    "iris": "iris flowers, 150 x 4, 3 classes (scikit-learn)",
    "moons": "two interleaved half-moons, N=1000 (as in KNet)",
    "spirals": "three interleaved spirals, N=3000 (KNet's Spiral1)",
    "circles": "two concentric circles, N=1000",
    "blobs": "four Gaussian blobs, N=1000",
    "faces": "synthetic faces 32x32 (generated: 20 people x 32 poses, expressions, lighting; no real person)",
    "mnist": "MNIST 28x28 digits (torchvision; root=, split=, download=1)",
    "fashion_mnist": "Fashion-MNIST 28x28 (torchvision; root=, split=, download=1)",
    "usps": "USPS 16x16 digits (torchvision; root=, split=, download=1)",
    "cifar10": "CIFAR-10 32x32 colour (torchvision; root=, split=, download=1)",
    "stl10": "STL-10 96x96 colour (torchvision; root=, split=, download=1)",
    "omniglot_full": "full Omniglot, 1623 characters, 28x28 (torchvision; root=, split=all|background|evaluation, download=1)",
    "npz": "npz:PATH - arrays X (N,d | N,H,W | N,C,H,W; uint8 read as /255) and optional y; shape=28x28 reads rows as images",
    "csv": "csv:PATH - numeric columns; last column is the label if headed 'label'; shape=28x28 reads rows as images",
    "folder": "folder:PATH - one sub-folder of images per class",
}


def list_datasets() -> list[dict]:
    """Every known spec name with a description and whether it loads offline now."""
    out = []
    for name, desc in DESCRIPTIONS.items():
        if name in EMBEDDED:
            where = "embedded"
        elif name in TORCHVISION:
            folder = default_root() / TORCHVISION[name]
            alt = default_root() / ("omniglot-py" if name == "omniglot_full" else name)
            where = "on disk" if folder.exists() or alt.exists() else "download=1 needed"
        else:
            where = "your file"
        out.append({"name": name, "available": where, "description": desc})
    return out


def load_dataset(spec: str = "digits") -> Dataset:
    """Load a dataset from its spec string (see module docstring). Every refusal is one
    :class:`DatasetError` line."""
    try:
        return _load(spec)
    except DatasetError:
        raise
    except (ValueError, TypeError, OverflowError, MemoryError) as err:  # from a generator or reader deep inside
        text = str(err).strip().splitlines()
        raise DatasetError(f"{spec}: cannot be loaded ({text[0][:160] if text else type(err).__name__}).") from None


def _load(spec: str) -> Dataset:
    name, arg, opts = parse_spec(spec)
    if name == UPLOAD:  # upload:ID: the file an app's visitor uploaded, by its opaque id
        name, arg, _ = parse_spec(upload_spec(arg or ""))
    if name in FILE_KINDS:
        if not arg:
            raise DatasetError(f"{name}: needs a path, e.g. '{name}:my_data.{name}'.")
        ds = FILE_KINDS[name](Path(arg).expanduser(), opts)
    elif name in EMBEDDED:
        ds = _embedded(name, opts)
    elif name in TORCHVISION:
        ds = _torchvision(name, opts)
    else:
        known = ", ".join(EMBEDDED + tuple(TORCHVISION) + tuple(f"{k}:PATH" for k in FILE_KINDS))
        raise DatasetError(f"unknown dataset {name!r}; known: {known}.")
    n = _opt(opts, "n", int, None)
    seed = _opt(opts, "seed", int, 0)
    if opts:
        raise DatasetError(f"{name}: unknown option(s) {', '.join(sorted(opts))}.")
    if n is not None:
        if n < 2:
            raise DatasetError(f"{name}: n={n} must be at least 2.")
        ds = ds.subset(stratified_subset(ds.y, len(ds), n, seed))
    return replace(ds, name=spec.strip())


def in_memory(spec: str) -> str:
    """The spec without ``lazy=`` and ``workers=``: the app shows a run trained from disk
    with its images in memory (within the memory limit), or not at all."""
    name, arg, opts = parse_spec(spec)
    rest = [f"{k}={v}" for k, v in opts.items() if k not in ("lazy", "workers")]
    return ":".join([name, ",".join(([arg] if arg else []) + rest)]) if arg or rest else name


def split_classes(ds: Dataset, unseen) -> tuple[Dataset, Dataset]:
    """Split into (seen, unseen) datasets by class id: train on the seen categories,
    then embed and picture the unseen ones (DSCL's protocol). Labels keep their ids."""
    if ds.y is None:
        raise DatasetError(f"{ds.name}: has no labels, so it cannot be split into seen/unseen classes.")
    unseen = sorted({int(c) for c in unseen})
    present = set(np.unique(ds.y).tolist())
    missing = [c for c in unseen if c not in present]
    if missing:
        raise DatasetError(f"{ds.name}: unseen classes {missing} do not exist; classes are "
                           f"{sorted(present)}.")
    mask = np.isin(ds.y, unseen)
    if mask.all() or not mask.any():
        raise DatasetError(f"{ds.name}: unseen={unseen} leaves no seen classes; keep at least one.")
    return (ds.subset(np.flatnonzero(~mask), f"{ds.name} (seen)"),
            ds.subset(np.flatnonzero(mask), f"{ds.name} (unseen {unseen})"))


def resolve_unseen(ds: Dataset, text: str | None) -> list[int]:
    """The CLI's ``--unseen``: class ids (``7,8,9``), group names (Omniglot alphabets:
    ``Sanskrit,Tagalog`` hold out every character of them), ``none``; left out (None),
    the dataset's own split (``ds.default_unseen``, empty for most datasets)."""
    if text is None:
        return list(ds.default_unseen)
    if str(text).strip().lower() in ("", "none"):
        return []
    groups = {g.lower(): g for g in ds.class_groups}
    out: set[int] = set()
    for token in (t.strip() for t in str(text).split(",") if t.strip()):
        if token.lower() in groups:
            out.update(i for i, g in enumerate(ds.class_groups) if g == groups[token.lower()])
        else:
            try:
                out.add(int(token))
            except ValueError:
                known = f"; groups are {', '.join(sorted(set(ds.class_groups)))}" if groups else ""
                raise DatasetError(f"unseen: {token!r} is neither a class id nor a group{known}.") from None
    return sorted(out)


def parse_classes(text: str | None) -> list[int]:
    """'7,8,9' -> [7, 8, 9] (used by the CLI and the app)."""
    if not text:
        return []
    try:
        return sorted({int(t) for t in str(text).split(",") if t.strip()})
    except ValueError:
        raise DatasetError(f"unseen classes must be integers like 7,8,9; got {text!r}.") from None


def display_name(spec: str) -> str:
    """A dataset spec as people read it: a file's own name (an upload's original name,
    not the server's content-addressed path) with its options; other specs unchanged.

    >>> display_name("npz:runs/.uploads/0123abcd/fashion.npz,n=500")
    'fashion.npz (n=500)'
    >>> display_name("folder:runs/.uploads/0123abcd/animals/train")
    'animals.zip'
    >>> display_name("digits:n=600")
    'digits:n=600'
    """
    try:
        name, arg, opts = parse_spec(spec)
        if name == UPLOAD:
            kept = resolve_upload(arg or "")
            name, arg = ("folder" if kept.is_dir() else "npz"), str(kept)
    except DatasetError:
        return str(spec)
    if name not in FILE_KINDS or not arg:
        return str(spec).strip()
    parts = Path(arg).parts
    if UPLOADS in parts and len(parts) > parts.index(UPLOADS) + 2:
        base = parts[parts.index(UPLOADS) + 2]
        base = base if name != "folder" else f"{base}.zip"
    else:
        base = Path(arg).name or arg
    rest = ",".join(f"{k}={v}" for k, v in opts.items())
    return f"{base} ({rest})" if rest else base
