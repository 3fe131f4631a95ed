"""The Hall-bar model against its analytic curve and paper 002's trends."""

import numpy as np
import pytest
from scipy.stats import linregress

from hil.banks.model import ModelBank, model_bank
from protocols.fitting import fit_sigmoid, wilson_interval
from simulators.hallbar import HallBars
from simulators.presets import BAR_WIDTHS, hall_bar_preset


def test_from_targets_reproduces_bias_and_window_exactly():
    bars = HallBars.from_targets([0.3e-3, 1.2e-3], [0.12e-3, 0.6e-3], 100e-6, 1.5)
    np.testing.assert_allclose(bars.i_bias(100e-6), [0.3e-3, 1.2e-3], rtol=1e-10)
    np.testing.assert_allclose(bars.window(100e-6), [0.12e-3, 0.6e-3], rtol=1e-10)


def test_neel_brown_limits():
    bars = hall_bar_preset(0.5e-6).nominal()
    # zero current: escape time tau0 exp(Delta), years for these bars
    assert bars.tau0 * np.exp(bars.delta[0]) > 3e7
    # at and above I_c0 the barrier is gone: certain switching
    assert bars.p_switch(bars.i_c0, 100e-6)[0] == pytest.approx(1.0)
    # longer pulses switch at lower current (thermal activation)
    assert bars.i_bias(1e-3)[0] < bars.i_bias(100e-6)[0] < bars.i_bias(1e-6)[0]
    # paper 002's 50 uA, 500 ms read does not disturb the state
    assert bars.p_switch(50e-6, 0.5)[0] < 1e-6


def test_model_bank_matches_analytic_curve_within_wilson_bounds():
    bank = model_bank(4, 0.5e-6, eta=0.25, seed=11)
    currents = np.linspace(0.22e-3, 0.40e-3, 13)
    trials = 400
    grid = np.broadcast_to(currents[:, None], (trials, currents.size, 4))
    counts = bank.switch(grid).sum(axis=0)  # (currents, devices)
    exact = bank.p_switch(np.broadcast_to(currents[:, None], (currents.size, 4)))
    low, high = wilson_interval(counts.ravel(), trials, confidence=0.999)
    inside = (low <= exact.ravel()) & (exact.ravel() <= high)
    assert inside.all(), np.argwhere(~inside)


def test_negative_write_current_never_switches():
    bank = model_bank(3, 0.5e-6, eta=0.0, seed=0)
    assert not bank.switch(np.full((1000, 3), -0.5e-3)).any()


def test_fitted_bias_and_window_grow_linearly_with_width():
    """Paper 002 Fig. 3a-b: a 100-cycle sweep per current, sigmoid fit, per width."""
    rng = np.random.default_rng(3)
    fitted_bias, fitted_window = [], []
    for width in BAR_WIDTHS:
        preset = hall_bar_preset(width)
        bank = ModelBank(preset.nominal(), preset.pulse_width, [_cal(preset)],
                         preset.max_current, rng.integers(1 << 30))
        currents = np.linspace(0.7, 1.3, 25) * preset.i_bias
        counts = bank.switch(np.broadcast_to(currents[:, None], (100, 25, 1))).sum(0)[:, 0]
        fit = fit_sigmoid(currents, counts / 100, 100)
        fitted_bias.append(fit.i_bias)
        fitted_window.append(fit.window)
    widths = np.array(BAR_WIDTHS)
    for values in (fitted_bias, fitted_window):
        line = linregress(widths, values)
        assert line.slope > 0 and line.rvalue**2 > 0.995
    # windows grow with width but stay a fixed fraction of the bias (I_bias / I0 ~ 36)
    ratio = np.array(fitted_bias) / (np.array(fitted_window) / 16.1)
    assert np.all((ratio > 25) & (ratio < 50))


def _cal(preset):
    from hil.banks.calibration import nominal_calibration

    return nominal_calibration(preset)


@pytest.mark.parametrize("width", [0.1e-6, 6e-6])
def test_width_outside_papers_range_refused(width):
    with pytest.raises(ValueError, match=r"width .* allowed range \[0.3, 5\] um"):
        hall_bar_preset(width)


def test_wilson_interval_matches_scipy():
    from scipy.stats import binomtest

    counts = np.array([0, 1, 7, 50, 93, 100])
    low, high = wilson_interval(counts, 100, confidence=0.95)
    for k, lo, hi in zip(counts, low, high, strict=True):
        ci = binomtest(int(k), 100).proportion_ci(confidence_level=0.95, method="wilson")
        assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)


def test_maximum_likelihood_fit_matches_scipys_optimiser():
    """The Newton fit finds the maximum scipy's trust-region optimiser finds on the same
    binomial likelihood (the reference), and with the same Fisher-information errors."""
    from scipy.optimize import minimize
    from scipy.special import expit

    rng = np.random.default_rng(5)
    currents = np.linspace(8e-6, 24e-6, 17)
    for _ in range(20):
        n = int(rng.integers(20, 400))
        i0 = rng.uniform(0.5e-6, 3e-6)
        counts = rng.binomial(n, expit((currents - 16e-6) / i0))
        fit = fit_sigmoid(currents, counts / n, n)
        x = (currents - currents.mean()) / np.ptp(currents)

        def nll(beta, x=x, counts=counts, n=n):
            eta = beta[0] + beta[1] * x
            return float(np.sum(n * np.logaddexp(0.0, eta) - counts * eta))

        a, b = minimize(nll, [0.0, 10.0], method="Nelder-Mead",
                        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000}).x
        assert fit.i0 == pytest.approx(np.ptp(currents) / b, rel=1e-4)
        assert fit.i_bias == pytest.approx(currents.mean() - a * np.ptp(currents) / b, rel=1e-5)
        assert nll([a, b]) >= nll([(currents.mean() - fit.i_bias) / fit.i0,
                                   np.ptp(currents) / fit.i0]) - 1e-9


def test_separated_counts_have_no_likelihood_maximum_and_fall_back_to_least_squares():
    """All failures below 15 uA and all successes above: the binomial likelihood has no
    finite maximum (Albert and Anderson 1984), so the fit is least squares. One mixed count
    at the boundary leaves it quasi-separated (still no maximum); two overlapping ones
    restore it."""
    from protocols.fitting import _maximum_likelihood

    currents = np.linspace(10e-6, 20e-6, 11)
    counts = np.where(currents < 15e-6, 0.0, 100.0)
    n = np.full(11, 100.0)
    assert _maximum_likelihood(currents, counts, n, 15e-6, 1e-6) is None
    fit = fit_sigmoid(currents, counts / 100, 100)
    assert 14e-6 < fit.i_bias < 16e-6 and fit.i0 < 1e-6
    counts[5] = 50.0
    assert _maximum_likelihood(currents, counts, n, 15e-6, 1e-6) is None
    counts[6] = 90.0
    assert _maximum_likelihood(currents, counts, n, 15e-6, 1e-6) is not None


@pytest.mark.slow
def test_sigmoid_fit_intervals_cover_the_curve_it_converges_to_95_percent_of_the_time():
    """The sweep's fit (binomial maximum likelihood) on 100-cycle sweeps of three emulated
    devices: its 95 % intervals hold the sigmoid ``hil lab devices`` reports (the fit's
    limit on the exact, not quite logistic, curve) in 95 % of sweeps, with no bias."""
    _check_interval_coverage(sweeps_per_device=200)


def test_sigmoid_fit_intervals_cover_95_percent_short():
    """The short sibling: 30 sweeps per device, the same statistics (less power)."""
    _check_interval_coverage(sweeps_per_device=30)


def _check_interval_coverage(sweeps_per_device: int) -> None:
    from scipy.stats import binomtest

    from hil.session.lab import sweep_truth
    from simulators.lab.chip import build_chip

    rng = np.random.default_rng(11)
    devices = build_chip(3, 0.5e-6, 0).devices
    hits, trials, z_i0 = 0, 0, []
    for j in range(3):
        device = devices.select(j)
        truth, grid = sweep_truth(device, 100e-6)
        exact = device.p_switch(grid[:, None], 100e-6)[:, 0]
        for _ in range(sweeps_per_device):
            fit = fit_sigmoid(grid, rng.binomial(100, exact) / 100, 100)
            hits += abs(fit.i_bias - truth.i_bias) < 1.96 * fit.i_bias_err
            hits += abs(fit.i0 - truth.i0) < 1.96 * fit.i0_err
            trials += 2
            z_i0.append((fit.i0 - truth.i0) / fit.i0_err)
    assert binomtest(hits, trials, 0.95).pvalue > 0.001
    assert abs(np.mean(z_i0)) < 4 / np.sqrt(len(z_i0))  # unbiased within 4 standard errors


def test_switching_is_the_formula_bit_for_bit_in_place():
    """switch_rate and p_switch compute in place: the same numbers as the formula written
    out, for any batch shape, signs beyond the critical current and field arrays."""
    from simulators.hallbar import OPERATING_FIELD, TAU0, field_drive

    rng = np.random.default_rng(5)
    bars = hall_bar_preset(0.5e-6).draw(7, 0.25, 0.1, rng)
    currents = rng.normal(0.0, 1.2, (3, 5, 7)) * bars.i_c0
    fields = (OPERATING_FIELD, -0.003, rng.uniform(-0.01, 0.01, (5, 1)),
              rng.uniform(-0.01, 0.01, (2, 3, 5, 7)))
    for field_x in fields:
        drive = np.clip(1.0 - np.abs(currents * field_drive(field_x)) / bars.i_c0, 0.0, 1.0)
        rate = np.exp(-bars.delta * drive**bars.exponent) / TAU0
        assert np.array_equal(bars.switch_rate(currents, field_x), rate)
        assert np.array_equal(bars.switch_rate(currents[0, 0, :1], field_x),
                              np.exp(-bars.delta * np.clip(1.0 - np.abs(
                                  currents[0, 0, :1] * field_drive(field_x)) / bars.i_c0,
                                  0.0, 1.0)**bars.exponent) / TAU0)
        assert np.array_equal(bars.p_switch(currents, 100e-6, field_x),
                              -np.expm1(-100e-6 * rate))
