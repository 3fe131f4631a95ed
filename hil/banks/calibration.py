"""Calibrations for the trainer: nominal (from a width's preset) or measured per device.

Paper 002 (Methods 4.6) scales and biases the synaptic currents "according to the device
characteristics obtained during characterization"; before characterisation the software
only knows the nominal device of the bar width.
"""

from __future__ import annotations

import numpy as np

from hil.banks.base import (  # the sweep a bank runs itself, here for its users
    Calibration,
    NeuronBank,
    calibrations_from_fits,
    characterise,
)
from protocols.fitting import fit_sigmoid
from simulators.presets import HallBarPreset

__all__ = ["calibrated", "calibrations_from_fits", "characterise", "nominal_calibration"]


def nominal_calibration(preset: HallBarPreset) -> Calibration:
    """The sigmoid that best fits the nominal device's exact switching curve."""
    device = preset.nominal()
    lo, hi = device.current_at(1e-5, preset.pulse_width)[0], device.current_at(
        1 - 1e-5, preset.pulse_width
    )[0]
    currents = np.linspace(lo, hi, 201)
    fit = fit_sigmoid(currents, device.p_switch(currents[:, None], preset.pulse_width)[:, 0])
    return Calibration(fit.i_bias, fit.i0, preset.pulse_width)


def calibrated(bank: NeuronBank, iterations: int = 100) -> NeuronBank:
    """``bank`` with each neuron's measured calibration in place of the guess it was built
    with (a sweep of every neuron through the bank, as :func:`characterise` runs it)."""
    pulse_width = bank.calibration[0].pulse_width
    bank.calibration = calibrations_from_fits(characterise(bank, bank.calibration, iterations),
                                              pulse_width)
    bank.calibration_origin = (f"characterised: a sweep of every neuron through the bank, "
                               f"{iterations} cycles per current")
    return bank
