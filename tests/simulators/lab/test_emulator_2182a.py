"""The emulated Keithley 2182A nanovoltmeter (Model 2182/2182A User's Manual) and the
drivers over real pyvisa sockets: its refusals and *RST values, its Hall-voltage reading
with the 6221's current, pymeasure's Keithley2182 (our ``Nanovoltmeter``) reading it, and
pulse delta driven from the guarded 6221 driver (``PulseSource.arm_pulse_delta``), the
guard refusing pulse delta levels beyond the limits before a byte reaches the 6221."""

import pytest

from instruments.guard import UnknownCommandError
from instruments.keithley import Nanovoltmeter, PulseSource
from instruments.limits import LimitError, SafetyLimits
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k2182a import NOISE, Keithley2182AEmulator
from simulators.lab.server import VirtualLab

SOCKET = {"visa_library": "@py", "read_termination": "\n", "write_termination": "\n",
          "timeout": 5000}
LIMITS = SafetyLimits(max_pulse_current=0.5e-3, max_read_current=50e-6, max_pulse_width=1e-3)


@pytest.fixture
def meter():
    return Keithley2182AEmulator(build_chip(1, 0.5e-6, 0), LabClock())


def error(instrument):
    return instrument.handle("SYST:ERR?")


REFUSED = [
    (":SENS:VOLT:NPLC 0.001", -222, "Data out of range"),  # NPLC 0.01-50 at 50 Hz
    (":SENS:VOLT:NPLC 55", -222, "Data out of range"),
    (":SENS:VOLT:CHAN1:RANG 121", -222, "Data out of range"),  # channel 1: 10 mV-100 V
    (":SENS:VOLT:CHAN2:RANG 13", -222, "Data out of range"),  # channel 2: 100 mV-10 V
    (":SENS:CHAN 3", -222, "Data out of range"),
    (":SENS:VOLT:DFIL:COUN 101", -222, "Data out of range"),  # filter 1-100 (p. 3-8)
    (":SAMP:COUN 1025", -222, "Data out of range"),
    (":TRAC:POIN 1", -222, "Data out of range"),
    (":TRIG:SOUR TLIN", -141, "Invalid character data"),
    (":SENS:FUNC 'CURR'", -141, "Invalid character data"),  # volts and temperature only
    (":SOUR:CURR 1e-3", -113, "Undefined header"),  # a meter: no source
    (":SENS:VOLT:AC:RANG 1", -113, "Undefined header"),  # DC only
    (":SENS:VOLT:NPLC", -109, "Missing parameter"),
]


@pytest.mark.parametrize(("line", "code", "message"), REFUSED)
def test_commands_the_2182a_lacks_are_refused(meter, line, code, message):
    meter.handle(line)
    assert error(meter) == f'{code},"{message}"'
    assert error(meter) == '0,"No error"'
    assert float(meter.handle(":SENS:VOLT:NPLC?")) == 5.0


def test_reset_values_and_a_reading(meter):
    assert meter.handle(":SENS:FUNC?") == '"VOLT:DC"'
    assert meter.handle(":SENS:CHAN?") == "1"
    assert meter.handle(":SENS:VOLT:CHAN1:RANG:AUTO?") == "1"
    assert meter.handle(":SYST:FAZ?") == "1" and meter.handle(":SYST:LSYN?") == "1"
    start = meter.clock.seconds
    reply = meter.handle(":READ?")
    assert abs(float(reply) - meter.chip.hall_offset) < 5 * NOISE / 5 ** 0.5  # no current
    assert meter.clock.seconds - start >= 2 * 5 / meter.clock.line_frequency  # 5 PLC, FAZ
    meter.handle(":SENS:FUNC 'TEMP'")
    meter.handle(":READ?")
    assert error(meter) == '-221,"Settings conflict"'  # no thermocouple wired


def test_pymeasure_2182_driver_reads_the_hall_voltage_of_the_6221_current():
    chip = build_chip(1, 0.5e-6, 0)
    with VirtualLab(chip, nanovoltmeter=True) as lab:
        source = PulseSource(lab.resources["pulse"]["resource"], limits=LIMITS, **SOCKET)
        meter = Nanovoltmeter(lab.resources["nanovoltmeter"]["resource"], **SOCKET)
        assert meter.id.startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2182A,")
        meter.ch_1.setup_voltage(auto_range=False, nplc=1)  # auto range: the *RST value
        meter.ch_1.voltage_range_auto_enabled = True  # per channel (:SENS:VOLT:CHAN1:RANG:AUTO)
        assert meter.channel_function == "voltage" and meter.active_channel == 1
        assert meter.voltage_nplc == 1.0 and meter.ch_1.voltage_range_auto_enabled
        meter.ch_2.voltage_range = 0.5
        assert meter.ch_2.voltage_range == 1.0  # channel 2: 100 mV, 1 V, 10 V
        source.set_read_current(40e-6)
        source.enable_source()
        source.complete()  # the 6221 has taken OUTP ON before the 2182A is asked
        volts = meter.read_voltage()
        source.shutdown()
        meter.check_errors()
        meter.adapter.close()
    expected = chip.hall_resistance() * 40e-6 + chip.hall_offset
    assert volts == pytest.approx(expected, abs=5 * NOISE)


def test_pulse_delta_from_the_guarded_driver_reads_the_state_and_the_guard_refuses_excess():
    chip = build_chip(1, 0.5e-6, 0)
    with VirtualLab(chip, nanovoltmeter=True) as lab:
        emulated = lab.instruments["pulse"]
        source = PulseSource(lab.resources["pulse"]["resource"], limits=LIMITS, **SOCKET)
        assert source.nanovoltmeter_present()
        source.arm_pulse_delta(high=2e-4, low=-2e-5, width=200e-6, count=3)
        readings = source.run_pulse_delta(3, 5, lab.clock.line_frequency)
        assert len(readings) == 3
        state = chip.hall_resistance()
        sigma = NOISE / (100e-6 * lab.clock.line_frequency) ** 0.5 * 1.5 ** 0.5  # 100 us
        assert readings == pytest.approx([state * (2e-4 + 2e-5)] * 3, abs=5 * sigma)
        with pytest.raises(LimitError, match="pulse current"):  # the driver's own check
            source.arm_pulse_delta(high=1e-3, low=0.0, width=200e-6, count=1)
        for line in (":SOUR:PDEL:HIGH 1e-3", ":SOUR:PDEL:LOW 1e-4", ":SOUR:PDEL:WIDT 5e-3"):
            with pytest.raises(LimitError):  # the guard under every caller
                source.adapter.write(line)
        with pytest.raises(UnknownCommandError):
            source.adapter.write(":SOUR:PDEL:FOO 1")
        source.shutdown()
    assert emulated.pdel["high"] == 2e-4 and emulated.pdel["low"] == -2e-5  # held: no excess
    assert emulated.pdel["width"] == 200e-6 and chip.received.max() <= 2e-4


def test_without_a_2182a_pulse_delta_is_not_armed():
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as lab:
        source = PulseSource(lab.resources["pulse"]["resource"], limits=LIMITS, **SOCKET)
        assert not source.nanovoltmeter_present()
        with pytest.raises(Exception, match="-221"):
            source.arm_pulse_delta(high=2e-4, low=0.0, width=200e-6, count=1)
        source.shutdown()
