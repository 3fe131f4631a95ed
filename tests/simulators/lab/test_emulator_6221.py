"""The emulated Keithley 6221 against its reference manual: refusals, *RST defaults and
ranges, what a waveform and an upload cost on the virtual clock, the phase marker on the
trigger-link line it is set to, and driver timeouts sized from a waveform's duration."""

import pytest

from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k6221 import TIMING, Keithley6221Emulator


@pytest.fixture
def source():
    return Keithley6221Emulator(build_chip(1, 0.5e-6, 0), LabClock())


def error(source):
    return source.handle("SYST:ERR?")


REFUSED = [
    (":SOUR:CURR 0.2", -222, "Data out of range"),  # +-105 mA
    (":SOUR:CURR:COMP 0.05", -222, "Data out of range"),  # compliance 0.1-105 V
    (":SOUR:DEL 0.0005", -222, "Data out of range"),  # source delay from 1 ms
    (":SOUR:WAVE:FREQ 2e5", -222, "Data out of range"),  # waveforms to 100 kHz
    (":SOUR:WAVE:FREQ 0.0001", -222, "Data out of range"),  # from 1 mHz
    (":SOUR:WAVE:DUR:TIME 5e-8", -222, "Data out of range"),  # from 100 ns
    (":SOUR:WAVE:ARB:COPY 5", -222, "Data out of range"),  # 4 user slots
    (":SOUR:WAVE:ARB:DATA 0.5", -222, "Data out of range"),  # at least 2 points
    (":SOUR:WAVE:ARB:DATA " + ",".join(["0.1"] * 101), -222, "Data out of range"),
    (":SOUR:WAVE:ARB:DATA 1.5,0", -222, "Data out of range"),  # points in [-1, 1]
    (":SOUR:WAVE:PMAR:OLIN 7", -222, "Data out of range"),  # trigger-link lines 1-6
    (":TRIG:OLIN 0", -222, "Data out of range"),
    (":SOUR:WAVE:FUNC ARB5", -141, "Invalid character data"),
    (":SOUR:WAVE:FUNC TRIANGLE", -141, "Invalid character data"),
    (":SENS:VOLT:NPLC 1", -113, "Undefined header"),  # a current source, no DMM
    (":TRIG:SOUR TLINK;:TRIG:TIM 1", -113, "Undefined header"),
    (":ARM:SOUR EXT", -141, "Invalid character data"),  # no EXTernal arm source
    (":TRIG:SOUR BUS", -141, "Invalid character data"),  # trigger layer: IMM, TLIN only
    (":ARM:LAY2:SOUR IMM", -113, "Undefined header"),  # one arm layer
    (":ARM:ILIN 7", -222, "Data out of range"),  # trigger-link lines 1-6
    (":SOUR:PDEL:WIDT 4e-5", -222, "Data out of range"),  # pulse delta width 50 us-12 ms
    (":SOUR:PDEL:WIDT 0.013", -222, "Data out of range"),
    (":SOUR:PDEL:SDEL 1e-5", -222, "Data out of range"),  # source delay 16 us-11.966 ms
    (":SOUR:PDEL:INT 4", -222, "Data out of range"),  # interval 5-999999 PLC
    (":SOUR:PDEL:COUN 0", -222, "Data out of range"),
    (":SOUR:PDEL:LME 4", -222, "Data out of range"),  # 2 or 3 low measurements
    (":SOUR:PDEL:HIGH 0.2", -222, "Data out of range"),  # +-105 mA
    (":SOUR:PDEL:RANG AUTO", -141, "Invalid character data"),  # fixed output: BEST, FIX
    (":SOUR:PDEL:ARM", -221, "Settings conflict"),  # no 2182A on the cables
    (":INIT", -221, "Settings conflict"),  # nothing armed
    (":SAMP:COUN 10", -113, "Undefined header"),
    (":FOO:BAR 1", -113, "Undefined header"),
    ("*BOGUS", -113, "Undefined header"),
    (":OUTP MAYBE", -104, "Data type error"),
    (":SOUR:LIST:DEL 0.0005,0.001", -222, "Data out of range"),  # list delays from 1 ms
    (":SOUR:LIST:CURR " + ",".join(["0.001"] * 101), -222, "Data out of range"),  # 100 points
]


@pytest.mark.parametrize(("line", "code", "message"), REFUSED)
def test_commands_absent_from_the_manual_are_refused_with_its_error(source, line, code,
                                                                     message):
    source.handle(line)
    assert error(source) == f'{code},"{message}"'
    assert error(source) in ('0,"No error"', f'{code},"{message}"')  # chained: one each
    assert source.handle(":SOUR:CURR?") == "0.000000E+00"
    assert source.handle(":OUTP?") == "0"


def test_reset_defaults_and_documented_ranges_accepted(source):
    source.handle("*RST")
    assert source.handle(":OUTP?") == "0"
    assert float(source.handle(":SOUR:DEL?")) == TIMING.source_delay_min
    for line in (":SOUR:CURR 0.105", ":SOUR:CURR -0.105", ":SOUR:CURR:COMP 105",
                 ":SOUR:DEL 0.001", ":SOUR:WAVE:FREQ 1e5", ":SOUR:WAVE:FREQ 1e-3",
                 ":SOUR:WAVE:DUR:TIME 1e-7", ":SOUR:WAVE:PMAR:OLIN 6", ":TRIG:OLIN 1",
                 ":SOUR:WAVE:FUNC ARB4", ":SOUR:WAVE:ARB:COPY 4", ":SOUR:SWE:SPAC LIST",
                 ":SOUR:LIST:CURR -0.0006,0.0003", ":SOUR:LIST:DEL 0.001,0.001",
                 ":SOUR:SWE:RANG FIX", ":SOUR:SWE:ARM"):
        source.handle(line)
        assert error(source) == '0,"No error"', line
    source.handle(":SOUR:WAVE:ARB:DATA " + ",".join(["0.5"] * 100))
    for _ in range(TIMING.arb_points_max // 100 - 1):
        source.handle(":SOUR:WAVE:ARB:APP " + ",".join(["0.5"] * 100))
    source.handle(":SOUR:WAVE:ARB:APP " + ",".join(["0.5"] * 36))  # 65,536 points
    assert error(source) == '0,"No error"'
    assert source.handle(":SOUR:LIST:CURR?") == "-6.000000E-04,3.000000E-04"
    assert len(source.arb[0]) == 65536
    source.handle(":SOUR:WAVE:ARB:APP 0.5")  # one more
    assert error(source) == '-222,"Data out of range"'


def test_a_waveform_plays_for_its_duration_and_uploads_cost_their_bytes(source):
    clock = source.clock
    line = ":SOUR:WAVE:ARB:DATA " + ",".join(["0.25"] * 100)
    start = clock.seconds
    source.handle(line)
    assert clock.seconds - start == pytest.approx(clock.bus_latency + clock.transfer(len(line)
                                                                                   + 1)
                                                  + source.times.parse(100))  # stated: 1 ms
    for command in (":SOUR:WAVE:ARB:COPY 2", ":SOUR:WAVE:FUNC ARB2", ":SOUR:WAVE:FREQ 100",
                    ":SOUR:WAVE:AMPL 1e-6", ":SOUR:WAVE:DUR:CYCL 30"):
        source.handle(command)
    start = clock.seconds
    source.handle(":SOUR:WAVE:ARM")
    assert clock.seconds - start == pytest.approx(  # arming: stated 2 ms (units.py)
        clock.bus_latency + clock.transfer(len(":SOUR:WAVE:ARM") + 1) + 2e-3)
    start = clock.seconds
    source.handle(":SOUR:WAVE:INIT")
    assert clock.seconds - start == pytest.approx(
        30 / 100 + clock.bus_latency + clock.transfer(len(":SOUR:WAVE:INIT") + 1))
    assert source.handle("*OPC?") == "1"
    assert error(source) == '0,"No error"'


@pytest.mark.parametrize(("marker_line", "pulses"), [(1, 3), (2, 0)])
def test_phase_marker_pulses_its_trigger_link_line_at_its_point(source, marker_line,
                                                                 pulses):
    received = []
    source.trigger_link = {1: received.append}  # only line 1 is cabled
    for command in (":SOUR:WAVE:ARB:DATA " + ",".join(["0"] * 10), ":SOUR:WAVE:ARB:COPY 1",
                    ":SOUR:WAVE:FUNC ARB1", ":SOUR:WAVE:FREQ 1000", ":SOUR:WAVE:AMPL 1e-6",
                    ":SOUR:WAVE:DUR:CYCL 3", ":SOUR:WAVE:PMAR 36", ":SOUR:WAVE:PMAR:STAT ON",
                    f":SOUR:WAVE:PMAR:OLIN {marker_line}", ":SOUR:WAVE:ARM"):
        source.handle(command)
    source.handle(":SOUR:WAVE:INIT")
    end = source.clock.seconds
    assert len(received) == pulses
    if pulses:
        start = end - 3e-3
        assert [round((t - start) * 1e4) for t in received] == [1, 11, 21]  # 0.1 ms + k ms


def test_the_driver_waits_for_a_long_waveform_under_a_timeout_sized_from_it():
    """A 1,024-cycle batch lasts longer than the lab's 2 s VISA timeout: the driver raises
    the timeout for its *OPC? from the waveform's own duration, then restores it."""
    from hil.session.lab import connect_virtual
    from simulators.lab.server import VirtualLab

    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual, connect_virtual(lab=virtual) as lab:
        pulse = lab["pulse"]
        start = virtual.clock.now()
        pulse.play_cycles(-0.6e-3, 0.3e-3, 50e-6, 100e-6, 1000, 30, 4)  # 3 ms per cycle
        assert virtual.clock.now() - start > 3.0
        assert pulse.last_opc_timeout_ms >= 3000 + 1000 * pulse.OPC_MARGIN_S
        assert pulse.adapter.connection.timeout == 2000


def test_lab_file_names_the_trigger_line_wired_to_the_2000(tmp_path):
    from hil.session.lab import lab_from_file
    from instruments.connection import LabFile
    from simulators.lab.clock import BUSES

    path = tmp_path / "lab.toml"
    roles = '[roles]\npulse = "GPIB0::12::INSTR"\nvoltmeter = "GPIB0::16::INSTR"\n'
    path.write_text(roles + "[wiring]\ntrigger_line = 3\n")
    assert LabFile.load(path).trigger_line == 3
    path.write_text(roles)
    assert LabFile.load(path).trigger_line == 1
    path.write_text("virtual = true\n[wiring]\ntrigger_line = 2\nbus = \"lan\"\n")
    with lab_from_file(path) as lab:  # the virtual lab wired as the file says
        assert lab.virtual_lab.trigger_line == 2 and lab.trigger_line == 2
        assert lab.virtual_lab.clock.bus_latency == BUSES["lan"][0]
    for bad in ("trigger_line = 7", "trigger_line = \"1\"", "link = 1", "bus = \"rs232\""):
        path.write_text(roles + f"[wiring]\n{bad}\n")
        with pytest.raises(ValueError, match="wiring"):
            LabFile.load(path)


def test_hardware_timing_follows_the_wired_line():
    """A virtual rig cabled on line 4: a lab told line 4 proves the cable; told line 1, the
    marker pulses an unconnected line and timing falls back with a message naming it."""
    from hil.session.lab import connect_virtual
    from protocols.timing import hardware_timing_unavailable
    from simulators.lab.server import VirtualLab

    with VirtualLab(build_chip(1, 0.5e-6, 0), trigger_line=4) as virtual, \
            connect_virtual(lab=virtual) as lab:
        assert lab.trigger_line == 4
        assert hardware_timing_unavailable(lab) is None
        lab.trigger_line = 1
        assert "line 1" in hardware_timing_unavailable(lab)


def test_a_current_per_cycle_is_cut_into_waveforms_the_6221_can_hold(monkeypatch):
    """Cycles beyond one arbitrary waveform's points go into the next batch (here the
    limit is lowered to 500 points: each burst also carries its two probe blocks)."""
    import numpy as np

    import protocols.cycle as cycle
    from hil.session.lab import connect_virtual
    from protocols.cycle import ResetWriteRead
    from simulators.lab.server import VirtualLab

    monkeypatch.setattr(cycle, "ARB_POINTS", 500)
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual, connect_virtual(lab=virtual) as lab:
        rwr = ResetWriteRead(lab, timing="hardware")
        rwr.calibrate()
        played = []  # the points of each waveform of cycles (with reset pulses) played
        source = virtual.instruments["pulse"]
        handle = source.handle

        def recorded(line):
            if "WAVE:INIT" in line.upper() and min(source.arb_copy.get(3, [0])) < 0:
                played.append(len(source.arb_copy[3]))
            return handle(line)

        monkeypatch.setattr(source, "handle", recorded)
        sizes = [len(b) for b in rwr.batches(np.linspace(0.2e-3, 0.3e-3, 40))]
    assert sum(sizes) == 40 and len(sizes) > 1
    assert played and max(played) <= 500


# -- the parameters as the manual gives them (issue 24) --------------------------------------
def test_default_is_the_settings_reset_value_not_its_minimum(source):
    """DEFault is the default column of the section 14 tables: 0 A for the level (not the
    -105 mA minimum), 10 V compliance, 1 kHz, INFinity for the duration."""
    source.handle(":SOUR:CURR 1E-3;:SOUR:CURR:COMP 20;:SOUR:WAVE:FREQ 5")
    source.handle(":SOUR:CURR DEF;:SOUR:CURR:COMP DEF;:SOUR:WAVE:FREQ DEF")
    assert error(source) == '0,"No error"'
    assert source.current == 0.0 and source.compliance == 10.0
    assert source.wave_frequency == 1e3
    assert source.handle(":SOUR:CURR? MIN") == "-1.050000E-01"  # MIN is still the minimum
    source.handle(":SOUR:WAVE:DUR:CYCL DEF")
    assert source.handle(":SOUR:WAVE:DUR:CYCL?") == "9.9E37"


def test_a_quoted_semicolon_is_data_and_tabs_are_white_space(source):
    """IEEE 488.2 7.7.5: a string holds ";" (and a doubled quote); 7.4.1.2: a tab is white
    space like a space."""
    source.handle(':DISP:TEXT:DATA "a;b""c";:SOUR:CURR\t1E-4')
    assert error(source) == '0,"No error"'
    assert source.display_text[1][0] == 'a;b"c' and source.current == 1e-4
    source.handle(":DISP:TEXT:DATA 'it''s';\t:OUTP\t0")
    assert error(source) == '0,"No error"' and source.display_text[1][0] == "it's"


@pytest.mark.parametrize(("value", "on"), [("1", True), ("0", False), ("0.4", False),
                                           ("0.5", True), ("-0.5", True), ("#H1", True),
                                           ("#B0", False), ("ON", True), ("off", False)])
def test_a_boolean_is_on_off_or_a_number_rounded_to_an_integer(source, value, on):
    """SCPI 1999 Vol. 1 7.3 <Boolean>: a number is rounded (IEEE 488.2 7.7.2.4.1, halves
    away from zero) and non-zero is ON; non-decimal numbers are numbers (7.7.4)."""
    source.handle(":OUTP OFF" if on else ":OUTP ON")
    source.handle(f":OUTP {value}")
    assert error(source) == '0,"No error"'
    assert source.output is on


@pytest.mark.parametrize(("line", "code"), [(":SOUR:CURR 10uA", -138),  # no suffixes
                                            ("*CLS )", -101), (":ABOR (", -102),
                                            (":SOUR:WAVE:ABOR 1", -108),
                                            (':DISP:TEXT:DATA "open', -151)])
def test_what_the_grammar_refuses_is_refused_whole_or_from_its_error(source, line, code):
    source.handle(":SOUR:CURR 5E-4")
    source.handle(line)
    assert error(source).startswith(f"{code},")
    assert source.current == 5e-4


def test_a_command_error_discards_the_rest_of_the_message(source):
    """IEEE 488.2 6.1.6: the units before it ran; the rest of the message is not executed;
    an execution error (-222) leaves the next unit to run."""
    source.handle(":SOUR:CURR 1E-4;:SOUR:CURR 10uA;:OUTP ON")
    assert source.current == 1e-4 and source.output is False
    source.handle(":SOUR:CURR 1;:OUTP ON")  # out of range: -222, an execution error
    assert source.output is True and source.current == 1e-4
    assert [error(source)[:4] for _ in range(3)] == ["-138", "-222", '0,"N']


def test_system_preset_and_source_clear(source):
    """SYSTem:PRESet returns the *RST defaults; SOURce:CLEar turns the output off (section
    14, SYSTem and SOURce tables)."""
    source.handle(":SOUR:CURR 1E-4;:OUTP ON;:SOUR:WAVE:FREQ 20")
    source.handle(":SOUR:CLE")
    assert source.output is False and source.current == 1e-4
    source.handle(":OUTP ON;:SYST:PRES")
    assert error(source) == '0,"No error"'
    assert source.output is False and source.current == 0.0 and source.wave_frequency == 1e3


def _play(source, duration_lines, frequency=1000.0):
    played = []
    drive = source.chip.drive
    source.chip.drive = lambda current, seconds: (played.append((current, seconds)),
                                                  drive(current, seconds))
    for command in (":SOUR:WAVE:ARB:DATA 1,1,0,0", ":SOUR:WAVE:ARB:COPY 1",
                    ":SOUR:WAVE:FUNC ARB1", f":SOUR:WAVE:FREQ {frequency}",
                    ":SOUR:WAVE:AMPL 1E-4", *duration_lines, ":SOUR:WAVE:ARM",
                    ":SOUR:WAVE:INIT"):
        source.handle(command)
    assert error(source) == '0,"No error"'
    return sum(s for _, s in played), sum(s for c, s in played if c > 0)


def test_a_duration_is_one_setting_in_cycles_or_in_seconds(source):
    """DURation:CYCLes and DURation:TIME set the same duration; the one given last counts
    (1000 cycles, then 1 ms: 1 ms, not 10 s), and each is read back in the other's unit."""
    total, high = _play(source, [":SOUR:WAVE:DUR:CYCL 1000", ":SOUR:WAVE:DUR:TIME 1E-3"])
    assert total == pytest.approx(1e-3) and high == pytest.approx(0.5e-3)
    assert float(source.handle(":SOUR:WAVE:DUR:CYCL?")) == pytest.approx(1.0)
    source.handle(":SOUR:WAVE:DUR:CYCL 3")
    assert float(source.handle(":SOUR:WAVE:DUR:TIME?")) == pytest.approx(3e-3)


def test_a_fraction_of_a_cycle_plays_that_fraction(source):
    """DUR:CYCL 0.5 plays half a period (the two high points of [1, 1, 0, 0]): 0.5 ms at
    1 kHz, not a whole cycle."""
    total, high = _play(source, [":SOUR:WAVE:DUR:CYCL 0.5"])
    assert total == pytest.approx(0.5e-3) and high == pytest.approx(0.5e-3)
    total, high = _play(source, [":SOUR:WAVE:DUR:CYCL 1.25"])
    assert total == pytest.approx(1.25e-3) and high == pytest.approx(0.75e-3)
