import numpy as np
import pytest

from hil.banks.base import MultiplexedBank, NeuronBank
from hil.banks.calibration import characterise
from hil.banks.model import model_bank


def test_switch_is_batched_over_leading_axes():
    bank = model_bank(4, 0.5e-6, eta=0.1, seed=0)
    out = bank.switch(np.full((7, 3, 4), 0.3e-3))
    assert out.shape == (7, 3, 4) and out.dtype == bool


def test_current_above_safe_limit_refused_before_any_pulse():
    bank = model_bank(2, 0.5e-6, eta=0.1, seed=0)
    state = bank.get_state()
    with pytest.raises(ValueError, match=r"currents: .* exceeds the safe limit of neuron 1"):
        bank.switch(np.array([0.3e-3, 2 * bank.max_current[1]]))
    assert bank.get_state() == state  # no random draw happened: nothing was pulsed


def test_wrong_neuron_count_refused():
    bank = model_bank(2, 0.5e-6, eta=0.1, seed=0)
    with pytest.raises(ValueError, match="last axis must hold the 2 neurons"):
        bank.switch(np.zeros((5, 3)))


def test_closed_bank_refuses_and_context_manager_closes():
    with model_bank(2, 0.5e-6, eta=0.1, seed=0) as bank:
        bank.switch(np.zeros(2))
    with pytest.raises(RuntimeError, match="closed"):
        bank.switch(np.zeros(2))


class _RecordingBank(NeuronBank):
    """Deterministic bank: switches when current > i_bias; records every call's shape."""

    def __init__(self, bank):
        super().__init__(bank.calibration, bank.max_current)
        self.calls = []

    def _switch(self, currents):
        self.calls.append(currents.copy())
        return currents > np.array([c.i_bias for c in self.calibration])


def test_multiplexed_bank_maps_logical_neurons_to_devices_in_turn():
    physical = _RecordingBank(model_bank(2, 0.5e-6, eta=0.0, seed=0))
    bank = MultiplexedBank(physical, copies=3)
    assert bank.n_neurons == 6
    i_b = physical.calibration[0].i_bias
    currents = np.array([[1.1, 0.9, 1.1, 0.9, 0.9, 1.1]]) * i_b  # neurons 0-2 on device 0
    out = bank.switch(currents)
    np.testing.assert_array_equal(out, [[True, False, True, False, False, True]])
    (call,) = physical.calls
    assert call.shape == (3, 1, 2)  # three pulses in turn, each on both devices
    np.testing.assert_allclose(call[:, 0, 0], currents[0, :3])
    np.testing.assert_allclose(call[:, 0, 1], currents[0, 3:])


def test_characterise_recovers_each_device_within_its_interval():
    bank = model_bank(4, 0.5e-6, eta=0.25, seed=2)
    fits = characterise(bank, bank.calibration, iterations=200)
    truth = bank.devices.i_bias(bank.pulse_width)
    for fit, true_bias in zip(fits, truth, strict=True):
        assert abs(fit.i_bias - true_bias) < 4 * fit.i_bias_err + 0.01 * true_bias
