"""The Keithley 2000's guard: its ohms test current (Model 2000 User's Manual, Appendix A:
1 mA on 100 ohm and 1 kohm, 100 uA on 10 kohm, 10 uA on 100 kohm and 1 Mohm, 700 nA above)
held to the device's read limit, judged by what the emulated 2000 holds; the reproducers of
issue 24 on the 2000 (a refused line, state left by other software, lower limits, a routed
device's limits and no relay moved while the 2000 may drive its test current: in
test_k7002.py)."""

from __future__ import annotations

import dataclasses

import pytest

from hil.session.lab import connect_virtual
from instruments.errors import ReplyError
from instruments.guard import Guard2000
from instruments.keithley import HallVoltmeter
from instruments.limits import LimitError, SafetyLimits
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k2000 import TEST_CURRENT
from simulators.lab.server import Fault, VirtualLab

LIMITS = SafetyLimits()  # max_read_current 100 uA: the 10 kohm range (100 uA) is the lowest


def held_test_current(emulator) -> float:
    """What the emulated 2000 would drive, from what it holds (autorange: 1 mA)."""
    if emulator.function not in ("RES", "FRES"):
        return 0.0
    config = emulator.configs[emulator.function]
    return max(TEST_CURRENT.values()) if config.auto else TEST_CURRENT[config.upper]


@pytest.fixture(scope="module")
def served():
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual, \
            connect_virtual(lab=virtual, limits=LIMITS) as lab:
        yield virtual, lab


class Held:
    """The emulated 2000 once it has acted on every line sent (a write returns before)."""

    def __init__(self, virtual) -> None:
        self.virtual, self.emulator = virtual, virtual.instruments["voltmeter"]

    def __getattr__(self, name: str):
        self.virtual.settle()
        return getattr(self.emulator, name)


@pytest.fixture()
def meter(served):
    virtual, lab = served
    meter = lab["voltmeter"]
    meter.write("*RST;*CLS")
    meter.ask("*ESR?;:SENS:FUNC?")
    yield meter, Held(virtual)
    meter.write("*RST;*CLS")
    meter.ask("*ESR?;:SENS:FUNC?")


@pytest.mark.parametrize("line, why", [
    (":SENS:FUNC 'RES'", "autorange may reach the 100 ohm range"),
    (":SENS:FUNC 'FRESistance'", "autorange may reach the 100 ohm range"),
    (":CONF:RES", "autorange"), (":MEAS:FRES?", "autorange"),
    (":FUNC 'CONT'", "its one test current"), (":FUNC 'DIOD'", "its one test current"),
])
def test_an_ohms_function_on_autorange_is_refused_naming_the_current_and_the_limit(
        meter, line, why):
    meter, emulator = meter
    with pytest.raises(LimitError, match=rf"test current of .*{why}.* = 0\.001 A .*\[0, "
                                         r"0\.0001\] A"):
        meter.write(line)
    assert emulator.function == "VOLT:DC" and held_test_current(emulator) == 0.0


def test_ohms_on_a_range_within_the_read_limit_is_allowed_and_held(meter):
    meter, emulator = meter
    meter.write(":SENS:RES:RANG 1E4")
    meter.write(":SENS:FUNC 'RES'")
    assert emulator.function == "RES" and emulator.configs["RES"].upper == 1e4
    assert held_test_current(emulator) == 1e-4  # exactly the read limit: allowed
    assert meter.read_voltage() != 0  # a resistance reading, at 100 uA
    with pytest.raises(LimitError, match=r"the 1000 ohm range\) = 0\.001 A"):
        meter.write(":SENS:RES:RANG 1000")
    with pytest.raises(LimitError, match="autorange"):
        meter.write(":SENS:RES:RANG:AUTO ON")
    meter.write(":SENS:RES:RANG 1.2E5")  # 120 % of 100 kohm: that range, 10 uA
    assert emulator.configs["RES"].upper == 1e5
    meter.write(":SENS:RES:RANG 1.3E5")  # over 120 %: the 1 Mohm range
    assert emulator.configs["RES"].upper == 1e6 and held_test_current(emulator) == 1e-5
    meter.write(":SENS:FUNC 'VOLT:DC'")  # back to DC volts: never refused
    assert held_test_current(emulator) == 0.0


def test_a_range_the_2000_refused_is_not_believed(meter):
    """A low range (harmless in DC volts), a high one the 2000 refuses (it takes no
    suffix: -138), then ohms: the 2000 holds the low range, so ohms is refused."""
    meter, emulator = meter
    meter.write(":SENS:RES:RANG 100")
    meter.write(":SENS:RES:RANG 1MOHM")  # the guard reads 1 Mohm; the 2000 refuses it
    with pytest.raises(LimitError, match="0.001 A"):
        meter.write(":SENS:FUNC 'RES'")
    assert emulator.configs["RES"].upper == 100 and emulator.function == "VOLT:DC"
    assert meter.ask("SYST:ERR?").startswith("-138")


def test_a_second_connection_is_held_to_the_same_picture(served, meter):
    """Another driver in this process on the same 2000 shares the picture: the range it
    lowered counts for the first."""
    virtual, lab = served
    first, emulator = meter
    second = HallVoltmeter(lab.roles["voltmeter"], limits=LIMITS, read_termination="\n",
                           write_termination="\n", timeout=2000)
    try:
        assert second.guard.picture is first.guard.picture
        first.write(":SENS:RES:RANG 1E4")
        second.write(":SENS:RES:RANG 1E3")
        with pytest.raises(LimitError, match="0.001 A"):
            first.write(":SENS:FUNC 'RES'")
    finally:
        second.adapter.close()
    assert emulator.function == "VOLT:DC"


def test_state_left_by_other_software_is_read_back_at_connect():
    """A 2000 left in 2-wire ohms on the 1 kohm range (1 mA) before we connect: the guard's
    first connection reads it back; anything but leaving it is refused until *RST."""
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual:
        emulator = virtual.instruments["voltmeter"]
        emulator.handle(":SENS:RES:RANG 1E3;:SENS:FUNC 'RES'")  # other software
        meter = HallVoltmeter(virtual.resources["voltmeter"]["resource"], limits=LIMITS,
                              read_termination="\n", write_termination="\n", timeout=2000)
        try:
            assert meter.guard.state.function == "RES"
            assert meter.guard.state.res_range == 1e3 and meter.guard.state.res_auto is False
            with pytest.raises(LimitError, match="1000 ohm range"):
                meter.write(":SENS:FRES:RANG 1E5")  # not a way out: RES on 1 kohm stays
            meter.write(":SENS:FUNC 'VOLT'")  # the way out is never refused
            virtual.settle()
            assert emulator.function == "VOLT:DC"
        finally:
            meter.adapter.close()


def test_a_reply_the_manual_does_not_give_fails_the_connection():
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual:
        virtual.faults = [Fault("overflow", "voltmeter", virtual.lines["voltmeter"],
                                command=":SENS:FUNC?")]
        with pytest.raises(ReplyError, match="Keithley 2000"):
            HallVoltmeter(virtual.resources["voltmeter"]["resource"], limits=LIMITS,
                          read_termination="\n", write_termination="\n", timeout=2000)


def test_lower_limits_lower_the_ranges_allowed(served, meter):
    virtual, lab = served
    meter, emulator = meter
    try:
        lab.set_limits(dataclasses.replace(LIMITS, max_read_current=10e-6))
        meter.write(":SENS:RES:RANG 1E4")
        with pytest.raises(LimitError, match=r"10000 ohm range\) = 0\.0001 A .*\[0, 1e-05\]"):
            meter.write(":SENS:FUNC 'RES'")
        meter.write(":SENS:RES:RANG 1E5")
        meter.write(":SENS:FUNC 'RES'")  # 10 uA
        assert held_test_current(emulator) == 1e-5
    finally:
        meter.write(":SENS:FUNC 'VOLT'")
        lab.set_limits(LIMITS)


def test_every_line_the_drivers_send_the_2000_passes_the_guard(served):
    """A session's 2000 lines (the voltmeter's settings, hardware batch, buffer, back to
    immediate) all reach the instrument: the allow-list covers what the drivers send."""
    virtual, lab = served
    emulator = virtual.instruments["voltmeter"]
    before = len(emulator.log)
    meter = lab["voltmeter"]
    meter.voltage_nplc = 0.01
    meter.autozero_enabled = False
    meter.display_enabled = False
    meter.line_frequency()
    meter.arm_external_buffer(2)
    meter.immediate_triggering()
    meter.read_voltage()
    meter.check_errors()
    sent = " ".join(emulator.log[before:])
    for header in (":SENS:VOLT:NPLC 0.01", ":SYST:AZER:STAT 0", ":DISP:ENAB 0", ":SYST:LFR?",
                   ":TRAC:CLE", ":TRAC:FEED:CONT NEXT", ":FORM SRE", ":INIT", ":TRIG:SOUR EXT",
                   ":FORM ASC", ":READ?", "SYST:ERR?"):
        assert header in sent, header


def test_the_ohms_settings_the_guard_polices_are_ones_the_emulated_2000_plays():
    """Every ohms header the guard polices is one the emulated 2000 plays, so the property
    test (tests/instruments/test_guard_properties.py) judges what the guard allows."""
    from simulators.lab.k2000 import Keithley2000Emulator

    emulator = Keithley2000Emulator(build_chip(1, 0.5e-6, 0), LabClock())
    played = {spec for spec, _ in emulator._table}
    policed = {spec for spec, _, handler in Guard2000.table if handler is not None}
    ohms = {s for s in policed if "RES" in s.upper() and "MEAS" not in s.upper()}
    assert ohms <= played | {":CONFigure:RESistance", ":CONFigure:FRESistance"}, \
        ohms - played
