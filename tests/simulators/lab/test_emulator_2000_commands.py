"""The emulated Keithley 2000's documented commands beyond the Hall-voltage route (Model
2000 User's Manual section 5): each function's own settings and filter (:AVERage, p. 5-46),
:SENSe:DATA, CALCulate1-3, DISPlay:TEXT, SYSTem:PRESet, the ohms functions; and the
commands QCoDeS's Keithley 2000 driver sends (``Keithley_2000.py``: ``SENS:FUNC``,
``<function>:AVER:TCON?`` ... ``SENSE:DATA:FRESH?``) answered over real pyvisa sockets."""

import numpy as np
import pytest
import pyvisa

from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k2000 import Keithley2000Emulator
from simulators.lab.server import VirtualLab


@pytest.fixture
def meter():
    return Keithley2000Emulator(build_chip(1, 0.5e-6, 0), LabClock())


def error(meter):
    return meter.handle("SYST:ERR?")


def test_each_function_keeps_its_own_settings_and_filter_defaults(meter):
    """*RST: filter off, REPeat, count 10 for every function (p. 5-46); a setting sent to
    one function leaves the others alone."""
    for function in ("VOLT:DC", "RES", "FRES"):
        assert meter.handle(f"{function}:AVER:TCON?") == "REP"
        assert meter.handle(f"{function}:AVER:COUN?") == "10"
        assert meter.handle(f"{function}:AVER:STAT?") == "0"
        assert meter.handle(f":SENS:{function}:DIG?") == "7"
        assert meter.handle(f"{function}:RANG:AUTO?") == "1"
    meter.handle(":SENS:VOLT:DC:AVER:TCON MOV;COUN 20;STAT ON")
    meter.handle(":SENS:RES:NPLC 5")
    assert meter.handle(":SENS:VOLT:AVER:TCON?") == "MOV"
    assert meter.handle(":SENS:VOLT:AVER:COUN?") == "20"
    assert meter.handle(":SENS:RES:AVER:TCON?") == "REP"
    assert float(meter.handle(":SENS:RES:NPLC?")) == 5.0
    assert float(meter.handle(":SENS:VOLT:NPLC?")) == 1.0
    assert meter.handle(":SENS:VOLT:AVER:COUN? MAX") == "100"
    assert meter.handle(":SENS:VOLT:AVER:COUN? DEF") == "10"
    assert meter.handle(":SENS:VOLT:AVER:COUN? 5") is None  # only the keywords
    assert error(meter) == '-108,"Parameter not allowed"'
    for line, code in ((":SENS:VOLT:AVER:COUN 101", -222), (":SENS:VOLT:AVER:COUN 0", -222),
                       (":SENS:VOLT:AVER:TCON FAST", -141), (":SENS:VOLT:AVER:COUN", -109),
                       (":SENS:RES:RANG 2e8", -222)):
        meter.handle(line)
        assert error(meter).startswith(f"{code},"), line
    assert meter.handle(":SENS:VOLT:AVER:COUN?") == "20"  # refused lines took nothing


@pytest.mark.parametrize(("kind", "count", "readings", "conversions"), [
    ("REP", 4, 3, 12),  # the repeating filter: 4 new conversions a reading
    ("MOV", 4, 3, 6),  # the moving filter: fills its stack once (4), then 1 a reading
])
def test_the_filter_charges_its_conversions(meter, kind, count, readings, conversions):
    """Section 3, Filter (Fig. 3-1): what a filtered reading costs on the clock."""
    meter.handle(":SENS:VOLT:NPLC 0.1;:SYST:AZER 0")
    meter.handle(f":SENS:VOLT:AVER:TCON {kind};COUN {count};STAT ON")
    meter.handle(f":SAMP:COUN {readings}")
    one = meter.times.reading(0.1, False)
    start = meter.clock.seconds
    reply = meter.handle(":INIT;:FETC?")
    spent = meter.clock.seconds - start
    assert len(reply.split(",")) == readings
    bus = meter.clock.bus_latency + meter.clock.transfer(len(":INIT;:FETC?") + 1) + \
        meter.clock.transfer(len(reply) + 1)
    assert spent - bus == pytest.approx(conversions * one)


def test_the_repeating_filter_averages_its_conversions():
    """Ten conversions a reading: the spread of readings falls by sqrt(10) (fixed seed)."""
    spreads = {}
    for count in (1, 10):
        meter = Keithley2000Emulator(build_chip(1, 0.5e-6, 7), LabClock())
        meter.handle(f":SENS:VOLT:NPLC 0.01;AVER:COUN {count};STAT {int(count > 1)}")
        meter.handle(":SAMP:COUN 400;:INIT")
        spreads[count] = np.std([float(v) for v in meter.handle(":FETC?").split(",")])
    assert spreads[1] / spreads[10] == pytest.approx(np.sqrt(10), rel=0.2)


def test_sense_data_latest_and_fresh(meter):
    """[:SENSe]:DATA[:LATest]? repeats the last reading; :DATA:FRESh? returns each reading
    once and then waits (no reply: the query times out) until a new one exists."""
    meter.handle(":SENS:DATA?")
    assert error(meter) == '-230,"Data corrupt or stale"'  # no reading yet
    reading = meter.handle(":READ?")
    assert meter.handle(":SENS:DATA?") == reading
    assert meter.handle(":SENS:DATA:LAT?") == reading
    assert meter.handle(":SENSE:DATA:FRESH?") == reading
    assert meter.handle(":SENS:DATA:FRES?") is None  # waits for a new reading
    assert error(meter) == '0,"No error"'
    meter.handle(":INIT")
    assert meter.handle(":SENS:DATA:FRES?") not in (None, reading)


def test_system_preset_differs_from_rst_as_the_manual_says(meter):
    meter.handle(":SYST:PRES")
    assert meter.handle(":INIT:CONT?") == "1"
    assert meter.handle(":SENS:VOLT:AVER:STAT?") == "1"
    assert meter.handle(":SENS:VOLT:AVER:TCON?") == "MOV"
    first = meter.handle(":SENS:DATA:FRES?")  # continuous initiation: always measuring
    assert first is not None and meter.handle(":SENS:DATA:FRES?") is not None
    meter.handle(":SYST:PRES?")
    assert error(meter) == '-113,"Undefined header"'
    meter.handle("*RST")
    assert meter.handle(":INIT:CONT?") == "0"
    assert meter.handle(":SENS:VOLT:AVER:STAT?") == "0"


def test_calculate_math_statistics_and_limits(meter):
    """CALC1 mX+b and percent on the last reading, CALC2 statistics of the buffer, CALC3
    limits (Table 5-2); the raw reading (FETCh?) is left alone."""
    assert meter.handle(":CALC:FORM?") == "PERC"
    assert meter.handle(":CALC:STAT?") == "0"
    meter.handle(":SENS:VOLT:NPLC 0.01;:SAMP:COUN 5;:TRAC:POIN 5;:TRAC:FEED SENS;"
                 ":TRAC:FEED:CONT NEXT;:INIT")
    raw = float(meter.handle(":FETC?").split(",")[-1])
    meter.handle(":CALC:FORM MXB;:CALC:KMAT:MMF 2;MBF 1e-3;:CALC:STAT ON")
    assert float(meter.handle(":CALC:DATA?")) == pytest.approx(2 * raw + 1e-3)
    meter.handle(":CALC:FORM PERC;:CALC:KMAT:PERC 1e-6")
    assert float(meter.handle(":CALC:DATA?")) == pytest.approx(raw / 1e-6 * 100)
    assert float(meter.handle(":FETC?").split(",")[-1]) == raw
    buffer = [float(v) for v in meter.handle(":TRAC:DATA?").split(",")]
    meter.handle(":CALC2:FORM SDEV;STAT ON")
    assert float(meter.handle(":CALC2:IMM?")) == pytest.approx(np.std(buffer, ddof=1),
                                                               rel=1e-6)
    meter.handle(":CALC2:FORM MAX;IMM")
    assert float(meter.handle(":CALC2:DATA?")) == pytest.approx(max(buffer), rel=1e-6)
    meter.handle(":CALC:STAT OFF;:CALC3:LIM:UPP 1;LOW -1;STAT ON")
    meter.handle(":INIT")
    assert meter.handle(":CALC3:LIM:FAIL?") == "0"
    meter.handle(":CALC3:LIM:UPP -1;LOW -2;:INIT")
    assert meter.handle(":CALC3:LIM:FAIL?") == "1"
    meter.handle(":CALC3:LIM:CLE")
    assert meter.handle(":CALC3:LIM:FAIL?") == "0"
    for line, code in ((":CALC:KMAT:MMF 2e8", -222), (":CALC:FORM DBM", -141),
                       (":CALC2:FORM PKPK", -141), (":CALC3:LIM:UPP 1e9", -222)):
        meter.handle(line)
        assert error(meter).startswith(f"{code},"), line


def test_query_only_headers_refuse_the_command_form(meter):
    """:SYSTem:LFRequency? and :SYSTem:VERSion? are queries only (Table 5-8)."""
    for line in (":SYST:LFR 60", ":SYST:LFR", ":SYST:VERS"):
        meter.handle(line)
        assert error(meter) == '-113,"Undefined header"', line
    assert meter.handle(":SYST:LFR?") in ("50", "60")
    assert meter.handle(":SYST:VERS?") == "1991.0"


def test_display_text_holds_twelve_characters(meter):
    meter.handle(":DISP:TEXT:DATA 'HALL BAR 3';:DISP:TEXT:STAT ON")
    assert meter.handle(":DISP:TEXT:DATA?") == '"HALL BAR 3"'
    assert meter.handle(":DISP:TEXT:STAT?") == "1"
    meter.handle(":DISP:TEXT:DATA 'THIRTEEN CHRS'")
    assert error(meter) == '-223,"Too much data"'
    meter.handle(":DISP:TEXT:DATA 12")
    assert error(meter) == '-104,"Data type error"'
    assert meter.handle(":DISP:TEXT:DATA?") == '"HALL BAR 3"'


def test_ohms_functions_read_the_hall_terminals(meter):
    """SENS:FUNC 'RES' and 'FRES' are the 2000's; each keeps its own range (100 Ohm-100
    MOhm); functions not wired to the bar stay refused as a settings conflict."""
    meter.handle(":SENS:FUNC 'RES'")
    assert meter.handle(":SENS:FUNC?") == '"RES"'
    resistance = float(meter.handle(":READ?"))
    assert resistance == pytest.approx(meter.chip.hall_resistance(), abs=0.5)
    meter.handle(":SENS:FUNC 'FRESistance'")
    assert meter.handle(":FUNC?") == '"FRES"'
    meter.handle(":SENS:FRES:RANG 1e3")
    assert float(meter.handle(":SENS:FRES:RANG?")) == 1e3
    assert float(meter.handle(":SENS:VOLT:RANG?")) == 1000.0
    meter.handle(':SENS:FUNC "VOLT:DC"')
    assert meter.handle(":SENS:FUNC?") == '"VOLT:DC"'
    assert error(meter) == '0,"No error"'
    meter.handle(":SENS:FUNC 'FREQ'")
    assert error(meter) == '-221,"Settings conflict"'
    meter.handle(":SENS:FUNC 'VOLT:DD'")
    assert error(meter) == '-141,"Invalid character data"'
    assert meter.handle(":SENS:FUNC?") == '"VOLT:DC"'


QCODES_2000 = [  # what QCoDeS's Keithley_2000.py sends, in its own spelling
    "FORM:DATA ASCII", "FORM:ELEM READ", "*IDN?", "SENS:FUNC?", 'SENS:FUNC "RES"',
    "res:nplc?", "res:rang?", "res:rang:auto?", "res:dig?", "res:aver:tcon?",
    "res:aver:coun?", "res:aver:stat?", 'SENS:FUNC "VOLT:DC"', "volt:dc:nplc 0.1",
    "volt:dc:nplc?", "volt:dc:rang 10", "volt:dc:rang?", "volt:dc:rang:auto 1",
    "volt:dc:rang:auto?", "volt:dc:dig 5", "volt:dc:dig?", "volt:dc:aver:tcon moving",
    "volt:dc:aver:tcon?", "volt:dc:aver:coun 3", "volt:dc:aver:coun?",
    "volt:dc:aver:stat 1", "volt:dc:aver:stat?", "DISP:ENAB?", "DISP:ENAB 1",
    "INIT:CONT?", "INIT:CONT 0", "TRIG:COUN?", "TRIG:COUN 1", "TRIG:DEL?", "TRIG:DEL 0",
    "TRIG:SOUR?", "TRIG:SOUR IMM", "TRIG:TIM?", "TRIG:TIM 0.1", "INIT",
    "SENSE:DATA:FRESH?"]


def test_the_qcodes_2000_drivers_commands_are_all_answered():
    """Every parameter of QCoDeS's driver, read and set over a pyvisa socket: every query
    answered (none times out), nothing in the error queue."""
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as lab:
        dmm = pyvisa.ResourceManager("@py").open_resource(
            lab.resources["voltmeter"]["resource"], read_termination="\n",
            write_termination="\n", timeout=2000)
        dmm.write("*RST;*CLS")
        answers = {}
        for line in QCODES_2000:
            if line.endswith("?"):
                answers[line] = dmm.query(line)
            else:
                dmm.write(line)
        assert dmm.query("SYST:ERR?") == '0,"No error"'
        dmm.close()
    assert answers["SENS:FUNC?"] == '"VOLT:DC"'  # QCoDeS maps this exact text
    assert answers["res:aver:tcon?"] == "REP" and answers["volt:dc:aver:tcon?"] == "MOV"
    assert answers["volt:dc:dig?"] == "5" and answers["volt:dc:aver:coun?"] == "3"
    assert float(answers["volt:dc:rang?"]) == 10.0 and answers["volt:dc:rang:auto?"] == "1"
    assert int(answers["TRIG:COUN?"]) == 1 and float(answers["TRIG:TIM?"]) == 0.1
    assert abs(float(answers["SENSE:DATA:FRESH?"])) < 1e-3  # a Hall voltage, no current
