"""The physical side of the virtual lab: a chip of Hall bars, the coil, and the clock.

Every current the emulated 6221 drives goes through the routed device for as long as it
flows in virtual time, and switches it with the Hall-bar model's probability (paper 002:
I > 0 writes -1 -> +1, I < 0 resets). The 2000 reads V = R_AHE(state, H_x) * I + offset +
noise (paper 002 Eq. 6). H_x from the 2400-driven coil tilts the magnetisation and lowers
R_AHE as Eq. S2 describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulators.hallbar import HallBars
from simulators.presets import hall_bar_preset

H_ANISOTROPY = 4e-7 * np.pi * 5.8e5  # T, paper 002 SI S1 (H_an = 5.8e5 A/m)
READ_NOISE = 2e-7  # V rms at 1 NPLC (Keithley 2000 on its 100 mV range, order of magnitude)
HALL_OFFSET = 5e-6  # V, thermal EMF and misalignment of the voltage arms
GPIB_LATENCY = 1e-3  # s per bus transaction, a typical GPIB figure


@dataclass
class LabClock:
    """Virtual time: what the real instruments would have taken."""

    seconds: float = 0.0
    bus_latency: float = GPIB_LATENCY
    line_frequency: float = 50.0

    def advance(self, dt: float) -> None:
        self.seconds += dt


@dataclass
class Chip:
    """Hall bars on one chip; ``selected`` is the device the router connects."""

    devices: HallBars
    rng: np.random.Generator
    states: np.ndarray = field(init=False)
    selected: int = 0
    field_x: float = 0.0  # T, in-plane field from the coil
    stuck: dict[int, int] = field(default_factory=dict)  # fault injection: device -> state
    read_noise: float = READ_NOISE
    hall_offset: float = HALL_OFFSET

    def __post_init__(self) -> None:
        self.states = -np.ones(len(self.devices), dtype=int)

    def drive(self, current: float, duration: float) -> None:
        """A current through the selected device for ``duration`` seconds."""
        if current == 0 or duration <= 0:
            return
        j = self.selected
        if j in self.stuck:
            self.states[j] = self.stuck[j]
            return
        target = 1 if current > 0 else -1
        if self.states[j] == target:
            return
        p = float(self.devices.select(j).p_switch(np.array([abs(current)]), duration)[0])
        if self.rng.random() < p:
            self.states[j] = target

    def hall_resistance(self) -> float:
        j = self.selected
        tilt = np.sqrt(max(0.0, 1.0 - (self.field_x / H_ANISOTROPY) ** 2))
        return float(self.devices.r_offset[j] + self.devices.r_ahe[j] * self.states[j] * tilt)

    def hall_voltage(self, current: float, nplc: float) -> float:
        noise = self.read_noise / np.sqrt(max(nplc, 1e-3)) * self.rng.standard_normal()
        return self.hall_resistance() * current + self.hall_offset + noise


def build_chip(n_devices: int, width: float, seed: int | None, eta: float = 0.25) -> Chip:
    """The devices that ``hil lab serve`` and ``hil lab devices`` build from the same options."""
    if n_devices < 1:
        raise ValueError(f"devices = {n_devices} is outside the allowed range [1, 64]")
    preset = hall_bar_preset(width)
    device_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    devices = preset.draw(n_devices, eta, eta, np.random.default_rng(device_seed))
    return Chip(devices, np.random.default_rng(noise_seed))
