"""A chip survey through the 7002: each device routed once, defects named from their
readings, usable devices graded by their fits, the network and its spares chosen, and the
lab time priced before it starts."""

import math

import numpy as np
import pytest

from hil.session.lab import connect_virtual, sweep_truth
from hil.session.session import Session
from instruments.connection import Lab, LabFile
from instruments.keithley import SwitchWiring
from protocols.store import RunStore
from protocols.survey import choose_network
from simulators.lab.chip import Chip, Defects, build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k7002 import pair_wiring
from simulators.lab.server import VirtualLab


def row(device, i_bias, window, usable=True):
    return {"device": device, "i_bias": i_bias, "window": window, "usable": usable}


def test_the_network_takes_the_devices_nearest_the_chips_median():
    rows = [row(0, 0.30e-3, 0.10e-3), row(1, 0.36e-3, 0.12e-3), row(2, 0.29e-3, 0.10e-3),
            row(3, 0.24e-3, 0.08e-3), row(4, 0.31e-3, 0.11e-3), row(5, math.nan, math.nan,
                                                                   usable=False)]
    network, spares = choose_network(rows, 3)
    assert network == [0, 2, 4] and spares == [1, 3]  # 1 is nearer the median than 3
    assert choose_network(rows, None) == ([], [0, 2, 4, 1, 3])  # no network: all spares
    assert choose_network(rows, 10)[0] == [0, 1, 2, 3, 4]
    assert choose_network([rows[-1]], 2) == ([], [])


def defect_lab(defects, devices=6, seed=2):
    chip = build_chip(devices, 0.5e-6, seed)
    chip = Chip(chip.devices, np.random.SeedSequence(seed), defects=defects)
    return VirtualLab(chip, LabClock(), switch="7002").start()


def test_a_survey_names_each_defect_and_routes_each_device_once(tmp_path):
    defects = Defects(frozenset({1}), ((3, 1),), frozenset({4}))
    virtual = defect_lab(defects)
    description = {"virtual": True, "devices": 6, "width": 0.5e-6, "seed": 2,
                   "switch": "7002"}
    estimates = []
    with Session(description, RunStore(tmp_path / "runs.sqlite"),
                 lab=connect_virtual(lab=virtual)) as session:
        summary = session.survey(iterations=20, network=2, on_estimate=estimates.append).summary
    emulated = virtual.instruments["switch"]
    virtual.stop()
    grades = {int(k): v for k, v in summary["grades"].items()}
    assert grades == {0: "usable", 1: "no switching", 2: "usable", 3: "stuck at +1",
                      4: "open", 5: "usable"}
    assert summary["usable_devices"] == 3
    assert "no Hall signal" in summary["unusable"]["4"]
    assert sorted(summary["network"] + summary["spares"]) == [0, 2, 5]
    assert len(summary["network"]) == 2
    # each device's two relays closed once, for the whole device: never once per cycle
    assert all(emulated.closures[channel] == 1 for pair in pair_wiring(6).values()
               for channel in pair)
    assert summary["relay_closures"] == 12 == summary["relay_operations"]["closures"]
    assert summary["relay_operations"]["hot_switches"] == 0
    assert summary["lab_seconds_estimate"] == estimates[0]
    chip = build_chip(6, 0.5e-6, 2)
    for fit in summary["fits"]:
        if fit["usable"]:
            truth, _ = sweep_truth(chip.devices.select(fit["device"]), 100e-6)
            assert fit["i_bias"] == pytest.approx(truth.i_bias, abs=5 * fit["i_bias_err"])


def test_the_lab_time_is_priced_before_the_survey_and_met(tmp_path):
    with Session({"virtual": True, "devices": 4, "width": 0.5e-6, "seed": 0,
                  "switch": "7002"}, RunStore(tmp_path / "runs.sqlite")) as session:
        summary = session.survey(iterations=20).summary
    assert summary["lab_seconds"] == pytest.approx(summary["lab_seconds_estimate"], rel=0.05)
    assert summary["network"] == [] and len(summary["spares"]) == 4


def test_a_device_whose_own_limit_is_below_the_cycle_is_refused(tmp_path):
    virtual = VirtualLab(build_chip(3, 0.5e-6, 0), LabClock(), switch="7002").start()
    resources = {r: e["resource"] for r, e in virtual.resources.items() if r != "field"}
    wiring = SwitchWiring.from_pairs(pair_wiring(3), cards=1).lab_file_text().replace(
        '[devices.1]\ncurrent = "1!2"\nvoltage = "1!12"\n',
        '[devices.1]\ncurrent = "1!2"\nvoltage = "1!12"\nmax_pulse_current = "0.5 mA"\n')
    path = tmp_path / "lab.toml"
    path.write_text("[roles]\n" + "\n".join(f'{r} = "{v}"' for r, v in resources.items())
                    + "\n" + wiring)
    lab = Lab.from_file(LabFile.load(path))
    try:
        with Session({"lab_file": str(path)}, RunStore(tmp_path / "runs.sqlite"),
                     lab=lab) as session:
            summary = session.survey(iterations=20).summary
    finally:
        lab.close()
        virtual.stop()
    assert summary["grades"] == {"0": "usable", "1": "refused", "2": "usable"}
    assert "0.0005" in summary["unusable"]["1"]  # the reset pulse, over device 1's limit
    assert virtual.chip.received[1] <= 0.5e-3
