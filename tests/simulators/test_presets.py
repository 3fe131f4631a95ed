"""Paper 002's constraints on the Hall-bar presets, one test per constraint (presets.py)."""

import numpy as np
import pytest
from scipy.stats import linregress

from hil.banks.calibration import nominal_calibration
from simulators.hallbar import OPERATING_FIELD, HallBars, field_drive, switch_target
from simulators.lab.chip import Chip
from simulators.presets import (
    ANCHOR_BIAS,
    BAR_WIDTHS,
    I_BIAS_INTERCEPT,
    WINDOW_INTERCEPT,
    hall_bar_preset,
)

WIDTHS = np.array(BAR_WIDTHS)
READ_CURRENT, READ_TIME = 50e-6, 0.5  # paper 002 Methods 4.3


def _line(values):
    return linregress(WIDTHS, values)


def test_bias_and_window_are_straight_lines_with_positive_intercepts():
    """Fig. 3a-b: both grow linearly with width; the lines do not pass through zero."""
    for values, intercept in (([hall_bar_preset(w).i_bias for w in WIDTHS], I_BIAS_INTERCEPT),
                              ([hall_bar_preset(w).window for w in WIDTHS], WINDOW_INTERCEPT)):
        line = _line(values)
        assert line.slope > 0 and line.rvalue ** 2 > 1 - 1e-12
        assert line.intercept == pytest.approx(intercept, rel=1e-9) and intercept > 0
    assert hall_bar_preset(0.5e-6).i_bias == pytest.approx(ANCHOR_BIAS)


def test_energy_ratio_between_5um_and_03um_is_50x_at_fixed_g0():
    """Fig. 3d: read energy ~ V0^2 = (I0 / G0)^2; I0 from each nominal device's sigmoid fit."""
    i0 = {w: nominal_calibration(hall_bar_preset(w)).i0 for w in (0.3e-6, 5e-6)}
    assert (i0[5e-6] / i0[0.3e-6]) ** 2 == pytest.approx(50.0, rel=0.02)


def test_offset_of_a_bias_variation_in_units_of_i0_falls_with_width():
    """Fig. 3c: eta shifts a curve by eta I_bias / I0 logits; wider bars must shift less."""
    ratio = []
    for w in WIDTHS:
        cal = nominal_calibration(hall_bar_preset(w))
        ratio.append(cal.i_bias / cal.i0)
    assert np.all(np.diff(ratio) < 0)
    assert ratio[0] / ratio[-1] > 1.5


def test_no_read_disturbs_any_device_of_an_eta_25_chip():
    """Methods 4.3: 50 uA / 500 ms reads; every device of every width, worst case included."""
    for w in WIDTHS:
        preset = hall_bar_preset(w)
        devices = preset.draw(20000, 0.25, 0.0, np.random.default_rng(1))
        p = devices.p_switch(np.full(len(devices), READ_CURRENT), READ_TIME)
        assert p.max() < 1e-6, (w, p.max())
        worst = HallBars.from_targets(0.75 * preset.i_bias, 0.75 * preset.window,
                                      preset.pulse_width, 1.5)  # x = -1 exactly
        assert worst.p_switch(READ_CURRENT, READ_TIME)[0] < 1e-6


def test_an_independent_25_percent_window_spread_would_disturb_reads():
    """Why the window scales with the bias instead: its own 25 % spread lowers barriers."""
    devices = hall_bar_preset(5e-6).draw(20000, 0.25, 0.25, np.random.default_rng(1))
    p = devices.p_switch(np.full(len(devices), READ_CURRENT), READ_TIME)
    assert (p > 1e-6).mean() > 0.05


def test_variation_scales_bias_and_window_together_within_eq3_bounds():
    preset = hall_bar_preset(1.0e-6)
    bars = preset.draw(2000, 0.25, 0.0, np.random.default_rng(5))
    ratio = bars.i_bias(preset.pulse_width) / preset.i_bias
    assert ratio.min() >= 0.75 - 1e-9 and ratio.max() <= 1.25 + 1e-9
    assert ratio.min() < 0.76 and ratio.max() > 1.24  # uniform: reaches the edges
    window = bars.window(preset.pulse_width) / preset.window
    np.testing.assert_allclose(window, ratio, rtol=1e-9)
    np.testing.assert_allclose(bars.delta, preset.nominal().delta[0], rtol=1e-9)


def test_retention_and_certain_reset_at_every_width():
    for w in WIDTHS:
        preset = hall_bar_preset(w)
        bars = preset.nominal()
        assert bars.tau0 * np.exp(bars.delta[0]) > 3.2e7  # a year at zero current
        strong = preset.draw(2000, 0.25, 0.0, np.random.default_rng(2))
        reset = np.full(len(strong), preset.reset_current)
        assert strong.p_switch(reset, preset.pulse_width).min() > 1 - 1e-12


def test_switching_needs_the_in_plane_field_and_its_sign_sets_polarity():
    bars = hall_bar_preset(0.5e-6).nominal()
    current = 1.5 * hall_bar_preset(0.5e-6).i_bias
    assert bars.p_switch(current, 100e-6, OPERATING_FIELD)[0] > 0.999
    assert bars.p_switch(current, 100e-6, -OPERATING_FIELD)[0] > 0.999  # same magnitude...
    assert switch_target(current, OPERATING_FIELD) == 1  # ... towards +1
    assert switch_target(current, -OPERATING_FIELD) == -1  # ... towards -1 when reversed
    assert switch_target(current, 0.0) == 0
    assert bars.p_switch(current, 100e-6, 0.0)[0] < 1e-20  # no field: no drive
    assert field_drive(0.001) == pytest.approx(0.2)


def _chip(field_x: float) -> Chip:
    preset = hall_bar_preset(0.5e-6)
    chip = Chip(preset.draw(1, 0.0, 0.0, np.random.default_rng(0)), np.random.SeedSequence(3))
    chip.field_x = field_x  # the coil
    return chip


def test_virtual_chip_switches_only_with_field_and_with_its_polarity():
    preset = hall_bar_preset(0.5e-6)
    strong = 1.5 * preset.i_bias
    chip = _chip(0.0)  # coil off: the setup's standing +200 Oe
    chip.drive(strong, 100e-6)
    assert chip.states[0] == 1
    chip.drive(-strong, 100e-6)
    assert chip.states[0] == -1
    chip = _chip(-OPERATING_FIELD)  # coil reversed: a positive pulse cannot leave -1
    for _ in range(50):
        chip.drive(strong, 100e-6)
    assert chip.states[0] == -1
    chip.drive(-strong, 100e-6)  # and a negative one writes +1
    assert chip.states[0] == 1
    chip = _chip(1e-9)  # coil at a field far below saturation: no effective drive
    chip.drive(strong, 100e-6)
    assert chip.states[0] == -1
