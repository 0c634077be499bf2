"""Training data as the mini-batch methods (DAC, DSCL, SeCu) read it: one tensor in memory
(:class:`Memory`), or images read from disk while training (:class:`Disk` over
:class:`LazyImages` or any map-style torch ``Dataset``, e.g. a torchvision
``ImageFolder``) by a ``DataLoader`` with worker processes.

A method asks a source for three things: ``batches(index_batches)`` (the samples of each
index batch, in order: training steps, BN recalibration), ``chunks(size)`` (the whole set
in order: features for assignment, k-means start, final labels) and ``take(index)`` (a
small set: the tracked points of Snapshots, cached when read from disk). On disk, memory is
bounded by a batch, a chunk and the tracked points, not by the set.

>>> import numpy as np, torch
>>> src = Memory(torch.arange(10.0)[:, None])
>>> [b[:, 0].tolist() for b in src.batches([torch.tensor([3, 1]), torch.tensor([0])])]
[[3.0, 1.0], [0.0]]
>>> src.n
10
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from .dataset import DatasetError
from .limits import max_image_pixels


class LazyImages(TorchDataset):
    """An image folder read on demand (``folder:PATH,lazy=1``): item i is decoded when asked
    for, with the same pixels as the in-memory loader (:func:`read_image`). Array-like where
    the library needs it: ``len``, ``shape``, ``ndim``, ``X[i]`` (one image, a tensor) and
    ``X[index array]`` (the images of those indices, still on disk)."""

    def __init__(self, files: list[Path], mode: str, size: int, workers: int = 2):
        self.files, self.mode, self.size, self.workers = list(files), mode, int(size), int(workers)

    @property
    def shape(self) -> tuple[int, ...]:
        one = (self.size, self.size) if self.mode == "L" else (3, self.size, self.size)
        return (len(self.files), *one)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return torch.from_numpy(read_image(self.files[int(i)], self.mode, self.size))
        index = np.arange(len(self.files))[i]  # a slice, a mask or an index array: a subset
        return LazyImages([self.files[j] for j in np.atleast_1d(index)], self.mode, self.size, self.workers)


class _Items(TorchDataset):
    """A map-style torch dataset whose items are images or (image, target) pairs, as float32
    tensors (torchvision datasets with a ``ToTensor`` transform)."""

    def __init__(self, ds: TorchDataset):
        self.ds, self.workers = ds, 2
        first = self[0]
        self.shape = (len(ds), *first.shape)
        self.ndim = len(self.shape)
        targets = getattr(ds, "targets", None)
        self.targets = None if targets is None else np.asarray(targets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i):
        item = self.ds[int(i)]
        item = item[0] if isinstance(item, (tuple, list)) else item
        return torch.as_tensor(np.asarray(item), dtype=torch.float32)


def is_lazy(X) -> bool:
    """Data that stays on disk: a :class:`LazyImages` or any torch ``Dataset``."""
    return isinstance(X, TorchDataset)


def as_lazy(X) -> TorchDataset:
    """``X`` as a dataset of float32 image tensors with ``shape`` (checked: a clear error for
    an empty dataset or items that are not images)."""
    if isinstance(X, (LazyImages, _Items)):
        return X
    try:
        n = len(X)
    except TypeError:
        raise ValueError(f"a torch Dataset given as X needs a length; {type(X).__name__} has none.") from None
    if n < 1:
        raise ValueError("X is an empty dataset.")
    out = _Items(X)
    if len(out.shape) not in (3, 4):
        raise ValueError(f"items of {type(X).__name__} have shape {out.shape[1:]}; a dataset read lazily must hold "
                         "images, (H, W) or (C, H, W).")
    return out


class Memory:
    """The whole set as one tensor on the training device."""

    def __init__(self, X: torch.Tensor):
        self.X = X
        self.n = int(X.shape[0])

    def batches(self, index_batches: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        for idx in index_batches:
            yield self.X[torch.as_tensor(idx).to(self.X.device)]

    def chunks(self, size: int) -> Iterator[torch.Tensor]:
        yield from self.X.split(size)

    def take(self, idx) -> torch.Tensor:
        return self.X[torch.as_tensor(idx, dtype=torch.long).to(self.X.device)]


class Disk:
    """Images read from disk by a ``DataLoader`` (``workers`` processes, prefetching) and
    moved to ``device`` batch by batch."""

    def __init__(self, images: TorchDataset, device: torch.device, workers: int | None = None):
        self.images, self.device = images, device
        self.workers = int(getattr(images, "workers", 2) if workers is None else workers)
        self.n = len(images)
        self._taken: tuple[bytes, torch.Tensor] | None = None

    def batches(self, index_batches: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        sampler = [torch.as_tensor(idx).tolist() for idx in index_batches]
        if not sampler:
            return
        # its own generator: a loader seeds its workers from the global RNG otherwise, which
        # would change the augmentations of a seeded fit (reading draws nothing at random)
        loader = DataLoader(self.images, batch_sampler=sampler, num_workers=min(self.workers, len(sampler)),
                            pin_memory=self.device.type == "cuda", generator=torch.Generator())
        try:
            for x in loader:
                yield x.to(self.device, non_blocking=True)
        except ValueError as err:  # DatasetError: a worker's message ends with the original's
            if isinstance(err, DatasetError) and "DatasetError: " in str(err):
                raise DatasetError(str(err).strip().splitlines()[-1].split("DatasetError: ", 1)[1]) from None
            raise

    def chunks(self, size: int) -> Iterator[torch.Tensor]:
        yield from self.batches(torch.arange(self.n).split(size))

    def take(self, idx) -> torch.Tensor:
        """A small set (the tracked points), read once and kept."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        key = idx.numpy().tobytes()
        if self._taken is None or self._taken[0] != key:
            self._taken = (key, torch.cat(list(self.batches(idx.split(1024)))) if idx.numel()
                           else torch.empty((0, *self.images.shape[1:]), device=self.device))
        return self._taken[1]


def source(X, device: torch.device, prepare=None) -> Memory | Disk:
    """The source a method trains from: on disk for lazy data, else ``prepare(X)`` (a
    method's scaling to a tensor; default: the array as a float32 tensor) in memory."""
    if is_lazy(X):
        return Disk(X, device)
    return Memory(prepare(X) if prepare else torch.as_tensor(X, dtype=torch.float32, device=device))


def read_image(f: Path, mode: str, size: int) -> np.ndarray:
    """One image as float32 in [0, 1]: (size, size) for "L", (3, size, size) for "RGB";
    one-line DatasetError for an unreadable file or one above the pixel limit."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(f) as im:  # reads the header only
            if im.size[0] * im.size[1] > max_image_pixels():
                raise DatasetError(f"{f}: {im.size[0]} x {im.size[1]} pixels, above the limit of "
                                   f"{max_image_pixels():,} (set CLUSTLIB_MAX_IMAGE_PIXELS to raise it).")
            a = np.asarray(im.convert(mode).resize((size, size)), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetError(f"{f}: not a readable image ({err}).") from None
    return a.transpose(2, 0, 1) if a.ndim == 3 else a
