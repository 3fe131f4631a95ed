"""Characterisation procedures on the virtual lab, checked against the emulated physics."""

import numpy as np
import pytest
from scipy.stats import binomtest

from instruments.connection import Lab
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
            Lab.virtual(lab=virtual, limits=limits) as lab:
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
