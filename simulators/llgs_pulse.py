"""The write pulse and the RK4 step bound shared by every LLGS backend (no torch here, so the
command line reaches the fused kernels without importing it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.bounds import MAX_LLGS_STEPS, OutOfRange, check_llgs_steps
from simulators.macrospin import Macrospin

RK4_STABILITY = 2.0 * math.sqrt(2.0)  # |omega dt| bound of classical RK4 on the imaginary axis


@dataclass(frozen=True)
class Pulse:
    """Trapezoidal current pulse: ``rise`` up, ``width`` at full amplitude, ``fall`` down,
    then ``relax`` with no current before the state is read."""

    width: float
    rise: float = 0.0
    fall: float = 0.0
    relax: float = 2e-9

    def __post_init__(self) -> None:
        # positive and finite here; how long a pulse may last depends on dt (``steps_for``)
        for name in ("width", "rise", "fall", "relax"):
            value = getattr(self, name)
            field = "pulse_width" if name == "width" else name
            if not (math.isfinite(value) and (value > 0 if name == "width" else value >= 0)):
                low = "(0" if name == "width" else "[0"
                raise OutOfRange(field, f"{field} = {value:g} s is outside the allowed range "
                                 f"{low}, {MAX_LLGS_STEPS:.0e} dt] (at most "
                                 f"{MAX_LLGS_STEPS:.0e} LLGS steps in one integration)")

    @property
    def duration(self) -> float:
        """Total time integrated (s): rise + width + fall + relax."""
        return self.rise + self.width + self.fall + self.relax

    def shape(self, t: float) -> float:
        """Fraction of the amplitude at time t."""
        if t < self.rise:
            return t / self.rise
        t -= self.rise
        if t <= self.width:
            return 1.0
        t -= self.width
        if t < self.fall:
            return 1.0 - t / self.fall
        return 0.0


def steps_for(duration: float, dt: float, field: str = "pulse_width") -> int:
    """Whole steps that cover ``duration`` (tolerant of rounding); a duration beyond
    ``simulators.bounds.MAX_LLGS_STEPS`` steps is refused in ``field``'s name before any
    per-step table is made."""
    return check_llgs_steps(field, duration, dt)


def max_stable_current(device: Macrospin, dt: float, gate_voltage: float = 0.0) -> float:
    """The largest |current| (A) at which RK4 at ``dt`` stays stable (``stability_limit``
    solved for the current): the allowed range of the write currents at this step."""
    coeff = np.abs(device.field_coefficients(gate_voltage)).max()
    gamma_ll = device.gamma / (1 + device.alpha**2)
    thermal = 4 * device.thermal_field_std(dt)
    room = RK4_STABILITY / (gamma_ll * dt) - thermal - coeff - float(np.linalg.norm(device.h_ext))
    return max(0.0, room / (device.torque_per_ampere() * (1 + device.alpha)))


def stability_limit(
    device: Macrospin, max_current: float = 0.0, gate_voltage: float = 0.0
) -> float:
    """Largest dt (s) for which RK4 stays stable: omega_max dt < 2 sqrt(2), with omega_max from
    the anisotropy, demagnetising, external and torque fields (thermal field at 4 sigma)."""
    coeff = np.abs(device.field_coefficients(gate_voltage)).max()
    torque = abs(max_current) * device.torque_per_ampere() * (1 + device.alpha)
    static = coeff + float(np.linalg.norm(device.h_ext)) + torque
    gamma_ll = device.gamma / (1 + device.alpha**2)
    # the thermal field grows as dt^-1/2: solve gamma' (static + 4 u(dt)) dt = bound
    u1 = device.thermal_field_std(1.0)  # u(dt) = u1 / sqrt(dt)
    bound = RK4_STABILITY / gamma_ll
    s = (-4 * u1 + math.sqrt(16 * u1 * u1 + 4 * static * bound)) / (2 * static)
    return s * s


def check_dt(
    device: Macrospin, dt: float, currents: np.ndarray, gate_voltages: np.ndarray | None = None
) -> None:
    """Refuse a dt beyond the RK4 stability limit at the largest current of the batch."""
    if not dt > 0:
        raise ValueError(f"dt = {dt:g} s is outside the allowed range (0, inf)")
    gates = [0.0] if gate_voltages is None else np.unique(gate_voltages)
    currents = np.asarray(currents, float)
    i_max = float(np.abs(currents).max()) if currents.size else 0.0
    limit = min(stability_limit(device, i_max, g) for g in gates)
    if dt > limit:
        raise ValueError(
            f"dt = {dt * 1e12:g} ps exceeds the RK4 stability limit of "
            f"{limit * 1e12:.3g} ps for {device.name} at {i_max * 1e6:g} uA; "
            f"allowed range (0, {limit * 1e12:.3g}] ps")
