"""``--calibration device`` on simulated Hall bars: each neuron's I_bias is its 50 % current,
the preferred switching model's own, not the logistic's (protocols.fitting.compare_models)."""

import numpy as np

from hil.banks import characterise, model_bank
from protocols.fitting import fit_sigmoid


def test_a_characterised_neurons_i_bias_is_its_fifty_percent_current():
    bank = model_bank(8, 0.5e-6, 0.25, seed=3)
    fits = characterise(bank, bank.calibration, iterations=400)
    truth = bank.devices.i_bias(bank.pulse_width)  # each device's exact 50 % current
    errors = np.array([f.i_bias - t for f, t in zip(fits, truth, strict=True)])
    sigmas = np.array([f.i_bias_err for f in fits])
    assert np.all(np.abs(errors) < 3 * sigmas), (errors, sigmas)
    # the logistic through the exact curves of such a sweep sits about 0.1 I0 low
    grid = np.linspace(-1, 1, 21)[:, None] * 0.75 * np.array([c.window for c in fits]) \
        + np.array([f.i_bias for f in fits])
    p = bank.devices.p_switch(grid, bank.pulse_width)
    logistic = np.array([fit_sigmoid(grid[:, j], p[:, j]).i_bias for j in range(8)])
    assert np.all(logistic < truth - 0.08 * np.array([f.i0 for f in fits]))
