"""The physical side of the virtual lab: a chip of Hall bars and the coil.

Every current the emulated 6221 drives goes through the routed device for as long as it
flows in virtual time, and switches it with the Hall-bar model's probability towards the
state sign(I * H_x): switching needs the in-plane field, and its sign sets the polarity
(simulators/hallbar.py; paper 002: at +200 Oe, I > 0 writes -1 -> +1, I < 0 resets).
H_x is the coil's field while the 2400 drives it, and otherwise the setup's standing
in-plane field (paper 002 Fig. 2a: 200 Oe along the current for every cycle).
The 2000 reads V = R_AHE(state, H_x) * I + offset + noise (paper 002 Eq. 6); H_x tilts
the magnetisation and lowers R_AHE as Eq. S2 describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulators.hallbar import OPERATING_FIELD, HallBars, switch_target
from simulators.lab.clock import LabClock  # noqa: F401  (the clock lives in clock.py)
from simulators.presets import hall_bar_preset

H_ANISOTROPY = 4e-7 * np.pi * 5.8e5  # T, paper 002 SI S1 (H_an = 5.8e5 A/m)
READ_NOISE = 2e-7  # V rms at 1 NPLC (Keithley 2000 on its 100 mV range, order of magnitude)
HALL_OFFSET = 5e-6  # V, thermal EMF and misalignment of the voltage arms


@dataclass
class Chip:
    """Hall bars on one chip; ``selected`` is the device the router connects.

    Switching is thermal activation as a Poisson process: on entering a state each device
    draws a budget E ~ Exp(1) from its own generator and switches when the accumulated
    hazard, the integral of 1/tau(I(t)) dt over the currents that push it out (the
    Neel-Brown tau of simulators/hallbar.py), exceeds E. That is the Hall-bar model's
    P_sw = 1 - exp(-t/tau) for any pulse, and the outcome does not depend on how a current
    is cut into segments: the same pulses give the same switches whether a protocol is
    timed by software or by the instruments, and a device's state (``snapshot``) can be
    saved and restored exactly.
    """

    devices: HallBars
    seed: np.random.SeedSequence
    states: np.ndarray = field(init=False)
    selected: int = 0
    field_x: float = 0.0  # T, in-plane field from the coil
    bias_field: float = OPERATING_FIELD  # T, standing in-plane field when the coil is off
    stuck: dict[int, int] = field(default_factory=dict)  # fault injection: device -> state
    read_noise: float = READ_NOISE
    hall_offset: float = HALL_OFFSET

    def __post_init__(self) -> None:
        n = len(self.devices)
        switching, noise = self.seed.spawn(2)
        self._switch_rngs = [np.random.default_rng(s) for s in switching.spawn(n)]
        self._noise_rngs = [np.random.default_rng(s) for s in noise.spawn(n)]
        self._bars = [self.devices.select(j) for j in range(n)]
        self.states = -np.ones(n, dtype=int)
        self.budgets = np.array([rng.exponential() for rng in self._switch_rngs])

    def drive(self, current: float, duration: float) -> None:
        """A current through the selected device for ``duration`` seconds."""
        if current == 0 or duration <= 0:
            return
        j = self.selected
        if j in self.stuck:
            self.states[j] = self.stuck[j]
            return
        field = self.in_plane_field
        target = switch_target(current, field)
        if target == 0 or self.states[j] == target:  # no field: the torque has no polarity
            return
        rate = self._bars[j].switch_rate(np.array([current]), field)[0]
        self.budgets[j] -= duration * float(rate)
        if self.budgets[j] <= 0:
            self.states[j] = target
            self.budgets[j] = self._switch_rngs[j].exponential()

    @property
    def in_plane_field(self) -> float:
        """H_x (T) at the device: the coil's while it is driven, else the standing field."""
        return self.field_x if self.field_x != 0.0 else self.bias_field

    def hall_resistance(self) -> float:
        j = self.selected
        tilt = np.sqrt(max(0.0, 1.0 - (self.in_plane_field / H_ANISOTROPY) ** 2))
        return float(self.devices.r_offset[j] + self.devices.r_ahe[j] * self.states[j] * tilt)

    def hall_voltage(self, current: float, nplc: float) -> float:
        rng = self._noise_rngs[self.selected]
        noise = self.read_noise / np.sqrt(max(nplc, 1e-3)) * rng.standard_normal()
        return self.hall_resistance() * current + self.hall_offset + noise

    def snapshot(self, device: int) -> dict:
        """One device's state, budget and generators (JSON-ready)."""
        return {"device": device, "state": int(self.states[device]),
                "budget": float(self.budgets[device]),
                "switch_rng": self._switch_rngs[device].bit_generator.state,
                "noise_rng": self._noise_rngs[device].bit_generator.state}

    def restore(self, snapshot: dict) -> None:
        j = int(snapshot["device"])
        self.states[j] = int(snapshot["state"])
        self.budgets[j] = float(snapshot["budget"])
        self._switch_rngs[j].bit_generator.state = snapshot["switch_rng"]
        self._noise_rngs[j].bit_generator.state = snapshot["noise_rng"]


def build_chip(n_devices: int, width: float, seed: int | None, eta: float = 0.25) -> Chip:
    """The devices that ``hil lab serve`` and ``hil lab devices`` build from the same options."""
    if n_devices < 1:
        raise ValueError(f"devices = {n_devices} is outside the allowed range [1, 64]")
    preset = hall_bar_preset(width)
    device_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    devices = preset.draw(n_devices, eta, 0.0, np.random.default_rng(device_seed))
    return Chip(devices, noise_seed)
