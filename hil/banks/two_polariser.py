"""``TwoPolariserBank``: paper 003's neurons, each reading its activation and its gradient
from one device (Rodrigues et al., A design of magnetic tunnel junctions for the deployment
of neuromorphic hardware for edge computing).

A neuron's input is its field line's current; a read returns the activation (m_x, reference
layer 1) and paper 003's derivative (m_z^2, reference layer 2: the derivative of the tanh
that <m_x> is fitted with, not <m_x>'s own slope, ``own_derivative``), each the mean of
``samples``
independent samples of the layer's thermal state, plus Gaussian read noise as a fraction of
the largest component (1), as in the paper's Fig. 4. The time averages come from the Boltzmann
distribution of the device's energy by quadrature (simulators.two_polariser, checked against
the LLGS in tests/simulators/test_two_polariser.py); the sampling noise from its second moments.
Device-to-device variation (``eta``) scales each device's in-plane anisotropy field H_k, and
with it its barrier, by 1 + eta x, x ~ U[-1, 1] (seeded): its slope and its curvature vary.

Pre-activations are in the nominal device's own unit: z = 1 is the field line current
``unit_current`` at which the nominal tanh fit reaches tanh(1), so activation ~ A tanh(z) and
its derivative A sech^2(z) ~ (A / C) m_z^2, with A and C the nominal fits' scales.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

import numpy as np

from simulators.bounds import MAX_NEURONS, check_count
from simulators.macrospin import KB, Macrospin, in_plane_k_interface, macrospin_preset
from simulators.two_polariser import (
    FIELD_PER_AMPERE,
    boltzmann_readout,
    fit_sech2,
    fit_tanh,
    in_plane_h_k,
)

SPAN = 3.0  # |H| / H_k of the table and of the safe field-line current
TABLE_POINTS = 81  # 0.075 H_k apart: linear interpolation within 1e-3 of the curves
VARIATION_LEVELS = 7  # quadrature tables across 1 +- eta; neurons interpolate between them


def in_plane_barrier(device: Macrospin) -> float:
    """Barrier (kT) between +z and -z through x: M_s H_k V / (2 k_B T), H_k = c_z - c_x."""
    return in_plane_h_k(device) * device.ms * device.volume / (2 * KB * device.temperature)


def with_h_k_scaled(device: Macrospin, scale: float) -> Macrospin:
    """The same layer with its in-plane H_k (and so its barrier) times ``scale``, by K_i."""
    k_i = in_plane_k_interface(device, in_plane_barrier(device) * scale)
    return dataclasses.replace(device, k_interface=k_i)


@lru_cache(maxsize=64)
def _table(device: Macrospin, scale: float, fields: tuple[float, ...]) -> np.ndarray:
    """(4, U): <m_x>, std m_x, <m_z^2>, std m_z^2 of the scaled device at ``fields``."""
    # a 601 x 120 grid: within 2e-4 of a 3201 x 720 one
    r = boltzmann_readout(with_h_k_scaled(device, scale), np.array(fields), n_z=601, n_phi=120)
    return np.stack([r.mx, r.mx_std, r.mz2, r.mz2_std])


@dataclasses.dataclass(frozen=True)
class NominalFit:
    """The nominal device's curves in its own units u = H / H_k: <m_x> = A tanh(s u),
    <m_z^2> = C sech^2(s' u)."""

    activation_scale: float  # A
    activation_slope: float  # s
    derivative_scale: float  # C
    derivative_slope: float  # s'


class TwoPolariserBank:
    """Paper 003's neurons (Rodrigues et al., A design of magnetic tunnel junctions for the
    deployment of neuromorphic hardware for edge computing): each read returns the activation
    and the derivative the backward pass uses, from one device (module docstring)."""
    def __init__(
        self, n_neurons: int, preset: str | Macrospin = "mtj-003", samples: int = 100,
        read_noise: float = 0.0, eta: float = 0.0, seed: int | None = 0,
    ) -> None:
        self.device = macrospin_preset(preset) if isinstance(preset, str) else preset
        check_count("n_neurons", n_neurons, 1, MAX_NEURONS)
        check_count("samples", samples, 1, 10**9, "samples averaged per read")
        if not 0 <= read_noise <= 1:
            raise ValueError(f"read_noise = {read_noise:g} is outside the allowed range [0, 1]")
        if not 0 <= eta < 1:
            raise ValueError(f"eta = {eta:g} is outside the allowed range [0, 1)")
        c = self.device.field_coefficients()
        if not c[2] > c[0] > c[1]:
            raise ValueError(f"preset = {self.device.name!r} does not hold its layer in the x-z "
                             "plane (needs easy z, hard y: c_z > c_x > c_y); allowed: a "
                             "two-polariser preset such as mtj-003")
        self.n_neurons, self.samples = n_neurons, samples
        self.read_noise, self.eta = read_noise, eta
        self.h_k = in_plane_h_k(self.device)
        self.u_grid = np.linspace(-SPAN, SPAN, TABLE_POINTS)
        fields = tuple((self.u_grid * self.h_k).tolist())
        nominal = _table(self.device, 1.0, fields)
        act, der = fit_tanh(self.u_grid, nominal[0]), fit_sech2(self.u_grid, nominal[2])
        self.nominal = NominalFit(act.scale, act.slope, der.scale, der.slope)
        self.unit_current = self.h_k / (act.slope * FIELD_PER_AMPERE)
        self.max_current = SPAN * self.h_k / FIELD_PER_AMPERE
        seeds = np.random.SeedSequence(0 if seed is None else seed).spawn(2)
        x = np.random.default_rng(seeds[0]).uniform(-1.0, 1.0, n_neurons)
        self.h_k_scale = 1.0 + eta * x
        self.tables = self._neuron_tables(fields)  # (n, 4, U)
        self.rng = np.random.default_rng(seeds[1])
        self._closed = False

    def _neuron_tables(self, fields: tuple[float, ...]) -> np.ndarray:
        if self.eta == 0:
            return np.broadcast_to(_table(self.device, 1.0, fields),
                                   (self.n_neurons, 4, len(fields))).copy()
        levels = np.linspace(1 - self.eta, 1 + self.eta, VARIATION_LEVELS)
        tables = np.stack([_table(self.device, float(g), fields) for g in levels])
        pos = np.interp(self.h_k_scale, levels, np.arange(levels.size))
        low = np.minimum(np.floor(pos).astype(int), levels.size - 2)
        frac = (pos - low)[:, None, None]
        return (1 - frac) * tables[low] + frac * tables[low + 1]

    @property
    def pre_activation_limit(self) -> float:
        """|z| the field lines may carry: SPAN H_k in the nominal unit."""
        return self.max_current / self.unit_current

    def read(self, currents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Field-line ``currents`` (..., n_neurons), A -> (activation m_x, derivative m_z^2),
        each averaged over ``samples`` samples, with read noise. A current beyond the safe
        limit is refused before any is applied."""
        if self._closed:
            raise RuntimeError("the two-polariser bank is closed")
        currents = np.asarray(currents, float)
        if currents.ndim == 0 or currents.shape[-1] != self.n_neurons:
            raise ValueError(f"currents: last axis must hold the {self.n_neurons} neurons, got "
                             f"shape {currents.shape}")
        if not np.all(np.isfinite(currents)):
            raise ValueError("currents: every field-line current must be finite")
        if np.any(np.abs(currents) > self.max_current * (1 + 1e-12)):
            raise ValueError(f"currents: {np.abs(currents).max() * 1e3:.4g} mA exceeds the safe "
                             f"limit, allowed range [-{self.max_current * 1e3:.4g}, "
                             f"{self.max_current * 1e3:.4g}] mA (|H| <= {SPAN:g} H_k)")
        mean = self._mean(currents)
        root = np.sqrt(self.samples)
        noise = self.rng.standard_normal((2, *currents.shape))
        activation = mean[..., 0] + mean[..., 1] / root * noise[0]
        derivative = mean[..., 2] + mean[..., 3] / root * noise[1]
        if self.read_noise > 0:
            activation = activation + self.read_noise * self.rng.standard_normal(currents.shape)
            derivative = derivative + self.read_noise * self.rng.standard_normal(currents.shape)
        return activation, derivative

    def _mean(self, currents: np.ndarray) -> np.ndarray:
        """(..., n, 4): each neuron's table (<m_x>, std m_x, <m_z^2>, std m_z^2) at its
        field-line current, interpolated linearly."""
        u = currents * FIELD_PER_AMPERE / self.h_k
        pos = (u - self.u_grid[0]) / (self.u_grid[1] - self.u_grid[0])
        low = np.clip(np.floor(pos).astype(int), 0, self.u_grid.size - 2)
        frac = pos - low
        neuron = np.arange(self.n_neurons)
        t0, t1 = self.tables[neuron, :, low], self.tables[neuron, :, low + 1]  # (..., n, 4)
        return (1 - frac)[..., None] * t0 + frac[..., None] * t1

    def own_derivative(self, z: np.ndarray) -> np.ndarray:
        """The device's own slope d<m_x>/dz, in the activation's unit: by the
        fluctuation-response identity of the Boltzmann distribution, d<m_x>/dH =
        (M_s V / k_B T) Var(m_x), exact and noise-free here. Neither the second polariser's
        read (``activate``) nor software's A sech^2(z) is this slope: both are the tanh
        fit's derivative, which misses it by up to 17 % of its peak (0.98 against 0.83 at
        z = 0, where the layer still sits in its +-z wells)."""
        z = np.clip(np.asarray(z, float), -self.pre_activation_limit, self.pre_activation_limit)
        std = self._mean(z * self.unit_current)[..., 1]
        field_per_z = self.unit_current * FIELD_PER_AMPERE  # T per unit of z
        per_tesla = self.device.ms * self.device.volume / (KB * self.device.temperature)
        return std**2 * per_tesla * field_per_z

    def activate(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pre-activations z (nominal units, clipped to the safe range) -> (activation, the
        second polariser's derivative (A / C) m_z^2): paper 003's read of the tanh fit's
        derivative A sech^2(s u), in hardware. It is not the device's own slope
        d<m_x>/dz (``own_derivative``), which differs from it by up to 17 % of its peak."""
        z = np.clip(np.asarray(z, float), -self.pre_activation_limit, self.pre_activation_limit)
        activation, mz2 = self.read(z * self.unit_current)
        return activation, mz2 * self.nominal.activation_scale / self.nominal.derivative_scale

    def software_derivative(self, z: np.ndarray) -> np.ndarray:
        """Software's analytic derivative of the nominal activation A tanh(z): A sech^2(z)."""
        return self.nominal.activation_scale / np.cosh(np.asarray(z, float)) ** 2

    def get_state(self) -> Any:
        """The read-noise generator's state: what a resumed run needs to draw the same noise."""
        return self.rng.bit_generator.state

    def set_state(self, state: Any) -> None:
        """Restore the read-noise generator's state that ``get_state`` returned."""
        self.rng.bit_generator.state = state

    def close(self) -> None:
        """Field lines off (a simulated bank has nothing to switch off). Idempotent."""
        self._closed = True

    def __enter__(self) -> TwoPolariserBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
