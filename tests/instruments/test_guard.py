"""The one guard: every route to exceed a limit is refused before a byte is sent, asserted on
the virtual lab (the emulated instrument received nothing but the guard's own questions, the
device no current beyond the limit, the coil no field beyond it); every command the drivers
send is accepted; the guard's picture is the instrument's (the reproducers of issue 24)."""

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hil.session.lab import connect_virtual
from instruments import scpi
from instruments.connection import LabFile
from instruments.guard import Guard2400, Guard6221, ResourceHeldError, UnknownCommandError
from instruments.keithley import PulseSource
from instruments.limits import LimitError, SafetyLimits
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

LIMITS = SafetyLimits(max_pulse_current=0.75e-3, max_read_current=100e-6,
                      max_pulse_width=10e-3, compliance_voltage=10.0, max_field=0.005)
COIL = 0.01  # T/A: the coil limit is 0.005 T / 0.01 T/A = 0.5 A


class PeakCurrent:
    """Watches the current the emulated chip is driven with (the device's side)."""

    def __init__(self, chip) -> None:
        self.peak = 0.0
        self._drive = chip.drive
        chip.drive = self

    def __call__(self, current: float, duration: float) -> None:
        self.peak = max(self.peak, abs(current))
        self._drive(current, duration)


def _guard_questions(lines: list[str]) -> bool:
    """Lines only the guard sends: its *ESR?;:OUTP? (and settings read back), all queries."""
    return all(line.startswith("*ESR?;:OUTP?") and all(
        u.strip().endswith("?") for u in line.split(";")) for line in lines)


@pytest.fixture(scope="module")
def rig():
    chip = build_chip(2, 0.5e-6, 0)
    with VirtualLab(chip, coil_constant=COIL) as virtual, \
            connect_virtual(lab=virtual, limits=LIMITS) as lab:
        lab["field"].coil_constant = COIL
        yield lab, virtual, PeakCurrent(chip)


@pytest.fixture()
def lab(rig):
    lab, virtual, peak = rig
    for role in ("pulse", "field"):
        lab[role].write("*RST;*CLS")
        lab[role].ask("*OPC?")  # the emulator has taken every line sent so far
    peak.peak = 0.0
    return lab


def _pulse_on_at_read_current(lab):
    lab["pulse"].set_read_current(50e-6)
    lab["pulse"].enable_source()


def _armed_pulse(lab):
    lab["pulse"].pulse(0.5e-3, 100e-6)  # ARB1 [1, 0] at 5 kHz, left armed on the guard's side
    lab["pulse"].write(":SOUR:WAVE:ARM")


def _amplitude(lab, value=0.75e-3):
    lab["pulse"].write(f":SOUR:WAVE:AMPL {value}")


def _arb(lab, points, location=1):
    lab["pulse"].write(":SOUR:WAVE:ARB:DATA " + ",".join(map(str, points)))
    lab["pulse"].write(f":SOUR:WAVE:ARB:COPY {location};:SOUR:WAVE:FUNC ARB{location}")


def _none(lab):
    return None


# (name, set-up that is allowed, the attempt that must be refused)
PULSE_ROUTES = [
    ("long form LEV", _none, lambda p: p.write(":SOUR:CURR:LEV 0.05")),
    ("root CURR", _none, lambda p: p.write("CURR 0.05")),
    ("suffix SOUR1", _none, lambda p: p.write(":SOUR1:CURR 0.05")),
    ("all optional nodes", _none, lambda p: p.write(":SOUR:CURR:LEV:IMM:AMPL 0.05")),
    ("lower-case long form", _none,
     lambda p: p.write(":source:current:level:immediate:amplitude 5e-2")),
    ("MAX keyword", _none, lambda p: p.write(":SOUR:CURR MAX")),
    ("MIN keyword", _none, lambda p: p.write(":SOUR:CURR MIN")),
    ("suffix 50mA", _none, lambda p: p.write(":SOUR:CURR 50mA")),
    ("suffix 900 UA", _none, lambda p: p.write(":SOUR:CURR 900 UA")),
    ("NRf .05", _none, lambda p: p.write(":SOUR:CURR +.05")),
    ("NRf 5E-2", _none, lambda p: p.write(":SOUR:CURR 5E-2")),
    ("non-decimal #H", _none, lambda p: p.write(":SOUR:CURR #H1")),
    ("tab separator", _none, lambda p: p.write(":SOUR:CURR\t5E-2")),
    ("chained, implied path", _none, lambda p: p.write(":SOUR:CURR:COMP 5;LEV 0.05")),
    ("chained after common", _none, lambda p: p.write("*CLS;:SOUR:CURR 0.05")),
    ("second message after a line feed", _none,
     lambda p: p.write(":SOUR:CURR 1e-5\n:SOUR:CURR 0.05")),
    ("stray ) hides nothing", _none, lambda p: p.write("*CLS );SOUR:CURR 0.105;OUTP ON")),
    ("stray ( hides nothing", _none, lambda p: p.write("ABOR (;SOUR:CURR 0.05;OUTP ON")),
    ("argument to a command taking none", _none, lambda p: p.write("*WAI 1;OUTP ON")),
    ("quoted ; hides nothing", _none,
     lambda p: p.write(':DISP:TEXT:DATA "a;b";:SOUR:CURR 0.05')),
    ("unterminated string", _none, lambda p: p.write(':DISP:TEXT:DATA "a;:SOUR:CURR 0.05')),
    ("write without its line feed", _none,
     lambda p: p.adapter.connection.write_raw(b":SOUR:CURR 1E-5;:OUTP ON;:SOUR:CURR 7")),
    ("adapter.write", _none, lambda p: p.adapter.write(":SOUR:CURR 0.05")),
    ("adapter.write_bytes", _none, lambda p: p.adapter.write_bytes(b":SOUR:CURR 0.05\n")),
    ("pyvisa resource write", _none, lambda p: p.adapter.connection.write(":SOUR:CURR 0.05")),
    ("pyvisa resource write_raw", _none,
     lambda p: p.adapter.connection.write_raw(b":SOUR:CURR 0.05\n")),
    ("pyvisa resource query", _none,
     lambda p: p.adapter.connection.query(":SOUR:CURR 0.05;*OPC?")),
    ("instrument.ask", _none, lambda p: p.ask(":SOUR:CURR 0.05;:SOUR:CURR?")),
    ("pymeasure property", _none, lambda p: setattr(p, "source_current", 0.05)),
    ("long DC: level up with output on", _pulse_on_at_read_current,
     lambda p: p.write(":SOUR:CURR 0.7e-3")),
    ("long DC: output on at a pulse level", lambda lab: lab["pulse"].write(":SOUR:CURR 7e-4"),
     lambda p: p.write(":OUTP ON")),
    ("long DC: OUTP:STAT 1", lambda lab: lab["pulse"].write(":SOUR:CURR 2e-4"),
     lambda p: p.write(":OUTP:STAT 1")),
    ("long DC: OUTP 0.5 (rounds to 1)", lambda lab: lab["pulse"].write(":SOUR:CURR 2e-4"),
     lambda p: p.write(":OUTP 0.5")),
    ("waveform amplitude", _none, lambda p: p.write(":SOUR:WAVE:AMPL 0.05")),
    ("amplitude + offset", _amplitude, lambda p: p.write(":SOUR:WAVE:OFFS 0.1e-3")),
    ("offset above read", _none, lambda p: p.write(":SOUR:WAVE:OFFS 0.5e-3")),
    ("1 mHz sine", lambda lab: lab["pulse"].write(
        ":SOUR:WAVE:FUNC SIN;FREQ 1e-3;AMPL 0.75e-3;OFFS 0"),
     lambda p: p.write(":SOUR:WAVE:ARM")),
    ("1 Hz square", lambda lab: lab["pulse"].write(
        ":SOUR:WAVE:FUNC SQU;FREQ 1;AMPL 0.5e-3;DUR:CYCL 1"),
     lambda p: p.write(":SOUR:WAVE:ARM")),
    ("half a 1 Hz square cycle", lambda lab: lab["pulse"].write(
        ":SOUR:WAVE:FUNC SQU;FREQ 1;AMPL 0.5e-3;DUR:CYCL 0.5"),
     lambda p: p.write(":SOUR:WAVE:ARM")),
    ("duration in cycles, then in time", lambda lab: (_arb(lab, [1, 0]), lab["pulse"].write(
        ":SOUR:WAVE:FREQ 1e3;AMPL 0.5e-3;OFFS 0;DUR:CYCL 1000")),
     lambda p: p.write(":SOUR:WAVE:DUR:TIME 1E-3;:SOUR:WAVE:FREQ 10;:SOUR:WAVE:ARM")),
    ("ARB points x amplitude above limit", lambda lab: (_amplitude(lab, 0.5e-3),
                                                          _arb(lab, [0.5, 0])),
     lambda p: p.write(":SOUR:WAVE:ARB:DATA 2,0;COPY 1")),
    ("ARB held high for a second", lambda lab: (_arb(lab, [1, 1, 1, 0]), lab["pulse"].write(
        ":SOUR:WAVE:FREQ 1;AMPL 0.5e-3;OFFS 0;DUR:CYCL 1")),
     lambda p: p.write(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT")),
    ("ARB all high, time duration", lambda lab: (_arb(lab, [1, 1]), lab["pulse"].write(
        ":SOUR:WAVE:FREQ 1e3;AMPL 0.5e-3;OFFS 0;DUR:TIME 0.5")),
     lambda p: p.write(":SOUR:WAVE:ARM")),
    ("frequency lowered while armed", _armed_pulse,
     lambda p: p.write(":SOUR:WAVE:FREQ 1")),
    ("sweep list current", _none, lambda p: p.write(":SOUR:LIST:CURR 1e-4,0.05")),
    ("sweep list held 1 s", lambda lab: lab["pulse"].write(
        ":SOUR:SWE:SPAC LIST;:SOUR:LIST:CURR 5e-4;:SOUR:LIST:DEL 1"),
     lambda p: p.write(":SOUR:SWE:ARM")),
    ("list delay lengthened after the arm", lambda lab: lab["pulse"].write(
        ":SOUR:SWE:SPAC LIST;:SOUR:LIST:CURR 5e-4;:SOUR:LIST:DEL 1E-3;:SOUR:SWE:ARM"),
     lambda p: p.write(":SOUR:LIST:DEL 1")),
    ("linear sweep stop", _none, lambda p: p.write(":SOUR:CURR:STOP 0.05")),
    ("linear sweep held by the source delay", lambda lab: lab["pulse"].write(
        ":SOUR:SWE:SPAC LIN;:SOUR:CURR:STAR 0;STOP 5e-4;:SOUR:DEL 0.5"),
     lambda p: p.write(":SOUR:SWE:ARM")),
    ("source delay lengthened after the arm", lambda lab: lab["pulse"].write(
        ":SOUR:SWE:SPAC LIN;:SOUR:CURR:STAR 0;STOP 5e-4;:SOUR:DEL 1E-3;:SOUR:SWE:ARM"),
     lambda p: p.write(":SOUR:DEL 0.5")),
    ("compliance voltage", _none, lambda p: p.write(":SOUR:CURR:COMP 50")),
    ("pulse delta high", _none, lambda p: p.write(":SOUR:PDEL:HIGH 0.05")),
    ("pulse delta width", _none, lambda p: p.write(":SOUR:PDEL:WIDT 11e-3")),
    ("delta high above read", _none, lambda p: p.write(":SOUR:DELT:HIGH 5e-4")),
    ("delta armed with levels unknown", _none, lambda p: p.write(":SOUR:DELT:ARM")),
    ("unknown header", _none, lambda p: p.write(":SOUR:FOO 1")),
    ("external-trigger waveform (not understood)", _none,
     lambda p: p.write(":SOUR:WAVE:EXTR ON")),
    ("*RCL", _none, lambda p: p.write("*RCL 1")),
    ("non-ASCII bytes", _none, lambda p: p.adapter.write_bytes(b"\xff:SOUR:CURR 0.05\n")),
    ("NaN", _none, lambda p: p.write(":SOUR:CURR NAN")),
    ("driver pulse()", _none, lambda p: p.pulse(0.05, 100e-6)),
    ("driver pulse() too long", _none, lambda p: p.pulse(0.5e-3, 0.1)),
]


@pytest.mark.parametrize(("setup", "attempt"), [r[1:] for r in PULSE_ROUTES],
                         ids=[r[0] for r in PULSE_ROUTES])
def test_no_route_gets_past_the_6221_guard(rig, lab, setup, attempt):
    _, virtual, peak = rig
    setup(lab)
    lab["pulse"].ask("*OPC?")
    emulator = virtual.instruments["pulse"]
    received = len(emulator.log)
    with pytest.raises(LimitError):
        attempt(lab["pulse"])
    assert _guard_questions(emulator.log[received:])  # nothing but the guard's questions
    assert not (emulator.output and abs(emulator.current) > LIMITS.max_read_current)
    lab["pulse"].write(":SOUR:WAVE:ABOR;:OUTP OFF")  # flushes whatever DC had been flowing
    assert peak.peak <= LIMITS.max_pulse_current


def _field_compliance(lab):
    lab["field"].write(":SENS:VOLT:PROT 10")


FIELD_ROUTES = [
    ("pymeasure source_current", lambda f: setattr(f, "source_current", 1.0)),
    ("raw :SOUR:CURR", lambda f: f.write(":SOUR:CURR 1.0")),
    ("long form", lambda f: f.write(":SOURCE1:CURRENT:LEVEL:IMMEDIATE:AMPLITUDE 0.6")),
    ("MAX keyword", lambda f: f.write(":SOUR:CURR MAX")),
    ("triggered level", lambda f: f.write(":SOUR:CURR:TRIG 1.0")),
    ("sweep start", lambda f: f.write(":SOUR:CURR:STAR 1.0")),
    ("sweep centre and span", lambda f: f.write(
        ":SOUR:CURR:STAR 0;STOP 0.4;:SOUR:CURR:CENT 0.4")),
    ("list", lambda f: f.write(":SOUR:LIST:CURR 0.1,1.0")),
    ("current compliance property", lambda f: setattr(f, "compliance_current", 1.0)),
    ("current compliance, SENSe omitted", lambda f: f.write("CURR:PROT 1.0")),
    ("source voltage property", lambda f: setattr(f, "source_voltage", 50)),
    ("raw :SOUR:VOLT", lambda f: f.write(":SOUR:VOLT 50")),
    ("voltage compliance property", lambda f: setattr(f, "compliance_voltage", 50)),
    ("raw :SENS:VOLT:PROT", lambda f: f.write(":SENS:VOLT:PROT 50")),
    ("chained after the function", lambda f: f.write(":SOUR:FUNC CURR;CURR 1.0")),
    ("current sourced at the reset compliance (21 V)",
     lambda f: f.write(":SOUR:FUNC CURR;CURR 0.1;:OUTP ON")),
    ("adapter.write", lambda f: f.adapter.write(":SOUR:CURR 1.0")),
    ("source memory (not understood)", lambda f: f.write(":SOUR:FUNC MEM")),
    ("set_field", lambda f: f.set_field(0.05)),
    ("set_bias_voltage", lambda f: f.set_bias_voltage(50.0)),
]


@pytest.mark.parametrize("attempt", [r[1] for r in FIELD_ROUTES],
                         ids=[r[0] for r in FIELD_ROUTES])
def test_no_route_gets_past_the_2400_guard(rig, lab, attempt):
    _, virtual, _ = rig
    emulator = virtual.instruments["field"]
    received = len(emulator.log)
    with pytest.raises(LimitError):
        attempt(lab["field"])
    assert _guard_questions(emulator.log[received:])
    _field_compliance(lab)
    lab["field"].write(":SOUR:FUNC CURR;:OUTP ON")
    assert abs(virtual.chip.field_x) <= LIMITS.max_field
    assert abs(emulator.coil_current()) <= LIMITS.max_field / COIL
    lab["field"].write(":OUTP OFF")


LAB_FILE_ROUTES = [
    ("max_pulse_current = 1e9", "outside the allowed range"),
    ('max_pulse_current = "lots"', "not a quantity"),
    ('max_pulse_current = "5 V"', "not in units of A"),
    ("max_pulse_current = nan", "outside the allowed range"),
    ("max_pulse_current = -1e-3", "outside the allowed range"),
    ("max_read_current = inf", "outside the allowed range"),
    ("max_pulse_width = 0", "outside the allowed range"),
    ("compliance_voltage = 500", "outside the allowed range"),
    ("max_field = true", "not a number"),
]


@pytest.mark.parametrize(("line", "message"), LAB_FILE_ROUTES,
                         ids=[r[0] for r in LAB_FILE_ROUTES])
def test_lab_file_limits_are_refused_when_loaded(tmp_path, line, message):
    path = tmp_path / "lab.toml"
    path.write_text(f"virtual = true\n[limits]\n{line}\n")
    field = line.split(" ")[0]
    with pytest.raises(LimitError, match=rf"{field} = .*{message}"):
        LabFile.load(path)


def test_lab_file_limits_take_units(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text('virtual = true\n[limits]\nmax_pulse_current = "0.6 mA"\n'
                    'max_pulse_width = "5 ms"\nmax_read_current = 5e-5\n')
    limits = LabFile.load(path).limits
    assert limits.max_pulse_current == pytest.approx(0.6e-3)
    assert limits.max_pulse_width == pytest.approx(5e-3)
    assert limits.max_read_current == 5e-5


def test_a_reset_through_the_driver_makes_the_next_pulse_redefine_its_waveform(rig, lab):
    _, virtual, peak = rig
    lab["pulse"].pulse(0.6e-3, 100e-6)
    lab["pulse"].write("*RST")  # the instrument forgets the selected ARB
    lab["pulse"].pulse(0.6e-3, 100e-6)
    assert lab["pulse"].check_errors() == []
    log = virtual.instruments["pulse"].log
    after_reset = log[len(log) - log[::-1].index("*RST"):]
    assert ":SOUR:WAVE:FUNC ARB1" in after_reset
    assert after_reset.index(":SOUR:WAVE:FUNC ARB1") < after_reset.index(":SOUR:WAVE:ARM")


def test_every_command_the_drivers_send_is_accepted(rig, lab):
    """The pulse, cycle, cycle-list, trigger-link, sweep, read-current and shutdown routes of
    the 6221 and the coil, bias and shutdown routes of the 2400 pass the guard, and the
    emulated instruments report no error."""
    _, virtual, peak = rig
    pulse, field = lab["pulse"], lab["field"]
    pulse.source_compliance = 10
    pulse.pulse(0.6e-3, 100e-6)
    pulse.pulse(-0.7e-3, 100e-6)
    pulse.play_cycles(-0.7e-3, 0.4e-3, 50e-6, 100e-6, 16, points=26, read_points=3)
    pulse.play_cycle_list(-0.7e-3, [0.3e-3 + 1e-5 * k for k in range(30)], 50e-6, 100e-6,
                          points=8, read_points=3, lead_points=5)
    pulse.mark_trigger_link()
    pulse.set_read_current(LIMITS.max_read_current)
    pulse.enable_source()
    assert pulse.check_errors() == []
    pulse.shutdown()
    pulse.load_list([-0.6e-3, 0.3e-3], [1e-3, 1e-3])  # the guard passes the sweep list
    pulse.arm_sweep()
    pulse.abort_sweep()
    assert pulse.check_errors() == []
    field.set_field(0.004, compliance=10)
    field.set_bias_voltage(5.0, compliance_current=1e-4)
    assert field.check_errors() == []
    field.shutdown()
    assert LIMITS.max_read_current < peak.peak <= LIMITS.max_pulse_current


def test_every_header_in_the_allow_lists_is_understood_as_a_query():
    limits = lambda: LIMITS  # noqa: E731
    for guard in (Guard6221(limits), Guard2400(limits, lambda: COIL)):
        guard.check("*RST\n")  # (READ? and MEAS? start a 2400: its state must be known)
        _accepted(guard)
        for spec, _, _ in guard.table:
            guard.check(scpi.query_of(spec) + "\n")
    with pytest.raises(UnknownCommandError, match="not a command the safety guard knows"):
        Guard6221(limits).check(":SOUR:CURR:LEVEL:BOGUS?\n")


def _accepted(guard, reply: str = "0;0") -> None:
    """The instrument says every unit so far was accepted and its output is off."""
    guard.check("*ESR?;:OUTP?\n")
    guard.replied(reply)


def test_a_refused_line_changes_nothing():
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST\n")
    _accepted(guard)
    with pytest.raises(LimitError):
        guard.check(":SOUR:CURR 5e-5;:OUTP ON;:SOUR:CURR 5e-4\n")
    assert guard.state.level == 0.0 and guard.state.output is False
    assert guard.picture.possible("level") == [0.0]


def test_unknown_state_is_refused_until_a_reset_is_accepted():
    guard = Guard6221(lambda: LIMITS)
    with pytest.raises(LimitError, match="DC level is unknown"):
        guard.check(":OUTP ON\n")
    with pytest.raises(LimitError, match="may have been refused"):
        guard.check("*RST;:OUTP ON\n")  # the *RST may be refused: the level may be unknown
    guard.check("*RST\n")
    _accepted(guard)
    guard.check(":OUTP ON\n")
    assert guard.state.output is True


def test_a_line_the_instrument_refused_leaves_the_worse_value():
    """SOUR:CURR 5E-4, then SOUR:CURR 10uA (which a 6221 refuses: no suffixes), then OUTP
    ON: the source may still hold 0.5 mA, so the output stays off; once the instrument
    says its event register holds an error, the level is read back, not believed."""
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST\n")
    _accepted(guard)
    guard.check(":SOUR:CURR 5E-4\n")
    guard.check(":SOUR:CURR 10uA\n")
    assert sorted(guard.picture.possible("level")) == [0.0, 1e-5, 5e-4]
    with pytest.raises(LimitError, match="0.0005 A with the output maybe on"):
        guard.check(":OUTP ON\n")
    guard.check("*ESR?\n")
    guard.replied("32")  # CME: a command error since the register was read
    assert 5e-4 in guard.picture.possible("level")  # nothing confirmed
    guard.check(":SOUR:CURR?\n")
    guard.replied("+5.000000E-04")  # read back: what it holds
    assert guard.picture.possible("level") == [5e-4]
    with pytest.raises(LimitError, match="0.0005 A"):
        guard.check(":OUTP ON\n")


def test_the_output_counts_as_on_until_outp_says_0():
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST\n")
    _accepted(guard)
    guard.check(":SOUR:CURR 5E-5;:OUTP ON\n")
    guard.check(":OUTP #H0\n")  # 0 as IEEE 488.2 non-decimal data: the output off, if taken
    guard.check("*ESR?\n")
    guard.replied("0")  # every unit accepted: still, only OUTP? says the output is off
    assert guard.picture.possible("output") == [False, True]
    with pytest.raises(LimitError, match="output maybe on"):
        guard.check(":SOUR:CURR 5E-4\n")
    guard.check(":OUTP?\n")
    guard.replied("0")
    guard.check(":SOUR:CURR 5E-4\n")


def test_the_guard_keeps_no_event_bits_from_its_caller():
    """The guard's own *ESR? clears the register: the bits it read are added to the next
    *ESR? reply its caller reads, so a power-on bit is not lost."""
    guard = Guard6221(lambda: LIMITS)
    asked = []

    def instrument(message: str) -> str:  # PON + CME, output off; then settings read back
        asked.append(message)
        return "160;0" if message.startswith("*ESR?") else ";".join(
            "0" for _ in message.split(";"))

    guard._ask = instrument
    guard.check("*RST\n")
    guard.confirm()
    assert len(asked) == 2 and ":SOUR:CURR?" in asked[1]  # an error: read back
    guard.check("*ESR?\n")
    assert guard.replied("0") == "160"


def test_a_waveform_counts_as_playing_until_the_instrument_says_it_finished():
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST\n")
    _accepted(guard)
    guard.check(":SOUR:WAVE:ARB:DATA 1,0;COPY 1;:SOUR:WAVE:FUNC ARB1;AMPL 5e-4;FREQ 5000;"
                "DUR:CYCL 1000\n")
    _accepted(guard)
    guard.check(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT\n")
    guard.check("*OPC?\n")  # sent; its reply not read yet: the waveform may still play
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(":SOUR:WAVE:FREQ 1\n")
    guard.replied("1")  # the reply came: 1000 cycles played out, the waveform disarmed
    _accepted(guard)  # (and the INIT was accepted, so it did play)
    guard.check(":SOUR:WAVE:FREQ 1\n")  # a setting for the next waveform
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(":SOUR:WAVE:ARM\n")
    guard.check(":SOUR:WAVE:FREQ 5000\n")
    _accepted(guard)  # (a unit may be refused: the next one in a line is checked on both)
    guard.check(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT;*WAI\n")
    _accepted(guard)
    guard.check(":SOUR:WAVE:FREQ 1\n")
    guard.check(":SOUR:WAVE:FREQ 5000;DUR:CYCL INF\n")
    _accepted(guard)
    guard.check(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT;*OPC?\n")
    guard.replied("1")  # an endless waveform plays on after *OPC?
    _accepted(guard)
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(":SOUR:WAVE:FREQ 1\n")
    guard.check(":SOUR:WAVE:ABOR\n")
    _accepted(guard)
    guard.check(":SOUR:WAVE:FREQ 1\n")


def test_the_pulse_width_rule_follows_the_waveform():
    """An ARB [1, 0] is above the read current for half a period: allowed up to the
    pulse-width limit, refused beyond it; a duration given in seconds counts as long as
    the same number of cycles would last at a lower frequency."""
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST\n")
    _accepted(guard)
    guard.check(":SOUR:WAVE:ARB:DATA 1,0;COPY 1;:SOUR:WAVE:FUNC ARB1;AMPL 5e-4;DUR:CYCL 1\n")
    guard.check(f":SOUR:WAVE:FREQ {1 / (2 * LIMITS.max_pulse_width)}\n")
    _accepted(guard)
    guard.check(":SOUR:WAVE:ARM\n")
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(f":SOUR:WAVE:FREQ {0.99 / (2 * LIMITS.max_pulse_width)}\n")
    assert Guard6221._seconds(("TIME", 1e-3, 1e3), 10.0) == pytest.approx(0.1)
    assert Guard6221._seconds(("CYCL", 1.0, 1e3), 1e4) == pytest.approx(1e-3)


def test_a_measurement_leaves_the_2400_output_on():
    """MEASure? is CONFigure + READ?, and CONFigure switches the output on (2400 manual
    section 18): after it, switching to current at the reset's 21 V compliance is refused
    (found by the slow property run, seed 112)."""
    guard = Guard2400(lambda: LIMITS, lambda: COIL)
    guard.check("*RST\n")
    _accepted(guard)
    guard.check(":MEAS:CURR?\n")
    guard.replied("+0.000000E+00,+0.000000E+00,+9.910000E+37,+0.000000E+00,+0.000000E+00")
    assert guard.state.output is True
    with pytest.raises(LimitError, match="compliance voltage = 21 V"):
        guard.check(":SOUR:FUNC CURR\n")


@pytest.mark.parametrize("frequency", ["-1E5", "0", "2E5", "#H0"])
def test_a_frequency_the_instrument_refuses_is_refused_not_divided_by(frequency):
    """(found by the slow property run, seed 114: a zero period)"""
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST\n")
    _accepted(guard)
    with pytest.raises(LimitError, match="waveform frequency"):
        guard.check(f":SOUR:WAVE:FREQ {frequency}\n")


def test_differential_conductance_sums_start_step_and_delta():
    """Each of start, step and delta within the read limit, their sum not: refused when
    armed (User's Manual Fig. 5-10: the levels reach max(|start|, |stop|) + step + delta),
    and a delta raised after the arm is checked again."""
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST\n")
    _accepted(guard)
    guard.check(":SOUR:DCON:STAR 1E-4;STEP 0;STOP 1E-4;DELT 1E-4\n")
    with pytest.raises(LimitError, match=r"differential-conductance peak .* 0.0002 A"):
        guard.check(":SOUR:DCON:ARM\n")
    guard.check(":SOUR:DCON:STAR 4E-5;STEP 1E-5;STOP 4E-5;DELT 4E-5\n")
    _accepted(guard)
    guard.check(":SOUR:DCON:ARM\n")
    _accepted(guard)
    with pytest.raises(LimitError, match="differential-conductance peak"):
        guard.check(":SOUR:DCON:DELT 6E-5\n")
    guard.check(":SOUR:SWE:ABOR\n")  # un-armed first: then a setting for the next test
    _accepted(guard)
    guard.check(":SOUR:DCON:DELT 6E-5\n")


def test_scpi_reads_suffixes_keywords_and_the_path_rule():
    units = list(scpi.units(":SOUR:CURR:LEV 1;COMP 2;:OUTP ON;*CLS;STAT 0"))
    assert [u.header for u in units] == [":SOUR:CURR:LEV", ":SOUR:CURR:COMP", ":OUTP",
                                         "*CLS", ":STAT"]
    assert scpi.numeric("50mA", "A").values == (0.05, 5e7)  # milli-ampere, or mega
    assert scpi.numeric("2 MS", "S").values == (2e-3,)
    assert scpi.numeric("max").keyword == "MAX"
    assert scpi.header_matches("[:SOURce[1]]:CURRent[:LEVel]", ("SOUR1", "CURR"))
    assert not scpi.header_matches("[:SOURce[1]]:CURRent[:LEVel]", ("SOUR2", "CURR"))
    assert not scpi.header_matches("[:SOURce[1]]:CURRent[:LEVel]", ("SOURC", "CURR"))
    assert [u.args for u in scpi.units(':DISP:TEXT "a;b";ENAB 0')] == ['"a;b"', "0"]
    with pytest.raises(scpi.ScpiSyntaxError):
        scpi.numeric("1_000")
    assert math.isclose(scpi.numeric("#H10").values[0], 16)


def test_the_guard_sits_under_any_adapter_too():
    """pymeasure's ProtocolAdapter (no VISA resource): the guard is on the adapter itself."""
    from pymeasure.test import expected_protocol

    with expected_protocol(PulseSource, [("*RST", None)], limits=LIMITS) as source:
        source.write("*RST")
        with pytest.raises(LimitError, match="DC current"):
            source.adapter.write(":SOUR:CURR 0.05")
        with pytest.raises(LimitError, match="DC current"):
            source.adapter.write_bytes(b":SOUR:CURR 0.05\n")


# -- the reproducers of issue 24, judged by what the emulated 6221 holds ---------------------
def _holds_beyond(emulator) -> bool:
    return bool(emulator.output and abs(emulator.current) > LIMITS.max_read_current)


@pytest.mark.parametrize("send", [
    pytest.param(lambda lab, line: lab["pulse"].write(line), id="driver.write"),
    pytest.param(lambda lab, line: lab["pulse"].adapter.connection.write(line),
                 id="resource.write"),
])
def test_a_suffix_the_instrument_refuses_leaves_no_dc_on(rig, lab, send):
    _, virtual, _ = rig
    emulator = virtual.instruments["pulse"]
    send(lab, ":SOUR:CURR 5E-4")
    send(lab, ":SOUR:CURR 10uA")  # the 6221 takes no suffix (-138): it still holds 0.5 mA
    with pytest.raises(LimitError, match="0.0005 A"):
        send(lab, ":OUTP ON")
    virtual.settle()
    assert emulator.current == 5e-4 and emulator.output is False
    assert lab["pulse"].ask("SYST:ERR?").startswith("-138")  # "Suffix not allowed"


@pytest.mark.parametrize("off", [":OUTP #H0", ":OUTP 0.4"])
def test_an_output_switched_off_is_believed_only_from_the_instrument(rig, lab, off):
    _, virtual, _ = rig
    emulator = virtual.instruments["pulse"]
    pulse = lab["pulse"]
    pulse.write(":SOUR:CURR 5E-5;:OUTP ON")
    pulse.write(off)
    pulse.write(":SOUR:CURR 5E-4")  # allowed only once OUTP? says 0 (the guard asks)
    virtual.settle()
    assert not _holds_beyond(emulator)
    assert emulator.output is False  # IEEE 488.2 rounds 0.4 to 0; #H0 is 0


def test_a_second_connection_in_this_process_shares_the_picture(rig, lab):
    """A second driver on the same 6221 sends OUTP OFF;:SOUR:CURR 7E-4: the first driver's
    guard knows it and refuses OUTP ON."""
    _, virtual, _ = rig
    first = lab["pulse"]
    resource = lab.roles["pulse"]
    second = PulseSource(resource, limits=LIMITS, read_termination="\n",
                         write_termination="\n", timeout=2000)
    try:
        assert second.guard.picture is first.guard.picture
        second.write("OUTP OFF;:SOUR:CURR 7E-4")
        second.ask("*OPC?")
        with pytest.raises(LimitError, match="0.0007 A"):
            first.write(":OUTP ON")
    finally:
        second.adapter.close()
    assert first.guard.picture.users == 1  # the first connection keeps it
    virtual.settle()
    assert not _holds_beyond(virtual.instruments["pulse"])


HOLDER = """
import sys, time
from instruments.keithley import PulseSource
source = PulseSource(sys.argv[1], read_termination="\\n", write_termination="\\n")
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_process_is_refused_naming_the_holder(rig, lab):
    resource = lab.roles["pulse"]
    other = subprocess.run([sys.executable, "-c", (
        "import sys\nfrom instruments.keithley import PulseSource\n"
        "try:\n    PulseSource(sys.argv[1], read_termination='\\n', write_termination='\\n')\n"
        "except Exception as err:\n    print(type(err).__name__, err)\n"), resource],
        capture_output=True, text=True, timeout=60)
    assert other.stdout.startswith("ResourceHeldError"), other
    assert f"pid {os.getpid()}" in other.stdout


def test_this_process_is_refused_while_another_holds_the_resource():
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual:
        resource = virtual.resources["pulse"]["resource"]
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, resource],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            with pytest.raises(ResourceHeldError, match=rf"pid {holder.pid}"):
                PulseSource(resource, read_termination="\n", write_termination="\n")
        finally:
            holder.kill()
            holder.wait()
        PulseSource(resource, read_termination="\n", write_termination="\n").adapter.close()


def test_state_left_by_other_software_is_read_back_before_the_first_line():
    """Another program (unguarded pyvisa) leaves 0.7 mA DC on and an endless 1 kHz sine armed;
    a driver connecting afterwards knows both before its first line: it refuses to lower the
    sine's frequency (the half periods would pass the pulse width) and to raise the level."""
    import pyvisa

    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual:
        resource = virtual.resources["pulse"]["resource"]
        other = pyvisa.ResourceManager("@py").open_resource(
            resource, read_termination="\n", write_termination="\n")
        other.write(":SOUR:CURR 7E-4;:OUTP ON")
        other.write(":SOUR:WAVE:FUNC SIN;FREQ 1000;AMPL 7E-4;DUR:CYCL INF;:SOUR:WAVE:ARM")
        other.query("*OPC?")
        other.close()
        emulator = virtual.instruments["pulse"]
        source = PulseSource(resource, limits=LIMITS, read_termination="\n",
                             write_termination="\n")
        try:
            assert source.guard.state.level == 7e-4 and source.guard.state.output is True
            with pytest.raises(LimitError, match="pulse width"):
                source.write(":SOUR:WAVE:FREQ 1")
            with pytest.raises(LimitError, match="DC current"):
                source.write(":SOUR:CURR 7.5E-4")
            virtual.settle()
            assert emulator.wave_frequency == 1000 and emulator.current == 7e-4
            source.write(":SOUR:WAVE:ABOR;:OUTP OFF")  # switching off is always allowed
            virtual.settle()
            assert emulator.output is False and not emulator.wave_armed
        finally:
            source.adapter.close()


def test_the_resource_lock_names_its_holder_in_the_file():
    from instruments.guard.claim import LOCK_DIR

    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual:
        resource = virtual.resources["pulse"]["resource"]
        source = PulseSource(resource, read_termination="\n", write_termination="\n")
        try:
            held = json.loads(next(p for p in LOCK_DIR.iterdir()
                                   if str(virtual.port("pulse")) in p.name).read_text())
            assert held["pid"] == os.getpid()
        finally:
            source.adapter.close()


CROSS_USER_HOLDER = """
import sys, time
from instruments.guard import claim
handle = claim._hold(sys.argv[1])
print("held", handle.writable(), flush=True)
time.sleep(60)
"""


def test_a_lock_file_another_user_made_still_locks(monkeypatch):
    """The lock folder and files are every user's: a process that may not write the lock
    file (another user's, made before files were made writable to all; here one of root's
    as the unprivileged user nobody, or a read-only file) still takes the lock, and this
    process is then refused."""
    from instruments.guard import claim

    folder = Path(tempfile.mkdtemp(prefix="spinhil-locks-"))  # every user may enter it
    folder.chmod(0o1777)
    key = "TCPIP0::127.0.0.1::7::SOCKET"
    path = folder / "TCPIP0_127.0.0.1_7_SOCKET.lock"
    path.write_text("")
    path.chmod(0o644 if os.geteuid() == 0 else 0o444)  # not the holder's to write
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] \
        if os.geteuid() == 0 else []
    monkeypatch.setattr(claim, "LOCK_DIR", folder)
    holder = subprocess.Popen([*prefix, sys.executable, "-c", CROSS_USER_HOLDER, key],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "SPINHIL_LOCK_DIR": str(folder)})
    try:
        assert holder.stdout.readline().strip() == "held False"
        with pytest.raises(ResourceHeldError, match="held by another process"):
            claim._hold(key)
    finally:
        holder.kill()
        holder.wait()
    try:
        claim._hold(key).close()  # free again once the holder is gone
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_reply_on_one_connection_never_speaks_for_a_unit_another_sent():
    """Two connections share one picture, but a socket is read when the instrument gets to
    it: a reply on B says nothing of a unit A sent and has had no reply after. B's OUTP? = 0
    leaves A's OUTP ON possible; once A itself has had a reply, B's next answer covers it."""
    from instruments.guard.picture import Entry, Order, Picture

    @dataclasses.dataclass
    class State:
        output: bool = False

    picture = Picture(State())
    a, b = object(), object()
    picture.writer = a
    picture.nominal.output = True
    picture.record(5, {"output": False})
    assert picture.possible("output") == [True, False]
    picture.read(6, "output", False, Order(b, {}))  # B's OUTP? answered before A's line
    assert sorted(picture.possible("output")) == [False, True]
    picture.register(7, 0, Order(b, {}))  # B's *ESR? = 0 confirms nothing of A's either
    assert sorted(picture.possible("output")) == [False, True]
    picture.read(8, "output", True, Order(b, {a: 6}))  # A had a reply after its unit
    assert picture.possible("output") == [True]
    assert all(isinstance(e, Entry) for e in picture.entries)


def test_a_second_driver_closed_with_a_reply_unread_leaves_nothing_uncertain():
    """A second driver switches the read current on, then off with a query whose reply it
    never reads, and closes: closing reads that reply and asks once through its own
    connection, so the first driver's next answer covers every line it sent."""
    from hil.session.lab import connect_virtual
    from instruments.keithley import PulseSource
    from instruments.limits import SafetyLimits

    with connect_virtual() as lab:
        pulse = lab["pulse"]
        second = PulseSource(lab.roles["pulse"], limits=SafetyLimits(), timeout=10_000,
                             read_termination="\n", write_termination="\n")
        second.set_read_current(50e-6)
        second.enable_source()
        second.write(":OUTP OFF;:OUTP?")  # its reply left unread
        second.adapter.close()
        pulse.ask("*ESR?;:OUTP?")
        assert pulse.guard.picture.possible("output") == [False]
