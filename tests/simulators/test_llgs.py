"""The stochastic LLGS integrator against analytic physics (papers 000, 002 SI Eq. S3)."""

import dataclasses

import numpy as np
import pytest
import torch

from protocols.fitting import fit_sigmoid
from simulators import llgs
from simulators.analytic import boltzmann_transverse, brown_mean_first_passage, neel_time
from simulators.llgs import LLGSIntegrator, Pulse, stability_limit
from simulators.macrospin import PRESETS, macrospin_preset
from simulators.psw import simulate_psw

MTJ = macrospin_preset("mtj-000")


def _along_z(n, tilt_deg=0.0):
    t = np.deg2rad(tilt_deg)
    return torch.tensor(np.tile([[np.sin(t)], [0.0], [np.cos(t)]], (1, n)), dtype=torch.float32)


def test_presets_have_papers_numbers():
    assert MTJ.demag[0] == pytest.approx(0.088, abs=0.001)
    assert MTJ.demag[2] == pytest.approx(0.823, abs=0.001)
    assert MTJ.barrier() == pytest.approx(34, abs=1)  # not the thin-film 15 kT
    assert PRESETS["mtj-000-15kT"].barrier() == pytest.approx(15)
    assert PRESETS["mtj-000-7.5kT"].h_k() == pytest.approx(0.169, abs=0.002)  # paper 000 App. A
    constant = dataclasses.replace(PRESETS["mtj-000-7.5kT"], stt_efficiency="constant")
    assert constant.critical_current() == pytest.approx(5.8e-6, rel=0.02)  # paper 000 App. A


def test_norm_stays_one_throughout_a_run():
    integrator = LLGSIntegrator(MTJ, 5e-12)
    gen = torch.Generator().manual_seed(0)
    m = _along_z(500)
    worst_before = 0.0
    for _ in range(10):  # 10 segments of 1 ns at 20 uA
        m, worst = integrator.run(m, np.full(500, 20e-6), Pulse(1e-9, relax=0.0), gen)
        worst_before = max(worst_before, worst)
        assert (m.norm(dim=0) - 1).abs().max() < 1e-5
    assert worst_before < 1e-3  # RK4 itself barely leaves the sphere at 5 ps


def test_the_compiled_chunk_gives_the_eager_numbers(monkeypatch):
    """The chunk torch.compile makes (inductor's generated loop, compiled once per process:
    what the integrator runs by default) integrates a thermal run as the eager chunk does."""
    monkeypatch.delenv("SPINHIL_LLGS_COMPILE", raising=False)
    runs = []
    for compiled in (False, True):
        integrator = LLGSIntegrator(MTJ, 5e-12, compiled=compiled)
        assert (integrator.chunk is llgs._rk4_chunk) is not compiled
        runs.append(integrator.run(_along_z(64, tilt_deg=3.0), np.full(64, 20e-6),
                                   Pulse(0.2e-9, relax=0.0), torch.Generator().manual_seed(0)))
    (eager, eager_worst), (fused, fused_worst) = runs
    assert (eager - _along_z(64, 3.0)).abs().max() > 1e-3  # the run moved m
    assert torch.allclose(fused, eager, atol=2e-5)  # float32, operations reordered
    assert fused_worst == pytest.approx(eager_worst, rel=1e-2, abs=1e-7)


@pytest.mark.parametrize("efficiency", ["constant", "angular"])
def test_zero_temperature_threshold_matches_analytic_critical_current(efficiency):
    device = dataclasses.replace(MTJ, temperature=1e-9, stt_efficiency=efficiency)
    analytic = device.critical_current()
    currents = analytic * np.linspace(0.8, 1.2, 41)
    integrator = LLGSIntegrator(device, 5e-12)
    m, _ = integrator.run(_along_z(currents.size, tilt_deg=2.0), currents, Pulse(200e-9),
                          torch.Generator().manual_seed(0))
    switched = m[2].numpy() < 0
    assert not switched[0] and switched[-1]
    threshold = currents[np.argmax(switched)]
    assert abs(threshold / analytic - 1) < 0.10, (threshold, analytic)


@pytest.mark.parametrize(("dt", "tolerance"), [(2.5e-12, 0.02)])  # mtj-000's default dt
def test_thermal_equilibrium_obeys_boltzmann(dt, tolerance):
    """Zero current, Delta = 34: start cold along +z, thermalise 5 ns, average 20 ns."""
    integrator = LLGSIntegrator(MTJ, dt)
    gen = torch.Generator().manual_seed(1)
    n = 2000
    m, _ = integrator.run(_along_z(n), np.zeros(n), Pulse(5e-9, relax=0.0), gen)
    samples = []
    for _ in range(20):
        m, _ = integrator.run(m, np.zeros(n), Pulse(1e-9, relax=0.0), gen)
        samples.append(float((m[0] ** 2 + m[1] ** 2).mean()))
    expected = boltzmann_transverse(MTJ.barrier())
    assert abs(np.mean(samples) / expected - 1) < tolerance, (np.mean(samples), expected)


@pytest.mark.slow
def test_low_barrier_mean_first_passage_matches_brown():
    """Delta = 5, axially symmetric: mean time from m_z = 1 to the equator (the torch
    reference: one call per 4-step look, minutes; its short sibling in the quick gate is the
    fused kernel's same check, tests/simulators/test_llgs_kernels.py, whose curves this reference is
    checked against there).

    The state is seen every compiled chunk (4 steps); a path can cross and come back between
    two looks, so each interval whose ends are both above the equator counts as a crossing
    with the Brownian-bridge probability exp(-2 z_a z_b / s^2), s^2 the variance of the m_z
    increment at the barrier top, measured from the simulation itself."""
    device = dataclasses.replace(MTJ.with_barrier(5.0, "low"), alpha=0.1)
    expected = brown_mean_first_passage(device.barrier(), neel_time(device))
    integrator = LLGSIntegrator(device, 5e-12)
    gen = torch.Generator().manual_seed(2)
    rng = np.random.default_rng(2)
    segment = Pulse(4 * 5e-12, relax=0.0)  # one compiled chunk per look
    n = 4000
    at_top = torch.tensor(np.tile([[1.0], [0.0], [0.0]], (1, n)), dtype=torch.float32)
    moved, _ = integrator.run(at_top, np.zeros(n), segment, gen)
    s2 = float((moved[2] ** 2).mean())
    m = _along_z(n)
    z_before = m[2].numpy().copy()
    passage = np.full(n, np.nan)
    t = 0.0
    while np.isnan(passage).any() and t < 15 * expected:
        m, _ = integrator.run(m, np.zeros(n), segment, gen)
        t += segment.duration
        z = m[2].numpy()
        bridge = np.exp(-2 * np.clip(z_before, 0, None) * np.clip(z, 0, None) / s2)
        crossed = np.isnan(passage) & ((z < 0) | (rng.random(n) < bridge))
        passage[crossed] = t - segment.duration / 2
        z_before = z.copy()
    assert np.isnan(passage).mean() < 1e-3
    mean = np.nanmean(passage)
    assert abs(mean / expected - 1) < 0.05, (mean, expected)


def _fit(preset, width, span, trials=100, seed=0, points=25):
    device = macrospin_preset(preset)
    currents = device.critical_current() * np.linspace(*span, points)
    curve = simulate_psw(device, currents, width, trials, seed=seed)
    return fit_sigmoid(curve.currents, curve.p_switch, trials), curve


def test_psw_is_sigmoid_and_steepens_with_pulse_width():
    """Paper 000 Fig. 1b, App. B: longer pulses give steeper curves at lower current."""
    short, curve = _fit("mtj-000-15kT", 30e-9, (0.2, 1.3))
    long, _ = _fit("mtj-000-15kT", 200e-9, (0.2, 1.3))
    residual = curve.p_switch - short.p_switch(curve.currents)
    sigma = np.sqrt(np.clip(curve.p_switch * (1 - curve.p_switch), 0.01, None) / 100)
    assert np.mean((residual / sigma) ** 2) < 3  # a sigmoid describes the curve
    assert long.k > short.k + 3 * np.hypot(long.k_err, short.k_err)  # steeper when longer
    assert long.i_bias < short.i_bias - 3 * np.hypot(long.i_bias_err, short.i_bias_err)


def test_lower_barrier_shifts_curve_with_little_change_of_slope():
    """Paper 000 Fig. 3a: changing K_u (the barrier) moves the curve, not its slope."""
    high, _ = _fit("mtj-000-15kT", 30e-9, (0.2, 1.3))
    low, _ = _fit("mtj-000-7.5kT", 30e-9, (0.2, 1.6))
    assert high.i_bias - low.i_bias > 5 * np.hypot(high.i_bias_err, low.i_bias_err)
    assert abs(np.log(high.k / low.k)) < 0.25


def test_stability_limit_and_bad_input():
    limit = stability_limit(MTJ, 30e-6)
    assert 5e-12 < limit < 1e-10
    with pytest.raises(ValueError, match=r"dt = .* exceeds the RK4 stability limit .* allowed"):
        simulate_psw(MTJ, [10e-6, 20e-6], 30e-9, 10, dt=2 * limit)
    with pytest.raises(ValueError, match="pulse_width"):
        simulate_psw(MTJ, [10e-6], 0.0, 10)
    with pytest.raises(ValueError, match="trials"):
        simulate_psw(MTJ, [10e-6], 30e-9, 0)
    with pytest.raises(ValueError, match="preset = 'nope' is unknown; allowed: mtj-000"):
        macrospin_preset("nope")
