"""``TelegraphBank``: paper 004's telegraphic VCMA neurons (Cai et al., Voltage-Controlled
Spintronic Stochastic Neuron Based on a Magnetic Tunnel Junction).

A neuron's input is a perpendicular field from a field line (paper 004: "the input signals
are the perpendicular magnetic fields applied to each device"), H = (I - I_mid) x
``FIELD_PER_AMPERE``, with a constant opposing field of H_k (a bias line) so that the write
currents, like every bank's, lie in [0, 2 I_mid] for H in [-H_k, H_k]; its output is one
read of the telegraphic state. Reads spaced far beyond the dwell times (the paper reads 1000
times in 2 min) are independent draws of the state with the time-averaged probability
P(high | H) of the Neel-Brown model (Eq. 5); the bias voltage
sets E_b and H_k through VCMA and so the slope. Eq. 5's slope w = 4 (E_b/kT) / H_k is the
high-barrier limit of the dwell times; Brown's exact dwell times of the same macrospin give a
slope 6.1 % lower at 0 V (``simulators.neel_brown.brown_weight``). ``slope="eq5"`` (the
default) keeps the paper's own model, the one its network and this project's telegraph
results are measured with; ``slope="brown"`` takes the exact slope. Device-to-device
variation (``eta``) scales each device's activation volume by 1 + eta x, x ~ U[-1, 1]
(seeded): its barrier, and so its slope, varies while H_s stays at zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hil.banks.base import Calibration, NeuronBank
from hil.units import si_value
from simulators.bounds import MAX_NEURONS, check_count, check_range
from simulators.macrospin import MU0, Macrospin, macrospin_preset
from simulators.neel_brown import NeelBrown, brown_weight

FIELD_LINE_DISTANCE = 100e-9  # m, field line below the free layer
FIELD_PER_AMPERE = MU0 / (2 * np.pi * FIELD_LINE_DISTANCE)  # T/A, Oersted field of a line
READ_INTERVAL = 0.12  # s, paper 004 Fig. 2c: 1000 reads in 2 min
SLOPES = ("eq5", "brown")  # Eq. 5's slope (default) or Brown's exact dwell times' slope


class TelegraphBank(NeuronBank):
    """Paper 004's telegraphic VCMA neurons (Cai et al., Voltage-Controlled Spintronic Stochastic
    Neuron Based on a Magnetic Tunnel Junction): a field-line input read as one draw of the
    dwell-time-averaged state, Eq. 5 (module docstring)."""
    def __init__(
        self, preset: str | Macrospin, n_neurons: int, gate_voltage: float | str | Any = 0.0,
        seed: int | None = 0, eta: float = 0.0, eta_window: float | None = None,
        slope: str = "eq5",
    ) -> None:
        self.device = macrospin_preset(preset) if isinstance(preset, str) else preset
        check_count("n_neurons", n_neurons, 1, MAX_NEURONS)
        gate_voltage = si_value("gate_voltage", gate_voltage, "V")  # SI, a quantity or "50mV"
        check_range("gate_voltage", gate_voltage, -10.0, 10.0, "V")
        if not 0 <= eta < 1:
            raise ValueError(f"eta = {eta:g} is outside the allowed range [0, 1)")
        if eta_window is not None and eta_window != eta:
            raise ValueError(
                f"eta_window = {eta_window:g}: a telegraphic neuron's window follows its "
                f"barrier, whose variation is eta = {eta:g}; allowed: {eta:g} or unset")
        if not self.device.h_k(gate_voltage) > 0:
            raise ValueError(
                f"gate_voltage = {gate_voltage:g} V leaves {self.device.name} without a "
                "perpendicular easy axis; allowed range: H_k(V) > 0")
        if slope not in SLOPES:
            raise ValueError(f"slope = {slope!r} is not one of {', '.join(SLOPES)}")
        seeds = np.random.SeedSequence(0 if seed is None else seed).spawn(2)
        scale = 1.0 + eta * np.random.default_rng(seeds[0]).uniform(-1.0, 1.0, n_neurons)
        self.model = NeelBrown(self.device.barrier(gate_voltage), self.device.h_k(gate_voltage))
        self.slope = slope
        self.weight = (self.model.weight if slope == "eq5"
                       else brown_weight(self.device, gate_voltage))  # 1/T, nominal device
        self.weights = self.weight * scale  # 1/T per device
        self.rng = np.random.default_rng(seeds[1])
        self.gate_voltage = gate_voltage
        self.i_mid = self.model.h_k / FIELD_PER_AMPERE  # |H| <= H_k: both wells exist
        nominal = Calibration(self.i_mid, 1.0 / (self.weight * FIELD_PER_AMPERE),
                              READ_INTERVAL)
        super().__init__([nominal] * n_neurons, 2 * self.i_mid)

    def field(self, currents: np.ndarray) -> np.ndarray:
        """Perpendicular field (T) at the free layer for field-line currents (A)."""
        return (np.asarray(currents, float) - self.i_mid) * FIELD_PER_AMPERE

    def p_high(self, currents: np.ndarray) -> np.ndarray:
        """The time-averaged probability of the high state at each input (the ground truth)."""
        return 1.0 / (1.0 + np.exp(-self.weights * self.field(currents)))

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        return self.rng.random(currents.shape) < self.p_high(currents)

    def get_state(self) -> Any:
        return self.rng.bit_generator.state

    def set_state(self, state: Any) -> None:
        self.rng.bit_generator.state = state
