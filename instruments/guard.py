"""The one safety guard, under every driver: each outgoing line is read as SCPI, the state
the source would be in is worked out, and the line is refused before a byte is sent if it
would put the source beyond a limit.

It sits on the pyvisa resource itself (``write_raw``, which ``adapter.write``,
``adapter.write_bytes``, ``instrument.write`` and ``resource.write``/``query`` all end in), or,
for adapters without one (pymeasure's ``ProtocolAdapter`` in tests), on the adapter's
``_write``/``_write_bytes``. The drivers' validators are the first line; this is the floor.

What it allows is a list, per source model, of the headers in the instrument's own SCPI
tables (Model 6220/6221 Reference Manual section 14, "SCPI tables"; Model 2400 User's
Manual section 18, "SCPI command reference"). A header it does not know is refused, however
harmless it may be: an allow-list, not a list of dangers. Queries change nothing and pass for
every known header. ``*RCL`` and source memory (2400 ``SOUR:FUNC MEM``) are refused: they
restore settings the guard cannot see.

Rules (SafetyLimits, SI):
- 6221 DC level: |I| <= max_pulse_current when set; with the output on, |I| <= max_read_current.
  A DC level above the read limit is never switched on: software cannot bound how long it
  stays on (bus, operating system), so pulses above the read limit are hardware-timed
  waveforms whose length the guard can compute. This is the "long DC" rule: refuse, not
  switch off.
- 6221 waveform: |offset| <= max_read_current; |offset| + amplitude * max|shape| <=
  max_pulse_current; at ARM, INIT, and on any change while armed, every stretch above the read
  limit (cyclic, capped by the duration) <= max_pulse_width. An ARB location not defined on
  this connection counts as full scale everywhere. A waveform counts as armed (changes to it
  checked in full) from ARM until ABORt, or, for a finite duration, until the instrument has
  said it finished: a ``*WAI`` was sent after it, or the reply to an ``*OPC?`` was read.
- 6221 sweeps: every point <= max_pulse_current; at SWE:ARM, a point above the read limit is
  held no longer than max_pulse_width. Delta and differential conductance levels <= read
  limit; pulse delta high <= max_pulse_current, low <= read limit, width <= max_pulse_width.
- 6221 compliance: 0 < V <= compliance_voltage.
- 2400: current (level, triggered level, sweep and list points, current compliance) within
  max_field / coil_constant; voltage (levels, voltage compliance) within compliance_voltage.
- MAX and UP/DOWN count as the instrument's own maximum; a suffix read two ways (``50MA``:
  50 mA or 50 MA) counts as the larger; an unknown value (before ``*RST`` or a setting) counts
  as out of range where it matters.
A refused line changes nothing: the state is committed only when every unit passed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from instruments import scpi
from instruments.limits import LimitError, SafetyLimits

LimitsSource = Callable[[], SafetyLimits]
REL = 1e-12  # a waveform level is amplitude x point: one rounding of slack, no more


class UnknownCommandError(LimitError):
    """A command the guard does not understand for this source: refused, not guessed."""


def _bounded(model: str, name: str, value: float, high: float, unit: str,
             low: float | None = None, text: str = "") -> float:
    low = -high if low is None else low
    if not (math.isfinite(value) and low - abs(low) * REL <= value <= high + abs(high) * REL):
        where = f" (in {text!r})" if text else ""
        raise LimitError(f"{model}: {name} = {value:g} {unit}{where} is outside the allowed "
                         f"range [{low:g}, {high:g}] {unit} (safety limit)")
    return value


class SourceGuard:
    """Base: parse, simulate on a copy of the state, commit only if the whole line passed."""

    model = "source"
    table: list[tuple[str, str | None]] = []  # (manual header, handler name or None)

    def __init__(self, limits: LimitsSource) -> None:
        self.limits = limits
        self.state = self.unknown_state()
        self._replies: deque[bool] = deque()  # per query message: did it hold *OPC??
        self._resolved: dict[tuple[str, ...], tuple[bool, str | None]] = {}

    def completed(self, state) -> None:
        """Operations started so far have finished (a *WAI passed, or the reply to an
        *OPC? was read): nothing to do by default."""

    def replied(self, ok: bool = True) -> None:
        """A reply was read: if it answered an *OPC?, what ran before it has finished. A
        read that failed (timeout) proves nothing: its entry goes, nothing is completed."""
        if self._replies and self._replies.popleft() and ok:
            self.completed(self.state)

    # -- to override ----------------------------------------------------------------
    def unknown_state(self):
        raise NotImplementedError

    def reset_state(self):
        raise NotImplementedError

    # -- the check -------------------------------------------------------------------
    def check(self, text: str) -> None:
        """Refuse (LimitError) or accept ``text``, one or more program messages."""
        state = self.copy_state(self.state)
        replies = []
        try:
            for message in re.split(r"[\r\n]+", text):
                queries = []
                for unit in scpi.units(message):
                    self._apply(state, unit)
                    if unit.relative:  # a parser without the path rule must not get past
                        self._apply(self.copy_state(state), unit.from_root(), quiet=True)
                    if unit.query:
                        queries.append(unit.nodes[0] == "*OPC")
                if queries:
                    replies.append(any(queries))
        except scpi.ScpiSyntaxError as err:
            raise UnknownCommandError(f"{self.model}: {text.strip()!r} refused: {err}") \
                from None
        self.state = state
        self._replies.extend(replies)

    def copy_state(self, state):
        """A copy to simulate on (containers that handlers change in place are copied)."""
        return copy.copy(state)

    def _handler(self, nodes: tuple[str, ...]) -> tuple[bool, str | None]:
        """(known, handler name) for a resolved header; the table is searched once."""
        if nodes not in self._resolved:
            self._resolved[nodes] = next(((True, handler) for spec, handler in self.table
                                          if scpi.header_matches(spec, nodes)), (False, None))
        return self._resolved[nodes]

    def _apply(self, state, unit: scpi.Unit, quiet: bool = False) -> None:
        if unit.common:
            return self._common(state, unit)
        known, handler = self._handler(unit.nodes)
        if known:
            if handler is not None and not unit.query:
                getattr(self, handler)(state, unit)
            return None
        if not quiet:
            raise UnknownCommandError(
                f"{self.model}: {unit.text!r} is not a command the safety guard knows for "
                "this source (refused; allowed: the manual's commands it can check)")
        return None

    COMMON_ALLOWED = {"*CLS", "*ESE", "*ESR", "*IDN", "*OPC", "*OPT", "*SAV", "*SRE", "*STB",
                      "*TRG", "*TST", "*WAI"}

    def _common(self, state, unit: scpi.Unit) -> None:
        name = unit.nodes[0]
        if name == "*RST" and not unit.query:
            state.__dict__.update(copy.deepcopy(self.reset_state().__dict__))
        elif name == "*WAI":  # the instrument executes nothing more until all is done
            self.completed(state)
        elif name not in self.COMMON_ALLOWED:
            raise UnknownCommandError(
                f"{self.model}: {unit.text!r} refused: the guard cannot see the settings "
                "it would restore" if name == "*RCL" else
                f"{self.model}: {unit.text!r} is not a command the safety guard knows")

    # -- helpers -----------------------------------------------------------------------
    def value(self, unit: scpi.Unit, physical: str, instrument_max: float,
              instrument_min: float | None = None, default: float = 0.0) -> float:
        """The worst value a numeric parameter can mean (keywords at the instrument's own
        bounds; several readings of a suffix: the largest)."""
        params = unit.params()
        if len(params) != 1:
            raise scpi.ScpiSyntaxError(-109 if not params else -108, "one parameter expected")
        number = scpi.numeric(params[0], physical)
        low = -instrument_max if instrument_min is None else instrument_min
        if number.keyword is not None:
            return {"MIN": low, "DEF": default, "NAN": math.nan,
                    "NINF": -scpi.SCPI_INFINITY, "INF": scpi.SCPI_INFINITY}.get(
                number.keyword, instrument_max)
        return max(number.values, key=abs)

    def values(self, unit: scpi.Unit, physical: str, instrument_max: float) -> list[float]:
        out = []
        for text in unit.params():
            number = scpi.numeric(text, physical)
            out.append(instrument_max if number.keyword else max(number.values, key=abs))
        if not out:
            raise scpi.ScpiSyntaxError(-109, "Missing parameter")
        return out

    def install(self, adapter):
        """Put the guard under ``adapter``: on its pyvisa resource if it has one, else on the
        adapter's own write methods (reads are watched for *OPC? replies). Returns it."""
        from pymeasure.adapters import VISAAdapter

        resource = getattr(adapter, "connection", None)
        if isinstance(adapter, VISAAdapter) and resource is not None:
            raw, read = resource.write_raw, resource._read_raw

            def write_raw(message: bytes, *args, **kwargs):
                self.check(_text(message))
                return raw(message, *args, **kwargs)

            def _read_raw(*args, **kwargs):
                try:
                    reply = read(*args, **kwargs)
                except Exception:
                    self.replied(ok=False)
                    raise
                self.replied()
                return reply

            resource.write_raw, resource._read_raw = write_raw, _read_raw
        else:
            write, write_bytes, read = adapter._write, adapter._write_bytes, adapter._read
            inside = []  # an adapter's _write may end in its own _write_bytes: check once

            def _write(command: str, **kwargs):
                self.check(command)
                inside.append(True)
                try:
                    return write(command, **kwargs)
                finally:
                    inside.pop()

            def _write_bytes(content: bytes, **kwargs):
                if not inside:
                    self.check(_text(content))
                return write_bytes(content, **kwargs)

            def _read(**kwargs):
                try:
                    reply = read(**kwargs)
                except Exception:
                    self.replied(ok=False)
                    raise
                self.replied()
                return reply

            adapter._write, adapter._write_bytes, adapter._read = _write, _write_bytes, _read
        adapter.guard = self
        return adapter


def _text(message: bytes) -> str:
    try:
        text = bytes(message).decode("ascii")
    except UnicodeDecodeError:
        raise UnknownCommandError("bytes that are not ASCII SCPI are refused") from None
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in text):
        raise UnknownCommandError(f"control characters refused in {text!r}")
    return text


# ---------------------------------------------------------------------------------------
# Keithley 6221
# ---------------------------------------------------------------------------------------
I_6221 = 0.105  # A, Model 6220/6221 Reference Manual, specifications: +-105 mA
SHAPE_SAMPLES = 3600


@dataclass
class State6221:
    level: float | None = None
    output: bool | None = None
    compliance: float | None = None
    function: str | None = None
    frequency: float | None = None
    amplitude: float | None = None
    offset: float | None = None
    duty: float | None = None
    duration: tuple[str, float] | None = None  # ("CYCL", n) or ("TIME", s); INF = math.inf
    arb: dict[int, list[float] | None] = field(default_factory=lambda: dict.fromkeys(range(5)))
    wave_armed: bool = False  # armed or playing: a change is checked as if live
    wave_started: bool = False  # INITiated: done once the instrument says so
    spacing: str | None = None
    sweep: dict[str, float | None] = field(default_factory=dict)  # STAR/STOP/CENT/SPAN
    delay: float | None = None
    list_currents: list[float] | None = None
    list_delays: list[float] | None = None


def _arb_points(unit: scpi.Unit) -> list[float]:
    points = []
    for text in unit.params():
        number = scpi.numeric(text)
        points.append(1.0 if number.keyword else max(number.values, key=abs))
    return points


class Guard6221(SourceGuard):
    """Keithley 6221 (Model 6220/6221 Reference Manual, section 14 "SCPI tables": the
    SOURce subsystem with its sweep, list, delta, pulse-delta, differential-conductance and
    waveform/ARB commands, OUTPut, TRIGger/ARM with the trigger link, SENSe and CALCulate for
    the 2182A, TRACe, DISPlay, FORMat, STATus, SYSTem, UNIT)."""

    model = "Keithley 6221"
    _S = "[:SOURce[1]]"
    table = [
        # SOURce: DC level, range, compliance, sweeps, lists (section 14, SOURce subsystem)
        (_S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", "_level"),
        (_S + ":CURRent:RANGe", None), (_S + ":CURRent:RANGe:AUTO", None),
        (_S + ":CURRent:COMPliance", "_compliance"),
        (_S + ":CURRent:FILTer[:STATe]", None),
        (_S + ":CURRent:STARt", "_sweep_point"), (_S + ":CURRent:STOP", "_sweep_point"),
        (_S + ":CURRent:CENTer", "_sweep_point"), (_S + ":CURRent:SPAN", "_sweep_point"),
        (_S + ":CURRent:STEP", "_sweep_step"),
        (_S + ":CLEar[:IMMediate]", "_output_off"),
        (_S + ":DELay", "_delay"),
        (_S + ":SWEep:SPACing", "_spacing"), (_S + ":SWEep:POINts", None),
        (_S + ":SWEep:RANGing", None), (_S + ":SWEep:COUNt", None),
        (_S + ":SWEep:CABort", None), (_S + ":SWEep:ARM", "_sweep_arm"),
        (_S + ":SWEep:ABORt", None),
        (_S + ":LIST:CURRent", "_list_currents"), (_S + ":LIST:CURRent:APPend", "_list_append"),
        (_S + ":LIST:CURRent:POINts", None),
        (_S + ":LIST:DELay", "_list_delays"), (_S + ":LIST:DELay:APPend", "_list_delays_append"),
        (_S + ":LIST:DELay:POINts", None),
        (_S + ":LIST:COMPliance", "_list_compliances"),
        (_S + ":LIST:COMPliance:APPend", "_list_compliances"),
        (_S + ":LIST:COMPliance:POINts", None),
        # delta, pulse delta, differential conductance (with a 2182A)
        (_S + ":DELTa:HIGH", "_read_level"), (_S + ":DELTa:LOW", "_read_level"),
        (_S + ":DELTa:DELay", None), (_S + ":DELTa:COUNt", None),
        (_S + ":DELTa:CABort", None), (_S + ":DELTa:ARM", None),
        (_S + ":DELTa:NVPResent", None),
        (_S + ":PDELta:HIGH", "_pulse_level"), (_S + ":PDELta:LOW", "_read_level"),
        (_S + ":PDELta:WIDTh", "_pulse_width"), (_S + ":PDELta:SDELay", None),
        (_S + ":PDELta:COUNt", None), (_S + ":PDELta:RANGe", None),
        (_S + ":PDELta:INTerval", None), (_S + ":PDELta:SWEep", None),
        (_S + ":PDELta:LMEasure", None), (_S + ":PDELta:ARM", None),
        (_S + ":PDELta:NVPResent", None),
        (_S + ":DCONductance:STARt", "_read_level"), (_S + ":DCONductance:STEP", "_read_level"),
        (_S + ":DCONductance:STOP", "_read_level"), (_S + ":DCONductance:DELTa", "_read_level"),
        (_S + ":DCONductance:DELay", None), (_S + ":DCONductance:CABort", None),
        (_S + ":DCONductance:ARM", None), (_S + ":DCONductance:NVPResent", None),
        # waveform function generator (6221 only)
        (_S + ":WAVE:FUNCtion", "_wave_function"), (_S + ":WAVE:FREQuency", "_wave_frequency"),
        (_S + ":WAVE:AMPLitude", "_wave_amplitude"), (_S + ":WAVE:OFFSet", "_wave_offset"),
        (_S + ":WAVE:DCYCle", "_wave_duty"),
        (_S + ":WAVE:DURation:TIME", "_wave_time"), (_S + ":WAVE:DURation:CYCLes", "_wave_cycles"),
        (_S + ":WAVE:RANGing", None),
        (_S + ":WAVE:PMARker[:LEVel]", None), (_S + ":WAVE:PMARker:STATe", None),
        (_S + ":WAVE:PMARker:OLINe", None),
        (_S + ":WAVE:ARBitrary:DATA", "_arb_data"), (_S + ":WAVE:ARBitrary:APPend", "_arb_append"),
        (_S + ":WAVE:ARBitrary:COPY", "_arb_copy"), (_S + ":WAVE:ARBitrary:NAME", None),
        (_S + ":WAVE:ARM", "_wave_arm"), (_S + ":WAVE:INITiate", "_wave_start"),
        (_S + ":WAVE:ABORt", "_wave_abort"),
        # OUTPut
        (":OUTPut[:STATe]", "_output"), (":OUTPut:LTEarth", None), (":OUTPut:ISHield", None),
        (":OUTPut:RESPonse", None), (":OUTPut:INTerlock:TRIPped", None),
        # trigger model, trigger link (section 14 TRIGger subsystem; section 9 triggering)
        (":INITiate[:IMMediate]", None), (":ABORt", None),
        (":ARM:SOURce", None), (":ARM:TIMer", None), (":ARM:DIRection", None),
        (":ARM:ILINe", None), (":ARM:OLINe", None), (":ARM:OUTPut", None), (":ARM:COUNt", None),
        (":TRIGger:SOURce", None), (":TRIGger:DIRection", None), (":TRIGger:ILINe", None),
        (":TRIGger:OLINe", None), (":TRIGger:OUTPut", None), (":TRIGger:COUNt", None),
        (":TRIGger:DELay", None), (":TRIGger:TIMer", None),
        # measurement side (2182A through the 6221), buffer, display, format, status, system
        (":SENSe[1]:DATA[:LATest]", None), (":SENSe[1]:DATA:FRESh", None),
        (":SENSe[1]:AVERage[:STATe]", None), (":SENSe[1]:AVERage:TCONtrol", None),
        (":SENSe[1]:AVERage:WINDow", None), (":SENSe[1]:AVERage:COUNt", None),
        (":CALCulate[1]:FORMat", None), (":CALCulate[1]:KMATh:MMFactor", None),
        (":CALCulate[1]:KMATh:MBFactor", None), (":CALCulate[1]:KMATh:MUNits", None),
        (":CALCulate[1]:STATe", None), (":CALCulate[1]:DATA", None),
        (":CALCulate[1]:DATA:LATest", None),
        (":CALCulate2:FORMat", None), (":CALCulate2:LIMit[1]:UPPer[:DATA]", None),
        (":CALCulate2:LIMit[1]:LOWer[:DATA]", None), (":CALCulate2:LIMit[1]:STATe", None),
        (":CALCulate2:LIMit[1]:FAIL", None), (":CALCulate3:FORMat", None),
        (":CALCulate3:DATA", None),
        (":TRACe:CLEar", None), (":TRACe:FREE", None), (":TRACe:POINts", None),
        (":TRACe:POINts:ACTual", None), (":TRACe:NOTify", None), (":TRACe:DATA", None),
        (":TRACe:DATA:TYPE", None),
        (":DISPlay:ENABle", None), (":DISPlay[:WINDow[1]]:TEXT:DATA", None),
        (":DISPlay[:WINDow[1]]:TEXT:STATe", None), (":DISPlay:WINDow2:TEXT:DATA", None),
        (":DISPlay:WINDow2:TEXT:STATe", None), (":DISPlay[:WINDow[1]]:DATA", None),
        (":DISPlay:WINDow2:DATA", None), (":DISPlay:CNDisplay", None),
        (":FORMat[:DATA]", None), (":FORMat:ELEMents", None), (":FORMat:BORDer", None),
        (":FORMat:SREGister", None),
        (":STATus:MEASurement[:EVENt]", None), (":STATus:MEASurement:ENABle", None),
        (":STATus:MEASurement:CONDition", None), (":STATus:OPERation[:EVENt]", None),
        (":STATus:OPERation:ENABle", None), (":STATus:OPERation:CONDition", None),
        (":STATus:QUEStionable[:EVENt]", None), (":STATus:QUEStionable:ENABle", None),
        (":STATus:QUEStionable:CONDition", None), (":STATus:PRESet", None),
        (":STATus:QUEue[:NEXT]", None), (":STATus:QUEue:ENABle", None),
        (":STATus:QUEue:DISable", None), (":STATus:QUEue:CLEar", None),
        (":SYSTem:ERRor[:NEXT]", None), (":SYSTem:ERRor:ALL", None),
        (":SYSTem:ERRor:COUNt", None), (":SYSTem:ERRor:CODE[:NEXT]", None),
        (":SYSTem:ERRor:CODE:ALL", None), (":SYSTem:VERSion", None), (":SYSTem:KEY", None),
        (":SYSTem:BEEPer[:STATe]", None), (":SYSTem:CLEar", None), (":SYSTem:LOCal", None),
        (":SYSTem:REMote", None), (":SYSTem:RWLock", None), (":SYSTem:PRESet", "_preset"),
        # the RS-232 link to a 2182A nanovoltmeter (delta modes): text for the voltmeter
        (":SYSTem:COMMunicate:SERial:SEND", None), (":SYSTem:COMMunicate:SERial:ENTer", None),
        (":SYSTem:COMMunicate:SERial:BAUD", None),
        (":UNIT[:VOLTage][:DC]", None),
    ]

    def unknown_state(self) -> State6221:
        return State6221()

    def copy_state(self, state: State6221) -> State6221:
        """Lists are replaced, never changed in place: copying the dicts is enough (an
        uploaded 65,536-point ARB is not copied on every line)."""
        return dataclasses.replace(state, arb=dict(state.arb), sweep=dict(state.sweep))

    def reset_state(self) -> State6221:
        """*RST defaults (Reference Manual, section 14 tables, default column); ARB locations 1-4
        live in non-volatile memory and stay unknown."""
        return State6221(level=0.0, output=False, compliance=10.0, function="SIN",
                         frequency=1e3, amplitude=2e-12, offset=0.0, duty=50.0,
                         duration=("CYCL", math.inf), spacing="LIN", delay=1e-3,
                         sweep={"STAR": 0.0, "STOP": 0.0, "CENT": 0.0, "SPAN": 0.0})

    # -- DC ------------------------------------------------------------------------------
    def _limits(self) -> SafetyLimits:
        return self.limits()

    def _level(self, state: State6221, unit: scpi.Unit) -> None:
        limits = self._limits()
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "DC current", value, limits.max_pulse_current, "A", text=unit.text)
        if state.output is not False:
            self._dc_on(value, unit.text)
        state.level = value

    def _dc_on(self, level: float | None, text: str) -> None:
        limits = self._limits()
        if level is None:
            raise LimitError(f"{self.model}: {text!r} refused: the DC level is unknown "
                             "(send *RST or set SOUR:CURR first)")
        if abs(level) > limits.max_read_current:
            raise LimitError(
                f"{self.model}: DC current = {level:g} A with the output on (in {text!r}) is "
                f"outside the allowed range [{-limits.max_read_current:g}, "
                f"{limits.max_read_current:g}] A (safety limit: above the read current only "
                f"hardware-timed pulses up to {limits.max_pulse_width:g} s)")

    def _output(self, state: State6221, unit: scpi.Unit) -> None:
        on = scpi.boolean(unit.args)
        if on:
            self._dc_on(state.level, unit.text)
        state.output = on

    def _output_off(self, state: State6221, unit: scpi.Unit) -> None:
        state.output = False

    def _preset(self, state: State6221, unit: scpi.Unit) -> None:
        state.__dict__.update(copy.deepcopy(self.reset_state().__dict__))

    def _compliance(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "V", 105.0, 0.1)
        _bounded(self.model, "compliance voltage", value, self._limits().compliance_voltage,
                 "V", 0.0, unit.text)
        state.compliance = value

    def _list_compliances(self, state: State6221, unit: scpi.Unit) -> None:
        for value in self.values(unit, "V", 105.0):
            _bounded(self.model, "compliance voltage", value,
                     self._limits().compliance_voltage, "V", 0.0, unit.text)

    def _read_level(self, state: State6221, unit: scpi.Unit) -> None:
        _bounded(self.model, "read-level current", self.value(unit, "A", I_6221),
                 self._limits().max_read_current, "A", text=unit.text)

    def _pulse_level(self, state: State6221, unit: scpi.Unit) -> None:
        _bounded(self.model, "pulse current", self.value(unit, "A", I_6221),
                 self._limits().max_pulse_current, "A", text=unit.text)

    def _pulse_width(self, state: State6221, unit: scpi.Unit) -> None:
        _bounded(self.model, "pulse width", self.value(unit, "S", 12e-3),
                 self._limits().max_pulse_width, "s", 0.0, unit.text)

    # -- sweeps --------------------------------------------------------------------------
    def _sweep_point(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "sweep current", value, self._limits().max_pulse_current, "A",
                 text=unit.text)
        state.sweep[unit.nodes[-1][:4]] = value

    def _sweep_step(self, state: State6221, unit: scpi.Unit) -> None:
        self.value(unit, "A", I_6221)  # the points stay between STARt and STOP

    def _delay(self, state: State6221, unit: scpi.Unit) -> None:
        state.delay = self.value(unit, "S", 999999.999, 1e-3)

    def _spacing(self, state: State6221, unit: scpi.Unit) -> None:
        state.spacing = scpi.character(unit.args, {"LINear": "LIN", "LOGarithmic": "LOG",
                                                   "LIST": "LIST"})

    def _list_currents(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_currents = self._checked_list(unit)

    def _list_append(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_currents = (state.list_currents or [I_6221]) + self._checked_list(unit)

    def _checked_list(self, unit: scpi.Unit) -> list[float]:
        values = self.values(unit, "A", I_6221)
        for value in values:
            _bounded(self.model, "sweep current", value, self._limits().max_pulse_current,
                     "A", text=unit.text[:80])
        return values

    def _list_delays(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_delays = self.values(unit, "S", 999999.999)

    def _list_delays_append(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_delays = (state.list_delays or [math.inf]) + self.values(
            unit, "S", 999999.999)

    def _sweep_arm(self, state: State6221, unit: scpi.Unit) -> None:
        """A sweep point above the read limit is DC for its delay: no longer than the
        pulse-width limit (Reference Manual, sweeps: each point lasts its source delay)."""
        limits = self._limits()
        if state.spacing == "LIST":
            currents = state.list_currents or [I_6221]
            delays = state.list_delays or [math.inf]
            if len(delays) == 1:
                delays = delays * len(currents)
            holds = [(c, d) for c, d in zip(currents, delays + [math.inf] * len(currents),
                                            strict=False)]
        else:
            points = [state.sweep.get(k) for k in ("STAR", "STOP")]
            centre, span = state.sweep.get("CENT"), state.sweep.get("SPAN")
            if centre is not None and span is not None:
                points += [centre - span / 2, centre + span / 2]
            peak = max((abs(p) if p is not None else I_6221) for p in points)
            holds = [(peak, state.delay if state.delay is not None else math.inf)]
        for current, hold in holds:
            if abs(current) > limits.max_read_current and hold > limits.max_pulse_width:
                raise LimitError(
                    f"{self.model}: sweep point {current:g} A held {hold:g} s (in "
                    f"{unit.text!r}) is above the read current for longer than the allowed "
                    f"pulse width [0, {limits.max_pulse_width:g}] s (safety limit)")

    # -- waveforms -----------------------------------------------------------------------
    def _wave_function(self, state: State6221, unit: scpi.Unit) -> None:
        state.function = scpi.character(unit.args, {
            "SINe": "SIN", "SQUare": "SQU", "RAMP": "RAMP", "ARBitrary0": "ARB0",
            "ARBitrary1": "ARB1", "ARBitrary2": "ARB2", "ARBitrary3": "ARB3",
            "ARBitrary4": "ARB4"})
        self._wave_changed(state, unit)

    def _wave_frequency(self, state: State6221, unit: scpi.Unit) -> None:
        state.frequency = self.value(unit, "HZ", 1e5, 1e-3)
        self._wave_changed(state, unit)

    def _wave_amplitude(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221, 2e-12)
        _bounded(self.model, "waveform amplitude", value, self._limits().max_pulse_current,
                 "A", 0.0, unit.text)
        state.amplitude = value
        self._wave_changed(state, unit)

    def _wave_offset(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "waveform offset", value, self._limits().max_read_current, "A",
                 text=unit.text)
        state.offset = value
        self._wave_changed(state, unit)

    def _wave_duty(self, state: State6221, unit: scpi.Unit) -> None:
        state.duty = self.value(unit, "PCT", 100.0, 0.0)
        self._wave_changed(state, unit)

    def _wave_time(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "S", 999999.999, 100e-9)
        state.duration = ("TIME", math.inf if value >= scpi.SCPI_INFINITY else value)
        self._wave_changed(state, unit)

    def _wave_cycles(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "", 99999999999.0, 1e-3)
        state.duration = ("CYCL", math.inf if value >= scpi.SCPI_INFINITY else value)
        self._wave_changed(state, unit)

    def _arb_data(self, state: State6221, unit: scpi.Unit) -> None:
        state.arb[0] = _arb_points(unit)
        if state.function == "ARB0":
            self._wave_changed(state, unit)

    def _arb_append(self, state: State6221, unit: scpi.Unit) -> None:
        state.arb[0] = (state.arb[0] or [1.0]) + _arb_points(unit)
        if state.function == "ARB0":
            self._wave_changed(state, unit)

    def _arb_copy(self, state: State6221, unit: scpi.Unit) -> None:
        location = self.value(unit, "", 4, 1)
        if location not in (1, 2, 3, 4):
            raise scpi.ScpiSyntaxError(-222, "ARB location must be 1-4")
        state.arb[int(location)] = None if state.arb[0] is None else list(state.arb[0])
        if state.function == f"ARB{int(location)}":
            self._wave_changed(state, unit)

    def _wave_arm(self, state: State6221, unit: scpi.Unit) -> None:
        self._check_waveform(state, unit.text)
        state.wave_armed, state.wave_started = True, False

    def _wave_start(self, state: State6221, unit: scpi.Unit) -> None:
        self._check_waveform(state, unit.text)
        state.wave_armed = state.wave_started = True

    def _wave_abort(self, state: State6221, unit: scpi.Unit) -> None:
        state.wave_armed = state.wave_started = False

    def completed(self, state: State6221) -> None:
        """A waveform of finite duration has played out and disarmed itself; one of
        infinite duration plays until ABORt."""
        if state.wave_started and state.duration is not None and \
                math.isfinite(state.duration[1]):
            state.wave_armed = state.wave_started = False

    def _wave_changed(self, state: State6221, unit: scpi.Unit) -> None:
        _bounded(self.model, "waveform peak (offset + amplitude x shape)", self._peak(state),
                 self._limits().max_pulse_current, "A", text=unit.text)
        if state.wave_armed:
            self._check_waveform(state, unit.text)

    def _peak(self, state: State6221) -> float:
        shape_peak = float(np.max(np.abs(self._shape(state))))
        if state.function is not None and not state.function.startswith("ARB"):
            shape_peak = 1.0  # sine, square and ramp reach full scale
        return abs(state.offset or 0.0) + (state.amplitude or 0.0) * shape_peak

    def _shape(self, state: State6221) -> np.ndarray:
        """One period, normalised to the amplitude; unknown counts as full scale."""
        function = state.function
        if function is None:
            return np.ones(1)
        if function.startswith("ARB"):
            points = state.arb[int(function[3])]
            return np.ones(1) if not points else np.asarray(points, dtype=float)
        phase = (np.arange(SHAPE_SAMPLES) + 0.5) / SHAPE_SAMPLES
        duty = 50.0 if state.duty is None else state.duty
        if function == "SQU":
            return np.where(phase < duty / 100.0, 1.0, -1.0)
        if function == "RAMP":
            rise = max(duty / 100.0, 1e-9)
            return np.where(phase < rise, -1 + 2 * phase / rise,
                            1 - 2 * (phase - rise) / max(1 - rise, 1e-9))
        return np.sin(2 * np.pi * phase)

    def _check_waveform(self, state: State6221, text: str) -> None:
        """At ARM/INIT: the peak, and the longest stretch above the read current (cyclic,
        capped by the duration; a sampled shape gets two samples of margin)."""
        limits = self._limits()
        if state.amplitude is None or state.offset is None:
            raise LimitError(f"{self.model}: {text!r} refused: waveform amplitude or offset "
                             "unknown (send *RST or set SOUR:WAVE:AMPL and :OFFS first)")
        _bounded(self.model, "waveform peak (offset + amplitude x shape)", self._peak(state),
                 limits.max_pulse_current, "A", text=text)
        shape = self._shape(state)
        above = np.abs(state.offset + state.amplitude * shape) > \
            limits.max_read_current * (1 + REL)
        if not above.any():
            return
        period = 1.0 / state.frequency if state.frequency else math.inf
        total = self._duration(state, period)
        run = _longest_cyclic_run(above)
        if run >= len(shape):
            stretch = total
        else:
            margin = 0 if state.function and state.function.startswith("ARB") else 2
            stretch = min(total, (run + margin) * period / len(shape))
        if stretch > limits.max_pulse_width:
            raise LimitError(
                f"{self.model}: waveform above the read current for {stretch:g} s (in "
                f"{text!r}) is outside the allowed pulse width [0, {limits.max_pulse_width:g}]"
                " s (safety limit)")

    @staticmethod
    def _duration(state: State6221, period: float) -> float:
        if state.duration is None:
            return math.inf
        kind, amount = state.duration
        return amount * period if kind == "CYCL" else amount


def _longest_cyclic_run(mask: np.ndarray) -> int:
    if mask.all():
        return len(mask)
    doubled = np.concatenate([mask, mask]).astype(np.int8)
    edges = np.diff(np.concatenate([[0], doubled, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int(min(np.max(ends - starts), len(mask)))


# ---------------------------------------------------------------------------------------
# Keithley 2400
# ---------------------------------------------------------------------------------------
I_2400, V_2400 = 1.05, 210.0  # Model 2400 User's Manual, specifications: +-1.05 A, +-210 V


@dataclass
class State2400:
    function: str | None = None
    current: float | None = None
    voltage: float | None = None
    compliance_current: float | None = None
    compliance_voltage: float | None = None
    output: bool | None = None


class Guard2400(SourceGuard):
    """Keithley 2400 as coil supply or bias source (Model 2400 User's Manual, section 18
    SCPI command reference: SOURce, SENSe, OUTPut, TRACe, TRIGger/ARM, FORMat, SYSTem...)."""

    model = "Keithley 2400"
    _S = "[:SOURce[1]]"

    def __init__(self, limits: LimitsSource, coil_constant: Callable[[], float]) -> None:
        self.coil_constant = coil_constant
        super().__init__(limits)

    table = [
        (_S + ":FUNCtion[:MODE]", "_function"), (_S + ":FUNCtion:SHAPe", None),
        (_S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", "_current"),
        (_S + ":CURRent[:LEVel]:TRIGgered[:AMPLitude]", "_current"),
        (_S + ":CURRent:STARt", "_currents"), (_S + ":CURRent:STOP", "_currents"),
        (_S + ":CURRent:CENTer", "_currents"), (_S + ":CURRent:SPAN", "_currents"),
        (_S + ":CURRent:STEP", "_currents"), (_S + ":CURRent:MODE", "_mode"),
        (_S + ":CURRent:RANGe", None), (_S + ":CURRent:RANGe:AUTO", None),
        (_S + ":VOLTage[:LEVel][:IMMediate][:AMPLitude]", "_voltage"),
        (_S + ":VOLTage[:LEVel]:TRIGgered[:AMPLitude]", "_voltage"),
        (_S + ":VOLTage:STARt", "_voltages"), (_S + ":VOLTage:STOP", "_voltages"),
        (_S + ":VOLTage:CENTer", "_voltages"), (_S + ":VOLTage:SPAN", "_voltages"),
        (_S + ":VOLTage:STEP", "_voltages"), (_S + ":VOLTage:MODE", "_mode"),
        (_S + ":VOLTage:RANGe", None), (_S + ":VOLTage:RANGe:AUTO", None),
        (_S + ":VOLTage:PROTection[:LEVel]", None),
        (_S + ":LIST:CURRent", "_currents"), (_S + ":LIST:CURRent:APPend", "_currents"),
        (_S + ":LIST:CURRent:POINts", None),
        (_S + ":LIST:VOLTage", "_voltages"), (_S + ":LIST:VOLTage:APPend", "_voltages"),
        (_S + ":LIST:VOLTage:POINts", None),
        (_S + ":SWEep:RANGing", None), (_S + ":SWEep:SPACing", None),
        (_S + ":SWEep:POINts", None), (_S + ":SWEep:DIRection", None),
        (_S + ":SWEep:CABort", None),
        (_S + ":DELay", None), (_S + ":DELay:AUTO", None),
        (_S + ":CLEar[:IMMediate]", "_output_off"), (_S + ":CLEar:AUTO", None),
        (_S + ":CLEar:AUTO:MODE", None),
        (":SOURce2:TTL[:LEVel][:DEFault]", None), (":SOURce2:TTL:ACTual", None),
        (":SOURce2:BSIZe", None), (":SOURce2:TTL4:MODE", None), (":SOURce2:TTL4:BSTate", None),
        (":SOURce2:CLEar[:IMMediate]", None), (":SOURce2:CLEar:AUTO", None),
        (":SOURce2:CLEar:AUTO:DELay", None),
        (":OUTPut[:STATe]", "_output"), (":OUTPut:SMODe", None),
        (":OUTPut:ENABle[:STATe]", None), (":OUTPut:ENABle:TRIPped", None),
        (":OUTPut:INTerlock:STATe", None), (":OUTPut:INTerlock:TRIPped", None),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection[:LEVel]", "_compliance_current"),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection:TRIPped", None),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection:RSYNchronize", None),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection[:LEVel]", "_compliance_voltage"),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection:TRIPped", None),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection:RSYNchronize", None),
        ("[:SENSe[1]]:FUNCtion[:ON]", None), ("[:SENSe[1]]:FUNCtion:OFF", None),
        ("[:SENSe[1]]:FUNCtion:ON:ALL", None), ("[:SENSe[1]]:FUNCtion:OFF:ALL", None),
        ("[:SENSe[1]]:FUNCtion:ON:COUNt", None), ("[:SENSe[1]]:FUNCtion:OFF:COUNt", None),
        ("[:SENSe[1]]:FUNCtion:CONCurrent", None), ("[:SENSe[1]]:FUNCtion:STATe", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe[:UPPer]", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO:ULIMit", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO:LLIMit", None),
        ("[:SENSe[1]]:CURRent[:DC]:NPLCycles", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe[:UPPer]", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO:ULIMit", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO:LLIMit", None),
        ("[:SENSe[1]]:VOLTage[:DC]:NPLCycles", None),
        ("[:SENSe[1]]:RESistance:MODE", None), ("[:SENSe[1]]:RESistance:OCOMpensated", None),
        ("[:SENSe[1]]:RESistance:RANGe[:UPPer]", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO:ULIMit", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO:LLIMit", None),
        ("[:SENSe[1]]:RESistance:NPLCycles", None),
        ("[:SENSe[1]]:AVERage[:STATe]", None), ("[:SENSe[1]]:AVERage:TCONtrol", None),
        ("[:SENSe[1]]:AVERage:COUNt", None), ("[:SENSe[1]]:DATA[:LATest]", None),
        (":ROUTe:TERMinals", None),
        (":INITiate[:IMMediate]", None), (":ABORt", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:COUNt", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:SOURce", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:TIMer", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:DIRection", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:ILINe", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OLINe", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OUTPut", None),
        (":TRIGger:CLEar", None),
        (":TRIGger[:SEQuence[1]]:COUNt", None), (":TRIGger[:SEQuence[1]]:DELay", None),
        (":TRIGger[:SEQuence[1]]:SOURce", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:DIRection", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:ILINe", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:OLINe", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:INPut", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:OUTPut", None),
        (":FETCh", None), (":READ", None),
        (":MEASure:CURRent[:DC]", None), (":MEASure:VOLTage[:DC]", None),
        (":MEASure:RESistance", None), (":MEASure", None),
        (":CALCulate3:FORMat", None), (":CALCulate3:DATA", None),
        (":CALCulate2:FEED", None), (":CALCulate2:DATA", None),
        (":CALCulate2:NULL:OFFSet", None), (":CALCulate2:NULL:STATe", None),
        (":TRACe:DATA", None), (":TRACe:CLEar", None), (":TRACe:FREE", None),
        (":TRACe:POINts", None), (":TRACe:POINts:ACTual", None),
        (":TRACe:FEED", None), (":TRACe:FEED:CONTrol", None), (":TRACe:TSTamp:FORMat", None),
        (":FORMat[:DATA]", None), (":FORMat:ELEMents[:SENSe[1]]", None),
        (":FORMat:ELEMents:CALCulate", None), (":FORMat:BORDer", None),
        (":FORMat:SREGister", None), (":FORMat:SOURce2", None),
        (":DISPlay:ENABle", None), (":DISPlay:CNDisplay", None),
        (":DISPlay[:WINDow[1]]:TEXT[:DATA]", None), (":DISPlay[:WINDow[1]]:TEXT:STATe", None),
        (":DISPlay:WINDow2:TEXT[:DATA]", None), (":DISPlay:WINDow2:TEXT:STATe", None),
        (":DISPlay:DIGits", None),
        (":STATus:MEASurement[:EVENt]", None), (":STATus:MEASurement:ENABle", None),
        (":STATus:MEASurement:CONDition", None), (":STATus:OPERation[:EVENt]", None),
        (":STATus:OPERation:ENABle", None), (":STATus:OPERation:CONDition", None),
        (":STATus:QUEStionable[:EVENt]", None), (":STATus:QUEStionable:ENABle", None),
        (":STATus:QUEStionable:CONDition", None), (":STATus:PRESet", None),
        (":STATus:QUEue[:NEXT]", None), (":STATus:QUEue:ENABle", None),
        (":STATus:QUEue:DISable", None), (":STATus:QUEue:CLEar", None),
        (":SYSTem:ERRor[:NEXT]", None), (":SYSTem:ERRor:ALL", None),
        (":SYSTem:ERRor:COUNt", None), (":SYSTem:ERRor:CODE[:NEXT]", None),
        (":SYSTem:ERRor:CODE:ALL", None), (":SYSTem:VERSion", None),
        (":SYSTem:AZERo[:STATe]", None), (":SYSTem:BEEPer[:STATe]", None),
        (":SYSTem:CLEar", None), (":SYSTem:KEY", None), (":SYSTem:LFRequency", None),
        (":SYSTem:LFRequency:AUTO", None), (":SYSTem:TIME", None),
        (":SYSTem:TIME:RESet", None), (":SYSTem:LOCal", None), (":SYSTem:REMote", None),
        (":SYSTem:RWLock", None), (":SYSTem:RSENse", None), (":SYSTem:GUARd", None),
        (":SYSTem:PRESet", "_preset"),
    ]

    def unknown_state(self) -> State2400:
        return State2400()

    def reset_state(self) -> State2400:
        """*RST (2400 User's Manual, section 18 tables, *RST column): source V at 0,
        21 V / 105 uA compliance, output off."""
        return State2400("VOLT", 0.0, 0.0, 105e-6, 21.0, False)

    def _max_current(self) -> float:
        return min(I_2400, self.limits().max_field / self.coil_constant())

    def _current(self, state: State2400, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_2400)
        _bounded(self.model, "coil current", value, self._max_current(), "A", text=unit.text)
        state.current = value

    def _voltage(self, state: State2400, unit: scpi.Unit) -> None:
        value = self.value(unit, "V", V_2400)
        _bounded(self.model, "source voltage", value, self.limits().compliance_voltage, "V",
                 text=unit.text)
        state.voltage = value

    def _currents(self, state: State2400, unit: scpi.Unit) -> None:
        for value in self.values(unit, "A", I_2400):
            _bounded(self.model, "coil current (sweep, list)", value, self._max_current(), "A",
                     text=unit.text[:80])

    def _voltages(self, state: State2400, unit: scpi.Unit) -> None:
        for value in self.values(unit, "V", V_2400):
            _bounded(self.model, "source voltage", value, self.limits().compliance_voltage,
                     "V", text=unit.text[:80])

    def _compliance_current(self, state: State2400, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_2400, default=105e-6)
        _bounded(self.model, "compliance current", value, self._max_current(), "A", 0.0,
                 unit.text)
        state.compliance_current = value

    def _compliance_voltage(self, state: State2400, unit: scpi.Unit) -> None:
        value = self.value(unit, "V", V_2400, default=21.0)
        _bounded(self.model, "compliance voltage", value, self.limits().compliance_voltage,
                 "V", 0.0, unit.text)
        state.compliance_voltage = value

    def _function(self, state: State2400, unit: scpi.Unit) -> None:
        state.function = scpi.character(unit.args, {"CURRent": "CURR", "VOLTage": "VOLT"})

    def _mode(self, state: State2400, unit: scpi.Unit) -> None:
        scpi.character(unit.args, {"FIXed": "FIX", "SWEep": "SWE", "LIST": "LIST"})

    def _output(self, state: State2400, unit: scpi.Unit) -> None:
        state.output = scpi.boolean(unit.args)

    def _output_off(self, state: State2400, unit: scpi.Unit) -> None:
        state.output = False

    def _preset(self, state: State2400, unit: scpi.Unit) -> None:
        state.__dict__.update(copy.deepcopy(self.reset_state().__dict__))
