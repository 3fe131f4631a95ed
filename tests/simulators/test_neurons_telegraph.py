"""Paper 004 (Cai et al., Voltage-Controlled Spintronic Stochastic Neuron Based on a Magnetic
Tunnel Junction): its device, the Neel-Brown dwell times, the LLGS against them, the bank."""

import dataclasses

import numpy as np
import pytest

from hil.banks.telegraph import FIELD_PER_AMPERE, TelegraphBank
from simulators.analytic import brown_mean_first_passage, neel_time
from simulators.macrospin import macrospin_preset
from simulators.neel_brown import (
    NeelBrown,
    brown_dwell_time,
    fit_dwell_times,
    fit_p_high,
)
from simulators.telegraph import simulate_telegraph

VCMA = macrospin_preset("vcma-004")


def test_preset_has_papers_device():
    assert VCMA.pillar == (210e-9, 60e-9) and VCMA.reference_axis == "x"
    assert VCMA.thickness == 1.62e-9 and VCMA.oxide_thickness == 0.8e-9
    assert VCMA.vcma_xi == 26e-15
    assert VCMA.h_k() == pytest.approx(0.056, rel=0.01)  # paper 004 Fig. 5b, mu0 H_K1 at 0 V
    slope = (VCMA.h_k(0.1) - VCMA.h_k(-0.1)) / 0.2
    assert slope == pytest.approx(-0.034, rel=0.10)  # paper 004: 34 mT/V, H_K1 falling with V
    assert VCMA.barrier() == pytest.approx(10, rel=0.01)
    assert VCMA.barrier(0.2) < VCMA.barrier() < VCMA.barrier(-0.2)


def test_eq5_is_the_ratio_of_the_dwell_times():
    model = NeelBrown(e_b=6.0, h_k=0.05, h_s=0.002, tau0=1e-9)
    h = np.linspace(-0.01, 0.012, 23)
    ratio = model.tau_high(h) / (model.tau_high(h) + model.tau_low(h))
    assert np.allclose(model.p_high(h), ratio, rtol=1e-12)
    assert model.p_high(0.002) == pytest.approx(0.5)
    assert model.weight == pytest.approx(4 * 6.0 / 0.05)


def test_brown_dwell_time_splits_at_the_barrier_top():
    """From +z_t to -z_t = (from +z_t to 0) + (from 0 to -z_t): the first term is the
    existing first-passage formula, and at h = 0 the dwell equals the low state's."""
    low = dataclasses.replace(VCMA.with_barrier(3.0, "low"), alpha=0.1)
    to_top = brown_mean_first_passage(low.barrier(), neel_time(low), 0.5)
    total = brown_dwell_time(low, 0.0)
    assert to_top < total < 3 * to_top
    assert brown_dwell_time(low, 0.0, state=-1) == pytest.approx(total, rel=1e-9)
    field = 0.1 * low.h_k()
    assert brown_dwell_time(low, field) > total > brown_dwell_time(low, field, state=-1)


def test_fit_recovers_barrier_and_anisotropy_field_from_dwell_times():
    true = NeelBrown(e_b=8.0, h_k=0.04, h_s=0.001, tau0=2e-9)
    h = np.linspace(-0.02, 0.02, 15)  # |h| up to 0.5: the curvature in h separates E_b, tau_0
    rng = np.random.default_rng(0)
    n = 400  # dwells per field: the mean of n exponentials
    high = np.array([rng.exponential(t, n).mean() for t in true.tau_high(h)])
    low = np.array([rng.exponential(t, n).mean() for t in true.tau_low(h)])
    fit = fit_dwell_times(h, high, low)
    assert fit.e_b == pytest.approx(8.0, rel=0.10)
    assert fit.h_k == pytest.approx(0.04, rel=0.10)
    assert fit.tau0 == pytest.approx(2e-9, rel=0.5)
    assert fit.h_s == pytest.approx(0.001, abs=0.0005)


LOW = dataclasses.replace(VCMA.with_barrier(3.0, "vcma-004-3kT"), alpha=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("voltage", [0.0, 0.1])
def test_llgs_dwell_times_follow_neel_brown_at_two_voltages(voltage):
    """A low-barrier variant of the preset (3 kT, alpha = 0.1: dwells of ~70 ns) keeps the
    LLGS short; the bias lowers the barrier through VCMA and the dwell with it."""
    model = NeelBrown.for_device(LOW, voltage)
    record = simulate_telegraph(LOW, 150e-9, 800, gate_voltage=voltage, seed=3)
    mean, err = record.mean_dwell()
    expected = float(model.tau_high(0.0))
    assert record.exits_high + record.exits_low > 400
    assert abs(mean / expected - 1) < 0.10, (voltage, mean, err, expected)
    # H = 0, every trajectory starts high: a two-state process with equal rates 1 / tau
    # relaxes as 1/2 + e^{-2t/tau} / 2, so the time average over T is
    # 1/2 + tau (1 - e^{-2T/tau}) / (4T)
    t = record.simulated_time
    relaxing = 0.5 + expected * (1 - np.exp(-2 * t / expected)) / (4 * t)
    assert record.time_high_fraction == pytest.approx(relaxing, abs=0.04)


def test_llgs_dwell_time_follows_neel_brown_short():
    """The short sibling of the two-voltage test: 300 trajectories at 0.1 V (776 exits),
    the mean dwell within 3 standard errors of Neel-Brown's and the high fraction on the
    relaxation curve."""
    model = NeelBrown.for_device(LOW, 0.1)
    record = simulate_telegraph(LOW, 150e-9, 300, gate_voltage=0.1, seed=3)
    mean, err = record.mean_dwell()
    expected = float(model.tau_high(0.0))
    assert record.exits_high + record.exits_low > 400
    assert abs(mean - expected) < 3 * err, (mean, err, expected)
    t = record.simulated_time
    relaxing = 0.5 + expected * (1 - np.exp(-2 * t / expected)) / (4 * t)
    assert record.time_high_fraction == pytest.approx(relaxing, abs=0.04)


def test_bias_shortens_the_neel_brown_dwell():
    assert LOW.barrier(0.1) < LOW.barrier()
    assert NeelBrown.for_device(LOW, 0.1).tau_high(0.0) < NeelBrown.for_device(LOW).tau_high(0.0)


def test_bank_samples_eq5_and_its_fit_recovers_the_slope():
    bank = TelegraphBank("vcma-004", 1, seed=1)
    model = NeelBrown(VCMA.barrier(), VCMA.h_k())
    currents = bank.i_mid + np.linspace(-4, 4, 17) * bank.calibration[0].i0
    samples = 2000
    p = bank.switch(np.repeat(currents[:, None, None], samples, axis=1)).mean(1)[:, 0]
    h = bank.field(currents)
    sigma = np.sqrt(model.p_high(h) * (1 - model.p_high(h)) / samples) + 1e-3
    assert np.all(np.abs(p - model.p_high(h)) < 4 * sigma)
    w, w_err, h_s, h_s_err = fit_p_high(h, p, samples)
    assert abs(w - model.weight) < 4 * w_err
    assert abs(h_s) < 4 * h_s_err
    # E_b / kT and H_k of the preset through w = 4 E_b / (kT H_k)
    assert w * VCMA.h_k() / 4 == pytest.approx(VCMA.barrier(), rel=0.05)


def test_bias_voltage_tunes_the_slope():
    """Paper 004 Fig. 4c: a positive bias lowers E_b (and H_k less in proportion)."""
    at_zero = TelegraphBank("vcma-004", 1, gate_voltage=0.0)
    at_bias = TelegraphBank("vcma-004", 1, gate_voltage=0.2)
    assert at_bias.weights[0] < at_zero.weights[0]
    field = 0.5 / at_zero.weights[0]  # half a unit of the sigmoid at 0 V
    current_0 = at_zero.i_mid + field / FIELD_PER_AMPERE
    current_b = at_bias.i_mid + field / FIELD_PER_AMPERE
    assert at_bias.p_high(np.array([current_b]))[0] < at_zero.p_high(np.array([current_0]))[0]


def test_bank_variation_and_refusals():
    bank = TelegraphBank("vcma-004", 500, seed=2, eta=0.25)
    ratio = bank.weights / bank.model.weight
    assert ratio.min() >= 0.75 and ratio.max() <= 1.25 and np.std(ratio) > 0.1
    with pytest.raises(ValueError, match="eta_window = 0.1: .* allowed: 0.25 or unset"):
        TelegraphBank("vcma-004", 2, eta=0.25, eta_window=0.1)
    with pytest.raises(ValueError, match="gate_voltage = 3 V .* allowed range: H_k"):
        TelegraphBank("vcma-004", 2, gate_voltage=3.0)
    with pytest.raises(ValueError, match="exceeds the safe limit"):
        bank.switch(np.full(500, 3 * bank.i_mid))
