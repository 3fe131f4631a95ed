"""The 2182A's read path: the exact SCPI the driver sends for what both voltmeters offer
(pymeasure's ``expected_protocol``), every line a lab sends the 2182A in the emulator's
table (the manual's), the lab file's ``[models]``, and the driver's declared lack of the
2000's triggered buffer."""

import pytest
from pymeasure.test import expected_protocol

from hil.session.lab import connect_virtual
from instruments.connection import LabFile
from instruments.keithley import HallVoltmeter, Nanovoltmeter, triggered_buffer_missing
from protocols.cycle import CycleSettings, ResetWriteRead
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k2182a import Keithley2182AEmulator


def test_the_read_path_sends_exactly_the_2182a_manuals_commands():
    with expected_protocol(Nanovoltmeter, [(":SENS:VOLT:NPLC 0.1", None),
                                           (":SYST:AZER:STAT 0", None),
                                           (":SYST:LFR?", "60"),
                                           (":READ?", "+1.234000000E-05")]) as meter:
        meter.voltage_nplc = 0.1
        meter.autozero_enabled = False
        assert meter.line_frequency() == 60.0
        assert meter.read_voltage() == 1.234e-05


def test_every_line_a_lab_sends_the_2182a_is_in_its_table():
    """Connect, configure, calibrate, cycle and snapshot a lab reading with a 2182A; each
    line its emulator got, sent again to a fresh one, leaves its error queue empty."""
    lines = []
    with connect_virtual(devices=1, voltmeter="2182a") as lab:
        emulator = lab.virtual_lab.instruments["voltmeter"]
        handle = emulator.handle
        emulator.handle = lambda line: (lines.append(line), handle(line))[1]
        rwr = ResetWriteRead(lab, CycleSettings(read_nplc=0.1, autozero=False))
        rwr.calibrate(repeats=1)
        rwr.cycle(0.6e-3)
        lab.snapshot()
    assert {":READ?", ":SENS:VOLT:NPLC 0.1", ":SYST:AZER:STAT 0"} <= set(lines)
    fresh = Keithley2182AEmulator(build_chip(1, 0.5e-6, 0), LabClock())
    for line in lines:
        fresh.handle(line)
        assert fresh.handle("SYST:ERR?") == '0,"No error"', line


@pytest.mark.parametrize(("line", "code"), [(":FORM SRE", -113),  # the 2000's buffer format
                                             (":SENS:VOLT:RANG:AUTO 1", -113),  # per channel
                                             (":SENS:FUNC 'RES'", -141)])  # no ohms
def test_the_2000s_commands_the_2182a_lacks_are_refused(line, code):
    meter = Keithley2182AEmulator(build_chip(1, 0.5e-6, 0), LabClock())
    meter.handle(line)
    assert meter.handle("SYST:ERR?").startswith(f"{code},")


def test_only_the_2000s_driver_offers_the_triggered_buffer():
    assert triggered_buffer_missing(HallVoltmeter.__new__(HallVoltmeter)) is None
    assert "2182A" in triggered_buffer_missing(Nanovoltmeter.__new__(Nanovoltmeter))


def test_a_lab_file_names_the_voltmeters_model(tmp_path):
    path = tmp_path / "lab.toml"
    roles = '[roles]\npulse = "GPIB0::12::INSTR"\nvoltmeter = "GPIB0::7::INSTR"\n'
    path.write_text(roles + '[models]\nvoltmeter = "2182a"\n')
    assert LabFile.load(path).models == {"voltmeter": "2182A"}
    for table, message in (('voltmeter = "2010"', r"models.voltmeter = '2010' is not one of"),
                           ('switch = "7002"', r"models.switch: not a role"),
                           ('pulse = "6220"', r"models.pulse = '6220' is not one of")):
        path.write_text(roles + "[models]\n" + table + "\n")
        with pytest.raises(ValueError, match=message):
            LabFile.load(path)
