"""Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
counter-based generator behind every fused LLGS kernel.

A draw is a pure function of (key, counter): the key is the 64-bit seed, the counter is
(trajectory, index, stream, 0), the index being the step pair (step // 2) for the thermal
field (one call gives two steps' normals: normals.py) and 0 for the reset state. Trajectory k
at step s therefore meets the same thermal field whatever the batch it runs in, the chunking
of its pulse or the device doing the arithmetic.
The code below is written once for numpy arrays and numba scalars alike (uint64 words holding
32-bit values, so a 32 x 32 -> 64-bit product gives the high and low halves); Triton's
``philox_impl`` runs the same rounds on the GPU.
"""

from __future__ import annotations

import numpy as np

ROUND_A = np.uint64(0xD2511F53)
ROUND_B = np.uint64(0xCD9E8D57)
KEY_A = np.uint64(0x9E3779B9)
KEY_B = np.uint64(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
ROUNDS = 10

STREAM_THERMAL_FIELD = 0  # counter word 2: the per-step thermal field
STREAM_INITIAL_STATE = 1  # counter word 2: the thermal reset state before a pulse


def seed_key(seed: int) -> tuple[int, int]:
    """The Philox key (low, high 32 bits) of a seed in [0, 2^64)."""
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed = {seed} is outside the allowed range [0, 2^64)")
    seed = int(seed)
    return seed & 0xFFFFFFFF, seed >> 32


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on the counter (c0..c3) with key (k0, k1), all uint64 holding 32-bit
    values; returns four 32-bit random words (as uint64)."""
    for _ in range(ROUNDS):
        p0 = ROUND_A * c0
        p1 = ROUND_B * c2
        c0, c1, c2, c3 = ((p1 >> SHIFT32) ^ c1 ^ k0), p1 & MASK32, \
            ((p0 >> SHIFT32) ^ c3 ^ k1), p0 & MASK32
        k0 = (k0 + KEY_A) & MASK32
        k1 = (k1 + KEY_B) & MASK32
    return c0, c1, c2, c3


def uniform_open(word: np.ndarray) -> np.ndarray:
    """The top 24 bits of a 32-bit word as a float64 in (0, 1), never 0 nor 1 (exact in
    float32 too, which is what the kernels use)."""
    return ((np.asarray(word, np.uint64) >> np.uint64(8)).astype(np.float64) + 0.5) * 2.0**-24


def words(seed: int, trajectories: np.ndarray, index: int, stream: int):
    """The four Philox words of each trajectory at one (index, stream), vectorised in numpy."""
    k0, k1 = seed_key(seed)
    c0 = np.asarray(trajectories, np.uint64)
    zeros = np.zeros_like(c0)
    return philox4x32_10(c0, zeros + np.uint64(index), zeros + np.uint64(stream), zeros,
                         np.uint64(k0), np.uint64(k1))
