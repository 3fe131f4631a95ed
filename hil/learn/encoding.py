"""Poisson spike trains (paper 002 Methods 4.5-4.6).

Per time step a pixel of intensity x in [0, 1] spikes with probability x * f_max * dt
(the norse convention); paper 002 uses f_max = 1000 Hz and dt = 1 ms, so probability x.
"""

from __future__ import annotations

import torch

F_MAX = 1000.0  # Hz, paper 002 Methods 4.5
DT = 1e-3  # s


def poisson_spikes(
    intensities: torch.Tensor,
    steps: int,
    generator: torch.Generator | None = None,
    f_max: float = F_MAX,
    dt: float = DT,
) -> torch.Tensor:
    """Spike trains of shape (steps, *intensities.shape), as float 0/1."""
    if steps <= 0:
        raise ValueError(f"steps = {steps} is outside the allowed range [1, inf)")
    if intensities.numel() and (intensities.min() < 0 or intensities.max() > 1):
        raise ValueError("intensities must lie in [0, 1]")
    p = (intensities * (f_max * dt)).clamp(0.0, 1.0)
    draws = torch.rand((steps, *intensities.shape), generator=generator, dtype=p.dtype)
    return (draws < p).to(p.dtype)
