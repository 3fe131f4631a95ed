"""``ModelBank``: neurons on simulated Hall bars (thermally activated model, paper 002).

Each call resets every device, writes one pulse and reads it: the device switches with the
model's probability, drawn from the bank's own seeded generator. Cycle-to-cycle randomness
comes only from this thermal draw; device-to-device variation is fixed when the devices are
drawn (simulators.presets).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hil.banks.base import Calibration, NeuronBank
from hil.banks.calibration import nominal_calibration
from hil.units import si_value
from simulators.hallbar import HallBars
from simulators.presets import hall_bar_preset


class ModelBank(NeuronBank):
    """Neurons on simulated Hall bars (paper 002's thermally activated model): the fast bank that
    runs paper 002's HIL experiment without hardware, each device with its own drawn variation."""
    def __init__(
        self,
        devices: HallBars,
        pulse_width: float,
        calibration: list[Calibration],
        max_current: np.ndarray | float,
        seed: int | np.random.SeedSequence | None = None,
    ) -> None:
        if len(calibration) != len(devices):
            raise ValueError("one calibration per device is needed")
        if pulse_width <= 0:
            raise ValueError(f"pulse_width = {pulse_width:g} s is outside the range (0, inf) s")
        super().__init__(calibration, max_current)
        self.devices = devices
        self.pulse_width = pulse_width
        self.rng = np.random.default_rng(seed)
        self.recipe: dict[str, Any] = {}  # how model_bank drew the devices

    def p_switch(self, currents: np.ndarray) -> np.ndarray:
        """The exact switching probability of each device (the ground truth)."""
        return self.devices.p_switch(np.abs(currents), self.pulse_width)

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        # A negative write pulse pushes towards the reset state: it cannot switch.
        p = np.where(currents > 0, self.p_switch(currents), 0.0)
        return self.rng.random(p.shape) < p

    def get_state(self) -> Any:
        return self.rng.bit_generator.state

    def set_state(self, state: Any) -> None:
        self.rng.bit_generator.state = state

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "devices": "simulated Hall bars (thermally activated "
                "model, paper 002)", "pulse_width": self.pulse_width, **self.recipe}


def model_bank(
    n_neurons: int,
    width: float | str | Any,
    eta: float,
    eta_window: float | None = None,
    seed: int | np.random.SeedSequence | None = None,
) -> ModelBank:
    """A bank of ``n_neurons`` Hall bars of one width with paper 002's variation, calibrated
    with the nominal device (what the software knows before characterisation)."""
    if n_neurons < 1:
        raise ValueError(f"n_neurons = {n_neurons} is outside the allowed range [1, inf)")
    width = si_value("width", width, "m", example_unit="um")  # SI, a quantity or "0.5um"
    preset = hall_bar_preset(width)
    seeds = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    device_seed, noise_seed = seeds.spawn(2)
    devices = preset.draw(
        n_neurons, eta, 0.0 if eta_window is None else eta_window,
        np.random.default_rng(device_seed),
    )
    nominal = nominal_calibration(preset)
    bank = ModelBank(
        devices, preset.pulse_width, [nominal] * n_neurons, preset.max_current, noise_seed
    )
    bank.calibration_origin = f"nominal: the {width * 1e6:g} um bar's preset"
    bank.recipe = {"width": width, "eta": eta, "eta_window": eta_window,
                   "seed_entropy": str(seeds.entropy), "seed_spawn_key": list(seeds.spawn_key)}
    return bank
