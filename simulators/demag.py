"""Demagnetising factors of a uniformly magnetised rectangular prism (Aharoni 1998, exact)."""

from __future__ import annotations

import numpy as np


def _nz(a: float, b: float, c: float) -> float:
    """N_z of a prism with half-sides a, b (in plane) and c (along z)."""
    abc = a * b * c
    r = np.sqrt(a * a + b * b + c * c)
    rab, rbc, rac = np.sqrt(a * a + b * b), np.sqrt(b * b + c * c), np.sqrt(a * a + c * c)
    terms = (
        (b * b - c * c) / (2 * b * c) * np.log((r - a) / (r + a))
        + (a * a - c * c) / (2 * a * c) * np.log((r - b) / (r + b))
        + b / (2 * c) * np.log((rab + a) / (rab - a))
        + a / (2 * c) * np.log((rab + b) / (rab - b))
        + c / (2 * a) * np.log((rbc - b) / (rbc + b))
        + c / (2 * b) * np.log((rac - a) / (rac + a))
        + 2 * np.arctan(a * b / (c * r))
        + (a**3 + b**3 - 2 * c**3) / (3 * abc)
        + (a * a + b * b - 2 * c * c) / (3 * abc) * r
        + c / (a * b) * (rac + rbc)
        - (rab**3 + rbc**3 + rac**3) / (3 * abc)
    )
    return float(terms / np.pi)


def prism_demag_factors(length_x: float, length_y: float, thickness: float) -> tuple[float, ...]:
    """(N_x, N_y, N_z) of an x-by-y-by-z prism; they sum to 1."""
    a, b, c = length_x / 2, length_y / 2, thickness / 2
    return (_nz(b, c, a), _nz(c, a, b), _nz(a, b, c))
