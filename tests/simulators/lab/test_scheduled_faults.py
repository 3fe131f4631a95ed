"""Faults on the virtual lab's clock (simulators/lab/faults.py), met through real pyvisa-py
sockets: what the emulated devices and instruments hold after each, and the lab's own log."""

import subprocess
import sys

import numpy as np
import pytest
from pyvisa.errors import VisaIOError

from hil.session.lab import connect_virtual
from instruments.errors import InstrumentError
from protocols.cycle import ResetWriteRead
from simulators.lab.chip import build_chip
from simulators.lab.faults import FaultFileError, FaultSchedule
from simulators.lab.server import VirtualLab

STRONG = 0.7e-3  # A: far above every device's I_bias, a write that always switches


def _lab(raw: dict) -> VirtualLab:
    return VirtualLab(build_chip(4, 0.5e-6, 3), faults=FaultSchedule.from_mapping(raw, 4))


def test_a_fault_file_is_refused_by_entry_and_field(tmp_path):
    with pytest.raises(FaultFileError, match=r"\[\[die\]\] #1: device = 9 .*0-3"):
        FaultSchedule.from_mapping({"die": [{"device": 9, "at": 0.0}]}, 4)
    with pytest.raises(FaultFileError, match=r"percent_per_hour = 50000.0 .*\[-10000, 10000\]"):
        FaultSchedule.from_mapping({"drift": [{"devices": [0], "percent_per_hour": 5e4,
                                               "at": 0}]})
    with pytest.raises(FaultFileError, match=r"role = 'meter' is not one of"):
        FaultSchedule.from_mapping({"drop": [{"role": "meter", "at": 1.0}]})
    with pytest.raises(FaultFileError, match=r"\[\[melt\]\] is not a fault"):
        FaultSchedule.from_mapping({"melt": [{"at": 1.0}]})
    with pytest.raises(FaultFileError, match=r"unknown field 'when'"):
        FaultSchedule.from_mapping({"stuck": [{"device": 0, "when": 1.0}]})
    path = tmp_path / "faults.toml"
    path.write_text('[[stuck]]\ndevice = 1\nstate = 1\nat = 60.0\n[[power_cycle]]\n'
                    'role = "pulse"\nat = 30.0\n')
    schedule = FaultSchedule.load(path, 4)
    assert [(f.kind, f.at) for f in schedule.faults] == [("power_cycle", 30.0), ("stuck", 60.0)]


def test_hil_lab_serve_refuses_a_bad_fault_file_by_name(tmp_path):
    """Refused before anything is served (a server that ignored the file would serve on
    until the time-out here)."""
    path = tmp_path / "faults.toml"
    path.write_text('[[late]]\nrole = "pulse"\nat = 1.0\ndelay = 99.0\n')
    proc = subprocess.run([sys.executable, "-m", "hil", "lab", "serve", "--faults", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "delay = 99.0 is outside the allowed range [0, 60]" in proc.stderr


def _switched(rwr: ResetWriteRead, current: float, cycles: int) -> int:
    return sum(rwr.cycle(current) for _ in range(cycles))


def test_drift_raises_the_current_a_device_needs_from_its_start():
    """+60 %/h from t = 1 h on device 0: at its 50 % current it switches about half the time
    before, and (I_c0 x1.6 one hour after the drift began) never after; device 1 is untouched."""
    raw = {"drift": [{"devices": [0], "percent_per_hour": 60.0, "at": 3600.0}]}
    with _lab(raw) as virtual, connect_virtual(lab=virtual) as lab:
        device = virtual.chip.devices.select(0)
        i50 = float(device.i_bias(100e-6)[0])
        rwr = ResetWriteRead(lab)
        rwr.calibrate()
        before = _switched(rwr, i50, 60)
        lab.wait(2 * 3600.0)
        after = _switched(rwr, i50, 60)
        now = virtual.clock.seconds
        assert now > 2 * 3600.0
        assert virtual.schedule.drift_scale(0, now) == pytest.approx(
            1.0 + 0.6 * (now - 3600.0) / 3600.0)
        assert virtual.schedule.drift_scale(1, virtual.clock.seconds) == 1.0
    assert 15 <= before <= 45  # binomial(60, ~0.5): 15..45 is beyond 7 sigma
    assert after == 0


@pytest.mark.parametrize(("kind", "extra"), [("die", {}), ("stuck", {"state": 1})])
def test_a_device_that_dies_or_sticks_stops_switching_at_its_time(kind, extra):
    """Strong pulses of both signs flip device 0 before ``at``; from ``at`` on they move it
    no more (a stuck device is held at +1), and the lab's log says when it struck."""
    with _lab({kind: [{"device": 0, "at": 100.0, **extra}]}) as virtual, \
            connect_virtual(lab=virtual) as lab:
        source = lab["pulse"]
        states = []
        for current in (-STRONG, STRONG, -STRONG):
            source.pulse(current, 100e-6)
            source.complete()
            states.append(int(virtual.chip.states[0]))
        assert states == [-1, 1, -1]
        lab.wait(100.0)
        held = []
        for current in (STRONG, -STRONG, STRONG):
            source.pulse(current, 100e-6)
            source.complete()
            held.append(int(virtual.chip.states[0]))
        log = virtual.schedule.log()
    assert held == ([-1, -1, -1] if kind == "die" else [1, 1, 1])
    assert log == [{"kind": kind, "at": 100.0, "device": 0, "struck": pytest.approx(
        log[0]["struck"])}] and log[0]["struck"] >= 100.0


def test_a_dropped_connection_lasts_its_lab_seconds_then_answers_again():
    with _lab({"drop": [{"role": "voltmeter", "at": 50.0, "duration": 20.0}]}) as virtual, \
            connect_virtual(lab=virtual) as lab:
        lab.timeout_ms = 500
        meter = lab.reconnect("voltmeter")
        meter.complete()
        lab.wait(50.0)
        with pytest.raises((VisaIOError, OSError, ConnectionError)):
            meter.complete()
        # the lab still drops every line inside the window: a reconnection fails there
        with pytest.raises(Exception, match="voltmeter"):
            lab.reconnect("voltmeter")
        lab.wait(25.0)
        lab.reconnect("voltmeter").complete()  # past the window: it answers
        log = virtual.schedule.log()
    assert len(log) == 1 and log[0]["kind"] == "drop" and log[0]["lines"] >= 2
    assert 50.0 <= log[0]["struck"] < 70.0
    assert virtual.instruments["pulse"].output is False


def test_a_power_cycle_puts_every_setting_back_at_its_rst_default():
    with _lab({"power_cycle": [{"role": "pulse", "at": 10.0}]}) as virtual, \
            connect_virtual(lab=virtual) as lab:
        source = lab["pulse"]
        source.write(":SOUR:CURR:COMP 5")
        assert float(source.ask(":SOUR:CURR:COMP?")) == 5.0
        assert not source.power_on_flag()
        lab.wait(10.0)
        assert float(source.ask(":SOUR:CURR:COMP?")) == 10.0  # the *RST default
        assert source.power_on_flag()  # *ESR? bit 7 (PON)
        log = virtual.schedule.log()
    assert [entry["kind"] for entry in log] == ["power_cycle"]


def test_late_replies_pass_the_time_out_and_an_error_is_queued():
    raw = {"late": [{"role": "voltmeter", "at": 5.0, "delay": 1.0}],
           "error": [{"role": "pulse", "at": 5.0, "code": -221}]}
    with _lab(raw) as virtual, connect_virtual(lab=virtual) as lab:
        lab.timeout_ms = 400
        meter = lab.reconnect("voltmeter")
        lab.wait(5.0)
        with pytest.raises(VisaIOError):
            meter.complete()
        with pytest.raises(InstrumentError, match="-221"):
            lab["pulse"].check_errors()
        log = virtual.schedule.log()
    assert sorted(entry["kind"] for entry in log) == ["error", "late"]


def test_supply_faults_are_refused_by_entry_and_field():
    with pytest.raises(FaultFileError, match=r"\[\[compliance\]\] #1: role = 'pulse' is not "
                       r"one of \['field'\]"):
        FaultSchedule.from_mapping({"compliance": [{"role": "pulse", "at": 1.0,
                                                    "resistance": 50.0}]})
    with pytest.raises(FaultFileError, match=r"resistance \(ohm\) is missing"):
        FaultSchedule.from_mapping({"compliance": [{"at": 1.0}]})
    with pytest.raises(FaultFileError, match=r"resistance = -1 is outside .*\[0, 1e\+06\]"):
        FaultSchedule.from_mapping({"compliance": [{"at": 1.0, "resistance": -1}]})
    with pytest.raises(FaultFileError, match=r"\[\[field_drift\]\] #1: unknown field 'device'"):
        FaultSchedule.from_mapping({"field_drift": [{"device": 0, "at": 1.0,
                                                     "percent_per_hour": 5.0}]})


COIL = 0.05  # T/A: 0.4 A of the 2400 for paper 002's 200 Oe


def test_a_coil_whose_resistance_rises_puts_the_2400_in_compliance():
    """From 20 lab s the coil is 50 ohm: 0.4 A would need 20 V, past the 10 V compliance.
    The 2400 clamps at 0.2 A (its devices feel half the field), and says so as the manual
    has it: VOLT:PROT:TRIP? 1 (CURR:PROT:TRIP? 0: that is the voltage source's), the STATus
    element's bit 3; before the fault and with the output off it says 0."""
    with _lab({"compliance": [{"role": "field", "at": 20.0, "resistance": 50.0}]}) \
            as virtual, connect_virtual(lab=virtual) as lab:
        supply = lab["field"]
        assert not supply.compliance_tripped()  # output off
        lab.set_coil_constant(COIL)
        supply.set_field(0.02)
        before = supply.read_back()
        assert not supply.compliance_tripped() and not before.compliance
        lab.wait(20.0)
        after = supply.read_back()
        assert supply.query(":SENS:VOLT:PROT:TRIP?", "flag") is True
        assert supply.query(":SENS:CURR:PROT:TRIP?", "flag") is False
        assert after.compliance and after.voltage == pytest.approx(10.0)
        assert after.current == pytest.approx(0.2) and after.field == pytest.approx(0.01)
        assert virtual.chip.in_plane_field == pytest.approx(0.01)
        supply.shutdown()
        assert not supply.compliance_tripped()
        log = virtual.schedule.log()
    assert before.current == pytest.approx(0.4) and before.voltage == pytest.approx(0.8)
    assert [(e["kind"], e["role"]) for e in log] == [("compliance", "field")]
    assert log[0]["struck"] >= 20.0


def test_a_drifting_supply_drives_a_field_off_its_setting():
    """+3600 %/h from 10 lab s: 10 lab s later the output (and the devices' field) is 10 %
    above the programmed level, which the instrument still answers to SOUR:CURR?."""
    with _lab({"field_drift": [{"at": 10.0, "percent_per_hour": 3600.0}]}) as virtual, \
            connect_virtual(lab=virtual) as lab:
        supply = lab["field"]
        lab.set_coil_constant(COIL)
        supply.set_field(0.02)
        start = virtual.clock.seconds
        lab.wait(10.0 + (10.0 - start))
        reading = supply.read_back()
        now = virtual.clock.seconds
        assert float(supply.ask(":SOUR:CURR?")) == pytest.approx(0.4)
        assert virtual.chip.in_plane_field == pytest.approx(COIL * reading.current, rel=1e-3)
    assert reading.current == pytest.approx(0.4 * (1 + (now - 10.0) / 100), rel=1e-3)
    assert reading.current > 0.4 * 1.09 and not reading.compliance


def test_no_schedule_no_change():
    """A lab without a schedule switches device 0 exactly as before (the hook is inert)."""
    outcomes = []
    for faults in (None, FaultSchedule()):
        with VirtualLab(build_chip(4, 0.5e-6, 3), faults=faults) as virtual, \
                connect_virtual(lab=virtual) as lab:
            rwr = ResetWriteRead(lab)
            rwr.calibrate()
            i50 = float(virtual.chip.devices.select(0).i_bias(100e-6)[0])
            outcomes.append([rwr.cycle(i50) for _ in range(20)])
    assert outcomes[0] == outcomes[1]
    assert 0 < np.sum(outcomes[0]) < 20
