"""Where datasets come from: the embedded and generated sets, torchvision's, and files
(``.npz``, ``.csv``, a folder of class folders of images); each loader takes a spec's
parsed options and returns a :class:`~clustlib.dataset.Dataset`, checked (shapes, NaN,
labels) with a one-line :class:`~clustlib.dataset.DatasetError`."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from .dataset import Dataset, DatasetError, _opt, stratified_subset
from .limits import BudgetError, check_npz, max_array_bytes, max_image_pixels
from .settings import settings
from .stream import LazyImages, read_image


def spirals(n: int = 3000, arms: int = 3, noise: float = 0.16, seed: int = 0):
    """Interleaved spiral arms as in KNet's Spiral1 (N = 3000, 3 arms): radius 0.3..2,
    angle 4j..4(j + 0.6) plus Gaussian angular noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    per = np.full(arms, n // arms)
    per[: n % arms] += 1
    X, y = [], []
    for a in range(arms):
        r = np.linspace(0.3, 2.0, per[a])
        t = np.linspace(4.0 * a, 4.0 * (a + 0.6), per[a]) + rng.normal(scale=noise, size=per[a])
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(per[a], a))
    X, y = np.vstack(X), np.concatenate(y)
    order = rng.permutation(n)
    return X[order], y[order]


def _embedded(name: str, opts: dict) -> Dataset:
    from sklearn import datasets as skd

    seed = _opt(opts, "seed", int, 0)
    if name == "digits":
        d = skd.load_digits()
        X = (d.images / 16.0).astype(np.float32)
        return Dataset(X, d.target.astype(np.int64), "image", name, (8, 8),
                       [str(c) for c in d.target_names])
    if name in ("wine", "breast_cancer", "iris"):
        d = getattr(skd, f"load_{name}")()
        return Dataset(d.data.astype(np.float32), d.target.astype(np.int64), "vector", name,
                       None, [str(c) for c in d.target_names])
    if name == "wisconsin":  # shipped with the package; scripts/make_wisconsin.py rebuilds it
        table = np.loadtxt(Path(__file__).with_name("datasets") / "wisconsin.csv", delimiter=",",
                           skiprows=1, dtype=np.float32)
        return Dataset(table[:, :-1], table[:, -1].astype(np.int64), "vector", name, None,
                       ["benign", "malignant"])
    if name == "omniglot":
        return _omniglot()
    if name == "faces":
        X, y = faces(_opt(opts, "people", int, 20), _opt(opts, "per", int, 32), seed=seed)
        return Dataset(X, y, "image", name, X.shape[1:], [f"person {i}" for i in range(int(y.max()) + 1)])
    gen = {
        "moons": lambda n, z: skd.make_moons(n, noise=z, random_state=seed),
        "spirals": lambda n, z: spirals(n, noise=z, seed=seed),
        "circles": lambda n, z: skd.make_circles(n, noise=z, factor=0.5, random_state=seed),
        "blobs": lambda n, z: skd.make_blobs(n, centers=4, cluster_std=z, random_state=seed),
    }[name]
    size = {"moons": 1000, "spirals": 3000, "circles": 1000, "blobs": 1000}[name]
    noise = {"moons": 0.05, "spirals": 0.16, "circles": 0.05, "blobs": 1.0}[name]
    n = _opt(opts, "n", int, size)
    if n < 4:
        raise DatasetError(f"{name}: n={n} is too small; use n >= 4.")
    check_generated(name, n, 2)
    X, y = gen(n, _opt(opts, "noise", float, noise))
    k = int(np.unique(y).size)
    return Dataset(X.astype(np.float32), y.astype(np.int64), "vector", name, None,
                   [str(i) for i in range(k)])


def faces(people: int = 20, per: int = 32, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic faces (generated, no real person; a stand-in for the CMU face set of the
    KNet paper, which cannot be shipped): each person a fixed face -- head shape, eye
    spacing and size, brows, nose, mouth width, hair line, tone -- drawn ``per`` times with a
    turned pose (features shifted sideways), a tilt, an expression (mouth curve), lighting
    from one side and noise; (people x per, size, size) grey images in [0, 1]."""
    from PIL import Image, ImageDraw

    if not (2 <= people <= 500 and 2 <= per <= 1000):
        raise DatasetError("faces: people= must be 2..500 and per= 2..1000.")
    check_generated("faces", people * per, size * size)
    rng = np.random.default_rng(seed)
    X, y, s = [], [], size / 32.0
    for person in range(people):
        p = {"w": rng.uniform(9, 13), "h": rng.uniform(12, 15), "eye": rng.uniform(4, 7), "er": rng.uniform(1.0, 2.2),
             "brow": rng.uniform(-1.5, 1.5), "nose": rng.uniform(2, 5), "mouth": rng.uniform(3, 7),
             "hair": rng.uniform(3, 9), "tone": rng.uniform(0.45, 0.8)}
        for _ in range(per):
            turn, smile = rng.uniform(-2.5, 2.5), rng.uniform(-1.5, 1.5)
            img = Image.new("F", (size, size), 0.05)
            d = ImageDraw.Draw(img)
            cx, cy = size / 2 + turn * 0.4 * s, size / 2 + 1 * s
            d.ellipse((cx - p["w"] * s, cy - p["h"] * s, cx + p["w"] * s, cy + p["h"] * s), fill=p["tone"])
            d.rectangle((cx - p["w"] * s, cy - p["h"] * s, cx + p["w"] * s, cy - (p["h"] - p["hair"]) * s), fill=0.15)
            fx = cx + turn * s  # the features move further than the head: a turned face
            for side in (-1, 1):
                ex, ey = fx + side * p["eye"] * s, cy - 3 * s
                d.ellipse((ex - p["er"] * s, ey - p["er"] * s, ex + p["er"] * s, ey + p["er"] * s), fill=0.02)
                d.line((ex - 2 * s, ey - 3 * s - side * p["brow"] * s / 2, ex + 2 * s, ey - 3 * s + side * p["brow"] * s / 2),
                       fill=0.1, width=max(1, int(s)))
            d.line((fx, cy - 1 * s, fx + 0.5 * s, cy + p["nose"] * s - 1 * s), fill=0.3, width=max(1, int(s)))
            my = cy + (p["nose"] + 2) * s
            d.arc((fx - p["mouth"] * s, my - 2 * s - smile * s, fx + p["mouth"] * s, my + 2 * s + smile * s),
                  0 if smile >= 0 else 180, 180 if smile >= 0 else 360, fill=0.05, width=max(1, int(s)))
            img = img.rotate(rng.uniform(-8, 8), resample=Image.BILINEAR, fillcolor=0.05)
            a = np.asarray(img, dtype=np.float32) * np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0), size)[None]
            X.append(np.clip(a + rng.normal(scale=0.04, size=a.shape), 0, 1).astype(np.float32))
            y.append(person)
    return np.stack(X), np.asarray(y, dtype=np.int64)


OMNIGLOT_UNSEEN = ("Japanese_(katakana)", "Sanskrit", "Tagalog")


def _omniglot() -> Dataset:
    """Omniglot's two "background small" sets (Lake et al., Science 2015; MIT licence,
    ``datasets/OMNIGLOT_LICENSE``), shipped as ``datasets/omniglot.npz`` (made by
    ``scripts/make_omniglot.py``): 4,840 images of 28 x 28, 242 characters (classes) of
    8 alphabets (``class_groups``). The default unseen split holds out three whole
    alphabets (106 characters) that share nothing with the five seen ones (136)."""
    with np.load(Path(__file__).with_name("datasets") / "omniglot.npz", allow_pickle=False) as f:
        X = f["X"].astype(np.float32) / 255.0
        y = f["y"].astype(np.int64)
        names = [str(n) for n in f["class_names"]]
        groups = [str(a) for a in f["alphabets"]]
    unseen = tuple(i for i, g in enumerate(groups) if g in OMNIGLOT_UNSEEN)
    return Dataset(X, y, "image", "omniglot", (28, 28), names, groups, unseen)


def omniglot_ink(image, size: int = 28) -> np.ndarray:
    """An Omniglot PNG (black strokes on white) as ink = 1 on empty paper = 0, resized to
    size x size with Pillow's bilinear filter; uint8 0-255 (the embedded set's format)."""
    from PIL import Image

    ink = Image.fromarray(255 - np.asarray(image.convert("L"), dtype=np.uint8))
    return np.asarray(ink.resize((size, size), Image.BILINEAR), dtype=np.uint8)


def _torchvision_omniglot(opts: dict) -> Dataset:
    """The full Omniglot (1,623 characters of 50 alphabets, 32,460 images) through
    torchvision: ``omniglot_full:root=DIR,split=background|evaluation|all,size=28,
    download=1``. Downloads only with ``download=1``. With ``split=all`` the default
    unseen split is the 20 evaluation alphabets (Lake et al.'s one-shot protocol)."""
    import torchvision.datasets as tvd
    from PIL import Image

    root = Path(opts.pop("root", str(default_root()))).expanduser()
    split = opts.pop("split", "all").lower()
    download = opts.pop("download", "0").lower() in ("1", "true", "yes")
    size = _opt(opts, "size", int, 28)
    if split not in ("background", "evaluation", "all"):
        raise DatasetError(f"omniglot_full: split={split!r} is not known; use background, evaluation or all.")
    if not 8 <= size <= 105:
        raise DatasetError(f"omniglot_full: size={size} must be between 8 and 105.")
    parts = ["background", "evaluation"] if split == "all" else [split]
    X, y, names, unseen = [], [], [], []
    for part in parts:
        try:
            ds = tvd.Omniglot(str(root), background=part == "background", download=download)
        except (RuntimeError, OSError) as err:
            hint = ("the download failed (is the network reachable?)" if download else
                    f"pass download=1 to fetch it (e.g. 'omniglot_full:root={root},download=1')")
            raise DatasetError(f"omniglot_full ({part}) not found under {root}: {hint}. "
                               f"[{type(err).__name__}: {str(err).splitlines()[0][:120]}]") from None
        base = len(names)
        names += [c.replace("\\", "/") for c in ds._characters]
        if part == "evaluation" and split == "all":
            unseen += range(base, len(names))
        for file, c in ds._flat_character_images:
            with Image.open(Path(ds.target_folder) / ds._characters[c] / file) as im:
                X.append(omniglot_ink(im, size).astype(np.float32) / 255.0)
            y.append(base + c)
    groups = [n.split("/")[0] for n in names]
    return Dataset(np.stack(X), np.asarray(y, dtype=np.int64), "image", "omniglot_full", (size, size),
                   names, groups, tuple(unseen))


TORCHVISION = {
    "mnist": "MNIST",
    "fashion_mnist": "FashionMNIST",
    "usps": "USPS",
    "cifar10": "CIFAR10",
    "stl10": "STL10",
    "omniglot_full": "Omniglot",
}


def default_root() -> Path:
    return Path(settings().data).expanduser()


def _torchvision(name: str, opts: dict) -> Dataset:
    import torchvision.datasets as tvd

    if name == "omniglot_full":
        return _torchvision_omniglot(opts)

    root = Path(opts.pop("root", str(default_root()))).expanduser()
    split = opts.pop("split", "train").lower()
    download = opts.pop("download", "0").lower() in ("1", "true", "yes")
    if split not in ("train", "test") and not (name == "stl10" and split == "unlabeled"):
        raise DatasetError(f"{name}: split={split!r} is not known; use split=train or split=test.")
    cls = getattr(tvd, TORCHVISION[name])
    kwargs = {"split": split} if name == "stl10" else {"train": split == "train"}
    try:
        ds = cls(str(root), download=download, **kwargs)
    except (RuntimeError, OSError) as err:
        hint = ("the download failed (is the network reachable?)" if download else
                f"pass download=1 to fetch it (e.g. '{name}:root={root},download=1'), "
                "or point root= at a folder that holds it")
        raise DatasetError(f"{name} ({split}) not found under {root}: {hint}. "
                           f"[{type(err).__name__}: {str(err).splitlines()[0][:120]}]") from None
    data = ds.data.numpy() if hasattr(ds.data, "numpy") else np.asarray(ds.data)
    targets = getattr(ds, "targets", None)
    if targets is None:
        targets = ds.labels
    y = np.asarray(targets, dtype=np.int64)
    if data.ndim == 4 and data.shape[-1] == 3:  # CIFAR: (N, H, W, C) -> (N, C, H, W)
        data = data.transpose(0, 3, 1, 2)
    X = data.astype(np.float32) / 255.0
    classes = list(getattr(ds, "classes", [])) or [str(c) for c in np.unique(y)]
    if y.min() < 0:  # STL10 unlabeled split marks labels -1
        y = None
    return Dataset(X, y, "image", name, tuple(X.shape[1:]), [str(c) for c in classes])


def _check_arrays(X: np.ndarray, y: np.ndarray | None, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    if X.dtype.kind not in "fiub":
        raise DatasetError(f"{where}: X has dtype {X.dtype}; expected numbers.")
    if X.ndim not in (2, 3, 4):
        raise DatasetError(f"{where}: X has shape {X.shape}; expected (N, d), (N, H, W) or (N, C, H, W).")
    if X.shape[0] < 2:
        raise DatasetError(f"{where}: X holds {X.shape[0]} samples; need at least 2.")
    X = X.astype(np.float32)
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).reshape(X.shape[0], -1).any(1).sum())
        raise DatasetError(f"{where}: X has NaN or infinite values in {bad} samples; clean or drop them.")
    if y is not None:
        y = np.asarray(y).ravel()
        if y.shape[0] != X.shape[0]:
            raise DatasetError(f"{where}: y has {y.shape[0]} labels but X has {X.shape[0]} samples.")
        if y.dtype.kind == "f":
            if not np.isfinite(y).all() or (y != np.round(y)).any():
                raise DatasetError(f"{where}: y must hold integer class labels.")
        _, y = np.unique(y, return_inverse=True)  # any label values -> 0..K-1
        y = y.astype(np.int64)
    return X, y


def _npz(path: Path, opts: dict) -> Dataset:
    try:
        check_npz(path, str(path))  # declared sizes first: a 1.5 MB file can declare 1.5 GiB
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f.files:
                raise DatasetError(f"{path}: no array named 'X' (found {sorted(f.files)}); "
                                   "save with np.savez(path, X=..., y=...).")
            X = f["X"]
            y = f["y"] if "y" in f.files else None
    except DatasetError:
        raise
    except BudgetError as err:
        raise DatasetError(str(err)) from None
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file.") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:  # damage, pickled objects ...
        raise DatasetError(f"{path}: not a readable .npz of numeric arrays ({err}).") from None
    scale = 255.0 if X.dtype == np.uint8 else 1.0  # 8-bit images: to [0, 1] like every image here
    X, y = _check_arrays(X, y, str(path))
    X = _as_images(X / scale if scale != 1.0 else X, opts, path)
    is_img = X.ndim > 2
    names = [str(i) for i in range(int(y.max()) + 1)] if y is not None else []
    return Dataset(X, y, "image" if is_img else "vector", f"npz:{path}",
                   tuple(X.shape[1:]) if is_img else None, names)


def _as_images(X: np.ndarray, opts: dict, path) -> np.ndarray:
    """``shape=28x28`` (or ``1x28x28``, channels first): rows of pixels read as images."""
    text = opts.pop("shape", None)
    if text is None:
        return X
    try:
        shape = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise DatasetError(f"{path}: shape={text!r}; give the image size as HxW or CxHxW, e.g. shape=28x28.")
    if int(np.prod(shape)) != int(np.prod(X.shape[1:])):
        raise DatasetError(f"{path}: shape={text} holds {int(np.prod(shape))} values but each sample has "
                           f"{int(np.prod(X.shape[1:]))}.")
    return X.reshape((X.shape[0], *shape))


def _csv(path: Path, opts: dict) -> Dataset:
    try:
        with open(path, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(f"{path}: not a readable CSV file ({err}).") from None
    if not rows:
        raise DatasetError(f"{path}: the file is empty.")
    header = None
    try:
        float(rows[0][0])
    except ValueError:
        header, rows = [h.strip() for h in rows[0]], rows[1:]
    with_label = header is not None and header[-1].lower() == "label"
    width = len(header) if header else len(rows[0])
    if any(len(r) != width for r in rows):
        raise DatasetError(f"{path}: rows have different numbers of columns; expected {width} each.")
    feats = [r[:-1] for r in rows] if with_label else rows
    try:
        X = np.asarray(feats, dtype=np.float64)
    except ValueError as err:
        raise DatasetError(f"{path}: non-numeric feature value ({err}); "
                           "only the last column, headed 'label', may hold text.") from None
    labels = [r[-1] for r in rows] if with_label else None
    names = []
    if labels is not None:
        names, y = np.unique(np.asarray(labels), return_inverse=True)
        names = [str(n) for n in names]
    else:
        y = None
    X, y = _check_arrays(X, y, str(path))
    X = _as_images(X, opts, path)
    is_img = X.ndim > 2
    return Dataset(X, y, "image" if is_img else "vector", f"csv:{path}", tuple(X.shape[1:]) if is_img else None,
                   names)


IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _folder(path: Path, opts: dict) -> Dataset:
    """One sub-folder of images per class, resized to ``size`` (default: the first image's
    larger side), grey or RGB as the first image. ``lazy=1``: the images stay on disk and
    are read by a DataLoader while training (``stream.LazyImages``; ``workers=`` its worker
    processes, default 2) -- for sets that do not fit in memory."""

    files, classes, mode, size = _scan_folder(path, opts)
    if "n" in opts:  # a subset: read only its files (load_dataset's own subset is then all of them)
        n, seed = _opt(dict(opts), "n", int, None), _opt(dict(opts), "seed", int, 0)
        files = [files[i] for i in stratified_subset(np.asarray([ci for ci, _ in files]), len(files),
                                                     max(n, 2), seed)]
    y = np.asarray([ci for ci, _ in files], dtype=np.int64)
    lazy = _opt(opts, "lazy", int, 0)
    workers = _opt(opts, "workers", int, 2)
    if lazy:
        if workers < 0:
            raise DatasetError(f"{path}: workers={workers} must be 0 or more.")
        X = LazyImages([f for _, f in files], mode, size, workers=workers)
        return Dataset(X, y, "image", f"folder:{path}", tuple(X.shape[1:]), [c.name for c in classes])
    need = len(files) * size * size * (1 if mode == "L" else 3) * 4
    if need > max_array_bytes():
        raise DatasetError(
            f"{path}: {len(files)} images of {size} x {size} need {need / 2**20:,.0f} MiB, above the "
            f"limit of {max_array_bytes() / 2**20:,.0f} MiB; pass size= (e.g. folder:PATH,size=64), "
            "read them lazily (lazy=1) or set CLUSTLIB_MAX_ARRAY_MB.")
    X = np.stack([read_image(f, mode, size) for _, f in files])
    X, yy = _check_arrays(X, y, str(path))
    return Dataset(X, yy, "image", f"folder:{path}", tuple(X.shape[1:]), [c.name for c in classes])


def _scan_folder(path: Path, opts: dict):
    """(files as (class id, path), class folders, mode "L"/"RGB", size) of an image folder,
    the mode and size from its first image."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder; folder: expects one sub-folder per class.")
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 1:
        raise DatasetError(f"{path}: no class sub-folders; put images in {path}/<class>/*.png.")
    size = _opt(opts, "size", int, 0)
    if size * size > max_image_pixels():
        raise DatasetError(f"{path}: size={size} gives more than {max_image_pixels():,} pixels per image.")
    files = [(ci, f) for ci, cdir in enumerate(classes) for f in sorted(cdir.iterdir())
             if f.suffix.lower() in IMAGE_EXT]
    if not files:
        raise DatasetError(f"{path}: no images ({', '.join(sorted(IMAGE_EXT))}) in the class folders.")
    try:
        with Image.open(files[0][1]) as im:  # reads the header only
            mode = "L" if im.mode in ("L", "1", "I", "I;16") else "RGB"
            size = size or max(im.size)
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetError(f"{files[0][1]}: not a readable image ({err}).") from None
    return files, classes, mode, size


FILE_KINDS = {"npz": _npz, "csv": _csv, "folder": _folder}


EMBEDDED = ("digits", "omniglot", "wine", "breast_cancer", "wisconsin", "iris", "moons", "spirals", "circles", "blobs",
            "faces")


def check_generated(name: str, n: int, features: int) -> None:
    """Refuse, before anything is allocated, a generated set of more than
    :func:`max_generated` samples or more float32 bytes than ``max_array_bytes()``."""

    limit = max_generated()
    if n > limit:
        raise DatasetError(f"{name}: n={n:,} is above the limit of {limit:,} generated samples; "
                           "set the environment variable CLUSTLIB_MAX_SAMPLES to raise it.")
    if n * features * 4 > max_array_bytes():
        raise DatasetError(f"{name}: {n:,} samples of {features:,} features would take {n * features * 4 / 2**20:,.0f} MiB, "
                           f"above the limit of {max_array_bytes() / 2**20:,.0f} MiB (CLUSTLIB_MAX_ARRAY_MB raises it).")


def max_generated() -> int:
    """Most samples a generated dataset may have ($CLUSTLIB_MAX_SAMPLES, default 1,000,000:
    ``moons:n=2000000000`` would allocate 7 GiB before anything could check it)."""
    return settings().max_samples
