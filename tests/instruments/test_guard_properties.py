"""Generated lines against the guard, judged by what the emulated instrument holds and what
the emulated device receives, never by whether the guard raised (issue 24).

Lines come from the grammar (instruments/scpi.py, IEEE 488.2 section 7): each command's
header in a random spelling (short or long form, any case, optional nodes kept or left out,
SOUR or SOUR1, with or without its leading colon), its value as NR1, NR2 or NR3 (white space
around the exponent), non-decimal (#H, #Q, #B), with a suffix (read two ways: 50MA), or a
keyword (MIN, MAX, DEF, INF, UP, DOWN); booleans as ON, OFF or numbers to be rounded; units
chained with ``;`` and ``;:`` and spaces or tabs; and now and then a stray bracket, a quote,
a doubled ``;``, a second message, a missing line feed. Each line goes down one of the write
paths (driver.write, adapter.write, adapter.write_bytes, the pyvisa resource's write and
write_raw, a session's ``lab["pulse"]``, a second driver on the same resource); now and then
a query is asked (the replies the guard learns from). After each line: a breach is the
emulated source holding a level or a waveform beyond a limit, or the device receiving more
than max_pulse_current, or more than max_read_current for longer than max_pulse_width.

Through a Keithley 7002 (issue 29's switch system on this guard): lines for the 6221 and the
7002, routes, hardware-timed pulses, while devices of different limits are routed, judged by
what each emulated device receives against its own limits, and no relay moved under current.

The quick gate runs a few seeds (thousands of lines); ``-m slow`` runs many more.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from hil.session.lab import connect_virtual
from hil.session.session import Session
from instruments import scpi
from instruments.connection import Lab
from instruments.errors import InstrumentError
from instruments.keithley import FieldSupply, PulseSource, SwitchSystem, SwitchWiring
from instruments.keithley.k7002 import DeviceRoute
from instruments.limits import LimitError, SafetyLimits
from simulators.lab.chip import build_chip
from simulators.lab.k7002 import pair_wiring
from simulators.lab.server import VirtualLab

LIMITS = SafetyLimits(max_pulse_current=0.75e-3, max_read_current=100e-6,
                      max_pulse_width=10e-3, compliance_voltage=10.0, max_field=0.005)
COIL = 0.01  # T/A: the coil current limit is 0.5 A

# -- the grammar's pieces -----------------------------------------------------------------------
CURRENTS = [0.0, 1e-6, 2e-5, 5e-5, 1e-4, 1.2e-4, 3e-4, 5e-4, 7.5e-4, 7.6e-4, 1e-3, 0.05,
            0.105, 0.2]
COIL_CURRENTS = [0.0, 0.01, 0.1, 0.4, 0.5, 0.51, 0.6, 1.0, 1.05]
VOLTS = [0.0, 0.1, 1.0, 5.0, 10.0, 10.5, 21.0, 50.0, 105.0, 210.0]
FREQUENCIES = [1e-3, 0.5, 1.0, 10.0, 50.0, 100.0, 1e3, 5e3, 1e5]
CYCLES = [0.5, 1.0, 1.25, 3.0, 10.0, 1000.0]
SECONDS = [1e-7, 1e-4, 1e-3, 5e-3, 0.01, 0.011, 0.02]  # (longer plays only cost time)
DELAYS = [1e-3, 5e-3, 0.01, 0.02, 0.5, 1.0]
KEYWORDS = ["MIN", "MAX", "DEF", "MINimum", "maximum", "def", "INF", "UP", "DOWN"]


@st.composite
def number(draw, values, unit="A"):
    """A value in one of the forms a parser takes (IEEE 488.2 7.7.2-7.7.4)."""
    form = draw(st.sampled_from(["g", "g", "E", "f", "lead", "space E", "suffix", "suffix",
                                 "nondecimal", "keyword", "signed"]))
    value = draw(st.sampled_from(values)) * draw(st.sampled_from([1, 1, 1, -1]))
    if form == "g":
        return f"{value:g}"
    if form == "E":
        return f"{value:.6E}"
    if form == "f":
        return f"{value:.7f}"
    if form == "lead":
        return f"{value:g}".replace("0.", ".", 1)
    if form == "space E":
        return f"{value:.3e}".replace("e", draw(st.sampled_from([" E ", "E ", " e", "e"])))
    if form == "suffix":
        prefix, scale = draw(st.sampled_from([("m", 1e3), ("u", 1e6), ("n", 1e9), ("M", 1e3),
                                              ("MA", 1e3), ("U", 1e6), ("k", 1e-3)]))
        space = draw(st.sampled_from(["", " ", "\t"]))
        return f"{value * scale:g}{space}{prefix}{draw(st.sampled_from(['', unit]))}"
    if form == "nondecimal":
        whole = int(abs(value))
        return draw(st.sampled_from([f"#H{whole:X}", f"#Q{whole:o}", f"#B{whole:b}"]))
    if form == "keyword":
        return draw(st.sampled_from(KEYWORDS))
    return f"{'+' if value >= 0 else ''}{value:g}"


BOOLEANS = st.sampled_from(["ON", "OFF", "on", "off", "1", "0", "0.4", "0.5", "-0.5", "2",
                            "#H0", "#H1", "#B1", "1.0E0", "OF"])


def words(*options: str):
    return st.sampled_from([w for o in options for w in (o, o.lower(), o[:4])])


@st.composite
def number_list(draw, values, size=(1, 6)):
    count = draw(st.integers(*size))
    return ",".join(draw(number(values)) for _ in range(count))


@st.composite
def string(draw):
    text = draw(st.sampled_from(["hello", "a;b", "x,y", "it''s", "q\"\"q", ":OUTP ON",
                                 "SOUR:CURR 0.05", ""]))
    quote = draw(st.sampled_from(["'", '"']))
    return quote + text.replace("''", quote * 2 if quote == "'" else "'") + quote


S = "[:SOURce[1]]"
COMMANDS_6221 = [
    (S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", number(CURRENTS), 10),
    (S + ":CURRent:COMPliance", number(VOLTS + [0.05], "V"), 1),
    (":OUTPut[:STATe]", BOOLEANS, 8),
    (S + ":CLEar[:IMMediate]", None, 1), (":SYSTem:PRESet", None, 1), ("*RST", None, 1),
    ("*CLS", None, 1), ("*WAI", None, 1), (":ABORt", None, 1),
    (S + ":WAVE:FUNCtion", words("SINe", "SQUare", "RAMP", "ARBitrary1", "ARB2", "ARB0"), 2),
    (S + ":WAVE:FREQuency", number(FREQUENCIES, "HZ"), 3),
    (S + ":WAVE:AMPLitude", number(CURRENTS), 4),
    (S + ":WAVE:OFFSet", number(CURRENTS), 2),
    (S + ":WAVE:DCYCle", number([0.0, 10.0, 50.0, 90.0, 100.0], ""), 1),
    (S + ":WAVE:DURation:CYCLes", number(CYCLES, ""), 2),
    (S + ":WAVE:DURation:TIME", number(SECONDS, "S"), 2),
    (S + ":WAVE:ARBitrary:DATA", number_list([0.0, 0.1, 0.5, 1.0], (2, 8)), 2),
    (S + ":WAVE:ARBitrary:APPend", number_list([0.0, 0.5, 1.0], (1, 4)), 1),
    (S + ":WAVE:ARBitrary:COPY", st.sampled_from(["1", "2", "3"]), 1),
    (S + ":WAVE:ARM", None, 3), (S + ":WAVE:INITiate", None, 3), (S + ":WAVE:ABORt", None, 2),
    (S + ":SWEep:SPACing", words("LINear", "LIST", "LOGarithmic"), 1),
    (S + ":LIST:CURRent", number_list(CURRENTS), 1),
    (S + ":LIST:DELay", number_list(DELAYS), 1),
    (S + ":CURRent:STARt", number(CURRENTS), 1), (S + ":CURRent:STOP", number(CURRENTS), 1),
    (S + ":DELay", number(DELAYS, "S"), 1),
    (S + ":SWEep:ARM", None, 1), (S + ":SWEep:ABORt", None, 1),
    (":DISPlay[:WINDow[1]]:TEXT[:DATA]", string(), 1), (":DISPlay:ENABle", BOOLEANS, 1),
]
COMMANDS_2400 = [
    (S + ":FUNCtion[:MODE]", words("CURRent", "VOLTage", "MEMory"), 3),
    (S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", number(COIL_CURRENTS), 6),
    (S + ":CURRent[:LEVel]:TRIGgered[:AMPLitude]", number(COIL_CURRENTS), 1),
    (S + ":VOLTage[:LEVel][:IMMediate][:AMPLitude]", number(VOLTS, "V"), 4),
    (S + ":CURRent:STARt", number(COIL_CURRENTS), 1),
    (S + ":CURRent:STOP", number(COIL_CURRENTS), 1),
    (S + ":CURRent:CENTer", number(COIL_CURRENTS), 1),
    (S + ":CURRent:SPAN", number(COIL_CURRENTS), 1),
    (S + ":CURRent:MODE", words("FIXed", "SWEep", "LIST"), 1),
    (S + ":LIST:CURRent", number_list(COIL_CURRENTS), 1),
    ("[:SENSe[1]]:VOLTage[:DC]:PROTection[:LEVel]", number(VOLTS, "V"), 3),
    ("[:SENSe[1]]:CURRent[:DC]:PROTection[:LEVel]", number(COIL_CURRENTS), 2),
    (":OUTPut[1][:STATe]", BOOLEANS, 5),
    (S + ":CLEar[:IMMediate]", None, 1), (S + ":CLEar:AUTO", BOOLEANS, 1),
    (":SYSTem:PRESet", None, 1), ("*RST", None, 1), ("*CLS", None, 1),
    (":INITiate[:IMMediate]", None, 2), (":ABORt", None, 1),
    (":DISPlay[:WINDow[1]]:TEXT[:DATA]", string(), 1),
]
JUNK = [")", "(", "'", '"', ";", "\t", "#", "*", ",", "?"]


@st.composite
def header(draw, spec: str):
    """``spec`` in a spelling its manual allows (or, rarely, a corrupted one)."""
    if spec.startswith("*"):
        return draw(st.sampled_from([spec, spec.lower()]))
    nodes = []
    for node in scpi._spec(spec):
        if node.optional and draw(st.booleans()):
            continue
        name = draw(st.sampled_from([node.short, node.long]))
        suffix = min(node.suffixes) if "" not in node.suffixes else draw(
            st.sampled_from(sorted(node.suffixes)))
        nodes.append(draw(st.sampled_from([name, name.lower(), name.title()])) + suffix)
    return draw(st.sampled_from([":", ":", ""])) + ":".join(nodes)


@st.composite
def unit(draw, commands):
    spec, values, _ = draw(st.sampled_from([c for c in commands for _ in range(c[2])]))
    text = draw(header(spec))
    if values is not None:
        text += draw(st.sampled_from([" ", " ", "\t", "  "])) + draw(values)
    return text


@st.composite
def line(draw, commands, junk=tuple(JUNK)):
    count = draw(st.sampled_from([1, 1, 1, 1, 2, 2, 3, 4]))
    units = [draw(unit(commands)) for _ in range(count)]
    text = units[0]
    for item in units[1:]:
        text += draw(st.sampled_from([";", ";", "; ", ";\t", " ;", ";:", "\n"])) + item
    if draw(st.integers(0, 19)) == 0:  # a stray token somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(junk)) + text[at:]
    return text


# Where the guard's picture and the instrument part: a setting the guard passes and the
# instrument refuses (a suffix the Keithleys do not take, a value outside the instrument's
# own range), between two that matter. Each scenario is a few lines in random spellings.
@st.composite
def refused_form(draw, value: float, unit: str = "A"):
    """``value`` as the instrument refuses it and the guard reads it: with a suffix (-138 on
    a 6221 or 2400; never M or MA, which the guard reads as mega)."""
    prefix, scale = draw(st.sampled_from([("u", 1e6), ("n", 1e9), ("U", 1e6)]))
    return f"{value * scale:g}{draw(st.sampled_from(['', ' ']))}{prefix}" \
        f"{draw(st.sampled_from(['', unit]))}"


def _set(spec, value):
    return st.tuples(header(spec), value).map(lambda hv: f"{hv[0]} {hv[1]}")


def _plain(values):
    return st.sampled_from(values).map(lambda v: f"{v:g}")


LEVEL = S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]"
OUTPUT = ":OUTPut[:STATe]"
ON = st.sampled_from(["ON", "1", "0.5", "#H1", "2"])
SCENARIOS_6221 = [
    # DC: a pulse level, a read level the box refuses, the output on
    st.tuples(_set(LEVEL, _plain([1.2e-4, 3e-4, 5e-4, 7.5e-4])),
              _set(LEVEL, st.sampled_from([1e-5, 5e-5, 1e-4]).flatmap(refused_form)),
              _set(OUTPUT, ON)),
    # a waveform's frequency the box refuses (beyond 100 kHz), then armed and played
    st.tuples(st.just(":SOUR:WAVE:FUNC SQU;:SOUR:WAVE:AMPL 5E-4;:SOUR:WAVE:DUR:CYCL 1"),
              _set(S + ":WAVE:FREQuency", _plain([0.5, 1.0, 10.0])),
              _set(S + ":WAVE:FREQuency", _plain([2e5, 5e5])),
              st.just(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT")),
    # a duration the box refuses (under 100 ns), then armed and played
    st.tuples(st.just(":SOUR:WAVE:FUNC SQU;:SOUR:WAVE:AMPL 5E-4;:SOUR:WAVE:FREQ 1000"),
              _set(S + ":WAVE:DURation:CYCLes", _plain([100.0, 1000.0])),
              _set(S + ":WAVE:DURation:TIME", _plain([1e-8, 5e-8])),
              st.just(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT")),
    # a list delay the box refuses (under 1 ms), then the sweep armed
    st.tuples(st.just(":SOUR:SWE:SPAC LIST;:SOUR:LIST:CURR 5E-4"),
              _set(S + ":LIST:DELay", _plain([0.5, 1.0])),
              _set(S + ":LIST:DELay", _plain([1e-4, 5e-4])),
              _set(S + ":SWEep:ARM", st.just(""))),
    # a compliance the box refuses (under 0.1 V) after a high one, the output on
    st.tuples(st.just(":SOUR:CURR:COMP 105"), st.just(":SOUR:CURR 5E-5"),
              _set(S + ":CURRent:COMPliance", _plain([0.01, 0.05])), _set(OUTPUT, ON)),
]
SCENARIOS_2400 = [
    # the reset's 21 V compliance, a compliance the box refuses (a suffix), current sourced
    st.tuples(st.just("*RST"), _set("[:SENSe[1]]:VOLTage[:DC]:PROTection[:LEVel]",
                                    st.sampled_from([1.0, 5.0]).flatmap(
                                        lambda v: refused_form(v, "V"))),
              st.just(":SOUR:FUNC CURR;:SOUR:CURR 0.1"), _set(":OUTPut[1][:STATe]", ON)),
    # a function change the box refuses (an unknown word is the guard's too: a suffix on
    # the level instead), then the output on
    st.tuples(st.just(":SOUR:FUNC VOLT;:SOUR:VOLT 5;:SENS:CURR:PROT 0.4"),
              _set(S + ":VOLTage[:LEVel][:IMMediate][:AMPLitude]",
                   st.sampled_from([1.0, 2.0]).flatmap(lambda v: refused_form(v, "V"))),
              _set(":OUTPut[1][:STATe]", ON)),
]


QUERIES_6221 = ["*ESR?", ":OUTP?", ":SOUR:CURR?", "*OPC?", "SYST:ERR?", ":SOUR:WAVE:FREQ?",
                ":SOUR:WAVE:AMPL?", "*ESR?;:OUTP?"]
QUERIES_2400 = ["*ESR?", ":OUTP?", ":SOUR:CURR?", "*OPC?", "SYST:ERR?", ":SOUR:FUNC?",
                ":SENS:VOLT:PROT?", ":MEAS:CURR?"]


# -- the judge ------------------------------------------------------------------------------------
class Device:
    """What the emulated device receives: the largest current, and the longest stretch above
    the read current (consecutive drives)."""

    def __init__(self, chip) -> None:
        self.peak, self.run, self.longest = 0.0, 0.0, 0.0
        drive = chip.drive

        def watched(current: float, seconds: float) -> None:
            self.peak = max(self.peak, abs(current))
            self.run = self.run + seconds if abs(current) > LIMITS.max_read_current * (
                1 + 1e-9) else 0.0
            self.longest = max(self.longest, self.run)
            drive(current, seconds)

        chip.drive = watched

    def reset(self) -> None:
        self.peak = self.run = self.longest = 0.0


def _longest_cyclic(mask: list[bool]) -> int:
    if all(mask):
        return len(mask)
    doubled, best, run = mask + mask, 0, 0
    for above in doubled:
        run = run + 1 if above else 0
        best = max(best, run)
    return min(best, len(mask))


def breaches_6221(emulator, device: Device, limits: SafetyLimits = LIMITS) -> list[str]:
    found = []
    read, pulse, width = (limits.max_read_current, limits.max_pulse_current,
                          limits.max_pulse_width)
    if abs(emulator.current) > pulse * (1 + 1e-9):
        found.append(f"holds a DC level of {emulator.current:g} A")
    if emulator.output and abs(emulator.current) > read * (1 + 1e-9):
        found.append(f"DC {emulator.current:g} A on")
    if emulator.output and emulator.compliance > limits.compliance_voltage:
        found.append(f"compliance {emulator.compliance:g} V with the output on")
    if emulator.wave_armed or emulator.wave_running:
        try:
            shape = emulator.shape()
        except KeyError:  # an ARB location never defined: nothing plays
            shape = []
        levels = [emulator.wave_offset + emulator.wave_amplitude * p for p in shape]
        if levels and max(abs(v) for v in levels) > pulse * (1 + 1e-9):
            found.append("an armed waveform beyond the pulse current")
        above = [abs(v) > read * (1 + 1e-9) for v in levels]
        if any(above):
            period = 1.0 / emulator.wave_frequency
            run = _longest_cyclic(above)
            total = emulator.duration_seconds()
            stretch = total if run == len(above) else min(total, run * period / len(above))
            if stretch > width * (1 + 1e-9):
                found.append(f"an armed waveform {stretch:g} s above the read current")
    if emulator.sweep_armed:
        points = emulator.list_currents if emulator.sweep_spacing == "LIST" else [
            emulator.sweep_start, emulator.sweep_stop]
        delays = emulator.list_delays if emulator.sweep_spacing == "LIST" else [
            emulator.source_delay]
        for k, current in enumerate(points):
            hold = delays[k] if k < len(delays) else delays[-1] if len(delays) == 1 else 0.0
            if abs(current) > pulse * (1 + 1e-9) or (abs(current) > read * (1 + 1e-9)
                                                      and hold > width):
                found.append(f"an armed sweep point {current:g} A held {hold:g} s")
    if device.peak > pulse * (1 + 1e-9):
        found.append(f"the device received {device.peak:g} A")
    if device.longest > width * (1 + 1e-6):
        found.append(f"the device received more than the read current for "
                     f"{device.longest:g} s")
    return found


def breaches_2400(emulator, chip, coil: list[float]) -> list[str]:
    found = []
    high = LIMITS.max_field / COIL
    if coil[0] > LIMITS.max_field * (1 + 1e-9):
        found.append(f"the coil's field reached {coil[0]:g} T")
    if emulator.output:
        settings = emulator.settings
        if settings["source_function"] == "CURR":
            if abs(emulator.source_current) > high * (1 + 1e-9):
                found.append(f"sourcing {emulator.source_current:g} A")
            if float(settings["compliance_voltage"]) > LIMITS.compliance_voltage:
                found.append(f"compliance {settings['compliance_voltage']} V with current on")
        elif settings["source_function"] == "VOLT":
            if abs(emulator.source_voltage) > LIMITS.compliance_voltage:
                found.append(f"sourcing {emulator.source_voltage:g} V")
            if abs(float(settings["compliance_current"])) > high * (1 + 1e-9):
                found.append(f"compliance {settings['compliance_current']} A with voltage on")
    return found


# -- the runs -------------------------------------------------------------------------------------
def _paths(lab, second, session):
    pulse = lab["pulse"]
    return {
        "driver.write": lambda text: pulse.write(text),
        "adapter.write": lambda text: pulse.adapter.write(text),
        "adapter.write_bytes": lambda text: pulse.adapter.write_bytes(
            (text + "\n").encode("ascii")),
        "resource.write": lambda text: pulse.adapter.connection.write(text),
        "resource.write_raw": lambda text: pulse.adapter.connection.write_raw(
            (text + "\n").encode("ascii")),
        "resource.write_raw, no line feed": lambda text: pulse.adapter.connection.write_raw(
            text.encode("ascii")),
        "session.lab": lambda text: session.lab["pulse"].write(text),
        "a second driver": lambda text: second.write(text),
    }


class Tally:
    def __init__(self) -> None:
        self.lines = self.refused = self.delivered = 0
        self.reached: set[int] = set()  # devices that received a current (through the switch)
        self.breaches: list[tuple[str, str, list[str]]] = []
        self.paths: dict[str, int] = {}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    chip = build_chip(1, 0.5e-6, 0)
    with VirtualLab(chip, coil_constant=COIL) as virtual, \
            connect_virtual(lab=virtual, limits=LIMITS) as lab:
        lab["field"].coil_constant = COIL
        device = Device(chip)
        field = virtual.instruments["field"]
        coil = [0.0]
        apply = field._apply

        def watched_apply() -> None:
            apply()
            coil[0] = max(coil[0], abs(chip.field_x))

        field._apply = watched_apply
        second = PulseSource(lab.roles["pulse"], limits=LIMITS, read_termination="\n",
                             write_termination="\n", timeout=2000)
        second_field = FieldSupply(lab.roles["field"], limits=LIMITS, coil_constant=COIL,
                                   read_termination="\n", write_termination="\n",
                                   timeout=2000)
        session = Session({"virtual": True, "devices": 1, "width": 0.5e-6, "seed": 0},
                          tmp_path_factory.mktemp("store") / "runs.sqlite", lab=lab)
        try:
            yield lab, virtual, device, coil, second, second_field, session
        finally:
            second.adapter.close()
            second_field.adapter.close()


def _fresh(lab, virtual, device, coil) -> None:
    """Both sources reset, and the guards told so (an example starts where the last ended
    only in what the instruments hold)."""
    for role in ("pulse", "field"):
        lab[role].write("*RST;*CLS")
        lab[role].ask("*ESR?;:OUTP?")
    virtual.settle()
    device.reset()
    coil[0] = 0.0


def _drive(tally: Tally, steps, paths: dict, ask, judge, fresh) -> None:
    """Each step down its path (or asked), then judged; after a breach, a fresh start."""
    fresh()
    for kind, text, path in steps:
        try:
            if kind == "ask":
                ask(text)
            else:
                tally.lines += 1
                tally.paths[path] = tally.paths.get(path, 0) + 1
                paths[path](text)
        except LimitError:
            tally.refused += 1
        found = judge()
        if found:
            tally.breaches.append((path, text, found))
            fresh()


def _run_6221(rig, tally: Tally, steps) -> None:
    lab, virtual, device, coil, second, _, session = rig
    emulator = virtual.instruments["pulse"]

    def judge() -> list[str]:
        virtual.settle()
        return breaches_6221(emulator, device)

    _drive(tally, steps, _paths(lab, second, session), lab["pulse"].ask, judge,
           lambda: _fresh(lab, virtual, device, coil))


def _write_paths(lab, session, role: str, second) -> dict:
    """The write paths to ``role``: its driver, adapter, raw resource, a session's lab, and
    a second driver on the same resource."""
    driver = lab[role]
    return {"driver.write": driver.write, "adapter.write": driver.adapter.write,
            "resource.write_raw": lambda text: driver.adapter.connection.write_raw(
                (text + "\n").encode("ascii")),
            "session.lab": lambda text: session.lab[role].write(text),
            "a second driver": second.write}


def _run_2400(rig, tally: Tally, steps) -> None:
    lab, virtual, device, coil, _, second_field, session = rig
    field = lab["field"]
    paths = _write_paths(lab, session, "field", second_field)
    emulator = virtual.instruments["field"]

    def judge() -> list[str]:
        virtual.settle()
        return breaches_2400(emulator, virtual.chip, coil)

    _drive(tally, steps, paths, field.ask, judge, lambda: _fresh(lab, virtual, device, coil))


def actions(commands, queries, paths, scenarios, length=(10, 40), junk=tuple(JUNK)):
    single = st.tuples(st.just("line"), line(commands, junk), st.sampled_from(paths)).map(
        lambda step: [step])
    ask = st.tuples(st.just("ask"), st.sampled_from(queries), st.just("ask")).map(
        lambda step: [step])
    scenario = st.tuples(st.one_of(*scenarios), st.sampled_from(paths)).map(
        lambda sp: [("line", text, sp[1]) for text in sp[0]])
    step = st.one_of(single, single, single, ask, scenario)
    return st.lists(step, min_size=length[0] // 2, max_size=length[1] // 2).map(
        lambda steps: [s for group in steps for s in group])


PATHS_6221 = ["driver.write", "driver.write", "adapter.write", "adapter.write_bytes",
              "resource.write", "resource.write_raw", "resource.write_raw, no line feed",
              "session.lab", "session.lab", "a second driver", "a second driver"]
PATHS_2400 = ["driver.write", "adapter.write", "resource.write_raw", "session.lab",
              "a second driver"]


def _explore(rig, run, commands, queries, paths, scenarios, seed_value: int,
             examples: int) -> Tally:
    tally = Tally()

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(actions(commands, queries, paths, scenarios))
    def explore(steps):
        run(rig, tally, steps)

    explore()
    return tally


def _report(name: str, tally: Tally, seed_value: int) -> str:
    return (f"{name} seed {seed_value}: {tally.lines} lines, {tally.refused} refused, "
            f"{len(tally.breaches)} breaches; paths {tally.paths}; first: "
            f"{tally.breaches[:3]}")


QUICK_SEEDS, SLOW_SEEDS = [1, 2, 3], list(range(100, 120))


@pytest.mark.parametrize("seed_value", QUICK_SEEDS)
def test_generated_lines_leave_the_6221_within_its_limits(rig, seed_value):
    tally = _explore(rig, _run_6221, COMMANDS_6221, QUERIES_6221, PATHS_6221,
                     SCENARIOS_6221, seed_value, 35)
    print(_report("6221", tally, seed_value))
    assert tally.lines >= 400
    assert set(tally.paths) == set(PATHS_6221)  # every write path
    assert tally.breaches == [], _report("6221", tally, seed_value)


@pytest.mark.parametrize("seed_value", QUICK_SEEDS)
def test_generated_lines_leave_the_2400_within_its_limits(rig, seed_value):
    tally = _explore(rig, _run_2400, COMMANDS_2400, QUERIES_2400, PATHS_2400,
                     SCENARIOS_2400, seed_value, 30)
    print(_report("2400", tally, seed_value))
    assert tally.lines >= 300
    assert tally.breaches == [], _report("2400", tally, seed_value)


@pytest.mark.slow
@pytest.mark.parametrize("seed_value", SLOW_SEEDS)
def test_many_generated_lines_leave_both_sources_within_their_limits(rig, seed_value):
    for name, run, commands, queries, paths, scenarios in (
            ("6221", _run_6221, COMMANDS_6221, QUERIES_6221, PATHS_6221, SCENARIOS_6221),
            ("2400", _run_2400, COMMANDS_2400, QUERIES_2400, PATHS_2400, SCENARIOS_2400)):
        tally = _explore(rig, run, commands, queries, paths, scenarios, seed_value, 120)
        print(_report(name, tally, seed_value))
        assert tally.breaches == [], _report(name, tally, seed_value)


def test_the_judge_sees_a_breach_when_there_is_one(rig):
    """The judge itself: DC above the read current switched on behind the guard's back (the
    emulator's own handle, below every write path) is found; so is a long waveform."""
    lab, virtual, device, coil, *_ = rig
    _fresh(lab, virtual, device, coil)
    emulator = virtual.instruments["pulse"]
    emulator.handle(":SOUR:CURR 5E-4;:OUTP ON")
    assert any("DC" in b for b in breaches_6221(emulator, device))
    emulator.handle(":OUTP OFF;:SOUR:WAVE:FUNC SQU;FREQ 1;AMPL 5E-4;DUR:CYCL 1;:SOUR:WAVE:ARM")
    assert any("armed waveform" in b for b in breaches_6221(emulator, device))
    emulator.handle(":SOUR:WAVE:INIT")
    assert any("device received more" in b for b in breaches_6221(emulator, device))
    field = virtual.instruments["field"]
    field.handle(":SOUR:FUNC CURR;:SOUR:CURR 0.6;:SENS:VOLT:PROT 5;:OUTP ON")
    assert breaches_2400(field, virtual.chip, coil)
    _fresh(lab, virtual, device, coil)
    assert not math.isnan(device.longest)


# -- the Keithley 2000: its ohms test current (issue 25) -------------------------------------
# Lines for the 2000 (function, each ohms function's range and autorange, CONFigure, resets,
# harmless settings) down its write paths, judged by what the emulated 2000 holds: in an ohms
# function, the test current of its range (autorange: the 100 ohm range's, where a
# low-resistance device takes it), against the read limit. No stray "?" here: a query left
# unread would answer the next one (the replies' order is tested with the drivers).
OHM_VALUES = [0.0, 1.0, 50.0, 100.0, 120.0, 121.0, 1e3, 1.2e3, 1.3e3, 1e4, 1.2e4, 1.3e4, 1e5,
              1e6, 1e7, 1e8, 1.2e8, 1.3e8]
FUNCTION_NAMES = st.sampled_from(["'RES'", '"RESistance"', "'res'", "'FRES'", "'FRESistance'",
                                  "'VOLT:DC'", "'VOLT'", '"volt:dc"', "'VOLTage:DC'", "RES",
                                  "FRES", "VOLT", "'CONT'", "'DIOD'", "'CURR'", "'VOLT:AC'",
                                  "'TEMP'", "'OHMS'"])
SENSE = "[:SENSe[1]]"
COMMANDS_2000 = [
    (SENSE + ":FUNCtion", FUNCTION_NAMES, 8),
    (SENSE + ":RESistance:RANGe[:UPPer]", number(OHM_VALUES, "OHM"), 4),
    (SENSE + ":FRESistance:RANGe[:UPPer]", number(OHM_VALUES, "OHM"), 3),
    (SENSE + ":RESistance:RANGe:AUTO", BOOLEANS, 2),
    (SENSE + ":FRESistance:RANGe:AUTO", BOOLEANS, 2),
    (":CONFigure:RESistance", None, 1), (":CONFigure:FRESistance", None, 1),
    (":CONFigure:VOLTage[:DC]", None, 1),
    ("*RST", None, 1), ("*CLS", None, 1), ("*WAI", None, 1), (":SYSTem:PRESet", None, 1),
    (SENSE + ":RESistance:NPLCycles", number([0.01, 0.1, 1.0, 10.0, 20.0], ""), 1),
    (SENSE + ":VOLTage[:DC]:NPLCycles", number([0.01, 1.0, 10.0], ""), 1),
    (":SYSTem:AZERo[:STATe]", BOOLEANS, 1),
    (":DISPlay[:WINDow[1]]:TEXT:DATA", string(), 1),
]
RES_RANGE = SENSE + ":RESistance:RANGe[:UPPer]"
FUNCTION = SENSE + ":FUNCtion"
SCENARIOS_2000 = [
    # a low range (harmless in DC volts), a high one the box refuses (a suffix), ohms
    st.tuples(st.just(":SENS:FUNC 'VOLT'"), _set(RES_RANGE, _plain([100.0, 1e3])),
              _set(RES_RANGE, st.sampled_from([1e5, 1e6]).map(lambda v: f"{v / 1e6:g}MOHM")),
              _set(FUNCTION, st.sampled_from(["'RES'", "'RESistance'"]))),
    # autorange on, a fixed range the box refuses (a suffix), ohms
    st.tuples(st.just(":SENS:RES:RANG:AUTO ON"),
              _set(RES_RANGE, st.sampled_from(["10kOHM", "100 kOHM", "1E4 OHM"])),
              _set(FUNCTION, st.just("'RES'"))),
    # a range the box takes, then the function the box refuses (not wired here), ohms on
    st.tuples(st.just(":SENS:FRES:RANG 1E4"), st.just(":SENS:FUNC 'FRES'"),
              st.just(":SENS:FUNC 'VOLT:AC'"), st.just(":SENS:FRES:RANG 100")),
]
QUERIES_2000 = ["*ESR?", ":SENS:FUNC?", ":SENS:RES:RANG?", ":SENS:FRES:RANG:AUTO?",
                "SYST:ERR?", "*OPC?", "*ESR?;:SENS:FUNC?"]
PATHS_2000 = ["driver.write", "adapter.write", "resource.write_raw", "session.lab",
              "a second driver"]


def breaches_2000(emulator, limits: SafetyLimits = LIMITS) -> list[str]:
    """The test current the emulated 2000 would drive, from what it holds (its own data
    sheet table: simulators/lab/k2000.py), against the read limit."""
    from simulators.lab.k2000 import TEST_CURRENT

    if emulator.function not in ("RES", "FRES"):
        return []
    config = emulator.configs[emulator.function]
    current = max(TEST_CURRENT.values()) if config.auto else TEST_CURRENT[config.upper]
    if current > limits.max_read_current * (1 + 1e-9):
        return [f"{emulator.function} on {'autorange' if config.auto else config.upper}: "
                f"{current:g} A test current"]
    return []


@pytest.fixture(scope="module")
def second_meter(rig):
    from instruments.keithley import HallVoltmeter

    lab = rig[0]
    meter = HallVoltmeter(lab.roles["voltmeter"], limits=LIMITS, read_termination="\n",
                          write_termination="\n", timeout=2000)
    try:
        yield meter
    finally:
        meter.adapter.close()


def _run_2000(rig, second_meter, tally: Tally, steps) -> None:
    lab, virtual, *_, session = rig
    meter = lab["voltmeter"]
    paths = _write_paths(lab, session, "voltmeter", second_meter)
    emulator = virtual.instruments["voltmeter"]

    def fresh() -> None:
        meter.write("*RST;*CLS")
        meter.ask("*ESR?;:SENS:FUNC?")

    def judge() -> list[str]:
        virtual.settle()
        return breaches_2000(emulator)

    _drive(tally, steps, paths, meter.ask, judge, fresh)


def _explore_2000(rig, second_meter, seed_value: int, examples: int) -> Tally:
    tally = Tally()

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(actions(COMMANDS_2000, QUERIES_2000, PATHS_2000, SCENARIOS_2000,
                   junk=tuple(j for j in JUNK if j != "?")))
    def explore(steps):
        _run_2000(rig, second_meter, tally, steps)

    explore()
    return tally


@pytest.mark.parametrize("seed_value", [1, 2])
def test_generated_lines_leave_the_2000s_test_current_within_the_read_limit(
        rig, second_meter, seed_value):
    tally = _explore_2000(rig, second_meter, seed_value, 10)
    print(_report("2000", tally, seed_value))
    assert tally.lines >= 100 and tally.refused > 0
    assert set(tally.paths) == set(PATHS_2000)
    assert tally.breaches == [], _report("2000", tally, seed_value)


@pytest.mark.slow
@pytest.mark.parametrize("seed_value", SLOW_SEEDS)
def test_many_generated_lines_leave_the_2000s_test_current_within_the_read_limit(
        rig, second_meter, seed_value):
    tally = _explore_2000(rig, second_meter, seed_value, 60)
    print(_report("2000", tally, seed_value))
    assert tally.breaches == [], _report("2000", tally, seed_value)


def test_the_2000_judge_sees_a_breach_when_there_is_one(rig):
    """The judge itself: ohms on autorange, and on the 1 kohm range, set behind the guard's
    back (the emulator's own handle) are found; the 10 kohm range (100 uA) is not."""
    lab, virtual, *_ = rig
    emulator = virtual.instruments["voltmeter"]
    try:
        emulator.handle(":SENS:FUNC 'RES'")
        assert breaches_2000(emulator)
        emulator.handle(":SENS:RES:RANG 1E3")
        assert "0.001 A" in breaches_2000(emulator)[0]
        emulator.handle(":SENS:RES:RANG 1E4")
        assert breaches_2000(emulator) == []
    finally:
        lab["voltmeter"].write("*RST;*CLS")
        lab["voltmeter"].ask("*ESR?;:SENS:FUNC?")


# -- through the switch: the 6221 and the 7002 while devices of different limits are routed --
# A 4-device chip behind a served 7002 (7011 card, two channels a device), the lab file giving
# three devices their own limits; lines generated for both instruments down their write
# paths (a second driver of each in this process among them, made with the lab's limits),
# routes through the driver, hardware-timed pulses, queries. Judged by what each emulated
# device receives (its peak current against its own pulse limit, its longest stretch above
# its own read current against its own pulse width; two devices routed share the current)
# and by what the 6221 holds for the devices routed now, and no relay moved under current.
# Stray "?" are left out here: a query written and never read leaves a reply that the next
# driver query would take (the replies' order is tested with the drivers).
ROUTED_LIMITS = {
    0: {},  # the lab's
    1: {"max_pulse_current": 0.3e-3, "max_read_current": 50e-6},
    2: {"max_pulse_current": 0.5e-3, "max_pulse_width": 2e-3, "compliance_voltage": 5.0},
    3: {"max_pulse_current": 0.2e-3, "max_read_current": 20e-6, "max_pulse_width": 1e-3},
}
WIRED = ["1!1", "1!2", "1!3", "1!4", "1!11", "1!12", "1!13", "1!14"]
CHANNEL_ITEMS = st.sampled_from(WIRED * 3 + ["1!5", "1!20", "1!40", "2!1", "1!41", "11!1",
                                             "1!1:1!3", "1!11:1!12", "1!2 : 1!4", "1 ! 3"])


@st.composite
def channel_lists(draw):
    items = draw(st.lists(CHANNEL_ITEMS, min_size=1, max_size=3))
    space = draw(st.sampled_from(["", " "]))
    return f"({space}@{space}" + f",{space}".join(items) + ")"


COMMANDS_7002 = [
    (":ROUTe:CLOSe", channel_lists(), 8),
    (":ROUTe:OPEN", channel_lists() | st.sampled_from(["ALL", "all", "All"]), 5),
    (":ROUTe:OPEN:ALL", None, 2), (":ROUTe:CONFigure:BBMake", BOOLEANS, 1),
    (":ROUTe:CONFigure:SLOT[1]:STIMe", number([0.0, 1e-3, 0.01], "S"), 1),
    ("*RST", None, 1), (":SYSTem:PRESet", None, 1), ("*CLS", None, 1),
    (":ROUTe:SCAN", channel_lists(), 1),  # the manual's, not the guard's: refused
]
QUERIES_7002 = ["*ESR?", ":ROUT:CLOS:STAT?", "SYST:ERR?", "*OPC?", ":ROUT:CLOS? (@1!1,1!2)",
                ":ROUT:CONF:BBM?", "*ESR?;:ROUT:CLOS:STAT?"]
WRITTEN_JUNK = tuple(j for j in JUNK if j != "?")
PULSES = st.tuples(st.sampled_from([0.1e-3, 0.2e-3, 0.25e-3, 0.3e-3, 0.45e-3, 0.6e-3,
                                    0.75e-3]).flatmap(lambda a: st.sampled_from([a, -a])),
                   st.sampled_from([50e-6, 100e-6, 1e-3, 1.5e-3, 3e-3]))
PATHS_ROUTED = {"6221": ["driver.write", "adapter.write", "resource.write_raw",
                         "a second driver"],
                "7002": ["driver.write", "adapter.write", "resource.write_raw",
                         "a second driver"]}
QUIET = type("Quiet", (), {"peak": 0.0, "longest": 0.0})()  # the source's holdings only


class Devices:
    """What each emulated device receives: its peak current and its longest stretch above
    its own read current (drives that follow on in virtual time)."""

    def __init__(self, chip, limits: dict[int, SafetyLimits]) -> None:
        n = len(limits)
        self.limits = limits
        self.peak, self.run, self.longest = [0.0] * n, [0.0] * n, [0.0] * n
        self.end = [-math.inf] * n
        drive_one, clock = chip._drive_one, chip.clock

        def watched(j: int, current: float, seconds: float) -> None:
            start = clock.seconds
            self.peak[j] = max(self.peak[j], abs(current))
            if abs(current) > limits[j].max_read_current * (1 + 1e-9):
                self.run[j] = (self.run[j] if start <= self.end[j] + 1e-12 else 0.0) + seconds
                self.end[j] = start + seconds
                self.longest[j] = max(self.longest[j], self.run[j])
            else:
                self.run[j], self.end[j] = 0.0, -math.inf
            drive_one(j, current, seconds)

        chip._drive_one = watched

    def reset(self) -> None:
        n = len(self.limits)
        self.peak, self.run, self.longest = [0.0] * n, [0.0] * n, [0.0] * n
        self.end = [-math.inf] * n

    def breaches(self) -> list[str]:
        found = []
        for j, limits in self.limits.items():
            if self.peak[j] > limits.max_pulse_current * (1 + 1e-9):
                found.append(f"device {j} received {self.peak[j]:g} A")
            if self.longest[j] > limits.max_pulse_width * (1 + 1e-6):
                found.append(f"device {j} received more than its read current for "
                             f"{self.longest[j]:g} s")
        return found


def routed_breaches(emulator, chip, devices: Devices) -> list[str]:
    """The 6221's holdings within the lab's limits, and within each routed device's (two
    routed share the current: each its own limit times two)."""
    found = breaches_6221(emulator, QUIET)
    path = sorted(chip.current_path or ())
    for j in path:
        own = devices.limits[j]
        shared = dataclasses.replace(own, max_pulse_current=own.max_pulse_current * len(path),
                                     max_read_current=own.max_read_current * len(path))
        found += [f"device {j}: {b}" for b in breaches_6221(emulator, QUIET, shared)
                  if not b.startswith("holds a DC level")]  # held with the output off
    return found + devices.breaches()


@pytest.fixture(scope="module")
def routed_rig():
    chip = build_chip(4, 0.5e-6, 0)
    limits = {d: dataclasses.replace(LIMITS, **own) for d, own in ROUTED_LIMITS.items()}
    wiring = SwitchWiring({d: DeviceRoute((current,), (voltage,), tuple(own.items()))
                           for d, ((current, voltage), own) in enumerate(zip(
                               pair_wiring(4).values(), ROUTED_LIMITS.values(), strict=True))},
                          cards=1)
    options = {"read_termination": "\n", "write_termination": "\n", "timeout": 2000}
    with VirtualLab(chip, switch="7002") as virtual:
        roles = {r: e["resource"] for r, e in virtual.resources.items() if r != "field"}
        with Lab(roles, limits=LIMITS, clock=virtual.clock, wiring=wiring) as lab:
            devices = Devices(chip, limits)
            second = PulseSource(lab.roles["pulse"], limits=LIMITS, **options)
            second_switch = SwitchSystem(lab.roles["switch"], wiring=wiring, **options)
            try:
                yield lab, virtual, devices, second, second_switch
            finally:
                second.adapter.close()
                second_switch.adapter.close()


def _fresh_routed(lab, virtual, devices: Devices, *others) -> None:
    """Both instruments reset and the guards told so (device 2's 5 V compliance set);
    nothing received yet. A reply on the lab's connections cannot speak for the lines
    ``others`` (second drivers) sent: each reads its pending replies and asks once itself."""
    for other in others:
        while other.guard._replies:
            try:
                other.read()
            except Exception:  # a query the instrument refused: no reply comes
                break
        if other.guard.can_ask():
            other.guard.confirm_own()
    lab["pulse"].write("*RST;*CLS;:SOUR:CURR:COMP 5")
    lab["pulse"].ask("*ESR?;:OUTP?")
    lab["switch"].write("*RST;*CLS")
    lab["switch"].ask("*ESR?;:ROUT:CLOS:STAT?")
    virtual.settle()
    devices.reset()
    virtual.chip.received[:] = 0.0


def _run_routed(rig, tally: Tally, steps) -> None:
    lab, virtual, devices, second, second_switch = rig
    pulse, switch = lab["pulse"], lab["switch"]
    paths = {
        ("6221", "driver.write"): pulse.write, ("6221", "adapter.write"): pulse.adapter.write,
        ("6221", "resource.write_raw"): lambda text: pulse.adapter.connection.write_raw(
            (text + "\n").encode("ascii")),
        ("6221", "a second driver"): second.write,
        ("7002", "driver.write"): switch.write, ("7002", "adapter.write"): switch.adapter.write,
        ("7002", "resource.write_raw"): lambda text: switch.adapter.connection.write_raw(
            (text + "\n").encode("ascii")),
        ("7002", "a second driver"): second_switch.write,
    }
    emulator, emulated_switch = virtual.instruments["pulse"], virtual.instruments["switch"]
    _fresh_routed(lab, virtual, devices, second, second_switch)
    hot = emulated_switch.hot_switches
    for kind, what, path in steps:
        try:
            if kind == "ask":
                (pulse if path == "6221" else switch).ask(what)
                continue
            tally.lines += 1
            name = f"{kind} {path}" if kind in ("6221", "7002") else kind
            tally.paths[name] = tally.paths.get(name, 0) + 1
            if kind == "select":
                lab.select_device(what)
            elif kind == "pulse":
                pulse.pulse(*what)
                tally.delivered += 1
            else:
                paths[(kind, path)](what)
        except (LimitError, InstrumentError, ValueError):
            tally.refused += 1
        virtual.settle()
        tally.reached |= {j for j, peak in enumerate(devices.peak) if peak > 0}
        found = routed_breaches(emulator, virtual.chip, devices)
        if emulated_switch.hot_switches != hot:
            found.append(f"{emulated_switch.hot_switches - hot} relays moved under current")
        if found:
            tally.breaches.append((f"{kind} {path}", str(what), found))
            _fresh_routed(lab, virtual, devices, second, second_switch)
            hot = emulated_switch.hot_switches


def _list(device: int) -> str:
    """``@1!k,1!m``: a device's two channels (``pair_wiring``)."""
    return "@" + ",".join(f"{s}!{c}" for s, c in pair_wiring(4)[device])


def routed_actions(length=(10, 40)):
    def lines(instrument, commands):
        return st.tuples(st.just(instrument), line(commands, WRITTEN_JUNK),
                         st.sampled_from(PATHS_ROUTED[instrument])).map(lambda step: [step])

    select = st.tuples(st.just("select"), st.integers(0, 3), st.just("")).map(
        lambda step: [step])
    pulses = st.tuples(st.just("pulse"), PULSES, st.just("")).map(lambda step: [step])
    routed_pulse = st.tuples(st.integers(0, 3), PULSES).map(  # a route, then a pulse
        lambda dp: [("select", dp[0], ""), ("pulse", dp[1], "")])
    ask = st.one_of(st.tuples(st.just("ask"), st.sampled_from(QUERIES_6221), st.just("6221")),
                    st.tuples(st.just("ask"), st.sampled_from(QUERIES_7002),
                              st.just("7002"))).map(lambda step: [step])
    scenario = st.tuples(st.one_of(*SCENARIOS_6221),
                         st.sampled_from(PATHS_ROUTED["6221"])).map(
        lambda sp: [("6221", text, sp[1]) for text in sp[0]])
    # where the 7002's picture and the guard's part: an OPEN the 7002 refuses whole (2!1 is
    # on no card: -222) after a route, a second device closed beside it, a pulse
    refused_open = st.tuples(st.integers(0, 3), st.integers(0, 3), PULSES,
                             st.sampled_from(PATHS_ROUTED["7002"])).map(
        lambda a: [("select", a[0], ""),
                   ("7002", f":ROUT:OPEN ({_list(a[0])},2!1)", a[3]),
                   ("7002", f":ROUT:CLOS ({_list(a[1])})", a[3]), ("pulse", a[2], "")])
    step = st.one_of(lines("6221", COMMANDS_6221), lines("6221", COMMANDS_6221),
                     lines("7002", COMMANDS_7002), lines("7002", COMMANDS_7002), select,
                     pulses, routed_pulse, routed_pulse, routed_pulse, ask, scenario,
                     refused_open)
    return st.lists(step, min_size=length[0] // 2, max_size=length[1] // 2).map(
        lambda steps: [s for group in steps for s in group])


def _explore_routed(rig, seed_value: int, examples: int) -> Tally:
    tally = Tally()

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(routed_actions())
    def explore(steps):
        _run_routed(rig, tally, steps)

    explore()
    return tally


@pytest.mark.parametrize("seed_value", QUICK_SEEDS)
def test_generated_lines_through_the_switch_leave_every_device_within_its_limits(
        routed_rig, seed_value):
    tally = _explore_routed(routed_rig, seed_value, 60)
    print(_report("6221 + 7002", tally, seed_value), f"pulses delivered {tally.delivered}, "
          f"devices reached {sorted(tally.reached)}")
    assert tally.lines >= 300
    assert {f"{i} {p}" for i, paths in PATHS_ROUTED.items() for p in paths} | {
        "select", "pulse"} <= set(tally.paths)  # every write path, routes and pulses
    assert tally.delivered >= 2 and len(tally.reached) >= 2  # not a guard that refuses all
    assert tally.breaches == [], _report("6221 + 7002", tally, seed_value)


@pytest.mark.slow
@pytest.mark.parametrize("seed_value", SLOW_SEEDS)
def test_many_generated_lines_through_the_switch_leave_every_device_within_its_limits(
        routed_rig, seed_value):
    tally = _explore_routed(routed_rig, seed_value, 200)
    print(_report("6221 + 7002", tally, seed_value))
    assert tally.breaches == [], _report("6221 + 7002", tally, seed_value)


def test_the_routed_judge_sees_a_breach_when_there_is_one(routed_rig):
    """The judge itself, below every write path (the emulators' own handle): a pulse above
    device 3's 0.2 mA, two devices sharing a DC level above device 1's read current, a
    relay moved under current."""
    lab, virtual, devices, *_ = routed_rig
    _fresh_routed(lab, virtual, devices)
    emulator, switch = virtual.instruments["pulse"], virtual.instruments["switch"]
    switch.handle(":ROUT:CLOS (@1!4,1!14)")
    emulator.handle(":SOUR:WAVE:FUNC SQU;FREQ 5000;AMPL 3E-4;DUR:CYCL 0.5;:SOUR:WAVE:ARM")
    assert any("device 3:" in b for b in routed_breaches(emulator, virtual.chip, devices))
    emulator.handle(":SOUR:WAVE:INIT")
    assert "device 3 received 0.0003 A" in routed_breaches(emulator, virtual.chip, devices)
    _fresh_routed(lab, virtual, devices)
    switch.handle(":ROUT:CLOS (@1!1,1!2,1!11)")
    emulator.handle(":SOUR:CURR 1.2E-4;:OUTP ON")
    assert any(b.startswith("device 1: DC") for b in routed_breaches(
        emulator, virtual.chip, devices))  # 60 uA each, over device 1's 50 uA
    hot = switch.hot_switches
    switch.handle(":ROUT:OPEN ALL")
    assert switch.hot_switches > hot
    _fresh_routed(lab, virtual, devices)
