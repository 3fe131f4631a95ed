"""The emulated 6221's trigger model (Reference Manual section 9) and pulse delta with a
2182A (User's Manual section 5, pp. 5-21 to 5-34): *RST values, the cycle on the line's
edges, the reading (2B - A - C) / 2 or B - A, the buffer, what the device receives, arming
and un-arming; and what the guard under the driver does with pulse delta levels."""

import pytest

from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k2182a import NOISE, Keithley2182AEmulator
from simulators.lab.k6221 import Keithley6221Emulator


def pair(line_frequency=50.0, seed=0):
    chip = build_chip(1, 0.5e-6, seed)
    clock = LabClock(line_frequency=line_frequency)
    source = Keithley6221Emulator(chip, clock)
    meter = Keithley2182AEmulator(chip, clock)
    source.nanovoltmeter, meter.source = meter, source  # RS-232 and trigger-link cables
    return source, meter


def error(instrument):
    return instrument.handle("SYST:ERR?")


def test_trigger_model_reset_values_and_settings():
    source, _ = pair()
    assert source.handle(":ARM:SOUR?") == "IMM" and source.handle(":TRIG:SOUR?") == "IMM"
    assert source.handle(":ARM:DIR?") == "ACC" and source.handle(":TRIG:DIR?") == "ACC"
    assert source.handle(":ARM:ILIN?") == "1" and source.handle(":ARM:OLIN?") == "2"
    assert source.handle(":ARM:OUTP?") == "NONE" and source.handle(":TRIG:ILIN?") == "1"
    assert float(source.handle(":ARM:TIM?")) == 0.1
    source.handle(":ARM:SOUR TLINK;:ARM:TIM 2.5;:ARM:TCON:DIR SOUR;:ARM:ILIN 3;OLIN 6;"
                  "OUTP TEX;:TRIG:SOUR TLIN;:TRIG:ILIN 4;:TRIG:DIR SOUR")
    assert error(source) == '0,"No error"'
    assert [source.handle(q) for q in (":ARM:SOUR?", ":ARM:TIM?", ":ARM:DIR?", ":ARM:ILIN?",
                                       ":ARM:OLIN?", ":ARM:OUTP?", ":TRIG:SOUR?",
                                       ":TRIG:ILIN?", ":TRIG:DIR?")] == [
        "TLIN", "2.500000E+00", "SOUR", "3", "6", "TEX", "TLIN", "4", "SOUR"]
    source.handle("*RST")
    assert source.handle(":ARM:SOUR?") == "IMM" and source.handle(":TRIG:SOUR?") == "IMM"


def test_pulse_delta_reset_values_and_the_2182a_present():
    source, _ = pair()
    assert source.handle(":SOUR:PDEL:NVPR?") == "1"
    assert [source.handle(f":SOUR:PDEL:{q}?") for q in (
        "HIGH", "LOW", "WIDT", "SDEL", "COUN", "INT", "RANG", "SWE", "LME", "ARM")] == [
        "1.000000E-03", "0.000000E+00", "1.100000E-04", "1.000000E-04", "9.9E37", "5",
        "BEST", "0", "3", "0"]
    alone = Keithley6221Emulator(build_chip(1, 0.5e-6, 0), LabClock())
    assert alone.handle(":SOUR:PDEL:NVPR?") == "0"


@pytest.mark.parametrize(("hertz", "points"), [(50.0, 3), (60.0, 3), (50.0, 2)])
def test_a_pulse_delta_test_cycles_on_the_line_and_reads_the_hall_voltage(hertz, points):
    """Count 4 at 5 PLC: 4 x 5 line cycles on the clock; each reading the Hall voltage's
    change from low to high level (offsets cancel), timestamped a cycle apart."""
    source, _ = pair(hertz)
    high, low = 2e-4, -2e-4
    source.handle(f":SOUR:PDEL:HIGH {high};LOW {low};WIDT 2e-4;SDEL 1e-4;COUN 4;INT 5;"
                  f"LME {points};:TRAC:POIN 10;:SOUR:PDEL:ARM")
    assert source.handle(":SOUR:PDEL:ARM?") == "1"
    start = source.clock.seconds
    source.handle(":INIT")
    bus = source.clock.bus_latency + source.clock.transfer(len(":INIT") + 1)
    assert source.clock.seconds - start - bus == pytest.approx(4 * 5 / hertz)
    assert error(source) == '0,"No error"'
    data = [float(v) for v in source.handle(":TRAC:DATA?").split(",")]
    readings, stamps = data[0::2], data[1::2]
    expected = source.chip.hall_resistance() * (high - low)  # the Hall offset cancels
    # one conversion's noise over its 100 us aperture; a reading combines 3 (or 2) of them
    sigma = NOISE / (1e-4 * hertz) ** 0.5 * (1.5 ** 0.5 if points == 3 else 2 ** 0.5)
    assert readings == pytest.approx([expected] * 4, abs=5 * sigma)
    assert abs(expected) > 100 * sigma  # a reading tells the device's state
    assert stamps == pytest.approx([k * 5 / hertz for k in range(4)])
    assert source.handle(":TRAC:POIN:ACT?") == "4"
    assert source.handle(":SENS:DATA?").split(",")[0] == source.handle(
        ":TRAC:DATA?").split(",")[-2]


def test_the_device_receives_the_high_pulses_and_the_low_level_between():
    source, _ = pair()
    source.handle(":SOUR:PDEL:HIGH 3e-4;LOW 1e-5;WIDT 1e-4;COUN 2;:SOUR:PDEL:ARM;:INIT")
    assert source.chip.received[0] == pytest.approx(3e-4)
    assert source.flowing() == 0.0  # a finite test ends: nothing flows


def test_an_endless_test_fills_the_buffer_then_holds_the_low_level_until_aborted():
    source, _ = pair()
    source.handle(":TRAC:POIN 3;:SOUR:PDEL:LOW 2e-5;ARM;:INIT")
    assert source.handle(":TRAC:POIN:ACT?") == "3"
    assert source.flowing() == pytest.approx(2e-5)
    source.handle(":INIT")
    assert error(source) == '-213,"Init ignored"'
    source.handle(":SOUR:SWE:ABOR")  # un-arms pulse delta (User's Manual p. 5-34)
    assert source.flowing() == 0.0 and source.handle(":SOUR:PDEL:ARM?") == "0"
    source.handle(":INIT")
    assert error(source) == '-221,"Settings conflict"'  # nothing armed


def test_a_bus_arm_source_waits_for_trg():
    source, _ = pair()
    source.handle(":ARM:SOUR BUS;:SOUR:PDEL:COUN 1;ARM;:TRAC:POIN 5;:INIT")
    assert source.handle(":TRAC:POIN:ACT?") == "0"  # waiting at the arm event detector
    source.handle("*TRG")
    assert source.handle(":TRAC:POIN:ACT?") == "1"
    source.handle(":ARM:SOUR TLIN;:SOUR:PDEL:ARM;:INIT;:ABOR")  # TLINk: waits; ABORt
    assert source.handle(":TRAC:POIN:ACT?") == "1"
    source.handle(":TRAC:CLE")
    assert source.handle(":TRAC:POIN:ACT?") == "0"
    assert error(source) == '0,"No error"'
