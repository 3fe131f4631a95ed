"""Exact SCPI of every command our drivers add (pymeasure's expected_protocol)."""

import pytest
from pymeasure.test import expected_protocol

from instruments.keithley import FieldSupply, HallVoltmeter, PulseSource
from instruments.limits import LimitError, SafetyLimits


def test_6221_trigger_count_and_config_buffer_fix():
    with expected_protocol(PulseSource, [(":TRIG:COUN 64", None), (":TRIG:COUN?", "64")]) as k:
        k.trigger_count = 64
        assert k.trigger_count == 64


# The guard knows nothing of an instrument it cannot read back (no VISA resource here):
# after a *RST it asks what the instrument accepted before the first line that depends on it
# (instruments.guard: *ESR? for the units since, OUTP? for the output).
RESET = [("*RST", None), ("*ESR?;:OUTP?", "0;0")]


def test_6221_sweep_list():
    with expected_protocol(PulseSource, RESET + [
        (":SOUR:SWE:SPAC LIST", None),
        (":SOUR:LIST:CURR -0.0006,0.0003", None),
        (":SOUR:LIST:DEL 0.001,0.001", None),
        (":SOUR:LIST:CURR?", "-6.000000E-04,3.000000E-04"),
        (":SOUR:SWE:ARM", None),
        (":SOUR:SWE:ABOR", None),
    ]) as k:
        k.write("*RST")
        k.load_list([-0.6e-3, 0.3e-3], [1e-3, 1e-3])
        assert k.list_currents == [-0.6e-3, 0.3e-3]
        k.arm_sweep()
        k.abort_sweep()


def test_6221_pulse_as_one_shot_arbitrary_waveform():
    with expected_protocol(PulseSource, RESET + [
        (":SOUR:WAVE:ARB:DATA 1, 0", None),
        (":SOUR:WAVE:ARB:COPY 1", None),
        (":SOUR:WAVE:FUNC ARB1", None),
        (":SOUR:WAVE:FREQ 5000", None),
        (":SOUR:WAVE:OFFS 0", None),
        (":SOUR:WAVE:DUR:CYCL 1", None),
        (":SOUR:WAVE:AMPL 0.0003", None),
        ("*ESR?;:OUTP?", "0;0"),  # the waveform's settings, all accepted: only then armed
        (":SOUR:WAVE:ARM", None),
        (":SOUR:WAVE:INIT", None),
        ("*OPC?", "1"),
        (":SOUR:WAVE:AMPL 0.00035", None),  # same shape: only the amplitude is re-sent
        (":SOUR:WAVE:ARM", None),
        (":SOUR:WAVE:INIT", None),
        ("*OPC?", "1"),
    ]) as k:
        k.write("*RST")
        k.pulse(0.3e-3, 100e-6)
        k.pulse(0.35e-3, 100e-6)


def test_limits_refuse_before_anything_is_sent():
    limits = SafetyLimits(max_pulse_current=0.5e-3, max_pulse_width=1e-3)
    with expected_protocol(PulseSource, [], limits=limits) as k:
        with pytest.raises(LimitError, match=r"pulse current = 0.0006 A is outside the allowed"
                                             r" range \[-0.0005, 0.0005\] A"):
            k.pulse(0.6e-3, 100e-6)
        with pytest.raises(LimitError, match="pulse width"):
            k.pulse(0.3e-3, 5e-3)
        with pytest.raises(LimitError, match="pulse current"):
            k.source_current = 1e-3  # pymeasure's own property goes through the same check
        with pytest.raises(LimitError, match="read current"):
            k.set_read_current(200e-6)


def test_2000_added_controls_and_ac_range_fix():
    with expected_protocol(HallVoltmeter, [
        (":TRIG:SOUR EXT", None),
        (":SAMP:COUN 2", None),
        (":INIT:CONT 0", None),
        (":SYST:AZER:STAT 0", None),
        (":DISP:ENAB 0", None),
        (":SENS:VOLT:NPLC 0.01", None),
        (":INIT", None),
        (":FETC?", "1.0E-05,-2.0E-05"),
        (":SENS:VOLT:AC:RANG:AUTO 0;:SENS:VOLT:AC:RANG 10", None),
    ]) as k:
        k.trigger_source = "external"
        k.sample_count = 2
        k.continuous_initiation = False
        k.autozero_enabled = False
        k.display_enabled = False
        k.voltage_nplc = 0.01
        k.initiate()
        assert k.fetch(2) == [1e-5, -2e-5]
        k.voltage_ac_range = 10


def test_2000_nplc_validator():
    with expected_protocol(HallVoltmeter, []) as k, pytest.raises(ValueError):
        k.voltage_nplc = 20


def test_2400_field_limit():
    init = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]
    limits = SafetyLimits(max_field=0.05)
    with expected_protocol(FieldSupply, init, limits=limits) as k, pytest.raises(LimitError):
        k.set_field(0.08)


def test_6221_trigger_delay_list_compliances_and_ranging():
    with expected_protocol(PulseSource, [
        (":TRIG:DEL 0.001", None),
        (":SOUR:LIST:COMP 10,10", None),
        (":SOUR:SWE:RANG FIX", None),
        (":SOUR:SWE:RANG?", "BEST"),
    ]) as k:
        k.trigger_delay = 1e-3
        k.list_compliances = [10, 10]
        k.sweep_ranging = "fixed"
        assert k.sweep_ranging == "best"


def test_switch_card_routes_one_device():
    from instruments.keithley import SwitchCard

    with expected_protocol(SwitchCard, [
        (":ROUT:OPEN ALL;:ROUT:CLOS (@1!3)", None),
        ("SYST:ERR?", '0,"No error"'),
        (":ROUT:CLOS:STAT?", "(@1!3)"),
    ]) as card:
        card.select(2)
        assert card.closed_channels == "(@1!3)"
        with pytest.raises(ValueError):
            card.select(40)


def test_2400_coil_field_sequence():
    init = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]
    with expected_protocol(FieldSupply, init + RESET + [
        (":SOURCE:FUNCTION CURR", None),
        (":SENSE:VOLTAGE:PROTECTION 5", None),
        (":SOURCE:CURRENT:RANGE:AUTO 1", None),
        (":SOURCE:CURRENT 0.2", None),
        ("*ESR?;:OUTP?", "0;0"),  # level and compliance accepted: only then the output on
        ("OUTPUT 1", None),
        ("SYST:ERR?", '0,"No error"'),
    ], coil_constant=0.1) as supply:
        supply.write("*RST")
        supply.set_field(0.02, compliance=5)


def test_2400_autozero_takes_a_numeric_boolean_and_once():
    """:SYSTem:AZERo[:STATe] <b> | ONCE (2400 User's Manual, Table 18-9, SYSTem): ``1`` and
    ``0`` are booleans as ON and OFF are, ONCE a word; the guard passes all four as sent."""
    init = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]
    with expected_protocol(FieldSupply, init + [
        (":SYST:AZER 1", None), (":SYST:AZER 0", None), (":SYST:AZER:STAT ON", None),
        (":SYST:AZER ONCE", None), (":SYST:AZER?", "1"),
    ]) as supply:
        for line in (":SYST:AZER 1", ":SYST:AZER 0", ":SYST:AZER:STAT ON", ":SYST:AZER ONCE"):
            supply.write(line)
        assert supply.ask(":SYST:AZER?").strip() == "1"
    with expected_protocol(FieldSupply, init) as supply, pytest.raises(
            LimitError, match=r"Parameter not allowed"):
        supply.write(":SYST:AZER 1,0")  # one boolean, not two


def test_2400_autozero_numeric_boolean_through_real_sockets():
    from hil.session.lab import connect_virtual
    from simulators.lab.chip import build_chip
    from simulators.lab.server import VirtualLab

    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual, connect_virtual(lab=virtual) as lab:
        field = lab["field"]
        for line, held in ((":SYST:AZER 0", "0"), (":SYST:AZER 1", "1"), ("SYST:AZER OFF", "0"),
                           (":SYST:AZER ONCE", "0")):
            field.write(line)
            assert field.ask(":SYST:AZER?").strip() == held, line
        assert field.check_errors() == []
        assert virtual.instruments["field"].output is False


def test_emulators_queue_scpi_errors_like_the_instruments():
    import pyvisa

    from simulators.lab.chip import build_chip
    from simulators.lab.server import VirtualLab

    with VirtualLab(build_chip(2, 0.5e-6, 0)) as lab:
        rm = pyvisa.ResourceManager("@py")
        source = rm.open_resource(lab.resources["pulse"]["resource"], read_termination="\n",
                                  write_termination="\n", timeout=2000)
        source.write(":SOUR:BOGUS 1")
        assert source.query("SYST:ERR?").startswith('-113,"Undefined header')
        source.write(":SOUR:CURR 1")  # beyond the 6221's 105 mA
        assert source.query("SYST:ERR?").startswith('-222,"Data out of range')
        assert source.query("SYST:ERR?") == '0,"No error"'
        assert float(source.query(":SOUR:CURR?")) == 0.0  # the bad value was not taken
        source.close()


def test_a_cycle_inside_a_waveform_gets_the_current_a_single_pulse_gets():
    """Through the wire to the emulated 6221: the write levels of a cycle-list waveform
    (amplitude x point, as the instrument computes them) equal the current of a single
    pulse at each level within one rounding, so both timings drive the same currents."""
    import numpy as np

    from hil.session.lab import connect_virtual
    from simulators.lab.chip import build_chip
    from simulators.lab.server import VirtualLab

    writes = list(np.random.default_rng(0).uniform(0.2e-3, 0.45e-3, 40))
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual, connect_virtual(lab=virtual) as lab:
        emulator = virtual.instruments["pulse"]
        singles = []
        for write in writes:
            lab["pulse"].pulse(write, 100e-6)
            singles.append(emulator.wave_amplitude * emulator.arb_copy[1][0])
        lab["pulse"].play_cycle_list(-0.6e-3, writes, 50e-6, 100e-6, 8, 4, 3)
        points = emulator.arb_copy[3]
        in_waveform = [emulator.wave_amplitude * points[8 * k + 2]
                       for k in range(len(writes))]
    assert len(set(singles)) == len(writes)  # forty different levels
    for level, single in zip(in_waveform, singles, strict=True):
        assert level == pytest.approx(single, rel=4e-16, abs=0)


def _sreal(values) -> bytes:
    """The 2000's SREal reply, SWAPped: "#0" and 4 little-endian bytes per reading."""
    import numpy as np

    return b"".join(b"#0" + np.float32(v).tobytes() for v in values) + b"\n"


@pytest.mark.filterwarnings("ignore:Breaking on termination character")
def test_2000_buffer_armed_and_read_back_in_single_precision_binary():
    """The armed buffer is read back as SREal records (Model 2000 User's Manual, :FORMat
    subsystem, Fig. 5-2); ASCII again when back to immediate readings. The last value's
    first byte is 0x0A: a line feed inside a record is data, not the end."""
    import numpy as np

    with_line_feed = float(np.frombuffer(b"\n\x00\x80\x38", "<f4")[0])  # 6.1e-05 V
    values = [1.25e-4, -7.5e-5, with_line_feed]
    reply = _sreal(values)
    cut = reply.index(b"\n") + 1  # what one read up to a line feed returns
    with expected_protocol(HallVoltmeter, [
        (":ABOR", None),
        (":INIT:CONT 0", None),
        (":TRIG:SOUR EXT", None),
        (":TRIG:DEL 0", None),
        (":SAMP:COUN 1", None),
        (":TRIG:COUN 3", None),
        (":TRAC:CLE;:TRAC:POIN 3;:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;:FORM SRE;"
         ":FORM:BORD SWAP", None),
        (":INIT", None),
        ("SYST:ERR?", '0,"No error"'),
        (":TRAC:DATA?", reply[:cut]),
        (None, reply[cut:]),
        (":ABOR;:TRAC:FEED:CONT NEV;:FORM ASC", None),
        (":TRIG:SOUR IMM", None),
        (":TRIG:COUN 1", None),
        (":SAMP:COUN 1", None),
        (":TRIG:DEL 0", None),
    ]) as k:
        k.arm_external_buffer(3)
        assert k.buffer_readings() == [float(np.float32(v)) for v in values]
        k.immediate_triggering()


@pytest.mark.filterwarnings("ignore:Breaking on termination character")
@pytest.mark.parametrize(("reply", "why"), [
    (b"#1" + bytes(4) + b"\n", '"#0"'),  # a definite-length header, not the 2000's
    (b"+1.25000000E-04\n", '"#0"'),  # ASCII where SREal was asked
    (b"#0" + bytes(4) + b"," + b"#0" + bytes(4) + b"\n", '"#0"'),  # a separator
    (_sreal([1e-4])[:-1] + b"VDC\n", '"#0"'),  # units
    (_sreal([float("nan")]), "overflow or no reading"),
    (_sreal([float("-inf")]), "overflow or no reading"),
    (_sreal([9.9e37]), "overflow or no reading"),
    (_sreal([1e-4] * 5), "5 readings where at most 4 armed"),
])
def test_2000_malformed_binary_block_is_a_reply_error(reply, why):
    from instruments.errors import ReplyError

    with expected_protocol(HallVoltmeter, [(":TRAC:DATA?", reply)]) as k:
        k._buffered = 4
        with pytest.raises(ReplyError, match=why) as refused:
            k.buffer_readings()
        assert refused.value.command == ":TRAC:DATA?"
        assert refused.value.instrument == k.name
