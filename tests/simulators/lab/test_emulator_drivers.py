"""Third-party drivers against the served virtual lab, over real pyvisa sockets, as their
own device tests run them on a bench (pymeasure's ``--device-address`` tests; QCoDeS's
drivers' parameters): pymeasure's Keithley2400 reads the *RST defaults the Model 2400
User's Manual tables give (section 18, Tables 18-4 to 18-9), sets and reads back every
control its device test exercises without an error queued, and measures V = I R; pymeasure's
SCPIMixin common commands (*OPC?, *STB?, *OPT?, *IDN?, SYST:ERR?, *RST) work on every
instrument of the lab; QCoDeS's Keithley 2400 driver's commands, spelled as it sends them,
are all answered."""

import warnings

import pytest
import pyvisa
from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.keithley import Keithley2400

from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

SOCKET = {"read_termination": "\n", "write_termination": "\n", "timeout": 3000}


@pytest.fixture(scope="module")
def lab():
    with VirtualLab(build_chip(4, 0.5e-6, 0), coil_constant=0.01) as virtual:
        yield virtual


@pytest.fixture(scope="module")
def smu(lab):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        instrument = Keithley2400(lab.resources["field"]["resource"], **SOCKET)
    instrument.clear()
    instrument.reset()
    yield instrument
    instrument.reset()
    instrument.adapter.close()


AFTER_RESET = {  # pymeasure property -> the *RST value (Model 2400 manual, section 18)
    "source_enabled": False, "output_off_state": "normal",  # Table 18-4
    "front_terminals_enabled": True,  # Table 18-5
    "current_range": 1.05e-4, "current_range_auto_enabled": True,  # Table 18-6
    "current_nplc": 1, "compliance_current": 1.05e-4, "voltage_range": 21,
    "voltage_range_auto_enabled": True, "voltage_nplc": 1, "compliance_voltage": 21,
    "resistance_mode_auto_enabled": True, "resistance_range": 2.1e5,
    "resistance_range_auto_enabled": True, "resistance_nplc": 1,
    "repeat_filter_enabled": True, "filter_count": 10, "filter_enabled": False,
    "auto_output_off_enabled": False, "source_mode": "voltage",  # Table 18-7
    "source_delay": 0.001,  # the auto delay period on the 100 uA range (section 3)
    "source_delay_auto_enabled": True, "source_current_range": 1.05e-4,
    "source_current_range_auto_enabled": True, "source_current": 0,
    "source_voltage_range": 21, "source_voltage_range_auto_enabled": True,
    "source_voltage": 0,
    "auto_zero_enabled": True,  # Table 18-9
}


def test_pymeasure_reads_the_reset_defaults(smu):
    smu.reset()
    assert {name: getattr(smu, name) for name in AFTER_RESET} == AFTER_RESET
    assert smu.check_errors() == []


SETTINGS = [
    ("source_enabled", True), ("source_enabled", False), ("source_mode", "current"),
    ("source_mode", "voltage"), ("source_delay", 0.1), ("source_delay_auto_enabled", False),
    ("source_delay_auto_enabled", True), ("auto_zero_enabled", False),
    ("auto_zero_enabled", True), ("output_off_state", "disconnected"),
    ("output_off_state", "zero"), ("output_off_state", "guard"),
    ("output_off_state", "normal"), ("auto_output_off_enabled", True),
    ("auto_output_off_enabled", False), ("filter_enabled", True),
    ("repeat_filter_enabled", False), ("filter_count", 25), ("current_range", 1.05e-3),
    ("current_range_auto_enabled", False), ("current_nplc", 0.1),
    ("compliance_current", 0.01), ("source_current", 0.002), ("source_current_range", 0.0105),
    ("source_current_range_auto_enabled", False), ("voltage_range_auto_enabled", False),
    ("voltage_nplc", 10.0), ("compliance_voltage", 1.0), ("source_voltage", 1.5),
    ("source_voltage_range", 2.1), ("source_voltage_range_auto_enabled", False),
    ("resistance_mode_auto_enabled", False), ("resistance_range", 2100.0),
    ("resistance_range_auto_enabled", False), ("resistance_nplc", 0.01),
    ("trigger_delay", 0.5), ("arm_timer", 1.0), ("trigger_source", "trigger_link"),
    ("trigger_source", "immediate"), ("arm_source", "trigger_link"), ("arm_source", "timer"),
    ("arm_source", "manual"), ("arm_source", "bus"), ("arm_source", "immediate"),
    ("trigger_output_event", "source"), ("trigger_output_event", "delay"),
    ("trigger_output_event", "sense"), ("trigger_output_event", "none"),
    ("arm_output_event", "trigger_enter"), ("arm_output_event", "trigger_exit"),
    ("arm_output_event", "none"), ("trigger_input_line", 2), ("arm_input_line", 3),
    ("trigger_output_line", 4), ("arm_output_line", 1), ("display_enabled", False),
    ("display_enabled", True), ("four_wire_enabled", True), ("four_wire_enabled", False),
    ("line_frequency", 50), ("line_frequency", 60), ("line_frequency_auto_enabled", False),
    ("line_frequency_auto_enabled", True), ("front_terminals_enabled", False),
    ("front_terminals_enabled", True),
]


@pytest.mark.parametrize(("name", "value"), SETTINGS,
                         ids=[f"{n}={v}" for n, v in SETTINGS])
def test_pymeasure_sets_and_reads_back_each_control(smu, name, value):
    smu.reset()
    setattr(smu, name, value)
    assert getattr(smu, name) == value
    assert smu.check_errors() == []


@pytest.mark.parametrize(("mode", "level"), [("current", 10e-3), ("voltage", 1.0)])
def test_pymeasure_measures_ohms_law_on_the_coil(lab, smu, mode, level):
    smu.reset()
    smu.source_mode = mode
    setattr(smu, f"source_{mode}", level)
    smu.source_enabled = True
    reading = smu.measure_all()
    smu.source_enabled = False
    assert reading["voltage"] == pytest.approx(reading["current"] * reading["resistance"])
    assert reading["resistance"] == pytest.approx(lab.instruments["field"].coil_resistance)
    assert smu.check_errors() == []


class _Scpi(SCPIMixin, Instrument):
    """pymeasure's generic SCPI instrument: the IEEE 488.2 common commands only."""

    def __init__(self, adapter, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(adapter, "SCPI instrument", **kwargs)


@pytest.mark.parametrize("role", ["pulse", "voltmeter", "field", "switch"])
def test_common_commands_on_every_instrument(lab, role):
    instrument = _Scpi(lab.resources[role]["resource"], **SOCKET)
    instrument.clear()
    assert instrument.complete == "1"
    assert instrument.status == "0"  # *STB?: nothing pending, no error queued
    assert instrument.options == "0"
    assert instrument.id.startswith("KEITHLEY INSTRUMENTS INC.,MODEL ")
    assert instrument.next_error[0] == 0
    instrument.reset()
    instrument.write(":FOO:BAR")
    assert instrument.status == "4"  # the error queue's bit (EAV)
    assert instrument.next_error[0] == -113
    instrument.adapter.close()


QCODES_2400 = [  # QCoDeS's Keithley_2400.py, in its own spelling (formats {:f}, {:.8f})
    ":TRIG:COUN 1;:FORM:ELEM VOLT,CURR", "*IDN?", "SENS:VOLT:RANG?", "SENS:CURR:RANG?",
    "SENS:VOLT:PROT?", "SENS:CURR:PROT?", ":SOUR:FUNC?", ":SENS:FUNC?", ":OUTP:STAT?",
    "SENS:VOLT:NPLC?", "SENS:CURR:NPLC?", "SOUR:VOLT:RANG 21.000000",
    "SOUR:CURR:RANG 0.010500", "SENS:VOLT:PROT 20.000000", "SENS:CURR:PROT 0.010000",
    ':SENS:FUNC "VOLT"', ":SOUR:FUNC CURR", ":SOUR:CURR:LEV 0.00500000",
    "SENS:VOLT:NPLC 0.100000", "SENS:CURR:NPLC 0.100000", ":OUTP:STAT 1", ":READ?",
    ":OUTP:STAT 0"]


def test_the_qcodes_2400_drivers_commands_are_all_answered(lab):
    resource = pyvisa.ResourceManager("@py").open_resource(
        lab.resources["field"]["resource"], **SOCKET)
    resource.write("*RST;*CLS")
    answers = {line: resource.query(line) if "?" in line else resource.write(line)
               for line in QCODES_2400}
    assert resource.query("SYST:ERR?") == '0,"No error"'
    resource.close()
    assert answers[":OUTP:STAT?"] == "0" and answers[":SOUR:FUNC?"] == "VOLT"
    assert float(answers["SENS:VOLT:RANG?"]) == 21.0
    voltage, current = (float(v) for v in answers[":READ?"].split(","))  # FORM:ELEM VOLT,CURR
    assert current == pytest.approx(5e-3)
    assert voltage == pytest.approx(5e-3 * lab.instruments["field"].coil_resistance)
