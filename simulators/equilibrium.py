"""The Boltzmann check of an LLGS time step: does the integrator hold a device at the
temperature it was given?

RK4 with one thermal draw per step runs cold as dt grows (the discrete map damps the
fluctuations it is fed), which moves every thermally activated switching current: paper
000's 5 ps left mtj-000 9 % cold. The reference is the exact average of m_x^2 + m_y^2 over
the Boltzmann distribution exp(-E / kT) on the whole sphere, E = -M_s V (c . m^2 / 2 + h . m)
with the device's anisotropy-plus-demagnetising coefficients c and external field h; it equals
the one-well average when E is even in m_z (no field along z), which the simulation can then
start in either well.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from simulators.macrospin import KB, Macrospin

BOLTZMANN_TOLERANCE = 0.02  # relative error of <m_x^2 + m_y^2> a step may leave


def boltzmann_transverse_average(device: Macrospin, gate_voltage: float = 0.0) -> float:
    """Exact <m_x^2 + m_y^2> at zero current, by quadrature on a (cos theta, phi) grid
    (uniform measure on the sphere)."""
    z = np.linspace(-1.0, 1.0, 20001)  # the wells are 1 / (2 Delta) wide in m_z
    phi = np.linspace(0.0, 2 * np.pi, 181)[:-1]  # periodic: the trapezoid rule is spectral
    zz, pp = np.meshgrid(z, phi, indexing="ij")
    s = np.sqrt(1 - zz**2)
    m = (s * np.cos(pp), s * np.sin(pp), zz)
    c = device.field_coefficients(gate_voltage)
    energy = sum(c[i] * m[i] ** 2 / 2 + device.h_ext[i] * m[i] for i in range(3))
    scale = device.ms * device.volume / (KB * device.temperature)
    log_w = scale * energy
    w = np.exp(log_w - log_w.max())
    transverse = (1 - zz**2) * w
    return float(np.trapezoid(transverse.sum(1), z) / np.trapezoid(w.sum(1), z))


@dataclass(frozen=True)
class BoltzmannCheck:
    """Simulated against exact <m_x^2 + m_y^2>, with the simulation's standard error."""

    dt: float
    simulated: float
    simulated_err: float
    exact: float
    backend: str = "torch"  # the integrator checked: the one the device's runs take

    @property
    def relative_error(self) -> float:
        """simulated / exact - 1: how far the integrator's step leaves the Boltzmann average."""
        return self.simulated / self.exact - 1

    @property
    def passes(self) -> bool:
        """Whether the step keeps <m_x^2 + m_y^2> within ``BOLTZMANN_TOLERANCE`` (2 %) of the exact
        value."""
        return abs(self.relative_error) <= BOLTZMANN_TOLERANCE


def relaxation_time(device: Macrospin, gate_voltage: float = 0.0) -> float:
    """Time (s) in which damping relaxes m in its well: (1 + alpha^2) / (alpha gamma H_k).
    A low-damping, low-anisotropy device (vcma-004: alpha = 0.01, 56 mT) needs 10 ns."""
    return (1 + device.alpha**2) / (device.alpha * device.gamma * device.h_k(gate_voltage))


def measure_boltzmann(
    device: Macrospin, dt: float, trajectories: int = 2000, settle: float | None = None,
    average: float | None = None, seed: int = 1, backend: str = "auto",
) -> BoltzmannCheck:
    """Zero current from the thermal reset state: settle (default five relaxation times, at
    least 5 ns, so that what the start state gets wrong for a non-axial device is gone),
    then sample m_x^2 + m_y^2 once per nanosecond over ``average`` (default three relaxation
    times, at least 20 ns). The standard error is that of the trajectories' own time
    averages, which are independent (successive samples of one trajectory are not).
    ``backend``: auto checks the integrator the device's runs take (the fused CPU kernel
    when its physics is in it, else the torch reference); numba or torch."""
    from simulators.llgs import Pulse
    from simulators.llgs_kernels import choose_backend

    tau = relaxation_time(device)
    settle = max(5e-9, 5 * tau) if settle is None else settle
    average = max(20e-9, 3 * tau) if average is None else average
    backend = choose_backend("cpu", device, backend)
    advance = _fused_runner if backend == "numba" else _torch_runner
    transverse = advance(device, dt, trajectories, seed)
    transverse(Pulse(settle, relax=0.0))
    samples = max(2, round(average / 1e-9))
    total = np.zeros(trajectories)
    for _ in range(samples):
        total += transverse(Pulse(1e-9, relax=0.0))
    per_trajectory = total / samples
    err = float(per_trajectory.std(ddof=1) / np.sqrt(trajectories))
    return BoltzmannCheck(dt, float(per_trajectory.mean()), err,
                          boltzmann_transverse_average(device), backend)


def _fused_runner(device: Macrospin, dt: float, trajectories: int, seed: int):
    """pulse -> m_x^2 + m_y^2 (float64) after it, on the fused CPU kernel."""
    from simulators.llgs_kernels import FusedLLGS

    kernel = FusedLLGS(device, dt, seed)
    zero = np.zeros(trajectories)
    m = kernel.initial_states(trajectories)

    def run(pulse) -> np.ndarray:
        kernel.run(m, zero, pulse)
        return m[0].astype(np.float64) ** 2 + m[1].astype(np.float64) ** 2

    return run


def _torch_runner(device: Macrospin, dt: float, trajectories: int, seed: int):
    """pulse -> m_x^2 + m_y^2 (float64) after it, on the torch reference integrator."""
    from simulators.llgs import LLGSIntegrator, thermal_initial_states

    integrator = LLGSIntegrator(device, dt)
    gen = torch.Generator().manual_seed(seed)
    zero = np.zeros(trajectories)
    state = [thermal_initial_states(device, trajectories, gen)]

    def run(pulse) -> np.ndarray:
        state[0], _ = integrator.run(state[0], zero, pulse, gen)
        m = state[0].to(torch.float64)
        return (m[0] ** 2 + m[1] ** 2).numpy()

    return run


@lru_cache(maxsize=64)
def _cached_check(device: Macrospin, dt: float) -> BoltzmannCheck:
    tau = relaxation_time(device)
    return measure_boltzmann(device, dt, trajectories=1000, settle=max(3e-9, 5 * tau),
                             average=max(8e-9, tau))


def warn_if_off_temperature(device: Macrospin, dt: float) -> BoltzmannCheck | None:
    """A dt other than the device's default is checked once per process (a short zero-current
    run); one that misses Boltzmann by more than 2 % gets a warning with the measured error."""
    if dt == device.default_dt:
        return None
    check = _cached_check(device, dt)
    if not check.passes:
        warnings.warn(
            f"dt = {dt * 1e12:g} ps holds {device.name} {check.relative_error:+.1%} off its "
            f"temperature (<m_x^2 + m_y^2> = {check.simulated:.4g} against Boltzmann "
            f"{check.exact:.4g}; allowed +-{BOLTZMANN_TOLERANCE:.0%}); its default dt = "
            f"{device.default_dt * 1e12:g} ps passes", stacklevel=3)
    return check
