"""Exact references for a uniaxial macrospin with axial symmetry (N_x = N_y, no field in
plane): the Boltzmann average and Brown's mean first-passage time (Brown 1963)."""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad

from simulators.macrospin import KB, Macrospin


def boltzmann_transverse(delta: float) -> float:
    """<m_x^2 + m_y^2> in one well of E / kT = -Delta m_z^2."""
    weight = lambda z: np.exp(delta * (z * z - 1.0))  # noqa: E731
    num, _ = quad(lambda z: (1 - z * z) * weight(z), 0.0, 1.0, epsabs=1e-14)
    den, _ = quad(weight, 0.0, 1.0, epsabs=1e-14)
    return num / den


def neel_time(device: Macrospin) -> float:
    """tau_N = (1 + alpha^2) M_s V / (2 gamma alpha k_B T): the diffusion time of Brown's
    Fokker-Planck equation for m_z."""
    return (1 + device.alpha**2) * device.ms * device.volume / (
        2 * device.gamma * device.alpha * KB * device.temperature)


def brown_mean_first_passage(delta: float, tau_n: float, z0: float = 1.0) -> float:
    """Mean time from m_z = z0 to the barrier top m_z = 0 (reflecting at m_z = 1):
    T(z0) = 2 tau_N int_0^z0 dz e^{-Delta z^2} / (1 - z^2) int_z^1 e^{Delta y^2} dy."""

    def inner(z: float) -> float:
        value, _ = quad(lambda y: np.exp(delta * (y * y - z * z)), z, 1.0, epsabs=1e-14)
        return value / (1.0 - z * z) if z < 1 else 1.0 / (2.0 * 1.0)

    outer, _ = quad(inner, 0.0, z0, limit=200, epsabs=1e-12)
    return 2.0 * tau_n * outer
