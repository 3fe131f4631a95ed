"""The one guard: every route to exceed a limit is refused before a byte is sent, asserted on
the virtual lab (the emulated instrument received nothing, the device no current beyond the
limit, the coil no field beyond it); every command the drivers send is accepted."""

import math

import pytest

from hil.session.lab import connect_virtual
from instruments import scpi
from instruments.connection import LabFile
from instruments.guard import Guard2400, Guard6221, UnknownCommandError
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
    ("chained, implied path", _none, lambda p: p.write(":SOUR:CURR:COMP 5;LEV 0.05")),
    ("chained after common", _none, lambda p: p.write("*CLS;:SOUR:CURR 0.05")),
    ("second message after a line feed", _none,
     lambda p: p.write(":SOUR:CURR 1e-5\n:SOUR:CURR 0.05")),
    ("adapter.write", _none, lambda p: p.adapter.write(":SOUR:CURR 0.05")),
    ("adapter.write_bytes", _none, lambda p: p.adapter.write_bytes(b":SOUR:CURR 0.05\n")),
    ("pyvisa resource write", _none, lambda p: p.adapter.connection.write(":SOUR:CURR 0.05")),
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
    ("waveform amplitude", _none, lambda p: p.write(":SOUR:WAVE:AMPL 0.05")),
    ("amplitude + offset", _amplitude, lambda p: p.write(":SOUR:WAVE:OFFS 0.1e-3")),
    ("offset above read", _none, lambda p: p.write(":SOUR:WAVE:OFFS 0.5e-3")),
    ("1 mHz sine", lambda lab: lab["pulse"].write(
        ":SOUR:WAVE:FUNC SIN;FREQ 1e-3;AMPL 0.75e-3;OFFS 0"),
     lambda p: p.write(":SOUR:WAVE:ARM")),
    ("1 Hz square", lambda lab: lab["pulse"].write(
        ":SOUR:WAVE:FUNC SQU;FREQ 1;AMPL 0.5e-3;DUR:CYCL 1"),
     lambda p: p.write(":SOUR:WAVE:ARM")),
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
    ("ARB of unknown content", lambda lab: lab["pulse"].write(
        ":SOUR:WAVE:FUNC ARB2;FREQ 1;AMPL 0.5e-3;OFFS 0;DUR:CYCL 1"),
     lambda p: p.write(":SOUR:WAVE:ARM")),
    ("sweep list current", _none, lambda p: p.write(":SOUR:LIST:CURR 1e-4,0.05")),
    ("sweep list held 1 s", lambda lab: lab["pulse"].write(
        ":SOUR:SWE:SPAC LIST;:SOUR:LIST:CURR 5e-4;:SOUR:LIST:DEL 1"),
     lambda p: p.write(":SOUR:SWE:ARM")),
    ("linear sweep stop", _none, lambda p: p.write(":SOUR:CURR:STOP 0.05")),
    ("linear sweep held by the source delay", lambda lab: lab["pulse"].write(
        ":SOUR:SWE:SPAC LIN;:SOUR:CURR:STAR 0;STOP 5e-4;:SOUR:DEL 0.5"),
     lambda p: p.write(":SOUR:SWE:ARM")),
    ("compliance voltage", _none, lambda p: p.write(":SOUR:CURR:COMP 50")),
    ("pulse delta high", _none, lambda p: p.write(":SOUR:PDEL:HIGH 0.05")),
    ("pulse delta width", _none, lambda p: p.write(":SOUR:PDEL:WIDT 11e-3")),
    ("delta high above read", _none, lambda p: p.write(":SOUR:DELT:HIGH 5e-4")),
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
    assert len(emulator.log) == received  # not a byte reached the instrument
    lab["pulse"].write(":SOUR:WAVE:ABOR;:OUTP OFF")  # flushes whatever DC had been flowing
    assert peak.peak <= LIMITS.max_pulse_current


FIELD_ROUTES = [
    ("pymeasure source_current", lambda f: setattr(f, "source_current", 1.0)),
    ("raw :SOUR:CURR", lambda f: f.write(":SOUR:CURR 1.0")),
    ("long form", lambda f: f.write(":SOURCE1:CURRENT:LEVEL:IMMEDIATE:AMPLITUDE 0.6")),
    ("MAX keyword", lambda f: f.write(":SOUR:CURR MAX")),
    ("triggered level", lambda f: f.write(":SOUR:CURR:TRIG 1.0")),
    ("sweep start", lambda f: f.write(":SOUR:CURR:STAR 1.0")),
    ("list", lambda f: f.write(":SOUR:LIST:CURR 0.1,1.0")),
    ("current compliance property", lambda f: setattr(f, "compliance_current", 1.0)),
    ("current compliance, SENSe omitted", lambda f: f.write("CURR:PROT 1.0")),
    ("source voltage property", lambda f: setattr(f, "source_voltage", 50)),
    ("raw :SOUR:VOLT", lambda f: f.write(":SOUR:VOLT 50")),
    ("voltage compliance property", lambda f: setattr(f, "compliance_voltage", 50)),
    ("raw :SENS:VOLT:PROT", lambda f: f.write(":SENS:VOLT:PROT 50")),
    ("chained after the function", lambda f: f.write(":SOUR:FUNC CURR;CURR 1.0")),
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
    assert len(emulator.log) == received
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
    pulse.write("*CLS")  # (the emulated 6221 may not know the sweep commands)
    field.set_field(0.004, compliance=10)
    field.set_bias_voltage(5.0, compliance_current=1e-4)
    assert field.check_errors() == []
    field.shutdown()
    assert LIMITS.max_read_current < peak.peak <= LIMITS.max_pulse_current


def test_every_header_in_the_allow_lists_is_understood_as_a_query():
    limits = lambda: LIMITS  # noqa: E731
    for guard in (Guard6221(limits), Guard2400(limits, lambda: COIL)):
        for spec, _ in guard.table:
            short = ":".join(n.short + (min(n.suffixes) if "" not in n.suffixes else "")
                             for n in scpi._spec(spec) if not n.optional)
            guard.check(f":{short}?")
    with pytest.raises(UnknownCommandError, match="not a command the safety guard knows"):
        Guard6221(limits).check(":SOUR:CURR:LEVEL:BOGUS?")


def test_a_refused_line_changes_nothing():
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST")
    with pytest.raises(LimitError):
        guard.check(":SOUR:CURR 5e-5;:OUTP ON;:SOUR:CURR 5e-4")
    assert guard.state.level == 0.0 and guard.state.output is False


def test_unknown_state_is_refused_until_reset():
    guard = Guard6221(lambda: LIMITS)
    with pytest.raises(LimitError, match="DC level is unknown"):
        guard.check(":OUTP ON")
    guard.check("*RST;:OUTP ON")
    assert guard.state.output is True


def test_the_pulse_width_rule_follows_the_waveform():
    """An ARB [1, 0] is above the read current for half a period: allowed up to the
    pulse-width limit, refused beyond it."""
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST;:SOUR:WAVE:ARB:DATA 1,0;COPY 1;:SOUR:WAVE:FUNC ARB1;AMPL 5e-4;DUR:CYCL 1")
    guard.check(f":SOUR:WAVE:FREQ {1 / (2 * LIMITS.max_pulse_width)};:SOUR:WAVE:ARM")
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(f":SOUR:WAVE:FREQ {0.99 / (2 * LIMITS.max_pulse_width)}")


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


def test_a_waveform_counts_as_playing_until_the_instrument_says_it_finished():
    guard = Guard6221(lambda: LIMITS)
    guard.check("*RST;:SOUR:WAVE:ARB:DATA 1,0;COPY 1;:SOUR:WAVE:FUNC ARB1;AMPL 5e-4;"
                "FREQ 5000;DUR:CYCL 1000")
    guard.check(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT")
    guard.check("*OPC?")  # sent; its reply not read yet: the waveform may still play
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(":SOUR:WAVE:FREQ 1")
    guard.replied()  # the reply came: 1000 cycles played out, the waveform disarmed
    guard.check(":SOUR:WAVE:FREQ 1")  # a setting for the next waveform
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(":SOUR:WAVE:ARM")
    guard.check(":SOUR:WAVE:FREQ 5000;:SOUR:WAVE:ARM;:SOUR:WAVE:INIT;*WAI;:SOUR:WAVE:FREQ 1")
    guard.check(":SOUR:WAVE:FREQ 5000;DUR:CYCL INF;:SOUR:WAVE:ARM;:SOUR:WAVE:INIT;*OPC?")
    guard.replied()  # an endless waveform plays on after *OPC?
    with pytest.raises(LimitError, match="pulse width"):
        guard.check(":SOUR:WAVE:FREQ 1")
    guard.check(":SOUR:WAVE:ABOR;:SOUR:WAVE:FREQ 1")


def test_the_guard_sits_under_any_adapter_too():
    """pymeasure's ProtocolAdapter (no VISA resource): the guard is on the adapter itself."""
    from pymeasure.test import expected_protocol

    from instruments.keithley import PulseSource

    with expected_protocol(PulseSource, [("*RST", None)], limits=LIMITS) as source:
        source.write("*RST")
        with pytest.raises(LimitError, match="DC current"):
            source.adapter.write(":SOUR:CURR 0.05")
        with pytest.raises(LimitError, match="DC current"):
            source.adapter.write_bytes(b":SOUR:CURR 0.05\n")
