"""Every physical argument of the simulators and their banks refused outside its documented
range, by name and with the range, before anything is allocated; a long but legal run says
its cost before it starts (simulators/bounds.py)."""

import dataclasses
import tracemalloc
import warnings

import numpy as np
import pytest

from hil.banks.llgs import LLGSBank
from hil.banks.telegraph import TelegraphBank
from hil.banks.two_polariser import TwoPolariserBank
from simulators.bounds import CostWarning, OutOfRange, llgs_seconds, si
from simulators.llgs import LLGSIntegrator, chunked_steps
from simulators.llgs_pulse import Pulse, max_stable_current, stability_limit, steps_for
from simulators.macrospin import PRESETS
from simulators.neel_brown import NeelBrown, brown_dwell_time
from simulators.psw import simulate_psw
from simulators.telegraph import simulate_telegraph
from simulators.two_polariser import boltzmann_readout, simulate_readout

MTJ = PRESETS["mtj-000"]
CURRENTS = np.linspace(5e-6, 25e-6, 21)


def _refused(call, field, *fragments):
    with pytest.raises(OutOfRange) as caught:
        call()
    assert caught.value.field == field, caught.value
    for fragment in fragments:
        assert fragment in str(caught.value), caught.value
    return caught.value


def test_a_30_s_pulse_is_refused_by_name_before_anything_is_allocated():
    """The issue's 87.3 TiB MemoryError: refused with the longest pulse allowed at the
    preset's step, and less than a megabyte allocated on the way."""
    tracemalloc.start()
    try:
        _refused(lambda: simulate_psw("mtj-000", CURRENTS, 30.0, 100), "pulse_width",
                 "30 s at dt = 2.5 ps", "allowed range (0, 50 us]")
        _refused(lambda: LLGSBank("mtj-000", 4, pulse_width=30.0), "pulse_width",
                 "allowed range (0, 50 us]")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1e6, peak


def test_a_long_legal_run_says_its_cost_before_it_starts():
    """30 us pulses: legal, and minutes long; the warning comes first (as an error here,
    nothing is integrated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CostWarning)
        with pytest.raises(CostWarning, match=r"12,000,800 steps x 2,100 trajectories .* "
                           r"about \d+ min"):
            simulate_psw("mtj-000", CURRENTS, 30e-6, 100)
        with pytest.raises(CostWarning, match="LLGSBank calibration of mtj-000 at 30 us "
                           r"pulses: 12,000,800 steps x 7,000 trajectories"):
            LLGSBank("mtj-000", 4, pulse_width=30e-6)
    assert llgs_seconds(12_000_800, 2100) > 60
    with warnings.catch_warnings():  # the CLI's default curve is short: nothing said
        warnings.simplefilter("error", CostWarning)
        simulate_psw("mtj-000", CURRENTS[:3], 1e-9, 4)


def test_the_step_bound_is_the_kernels_lowest_layer():
    assert steps_for(50e-6 - 1e-9, 2.5e-12) == 19_999_600
    _refused(lambda: steps_for(51e-6, 2.5e-12), "pulse_width", "allowed range (0, 50 us]")
    _refused(lambda: chunked_steps(1.0, 5e-12, "duration"), "duration", "(0, 100 us]")
    _refused(lambda: Pulse(float("nan")), "pulse_width")
    _refused(lambda: Pulse(1e-9, rise=-1e-9), "rise")


def test_currents_are_bounded_by_the_step_that_integrates_them():
    top = max_stable_current(MTJ, MTJ.default_dt)
    assert stability_limit(MTJ, top) == pytest.approx(MTJ.default_dt)
    simulate_psw("mtj-000", [0.99 * top], 1e-10, 2)
    _refused(lambda: simulate_psw("mtj-000", [1.01 * top], 1e-10, 2), "currents",
             f"allowed range [0 A, {si(top, 'A')}]")
    _refused(lambda: simulate_psw("mtj-000", [1e-5, np.nan], 1e-9, 2), "currents", "finite")


@pytest.mark.parametrize(("kwargs", "field", "fragment"), [
    ({"trials": 0}, "trials", "[1, 1000000]"),
    ({"trials": 2_000_000}, "trials", "[1, 1000000]"),
    ({"trials": 2.5}, "trials", "not a whole number"),
    ({"dt": 0.0}, "dt", "(0 s, 1 ns]"),
    ({"dt": np.inf}, "dt", "(0 s, 1 ns]"),
    ({"gate_voltage": np.nan}, "gate_voltage", "[-10 V, 10 V]"),
    ({"rise": -1e-9}, "rise", "[0"),
])
def test_psw_arguments_are_refused_by_name(kwargs, field, fragment):
    arguments = {"preset": "mtj-000", "currents": CURRENTS, "pulse_width": 1e-9, "trials": 4,
                 **kwargs}
    _refused(lambda: simulate_psw(**arguments), field, fragment)


def test_a_gate_that_removes_the_easy_axis_is_refused():
    _refused(lambda: simulate_psw("mtj-000-vcma", CURRENTS, 1e-9, 4, gate_voltage=9.0),
             "gate_voltage", "H_k(V) > 0")


def test_trajectories_per_batch_are_bounded():
    _refused(lambda: simulate_psw("mtj-000", np.linspace(1e-6, 2e-6, 10), 1e-9, 1_000_000),
             "trajectories", "[1, 4000000]")


@pytest.mark.parametrize(("kwargs", "field", "fragment"), [
    ({"duration": 10.0}, "duration", "allowed range (0, 100 us]"),
    ({"trajectories": 0}, "trajectories", "[1, 4000000]"),
    ({"look": 1e-6}, "look", "from dt to duration"),
    ({"h_perp": 1.0}, "h_perp", "|H| <= H_k"),
    ({"gate_voltage": np.inf}, "gate_voltage", "[-10 V, 10 V]"),
])
def test_telegraph_arguments_are_refused_by_name(kwargs, field, fragment):
    arguments = {"device": PRESETS["vcma-004"], "duration": 1e-9, **kwargs}
    _refused(lambda: simulate_telegraph(**arguments), field, fragment)


@pytest.mark.parametrize(("kwargs", "field", "fragment"), [
    ({"trajectories": 1}, "trajectories", "[2, 4000000]"),
    ({"average": 1.0}, "average", "at most 2e+07 LLGS steps"),
    ({"sample": 1e-6, "average": 1e-8}, "sample", "one sample or more per average"),
    ({"settle": -1e-9}, "settle", "(0 s"),
    ({"fields": [0.0, np.nan]}, "fields", "finite"),
])
def test_two_polariser_readout_arguments_are_refused_by_name(kwargs, field, fragment):
    arguments = {"device": PRESETS["mtj-003"], "fields": [0.0], "trajectories": 2, **kwargs}
    _refused(lambda: simulate_readout(**arguments), field, fragment)


def test_quadrature_grids_and_fields_are_bounded():
    _refused(lambda: boltzmann_readout(PRESETS["mtj-003"], [0.0], n_z=10**6), "n_z")
    _refused(lambda: boltzmann_readout(PRESETS["mtj-003"], [np.inf]), "fields", "finite")


def test_neel_brown_arguments_are_refused_by_name():
    _refused(lambda: NeelBrown(np.inf, 0.05), "e_b", "(0 kT")
    _refused(lambda: NeelBrown(10.0, 0.0), "h_k")
    _refused(lambda: NeelBrown(10.0, 0.05, tau0=np.nan), "tau0")
    device = PRESETS["vcma-004"]
    _refused(lambda: brown_dwell_time(device, 1.0), "h_perp", "|H| <= H_k")
    _refused(lambda: brown_dwell_time(device, 0.0, threshold=1.5), "threshold")


@pytest.mark.parametrize(("field", "value"), [("alpha", 0.0), ("alpha", np.nan),
                                              ("ms", -1.0), ("temperature", 0.0),
                                              ("thickness", np.inf), ("default_dt", 1.0),
                                              ("polarisation", 1.0)])
def test_a_macrospins_physical_fields_are_refused_by_name(field, value):
    _refused(lambda: dataclasses.replace(MTJ, **{field: value}), field, "allowed range")


def test_sot_strip_and_field_are_bounded():
    sot = PRESETS["sot-000"]
    _refused(lambda: dataclasses.replace(sot, hm_width=0.0), "hm_width")
    _refused(lambda: dataclasses.replace(sot, h_ext=(np.nan, 0.0, 0.0)), "h_ext")


def test_bank_arguments_are_refused_by_name():
    _refused(lambda: LLGSBank("mtj-000", 0), "n_neurons", "[1, 100000]")
    _refused(lambda: LLGSBank("mtj-000", 4, dt=-1.0), "dt")
    _refused(lambda: TelegraphBank("vcma-004", 10**9), "n_neurons", "[1, 100000]")
    _refused(lambda: TelegraphBank("vcma-004", 4, gate_voltage=np.nan), "gate_voltage")
    _refused(lambda: TwoPolariserBank(4, samples=0), "samples", "[1, 1000000000]")
    _refused(lambda: TwoPolariserBank(4, samples=10**10), "samples")
    _refused(lambda: TwoPolariserBank(0), "n_neurons")
    _refused(lambda: LLGSIntegrator(MTJ, dt=np.nan), "dt")
