"""The emulated 6221 into its load (User's Manual p. 3-3, "Compliance"; Reference Manual
section 11, Fig. 11-6): a device whose current contact opened is an open circuit, so the
source clamps at its compliance voltage, the device gets no current and the measurement
registers' Comp bit (B3) says so; a good device takes the programmed current and no bit is
set. Judged on the emulator's state and the chip's own log of the current each device
received, then through real sockets with the driver."""

import pytest

from hil.session.lab import connect_virtual
from simulators.lab.chip import CHANNEL_RESISTANCE, LEAD_RESISTANCE, build_chip
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultFileError, FaultSchedule
from simulators.lab.k6221 import Keithley6221Emulator
from simulators.lab.server import VirtualLab

LOAD = CHANNEL_RESISTANCE + LEAD_RESISTANCE  # ohm: one good device behind the leads


def _source(faults: dict | None = None) -> Keithley6221Emulator:
    chip = build_chip(2, 0.5e-6, 0)
    chip.clock = LabClock()
    if faults:
        chip.scheduled = FaultSchedule.from_mapping(faults, 2)
    return Keithley6221Emulator(chip, chip.clock)


def _registers(source) -> tuple[int, int]:
    return int(source.handle(":STAT:MEAS:COND?")), int(source.handle(":STAT:MEAS?"))


def test_a_dc_level_into_an_open_contact_is_clamped_and_reported_in_b3():
    """1 mA into device 0, whose contact opened at 0 s: the output sits at its 10 V
    compliance (*RST), nothing flows, the condition and event registers' B3 are set; a read
    clears the event register, the condition stays while the output is in compliance, and
    *STB? carries MSB once B3 is enabled."""
    source = _source({"open": [{"device": 0, "at": 0.0}]})
    assert source.handle(":SOUR:CURR:COMP?") == "1.000000E+01"
    source.handle(":STAT:MEAS:ENAB 8")
    source.handle(":SOUR:CURR 1E-3;:OUTP ON")
    source.clock.advance(1e-3)
    assert source.flowing() == 0.0 and source.in_compliance
    assert int(source.handle("*STB?")) & 1
    assert _registers(source) == (8, 8)
    assert _registers(source) == (8, 0)  # the event was read; the condition holds
    source.handle(":OUTP OFF")
    assert _registers(source) == (0, 0)
    assert source.chip.received[0] == 0.0 and source.chip.pulses_received[0] == 0
    assert source.handle("SYST:ERR?") == '0,"No error"'


def test_a_good_device_takes_the_programmed_current_and_sets_no_bit():
    """1 mA into device 0 needs 0.97 V, far under 10 V: it flows, B3 stays 0. A compliance
    of 0.5 V under what the load needs clamps it at 0.5 V / R and sets B3."""
    source = _source()
    source.handle(":SOUR:CURR 1E-3;:OUTP ON")
    source.clock.advance(1e-3)
    assert source.flowing() == 1e-3 and _registers(source) == (0, 0)
    source.handle(":OUTP OFF")
    assert source.chip.received[0] == pytest.approx(1e-3)
    source.handle(":SOUR:CURR:COMP 0.5;:OUTP ON")
    source.clock.advance(1e-3)
    source.handle(":OUTP OFF")
    assert source.chip.received[0] == pytest.approx(1e-3)  # the largest it carried
    assert _registers(source) == (0, 8)  # it was clamped, latched; the output is off now
    assert source.delivered(1e-3) == pytest.approx(0.5 / LOAD)


def test_an_open_contact_fault_opens_the_device_at_its_time_and_the_lab_logs_it():
    source = _source({"open": [{"device": 1, "at": 30.0}]})
    source.chip.selected = 1
    assert source.chip.load_resistance() == pytest.approx(LOAD)
    source.clock.advance(30.0)
    assert source.chip.load_resistance() == float("inf")
    assert source.chip.scheduled.log() == [{"kind": "open", "at": 30.0, "device": 1,
                                            "struck": 30.0}]


def test_an_open_fault_is_refused_by_field():
    with pytest.raises(FaultFileError, match=r"\[\[open\]\] #1: unknown field 'state'"):
        FaultSchedule.from_mapping({"open": [{"device": 0, "at": 1.0, "state": 1}]})
    with pytest.raises(FaultFileError, match=r"\[\[open\]\] #1: device = 7 .*0-3"):
        FaultSchedule.from_mapping({"open": [{"device": 7, "at": 1.0}]}, 4)
    with pytest.raises(FaultFileError, match=r"\[\[open\]\] #1: at \(lab seconds\) is missing"):
        FaultSchedule.from_mapping({"open": [{"device": 0}]})


STRONG = 0.7e-3  # A: a write far above every device's I_bias


def test_pulses_into_an_open_device_trip_the_driver_and_reach_nothing():
    """Through the sockets: device 0 (7001 channel 1) takes its pulses, the driver reads no
    compliance; device 1, open from the start, takes none (the chip's log: 0 A, 0 pulses),
    and the driver reads the trip once, then 0 (the event register was cleared)."""
    lab_ = VirtualLab(build_chip(2, 0.5e-6, 3),
                      faults=FaultSchedule.from_mapping({"open": [{"device": 1, "at": 0.0}]}, 2))
    with lab_ as virtual, connect_virtual(lab=virtual) as lab:
        source = lab["pulse"]
        for device in (0, 1):
            lab.select_device(device)
            for current in (-STRONG, STRONG):
                source.pulse(current, 100e-6)
                source.complete()
            tripped = source.compliance_tripped()
            assert tripped is (device == 1)
        assert source.compliance_tripped() is False
        source.check_errors()
        chip = virtual.chip
    assert chip.received[0] == pytest.approx(STRONG) and chip.pulses_received[0] == 2
    assert chip.received[1] == 0.0 and chip.pulses_received[1] == 0


def _pulse_delta(faults: dict | None):
    from simulators.lab.k2182a import Keithley2182AEmulator

    source = _source(faults)
    meter = Keithley2182AEmulator(source.chip, source.clock)
    source.nanovoltmeter, meter.source = meter, source
    source.handle(":SOUR:PDEL:HIGH 1E-3;LOW 0;COUN 4;:TRAC:POIN 4;:SOUR:PDEL:ARM;:INIT")
    return source, [float(v) for v in source.handle(":TRAC:DATA?").split(",")[0::2]]


def test_a_pulse_delta_test_into_an_open_contact_is_clamped_and_latched():
    """Pulse delta (User's Manual section 5) on device 0: each high pulse is judged like any
    output. Open from the start, the 2182A reads noise, under 1 % of the good device's Hall
    step, B3 is latched, and the device received nothing; the good device sets no bit."""
    good, steps = _pulse_delta(None)
    source, noise = _pulse_delta({"open": [{"device": 0, "at": 0.0}]})
    assert _registers(good) == (0, 0) and good.chip.received[0] == pytest.approx(1e-3)
    assert max(map(abs, noise)) < 0.01 * min(map(abs, steps))
    assert _registers(source) == (0, 8)
    assert source.chip.received[0] == 0.0
