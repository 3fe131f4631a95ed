"""Joule heating between reset and write (simulators/joule.py): limits and scaling."""

import numpy as np
import pytest

from simulators.joule import (
    heated,
    residual_heating,
    steady_heating,
    thermal_time_constant,
)
from simulators.presets import hall_bar_preset


def test_time_constant_is_the_oxides_diffusion_time():
    # c_v t^2 / (2 k) with SiO2's textbook values: tens of nanoseconds.
    assert thermal_time_constant() == pytest.approx(1.6e6 * (300e-9) ** 2 / 2.8)
    assert 1e-8 < thermal_time_constant() < 1e-7


def test_heating_grows_as_current_squared_and_decays_with_the_gap():
    w = 0.5e-6
    assert steady_heating(2e-3, w) == pytest.approx(4 * steady_heating(1e-3, w))
    tau = thermal_time_constant()
    long_pulse = residual_heating(1e-3, w, 100e-6, 0.0)
    assert long_pulse == pytest.approx(steady_heating(1e-3, w))  # 100 us >> tau
    assert residual_heating(1e-3, w, 100e-6, tau) == pytest.approx(long_pulse / np.e)
    # A wait of one 100 us pulse width (the hardware-timed cycle) leaves nothing.
    assert residual_heating(1e-3, w, 100e-6, 100e-6) < 1e-300
    # A pulse much shorter than tau heats the bar by pulse / tau of the steady rise.
    short = residual_heating(1e-3, w, 1e-10, 0.0)
    assert short == pytest.approx(steady_heating(1e-3, w) * 1e-10 / tau, rel=1e-2)


def test_a_warm_bar_switches_at_lower_current_and_wide_bars_less_so_in_units_of_i0():
    shifts = []
    for width in (0.3e-6, 0.5e-6, 1e-6, 5e-6):
        preset = hall_bar_preset(width)
        cold = preset.nominal()
        rise = residual_heating(preset.reset_current, width, preset.pulse_width, 100e-9)
        warm = heated(cold, rise)
        i0 = cold.window(preset.pulse_width) / 16.1
        shifts.append(float((warm.i_bias(preset.pulse_width)
                             - cold.i_bias(preset.pulse_width))[0] / i0[0]))
        assert warm.delta[0] == pytest.approx(cold.delta[0] * 300 / (300 + rise))
    assert all(s < 0 for s in shifts)
    assert shifts == sorted(shifts)  # the narrowest bar moves most, in units of I0
    assert heated(hall_bar_preset(0.5e-6).nominal(), 0.0).delta[0] == pytest.approx(
        hall_bar_preset(0.5e-6).nominal().delta[0])
