"""Characterisation procedures on the virtual lab, checked against the emulated physics."""

import numpy as np
import pytest
from scipy.stats import binomtest

from hil.session.lab import connect_virtual
from instruments.limits import SafetyLimits
from protocols.cycle import ResetWriteRead
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


def test_hysteresis_switches_up_and_back(rig):
    virtual, rwr = rig
    result = hysteresis(rwr, np.linspace(0.1e-3, 0.6e-3, 6))
    r = np.array(result["r_ahe"])
    assert r[0] < 0 < r[5]  # switched up on the way up
    assert r[-1] < 0  # and back down on the negative branch


def test_endurance_counts_match_the_model(rig):
    virtual, rwr = rig
    device = virtual.chip.devices.select(0)
    current = float(device.i_bias(100e-6)[0])
    expected = float(device.p_switch(np.array([current]), 100e-6)[0])
    result = endurance(rwr, current, 300)
    assert binomtest(result["switches"], 300, expected).pvalue > 0.001
    assert len(result["moving_averages"][100]) == 201


def test_anisotropy_field_fit_recovers_h_an(rig):
    virtual, rwr = rig
    fields = np.linspace(-0.2, 0.2, 15)  # Eq. S2 is the small-field expansion: |H_x| < H_an / 3
    fit = anisotropy_field(rwr, fields)
    assert fit.h_an == pytest.approx(H_ANISOTROPY, rel=0.05)
    assert virtual.instruments["field"].output is False  # the coil is off afterwards


def test_survey_reports_device_variation(rig):
    virtual, rwr = rig
    fits = []
    for device in range(3):
        rwr.lab.select_device(device)
        rwr.calibrate()
        fits.append(sweep_device(rwr, device, None, 40).summary())
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
