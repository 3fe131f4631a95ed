"""The emulated Keithley 2400 answers as the Model 2400 User's Manual says, over real pyvisa
sockets: commands the 2400 lacks are refused with the manual's error (Appendix B, Table
B-1, word for word), ranges and *RST defaults are the manual's (section 18 tables), readings
come in the documented format."""

import re

import pytest
import pyvisa

from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

NUMBER = r"[+-]\d\.\d{6}E[+-]\d{2}"


@pytest.fixture(scope="module")
def lab():
    with VirtualLab(build_chip(4, 0.5e-6, 0), coil_constant=0.01) as virtual:
        yield virtual


@pytest.fixture()
def k2400(lab):
    resource = pyvisa.ResourceManager("@py").open_resource(
        lab.resources["field"]["resource"], read_termination="\n", write_termination="\n",
        timeout=2000)
    resource.write("*RST;*CLS")
    assert resource.query("*OPC?") == "1"  # taken before the test's first line
    yield resource
    resource.write("*RST;*CLS")
    assert resource.query("*OPC?") == "1"  # taken before the next test connects
    resource.close()


REFUSED = [  # (command, the manual's error)
    (":FOO:BAR 1", '-113,"Undefined header"'),
    ("*XYZ", '-113,"Undefined header"'),
    (":SOUR:PULS:WIDT 1e-3", '-113,"Undefined header"'),  # pulse mode: Model 2430 only
    (":SOUR:FUNC:SHAP PULS", '-113,"Undefined header"'),  # Model 2430 only
    (":SOUR:WAVE:FREQ 1e3", '-113,"Undefined header"'),  # a 6221 command
    (":OUTP:LTE ON", '-113,"Undefined header"'),  # a 6221 command
    (":SOUR:DELT:HIGH 1e-3", '-113,"Undefined header"'),  # a 6221 command
    (":SENS:VOLT:AC:RANG 1", '-113,"Undefined header"'),  # no AC on the 2400
    (":SOUR2:CURR 1", '-113,"Undefined header"'),  # SOURce2 is the digital output only
    (":SOUR:CURR:LEV:FOO 1", '-113,"Undefined header"'),
    (":SOUR3:CURR 1", '-113,"Undefined header"'),
    (":TRIG:SOUR TIM", '-224,"Illegal parameter value"'),  # trigger layer: IMM, TLIN only
    (":TRIG:SOUR EXT", '-224,"Illegal parameter value"'),
    (":ARM:SOUR EXT", '-224,"Illegal parameter value"'),  # no EXTernal on the 2400
    (":SENS:FUNC 'VOLT:AC'", '-224,"Illegal parameter value"'),
    (":SENS:FUNC CURR", '-224,"Illegal parameter value"'),  # <name> must be a string
    (":SOUR:FUNC RES", '-224,"Illegal parameter value"'),
    (":SOUR:CURR 1.06", '-222,"Parameter data out of range"'),
    (":SOUR:CURR -1.06", '-222,"Parameter data out of range"'),
    (":SOUR:VOLT 211", '-222,"Parameter data out of range"'),
    (":SENS:CURR:NPLC 11", '-222,"Parameter data out of range"'),
    (":SENS:CURR:NPLC 0.001", '-222,"Parameter data out of range"'),
    (":TRAC:POIN 2501", '-222,"Parameter data out of range"'),
    (":TRAC:POIN 0", '-222,"Parameter data out of range"'),
    (":SOUR:SWE:POIN 1", '-222,"Parameter data out of range"'),
    (":SOUR:SWE:POIN 2501", '-222,"Parameter data out of range"'),
    (":ARM:COUN 2501", '-222,"Parameter data out of range"'),
    (":TRIG:COUN 0", '-222,"Parameter data out of range"'),
    (":ARM:TIM 0.0001", '-222,"Parameter data out of range"'),
    (":ARM:ILIN 5", '-222,"Parameter data out of range"'),
    (":TRIG:OLIN 0", '-222,"Parameter data out of range"'),
    (":SYST:LFR 55", '-222,"Parameter data out of range"'),
    (":SOUR:CURR 50mA", '-138,"Suffix not allowed"'),
    (":SOUR:CURR", '-109,"Missing parameter"'),
    (":SOUR:CURR 1,2", '-108,"Parameter not allowed"'),
    (":SOUR:CURR ABC", '-104,"Data type error"'),
    (":READ?", '803,"Not permitted with OUTPUT off"'),  # auto output-off is off
]


@pytest.mark.parametrize(("command", "error"), REFUSED, ids=[c for c, _ in REFUSED])
def test_commands_the_2400_lacks_are_refused_with_the_manuals_error(k2400, command, error):
    before = k2400.query(":SOUR:CURR?")
    k2400.write(command)
    assert k2400.query(":SYST:ERR?") == error
    assert k2400.query(":SYST:ERR?") == '0,"No error"'
    assert k2400.query(":SOUR:CURR?") == before  # a refused value is not taken


def test_reset_defaults_are_the_manuals(k2400):
    k2400.write(":SOUR:FUNC CURR;:SOUR:CURR 0.1;:OUTP ON;:ARM:SOUR TLIN;:TRIG:COUN 5")
    k2400.write("*RST")
    defaults = {":SOUR:FUNC?": "VOLT", ":SOUR:VOLT?": "+0.000000E+00",
                ":SOUR:CURR?": "+0.000000E+00", ":SENS:CURR:PROT?": "+1.050000E-04",
                ":SENS:VOLT:PROT?": "+2.100000E+01", ":OUTP?": "0", ":ARM:SOUR?": "IMM",
                ":TRIG:SOUR?": "IMM", ":ARM:COUN?": "1", ":TRIG:COUN?": "1",
                ":SENS:CURR:NPLC?": "+1.000000E+00", ":FORM:ELEM?": "VOLT,CURR,RES,TIME,STAT",
                ":SOUR:CURR:MODE?": "FIX", ":ROUT:TERM?": "FRON", ":SOUR:CLE:AUTO?": "0",
                ":TRIG:DEL?": "+0.000000E+00", ":SOUR:SWE:POIN?": "2500"}
    assert {q: k2400.query(q) for q in defaults} == defaults
    assert k2400.query(":SYST:ERR?") == '0,"No error"'


def test_ranges_edges_and_keywords(k2400):
    k2400.write(":SOUR:CURR 1.05;:SOUR:VOLT -210;:TRAC:POIN 2500;:SOUR:SWE:POIN 2;"
                ":ARM:SOUR TLIN;:TRIG:SOUR TLIN;:ARM:OLIN 4;:ARM:COUN 100;:TRIG:COUN 25")
    assert k2400.query(":SYST:ERR?") == '0,"No error"'
    assert k2400.query(":SOUR:CURR?") == "+1.050000E+00"
    assert k2400.query(":SOUR:VOLT? MIN") == "-2.100000E+02"
    assert k2400.query(":SOUR:CURR? MAX") == "+1.050000E+00"
    k2400.write(":TRIG:COUN 26")  # 100 x 26 > 2500 readings
    assert k2400.query(":SYST:ERR?") == '-221,"Settings conflict"'
    assert k2400.query(":TRIG:COUN?") == "25"


def test_readings_in_the_documented_format_and_the_coil_field(lab, k2400):
    k2400.write(":SOUR:FUNC CURR;CURR 0.1;:SENS:VOLT:PROT 10;:OUTP ON")  # path rule: SOUR:CURR
    reading = k2400.query(":READ?")
    assert re.fullmatch(",".join([NUMBER] * 5), reading)
    voltage, current, resistance, _, _ = (float(v) for v in reading.split(","))
    assert current == pytest.approx(0.1) and resistance == 9.91e37
    assert lab.chip.field_x == pytest.approx(0.01 * 0.1)
    k2400.write(":FORM:ELEM CURR")
    assert re.fullmatch(NUMBER, k2400.query(":READ?"))
    k2400.write(":OUTP OFF")
    assert k2400.query("*OPC?") == "1"  # the line before has been taken
    assert lab.chip.field_x == 0.0


def test_a_sweep_into_the_buffer(k2400):
    k2400.write(":SOUR:FUNC CURR;:SOUR:CURR:MODE SWE;:SOUR:CURR:STAR 0;STOP 0.1;"
                ":SOUR:SWE:POIN 3;:TRIG:COUN 3;:FORM:ELEM CURR;:TRAC:POIN 3;"
                ":TRAC:FEED:CONT NEXT;:OUTP ON;:INIT")
    assert [float(v) for v in k2400.query(":TRAC:DATA?").split(",")] == pytest.approx(
        [0.0, 0.05, 0.1])
    assert k2400.query(":TRAC:POIN:ACT?") == "3"
    assert k2400.query(":SOUR:CURR?") == "+0.000000E+00"  # back to the bias level
    assert k2400.query(":SYST:ERR?") == '0,"No error"'


def test_the_error_queue_holds_ten_and_reports_overflow(k2400):
    for _ in range(12):
        k2400.write(":FOO")
    errors = [k2400.query(":SYST:ERR?") for _ in range(11)]
    assert errors[:9] == ['-113,"Undefined header"'] * 9
    assert errors[9:] == ['-350,"Queue overflow"', '0,"No error"']


def test_common_commands_of_section_17(k2400):
    assert k2400.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400,")
    k2400.write("*ESE 32;*SRE 16")
    assert (k2400.query("*ESE?"), k2400.query("*SRE?")) == ("32", "16")
    k2400.write(":FOO")
    assert int(k2400.query("*STB?")) & 4  # EAV: an error waits in the queue
    assert int(k2400.query("*ESR?")) & 32  # CME: a command error
    assert k2400.query("*OPC?") == "1" and k2400.query("*OPT?") == "0"
    k2400.write("*RCL 3")
    assert k2400.query(":SYST:ERR:ALL?") == '-113,"Undefined header",-221,"Settings conflict"'


# -- the 7001 switch system (Model 7001 Instruction Manual, section 4: ROUTe) -------------
@pytest.fixture()
def k7001(lab):
    resource = pyvisa.ResourceManager("@py").open_resource(
        lab.resources["switch"]["resource"], read_termination="\n", write_termination="\n",
        timeout=2000)
    resource.write("*RST;*CLS")
    assert resource.query("*OPC?") == "1"
    yield resource
    resource.close()


def test_7001_routes_by_channel_list(lab, k7001):
    assert k7001.query(":ROUT:CLOS:STAT?") == "(@)"  # *RST opens every channel
    k7001.write(":ROUT:OPEN ALL;:ROUT:CLOS (@1!1)")
    assert k7001.query(":ROUT:CLOS:STAT?") == "(@1!1)"
    assert lab.chip.selected == 0
    k7001.write(":ROUT:CLOS (@ 1!2:1!3)")
    assert k7001.query(":ROUT:CLOS? (@1!1,1!2,1!3,1!4)") == "1,1,1,0"
    assert k7001.query(":ROUT:OPEN? (@1!2,1!4)") == "0,1"
    k7001.write(":ROUT:OPEN:ALL")
    assert k7001.query(":ROUT:CLOS:STAT?") == "(@)"
    assert k7001.query(":SYST:ERR?") == '0,"No error"'


@pytest.mark.parametrize(("command", "error"), [
    (":ROUT:CLOS (@1!5)", '-222,"Parameter data out of range"'),  # 4 devices, 4 channels
    (":ROUT:CLOS (@2!1)", '-222,"Parameter data out of range"'),  # slot 2 is empty
    (":ROUT:CLOS 1!3", '-121,"Invalid character in number"'),  # no brackets
    (":ROUT:CLOS?", '-109,"Missing parameter"'),
    (":ROUT:SWAP (@1!1)", '-113,"Undefined header"'),
    (":SOUR:CURR 1", '-113,"Undefined header"'),
    ("*XYZ", '-113,"Undefined header"'),
])
def test_7001_refuses_what_its_manual_lacks(k7001, command, error):
    k7001.write(command)
    assert k7001.query(":SYST:ERR?") == error
    assert k7001.query(":ROUT:CLOS:STAT?") == "(@)"


@pytest.mark.parametrize("nplc", [0.01, 1.0, 10.0])
def test_a_reading_costs_its_source_delay_measure_cycle_on_the_virtual_clock(lab, k2400,
                                                                            nplc):
    """The 2400's SDM cycle (User's Manual Appendix A): with the output kept on (Case V,
    autozero on) a reading takes the trigger latency (500 us) and three A/D conversions
    per function measured after the reference phases (two functions: 4), each NPLC/f +
    185 us; the source delay is omitted for a static source. Then the bus."""
    k2400.write(f":SENS:CURR:NPLC {nplc};:SOUR:DEL 0.005;:OUTP ON")
    clock = lab.clock
    before = clock.now()
    k2400.query(":READ?")
    taken = clock.now() - before
    cycle = 500e-6 + 4 * (nplc / clock.line_frequency + 185e-6)  # the unit's timebase:
    assert cycle * (1 - 2e-4) <= taken <= cycle * (1 + 2e-4) + 0.005  # +-100 ppm; + the bus
    k2400.write(":OUTP OFF")


def test_reset_defaults_a_real_2400_answers(lab, k2400):
    """Table 18-6 (p. 18-13): ohms mode AUTO after *RST; Table 18-9: auto zero on, answered
    1, set with <b> or ONCE (which zeroes once and leaves it off); SYST:LFR? the mains in
    whole hertz; SOUR:DEL? the auto delay period while auto delay is on (1 ms on the
    100 uA range after *RST), a delay sent turning auto delay off."""
    assert k2400.query(":SENS:RES:MODE?") == "AUTO"
    assert k2400.query(":SYST:AZER?") == "1"
    k2400.write(":SYST:AZER 0")
    assert k2400.query(":SYST:AZER:STAT?") == "0"
    k2400.write(":SYST:AZER ON;:SYST:AZER ONCE")
    assert k2400.query(":SYST:AZER?") == "0"
    k2400.write(":SYST:AZER 1")
    assert k2400.query(":SYST:AZER?") == "1"
    assert k2400.query(":SYST:LFR?") == str(int(lab.clock.line_frequency))  # "50" or "60"
    k2400.write(":SYST:LFR 60")
    assert k2400.query(":SYST:LFR?") == "60"
    assert k2400.query(":SOUR:DEL:AUTO?") == "1"
    assert k2400.query(":SOUR:DEL?") == "+1.000000E-03"
    k2400.write(":SENS:CURR:PROT 1e-6;:SENS:CURR:RANG 1e-6")
    assert k2400.query(":SOUR:DEL?") == "+3.000000E-03"  # 1 uA range: 3 ms
    k2400.write(":SOUR:DEL 0.25")
    assert k2400.query(":SOUR:DEL:AUTO?") == "0"
    assert k2400.query(":SOUR:DEL?") == "+2.500000E-01"
    assert k2400.query(":SOUR:DEL? MAX") == "+9.999999E+02"
    k2400.write(":SYST:AZER TWICE")
    assert k2400.query(":SYST:ERR?") == '-224,"Illegal parameter value"'
    assert k2400.query(":SYST:ERR?") == '0,"No error"'
