"""Characterisation procedures on the virtual lab, checked against the emulated physics."""

import numpy as np
import pytest
from scipy.stats import binomtest

from hil.session.lab import connect_virtual
from instruments.limits import SafetyLimits
from protocols.cycle import ResetWriteRead
from protocols.plan import run_plan
from protocols.procedures import anisotropy_field, endurance, hysteresis, survey_table
from protocols.sweep import sweep_device
from simulators.lab.chip import H_ANISOTROPY, build_chip
from simulators.lab.server import VirtualLab


@pytest.fixture
def rig():
    limits = SafetyLimits(max_field=0.4)  # paper 002 SI S1 sweeps well into H_an
    with VirtualLab(build_chip(3, 0.5e-6, 1), coil_constant=0.5) as virtual, \
            connect_virtual(lab=virtual, limits=limits) as lab:
        lab["field"].coil_constant = 0.5
        lab.select_device(0)
        rwr = ResetWriteRead(lab)
        rwr.calibrate()
        yield virtual, rwr


def _staircase_edge(device, steps, width):
    """Mean and spread of the current that switches a device on a staircase of pulses:
    P(edge at step j) = S_(j-1) - S_j, S_j = exp(-sum_(i<=j) width / tau(I_i))."""
    rate = device.switch_rate(steps[:, None])[:, 0]
    survival = np.exp(-np.cumsum(rate * width))
    prob = -np.diff(np.concatenate([[1.0], survival]))
    mean = float((steps * prob).sum() / prob.sum())
    return mean, float(np.sqrt(((steps - mean) ** 2 * prob).sum() / prob.sum()))


def test_hysteresis_measures_both_edges_and_the_loop_width(rig):
    """Ten closed loops of 0.02 mA steps (paper 002 Fig. 2b): each loop switches -1 -> +1
    on the way up and +1 -> -1 on the way down, at the currents the device's own
    escape rate predicts for that staircase (within 3 standard errors over the loops)."""
    virtual, rwr = rig
    result = run_plan(hysteresis(rwr, 0.6e-3, 30, loops=10))
    device = virtual.chip.devices.select(0)
    mean, spread = _staircase_edge(device, np.linspace(0.02e-3, 0.6e-3, 30), 100e-6)
    se = spread / np.sqrt(10)
    assert result["usable"] and len(result["edges_up"]) == len(result["edges_down"]) == 10
    assert abs(result["edge_up"] - mean) < 3 * se + 1e-12
    assert abs(-result["edge_down"] - mean) < 3 * se + 1e-12  # the same edge, reversed
    widths = np.array(result["edges_up"]) - np.array(result["edges_down"])
    assert result["loop_width"] == pytest.approx(widths.mean())
    assert abs(result["loop_width"] - 2 * mean) < 3 * np.sqrt(2) * se
    assert result["loop_width_err"] >= np.sqrt(2 / 12) * 0.02e-3  # at least the step's
    r = np.array(result["r_ahe"])
    assert r[0] < result["threshold"] and r[-1] < result["threshold"]  # -max: -1
    assert r[np.argmax(result["currents"])] > result["threshold"]  # +max: +1


def test_hysteresis_says_which_edge_it_never_saw(rig):
    virtual, rwr = rig
    result = run_plan(hysteresis(rwr, 0.2e-3, 5, loops=1))  # below either edge
    assert not result["usable"] and "loop_width" not in result
    assert result["reason"].startswith("no switching edge seen on loop 1 up, loop 1 down")


def test_endurance_counts_match_the_model(rig):
    virtual, rwr = rig
    device = virtual.chip.devices.select(0)
    current = float(device.i_bias(100e-6)[0])
    expected = float(device.p_switch(np.array([current]), 100e-6)[0])
    result = run_plan(endurance(rwr, current, 300))
    assert binomtest(result["switches"], 300, expected).pvalue > 0.001
    assert len(result["moving_averages"][100]) == 201


def test_anisotropy_field_fit_recovers_h_an(rig):
    virtual, rwr = rig
    fields = np.linspace(-0.2, 0.2, 15)  # Eq. S2 is the small-field expansion: |H_x| < H_an / 3
    fit = run_plan(anisotropy_field(rwr, fields))
    assert fit.h_an == pytest.approx(H_ANISOTROPY, rel=0.05)
    assert virtual.instruments["field"].output is False  # the coil is off afterwards


def test_survey_reports_device_variation(rig):
    """Three devices' sweeps (hardware-timed: the software route's cycles are tested against
    it in test_lab_protocols) and their table against the chip's own I_bias."""
    virtual, software = rig
    rwr = ResetWriteRead(software.lab, timing="hardware")
    fits = []
    for device in range(3):
        rwr.lab.select_device(device)
        rwr.calibrate()
        fits.append(run_plan(sweep_device(rwr, device, None, 40)).summary())
    table = survey_table(fits)
    truth = virtual.chip.devices.i_bias(100e-6)
    assert table["i_bias_mean"] == pytest.approx(truth.mean(), rel=0.03)
    assert 0 < table["i_bias_variation"] < 0.3


def test_characterise_commands_record_their_runs(capsys):
    import json

    from hil.cli import main
    from protocols.store import RunStore

    def last():
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert main(["characterise", "hysteresis", "--points", "5", "--json"]) == 0
    r_ahe = last()["r_ahe"]
    assert r_ahe[0] < 0 < max(r_ahe) and r_ahe[-1] < 0  # up, switched, and back down
    assert main(["characterise", "endurance", "--current", "0.7mA", "--cycles", "30",
                 "--json"]) == 0
    assert last()["switches"] == 30  # far above I_bias: every cycle switches
    assert main(["characterise", "anisotropy", "--points", "9", "--json"]) == 0
    fit = last()
    assert fit["h_an"] == pytest.approx(H_ANISOTROPY, rel=0.05)
    for _ in range(2):
        assert main(["characterise", "sweep", "--iterations", "20", "--json"]) == 0
        capsys.readouterr()
    assert main(["characterise", "persistence", "4", "5", "--json"]) == 0
    assert abs(last()["relative_shift"]) < 0.02
    kinds = [r.kind for r in RunStore().list_runs()]
    assert kinds == ["hysteresis", "endurance", "anisotropy", "sweep", "sweep"]
    assert all(len(RunStore().readings(i)) > 0 for i in range(1, 6))
    assert all("t" in r for i in range(1, 6) for r in RunStore().readings(i))  # timestamped
    assert main(["characterise", "endurance", "--current", "2mA"]) == 2  # beyond the limit
    assert len(RunStore().list_runs()) == 5  # refused before any pulse: nothing recorded
    assert main(["characterise", "endurance", "--seed", "9"]) == 2  # no sweep on that lab
    assert "error: current" in capsys.readouterr().err
    # by default at the 50 % current of the device's latest sweep on this lab (SI S5)
    assert main(["characterise", "endurance", "--cycles", "300", "--json"]) == 0
    result = last()
    assert result["current"] == RunStore().get_run(5).result["i_bias"]
    assert 0.25 < result["p_switch"] < 0.75
