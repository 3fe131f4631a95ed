"""LLGS defaults that hold every preset at its temperature, and device-to-device variation of
the LLGS bank (paper 000, Xin et al., Electrical Tunable Spintronic Neuron with Trainable
Activation Function; paper 002 Eq. 3 for eta)."""

import warnings

import numpy as np
import pytest

from hil.banks.llgs import LLGSBank, draw_current_scale
from protocols.fitting import fit_sigmoid
from simulators.analytic import boltzmann_transverse
from simulators.equilibrium import (
    BOLTZMANN_TOLERANCE,
    boltzmann_transverse_average,
    measure_boltzmann,
    relaxation_time,
)
from simulators.macrospin import PRESETS, macrospin_preset
from simulators.psw import simulate_psw

MTJ = macrospin_preset("mtj-000")


def test_quadrature_reference_matches_the_axial_formula():
    assert boltzmann_transverse_average(MTJ) == pytest.approx(
        boltzmann_transverse(MTJ.barrier()), rel=1e-4)


# Low barriers and low anisotropy fields relax slowly and hop between wells, so their
# trajectories' averages scatter: two standard errors of a 20 ns average exceed 1 % (measured
# at 2,000 trajectories: mtj-000-7.5kT -1.5 % +- 1.1 %, mtj-003 +1.4 % +- 1.4 %). Their check
# averages 80 ns. Each preset is checked on the integrator its runs take: the fused kernel
# (seconds), or the torch reference for physics the kernel lacks (vcma-004, mtj-003: minutes,
# so slow, with the short sibling below in the quick gate).
SLOW_TO_SETTLE = ("vcma-004", "mtj-000-7.5kT", "mtj-003")
ON_THE_TORCH_REFERENCE = ("vcma-004", "mtj-003")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow)
                                  if n in ON_THE_TORCH_REFERENCE else n for n in PRESETS])
def test_boltzmann_within_two_percent_at_each_presets_default_dt(name):
    device = PRESETS[name]
    average = max(80e-9, 3 * relaxation_time(device)) if name in SLOW_TO_SETTLE else None
    check = measure_boltzmann(device, device.default_dt, average=average)
    # the tolerance must exceed the measurement's own noise for the test to mean anything
    assert 2 * check.simulated_err / check.exact < BOLTZMANN_TOLERANCE
    assert abs(check.relative_error) < BOLTZMANN_TOLERANCE, (name, check)


@pytest.mark.parametrize("name", ON_THE_TORCH_REFERENCE)
def test_boltzmann_short(name):
    """The slow check's short sibling: 300 trajectories, the 2 % bound widened by the
    measurement's own two standard errors. Settling for five relaxation times matters: a
    5 ns settle (half of vcma-004's) left vcma-004 2 % cold at every dt."""
    device = PRESETS[name]
    assert relaxation_time(device) == pytest.approx(
        (1 + device.alpha**2) / (device.alpha * device.gamma * device.h_k()))
    check = measure_boltzmann(device, device.default_dt, trajectories=300)
    assert abs(check.relative_error) < (BOLTZMANN_TOLERANCE
                                        + 2 * check.simulated_err / check.exact), check


def test_vcma004_relaxes_in_ten_nanoseconds():
    assert 9e-9 < relaxation_time(PRESETS["vcma-004"]) < 11e-9


def test_the_old_5ps_step_is_measurably_cold_and_warned_about():
    check = measure_boltzmann(MTJ, 5e-12)
    assert check.relative_error < -BOLTZMANN_TOLERANCE - 3 * check.simulated_err / check.exact
    with pytest.warns(UserWarning, match=r"dt = 5 ps holds mtj-000 -\d+\.\d% off its "
                      r"temperature .* allowed \+-2%\); its default dt = \d"):
        simulate_psw(MTJ, [15e-6, 20e-6], 5e-9, 10, dt=5e-12)


def test_default_dt_is_used_and_not_warned_about():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curve = simulate_psw(MTJ, [15e-6, 20e-6], 5e-9, 10)
    steps_per_run = curve.junction_steps / (2 * 10)
    assert steps_per_run * MTJ.default_dt == pytest.approx(7e-9, rel=0.01)


def _i50(dt, currents, trials, seed):
    curve = simulate_psw(MTJ, currents, 30e-9, trials, dt=dt, seed=seed)
    return fit_sigmoid(curve.currents, curve.p_switch, trials)


def _agree_with_1ps(currents, trials):
    default = _i50(None, currents, trials, seed=11)
    fine = _i50(1e-12, currents, trials, seed=12)
    sigma = np.hypot(default.i_bias_err, fine.i_bias_err)
    assert abs(default.i_bias - fine.i_bias) < 2 * sigma, (default, fine)
    assert sigma < 0.01 * fine.i_bias  # a resolution that would see the old 5 ps error (4 %)


def test_mtj000_30ns_curve_at_default_dt_agrees_with_1ps_short():
    _agree_with_1ps(np.linspace(12e-6, 20e-6, 9), 100)


@pytest.mark.slow
def test_mtj000_30ns_curve_at_default_dt_agrees_with_1ps():
    _agree_with_1ps(np.linspace(10e-6, 22e-6, 21), 200)


def test_current_scale_is_papers_uniform_variation_and_seeded():
    scale = draw_current_scale(4000, 0.25, seed=3)
    assert scale.min() >= 0.75 and scale.max() <= 1.25
    assert np.std(scale) == pytest.approx(0.25 / np.sqrt(3), rel=0.05)
    assert np.array_equal(scale, draw_current_scale(4000, 0.25, seed=3))
    assert not np.array_equal(scale, draw_current_scale(4000, 0.25, seed=4))
    assert np.all(draw_current_scale(5, 0.0, seed=3) == 1.0)
    with pytest.raises(ValueError, match=r"eta = 1 is outside the allowed range \[0, 1\)"):
        draw_current_scale(5, 1.0, seed=3)


def test_llgs_bank_devices_differ_by_their_critical_current():
    """Two neurons whose efficiencies differ by 1.5x: at the nominal I_bias the weaker one
    (larger critical current) switches less, by many binomial sigmas."""
    bank = LLGSBank("mtj-000-7.5kT", 40, pulse_width=5e-9, seed=5, eta=0.5)
    weak, strong = int(np.argmax(bank.current_scale)), int(np.argmin(bank.current_scale))
    assert bank.current_scale[weak] / bank.current_scale[strong] > 1.5
    assert bank.max_current[weak] > bank.max_current[strong]
    currents = np.full((300, 40), bank.calibration[0].i_bias)
    p = bank.switch(currents).mean(0)
    sigma = np.sqrt(0.25 / 300) * np.sqrt(2)
    assert p[strong] - p[weak] > 5 * sigma, (p[strong], p[weak])
    with pytest.raises(ValueError, match="eta_window = 0.1: .* allowed: 0.5 or unset"):
        LLGSBank("mtj-000-7.5kT", 4, pulse_width=5e-9, eta=0.5, eta_window=0.1)


def test_llgs_bank_neurons_switch_as_their_calibration_says_on_either_integrator(monkeypatch):
    """The bank switches through the fused kernel its calibration was fitted on; the torch
    integrator (``backend="torch"``) is the same physics: at the calibrated I_bias both give
    P = 0.5 within four binomial sigmas, and replaying a state replays the draws."""
    monkeypatch.setenv("SPINHIL_LLGS_COMPILE", "0")  # eager torch: no compile in the gate
    fused = LLGSBank("mtj-000-7.5kT", 1, pulse_width=3e-9, seed=2)
    reference = LLGSBank("mtj-000-7.5kT", 1, pulse_width=3e-9, seed=2, backend="torch")
    assert (fused.backend, reference.backend) == ("numba", "torch")
    currents = np.full((1000, 1), fused.calibration[0].i_bias)
    state = fused.get_state()
    p_fused = fused.switch(currents).mean()
    p_torch = reference.switch(currents).mean()
    sigma = np.sqrt(0.25 / 1000)
    assert abs(p_fused - 0.5) < 4 * sigma and abs(p_torch - 0.5) < 4 * sigma, (p_fused, p_torch)
    fused.set_state(state)
    assert fused.switch(currents).mean() == p_fused


def test_preset_calibration_reports_progress_and_does_not_depend_on_it():
    """A calibration is a wait of seconds to a minute: it reports pulses done, rising to the
    total, and gives the same sigmoid whether anyone watches or not."""
    from hil.banks.llgs import _CALIBRATIONS, preset_calibration

    seen: list[tuple[int, int]] = []

    def progress(stage: str, done: int, total: int, metrics) -> None:  # hil's one protocol
        assert stage == "calibration" and metrics == {}
        seen.append((done, total))

    watched = preset_calibration("mtj-000-7.5kT", 5e-9, 2.5e-12, trials=40,
                                 progress=progress)
    _CALIBRATIONS.clear()
    unwatched = preset_calibration("mtj-000-7.5kT", 5e-9, 2.5e-12, trials=40)
    done = [d for d, _ in seen]
    assert len(seen) >= 10 and done == sorted(done)
    assert {t for _, t in seen} == {done[-1]} and done[-1] == 40 * 50 + 25 * 40
    assert watched == unwatched
