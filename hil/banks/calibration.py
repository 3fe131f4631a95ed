"""Calibrations for the trainer: nominal (from a width's preset) or measured per device.

Paper 002 (Methods 4.6) scales and biases the synaptic currents "according to the device
characteristics obtained during characterization"; before characterisation the software
only knows the nominal device of the bar width.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hil.banks.base import Calibration, NeuronBank
from protocols.fitting import SigmoidFit, compare_models, fit_sigmoid, fit_thermal, grade_fit
from simulators.presets import HallBarPreset


def nominal_calibration(preset: HallBarPreset) -> Calibration:
    """The sigmoid that best fits the nominal device's exact switching curve."""
    device = preset.nominal()
    lo, hi = device.current_at(1e-5, preset.pulse_width)[0], device.current_at(
        1 - 1e-5, preset.pulse_width
    )[0]
    currents = np.linspace(lo, hi, 201)
    fit = fit_sigmoid(currents, device.p_switch(currents[:, None], preset.pulse_width)[:, 0])
    return Calibration(fit.i_bias, fit.i0, preset.pulse_width)


def characterise(
    bank: NeuronBank,
    guess: list[Calibration],
    iterations: int = 100,
    points: int = 21,
    span: float = 1.5,
) -> list[SigmoidFit]:
    """Switching-probability sweep of every neuron at once through ``bank.switch`` and a
    sigmoid fit per neuron (paper 002 SI S3: ``iterations`` reset-write cycles per current),
    centred on the neuron's 50 % current: the logistic's I0, and as I_bias the 50 % point
    of the switching model its counts prefer (the logistic, or the thermally activated
    curve at the bank's pulse width: ``protocols.fitting.compare_models``).

    The sweep covers ``span`` guessed windows about each guessed I_bias; a neuron whose
    50 % point lies outside, or whose fit is graded unusable (``grade_fit``), is swept
    again about the new estimate, and one whose curve is a step between two currents (no
    fit determines I0) is swept again, narrower, about the step."""
    pulse_width = guess[0].pulse_width
    centre = np.array([c.i_bias for c in guess])
    half = span * np.array([c.window for c in guess]) / 2
    fits: list[SigmoidFit | None] = [None] * bank.n_neurons
    reasons: dict[int, str] = {}
    for _ in range(4):
        todo = [j for j, f in enumerate(fits) if f is None]
        if not todo:
            break
        grid = np.linspace(-1.0, 1.0, points)[:, None] * half + centre  # (points, neurons)
        grid = np.clip(grid, 0.0, bank.max_current)
        switched = bank.switch(np.broadcast_to(grid, (iterations, *grid.shape)))
        p = switched.mean(axis=0)
        for j in todo:
            if p[0, j] < 0.5 < p[-1, j]:
                try:
                    fit = fit_sigmoid(grid[:, j], p[:, j], iterations)
                except RuntimeError as err:  # a step between two currents: I0 unknown
                    reasons[j] = str(err)
                    centre[j] = np.interp(0.5, np.maximum.accumulate(p[:, j]), grid[:, j])
                    half[j] /= 8  # a narrower sweep about the step
                    continue
                counts = np.rint(p[:, j] * iterations)
                fifty = compare_models(grid[:, j], counts, iterations, fit, fit_thermal(
                    grid[:, j], counts, iterations, pulse_width))
                grade = grade_fit(grid[:, j], counts, iterations, fit, fifty)
                if grade.usable:  # only a graded-usable fit becomes a calibration
                    fits[j] = dataclasses.replace(fit, i_bias=fifty.i_50,
                                                  i_bias_err=fifty.i_50_err)
                    continue
                reasons[j] = grade.reason
                half[j] *= 2  # crossed, but not measured well enough: a wider sweep
            else:  # 50 % point outside the sweep: move the centre towards it, widen
                centre[j] = grid[-1, j] if p[-1, j] <= 0.5 else grid[0, j]
                half[j] *= 2
    missing = [j for j, f in enumerate(fits) if f is None]
    if missing:
        why = "; ".join(f"{j}: {reasons.get(j, 'never crossed 50 %')}" for j in missing)
        raise RuntimeError(f"neurons {missing} gave no usable fit within their safe range "
                           f"({why})")
    return [f for f in fits if f is not None]


def calibrations_from_fits(fits: list[SigmoidFit], pulse_width: float) -> list[Calibration]:
    """One calibration per fitted sigmoid (I_bias and I0 of paper 002 Eq. 2), at the pulse width
    the sweeps were run with: a calibration holds only for the pulse it was measured at."""
    return [Calibration(f.i_bias, f.i0, pulse_width) for f in fits]


def calibrated(bank: NeuronBank, iterations: int = 100) -> NeuronBank:
    """``bank`` with each neuron's measured calibration in place of the guess it was built
    with (a sweep of every neuron through the bank, as :func:`characterise` runs it)."""
    pulse_width = bank.calibration[0].pulse_width
    bank.calibration = calibrations_from_fits(characterise(bank, bank.calibration, iterations),
                                              pulse_width)
    bank.calibration_origin = (f"characterised: a sweep of every neuron through the bank, "
                               f"{iterations} cycles per current")
    return bank
