"""The rig suite: what spinhil relies on from the instruments a lab file names, checked on
those instruments: ``pytest tests/rig --lab mylab.toml`` at the bench (every pulse within
the lab file's limits, on its first device: resets at the cycle's reset current, weak
writes at a tenth of it, strong writes at its magnitude), a served virtual lab otherwise.

Identities, the IEEE-488.2 common commands, every *RST default the drivers rely on, the
line frequency, the guard judged by what the source holds, the trigger-link cable, the
one-current route (one reading per trigger) and the burst route (the 2000's reading period
measured on the rig, within the data sheet's spread; every reading on its own cycle), and
the software-timed cycle any voltmeter reads. A voltmeter whose driver has no triggered
buffer (a 2182A) skips the trigger-link and hardware-route tests, each saying why."""

import numpy as np
import pytest

from instruments.connection import Lab, LabFile
from instruments.keithley import InstrumentError, triggered_buffer_missing
from instruments.limits import LimitError
from protocols.cycle import (
    FAST_NPLC,
    CycleSettings,
    ResetWriteRead,
    sheet_reading_period,
)
from protocols.errors import ProtocolError
from protocols.timing import choose_timing, hardware_timing_unavailable

# the identity each model answers *IDN? with (a 2010 speaks the 2000's commands)
IDENTITIES = {"2000": ("MODEL 2000", "MODEL 2010")}
ROLES = ("field", "pulse", "switch", "voltmeter")

# what the drivers and protocols take for granted after *RST, by model (each manual's *RST
# column: 6220/6221 Reference Manual section 14 tables; Model 2000 User's Manual Table 5-2
# and the subsystem tables; Model 2182/2182A User's Manual SCPI tables (SENSe, TRIGger,
# TRACe: channel 1, DC volts, one immediate reading per READ?); Model 2400 User's Manual
# section 18 tables; Model 7001/7002 manuals, ROUTe)
RST_DEFAULTS = {
    "6221": {":OUTP?": "0", ":SOUR:WAVE:FUNC?": "SIN", ":SOUR:WAVE:PMAR:STAT?": "0"},
    "2000": {":TRIG:SOUR?": "IMM", ":INIT:CONT?": "0", ":FORM?": "ASC",
             ":SAMP:COUN?": "1", ":TRIG:COUN?": "1", ":TRAC:FEED:CONT?": "NEV"},
    "2182A": {":SENS:CHAN?": "1", ":SENS:FUNC?": "VOLT:DC", ":TRIG:SOUR?": "IMM",
              ":INIT:CONT?": "0", ":SAMP:COUN?": "1", ":TRIG:COUN?": "1",
              ":TRAC:FEED:CONT?": "NEV"},
    "2400": {":OUTP?": "0", ":SOUR:FUNC?": "VOLT", ":TRIG:SOUR?": "IMM",
             ":ARM:SOUR?": "IMM"},
    "7001": {":ROUT:CLOS:STAT?": "(@)"},
    "7002": {":ROUT:CLOS:STAT?": "(@)"},
}
SETTINGS = CycleSettings(read_nplc=FAST_NPLC, autozero=False)  # the training route's reads


def _device(rig: Lab, lab_file) -> int:
    devices = LabFile.load(lab_file).devices
    return devices[0] if devices else 0


def _needs_triggered_buffer(rig: Lab) -> None:
    missing = triggered_buffer_missing(rig["voltmeter"])
    if missing is not None:
        pytest.skip(f"needs the 2000's triggered buffer (hardware-timed routes): {missing}")


@pytest.fixture(scope="module")
def cycle(rig, lab_file):
    """A calibrated cycle on the rig's first device, hardware-timed."""
    _needs_triggered_buffer(rig)
    rwr = ResetWriteRead(rig, SETTINGS, timing="hardware")
    rwr.route_device(_device(rig, lab_file))
    rwr.calibrate()
    return rwr


def test_each_role_is_the_instrument_its_drivers_speak(rig):
    for role in rig.roles:
        model = rig.model(role)
        assert any(name in rig.identities[role]
                   for name in IDENTITIES.get(model, (f"MODEL {model}",))), \
            f"{role}: {rig.identities[role]}, the lab file names a {model}"


def test_common_commands_answer_on_every_instrument(rig):
    """*OPC?, *ESR?, *STB?, *OPT? (each manual's common-commands section): pymeasure's
    SCPI mixin and QCoDeS send them at connect."""
    for role in rig.roles:
        instrument = rig[role]
        assert instrument.ask("*OPC?").strip() == "1"
        assert 0 <= int(instrument.ask("*ESR?")) <= 255
        assert 0 <= int(instrument.ask("*STB?")) <= 255
        assert instrument.ask("*OPT?").strip() != ""
        instrument.check_errors()


@pytest.mark.parametrize("role", ROLES)
def test_every_reset_default_spinhil_relies_on(rig, role):
    if role not in rig.roles:
        pytest.skip(f"this lab has no {role} role")
    instrument = rig[role]
    instrument.write("*RST")
    for query, expected in RST_DEFAULTS[rig.model(role)].items():
        assert instrument.ask(query).strip().strip('"') == expected, query
    instrument.check_errors()


def test_the_voltmeter_integrates_over_50_or_60_hz(rig):
    assert rig["voltmeter"].line_frequency() in (50.0, 60.0)


def test_the_guard_refuses_beyond_the_limits_and_the_source_holds_nothing(rig):
    """Judged by what the 6221 holds after the refusals: output off, no DC level."""
    pulse = rig["pulse"]
    too_much = 1.5 * rig.limits.max_pulse_current
    with pytest.raises((LimitError, ValueError)):
        pulse.pulse(too_much, 100e-6)
    with pytest.raises((LimitError, ValueError)):
        pulse.write(f":SOUR:CURR {too_much:g};:OUTP ON")
    with pytest.raises((LimitError, ValueError)):
        pulse.pulse(0.1 * rig.limits.max_pulse_current, 2 * rig.limits.max_pulse_width)
    assert pulse.ask(":OUTP?").strip() == "0"
    assert abs(float(pulse.ask(":SOUR:CURR?"))) <= rig.limits.max_read_current
    pulse.check_errors()


def test_the_voltmeters_guard_refuses_an_ohms_test_current_and_it_holds_dc_volts(rig):
    """Judged by what the 2000 answers after the refusals: DC volts (no test current). A
    2000's ohms functions drive up to 1 mA through the device (User's Manual, Appendix A):
    on autorange, and on any range above the read limit, refused before a byte is sent."""
    meter = rig["voltmeter"]
    if not hasattr(meter, "guard"):  # a 2182A: no ohms function, it sources nothing
        meter.write(":SENS:FUNC 'RES'")
        with pytest.raises(InstrumentError):  # the meter's own refusal (emulated: -141)
            meter.check_errors()
        assert meter.ask(":SENS:FUNC?").strip() == '"VOLT:DC"'
        return
    if rig.limits.max_read_current >= 1e-3:
        pytest.skip("this lab file's read limit allows the 2000's largest test current")
    for line in (":SENS:FUNC 'RES'", ":CONF:FRES", ":SENS:RES:RANG 100;:SENS:FUNC 'RES'"):
        with pytest.raises(LimitError, match="test current"):
            meter.write(line)
    assert meter.ask(":SENS:FUNC?").strip() == '"VOLT:DC"'
    meter.check_errors()


def test_the_trigger_link_cable_is_where_the_lab_file_says(rig):
    _needs_triggered_buffer(rig)
    assert hardware_timing_unavailable(rig, SETTINGS) is None


def test_without_a_triggered_buffer_auto_is_software_and_hardware_is_refused(rig):
    """The route choice reads the voltmeter driver's capability, not a model name."""
    missing = triggered_buffer_missing(rig["voltmeter"])
    if missing is None:
        assert choose_timing(rig, "hardware", SETTINGS) == "hardware"
        return
    assert choose_timing(rig, "auto", SETTINGS) == "software"
    with pytest.raises(ProtocolError, match="hardware timing is not available: .*triggered"):
        choose_timing(rig, "hardware", SETTINGS)


def test_software_timed_cycles_read_every_verdict(rig, lab_file):
    """Any voltmeter's read path (NPLC, autozero, READ?): 20 software-timed cycles of a
    fixed pattern of strong writes (they switch) and weak ones (they do not) read back as
    that pattern, every read after a reset below the threshold."""
    rwr = ResetWriteRead(rig, CycleSettings(read_nplc=0.1), timing="software")
    rwr.route_device(_device(rig, lab_file))
    rwr.calibrate()
    pattern = np.random.default_rng(3).random(20) < 0.5
    strong = abs(SETTINGS.reset_current)
    readings = [r for batch in rwr.batches(np.where(pattern, strong, 0.1 * strong))
                for r in batch]
    assert [r.switched for r in readings] == pattern.tolist()
    assert all(r.r_after_reset <= rwr.threshold for r in readings)


def test_one_current_takes_one_reading_per_trigger(cycle):
    """50 cycles at a tenth of the reset current (no switch): 50 readings, one per phase
    marker on the trigger link, none missed, none switched."""
    weak = 0.1 * abs(SETTINGS.reset_current)
    readings = [r for batch in cycle.batches([weak] * 50) for r in batch]
    assert len(readings) == 50 and cycle.missed_batches == 0
    assert not any(r.switched for r in readings)


def test_the_burst_reading_period_is_measured_on_the_rig(cycle):
    """Against the 6221's waveform, to nanoseconds, within 6 % of the data sheet's
    figure (a rounded 60 Hz throughput: 0.01 PLC 2000 readings/s)."""
    clock = cycle.burst_clock()
    nominal = sheet_reading_period(FAST_NPLC, clock.line_frequency)
    assert abs(clock.period / nominal - 1) < 0.06
    assert clock.sigma < 10e-9 and clock.straddles >= 20


@pytest.mark.parametrize("reads", [1, 2])
def test_every_burst_reading_falls_on_its_own_cycle(cycle, reads):
    """A fixed random pattern of strong writes (they switch) and weak ones (they do not)
    in one burst: the verdicts read back are the pattern, cycle by cycle; with a read after
    each reset too (paper 002's protocol), every one of those reads the reset state."""
    pattern = np.random.default_rng(7).random(300) < 0.5
    strong = abs(SETTINGS.reset_current)
    currents = np.where(pattern, strong, 0.1 * strong)
    cycle.read_after_reset = reads == 2
    try:
        readings = [r for batch in cycle.batches(currents) for r in batch]
    finally:
        cycle.read_after_reset = False
    assert [r.switched for r in readings] == pattern.tolist()
    if reads == 2:
        assert all(r.r_after_reset <= cycle.threshold for r in readings)
    assert cycle.burst_clock().batches >= 1


def test_outputs_are_off_after_close_as_the_instrument_says(lab_file):
    lab = Lab.from_file(LabFile.load(lab_file)).connect()
    lab["pulse"].set_read_current(0.5 * lab.limits.max_read_current)
    lab["pulse"].enable_source()
    assert lab["pulse"].ask(":OUTP?").strip() == "1"
    lab.close()
    again = Lab.from_file(LabFile.load(lab_file)).connect()
    try:
        for role in ("pulse", "field"):
            if role in again.roles:
                assert again[role].ask(":OUTP?").strip() == "0"
    finally:
        again.close()
