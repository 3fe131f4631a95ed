"""Keithley 6221, 2000 and 2400 drivers for the protocols: pymeasure's drivers, extended.

What pymeasure 0.16 lacks is added as declarative ``Instrument.control`` properties; its two
bugs are fixed (6221 ``config_buffer`` set a trigger count the class never defined, so
nothing was sent; 2000 ``voltage_ac_range`` wrote the DC auto-range command).

Safety in two layers: the source controls validate against the device limits (pymeasure
``dynamic`` values, recomputed whenever ``limits`` or the coil constant change), and under
every source driver sits the one guard of ``instruments.guard``, on the VISA resource itself,
which reads every outgoing line as SCPI and refuses any that would put the source beyond a
limit, whoever sends it (our methods, pymeasure's properties, ``adapter.write``).

Pulse route (6221): a two-point arbitrary waveform [+-1, 0] played once at f = 1 / (2 w):
the instrument times the pulse in hardware with microsecond resolution (5 us to 500 s),
where a DC output switched on and off by software is as long as the bus round trip, and the
sweep list's delays start at 1 ms.
"""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
from pymeasure.adapters import VISAAdapter
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2000, Keithley2400, Keithley6221
from pymeasure.instruments.validators import strict_discrete_set, strict_range, truncated_range
from pyvisa.errors import VisaIOError

from instruments.errors import InstrumentError, ReplyError
from instruments.guard import Guard2400, Guard6221, SourceGuard
from instruments.limits import LimitError, SafetyLimits


def _float_list(values) -> str:
    return ",".join(f"{float(v):g}" for v in values)


def _shortest_decimal(text: str) -> str:
    """The same number in fewer characters (IEEE 488.2 7.7.2 decimal numeric program
    data: a mantissa may start at its decimal point): "-1.0" -> "-1", "0.25" -> ".25"."""
    if "e" in text or "E" in text:
        return text
    if text.endswith(".0"):
        text = text[:-2]
    if text.startswith(("0.", "-0.")):
        text = text.replace("0.", ".", 1)
    return text


def _parse_floats(reply) -> list[float]:
    items = reply if isinstance(reply, list) else str(reply).split(",")
    return [float(v) for v in items]


def _within(field: str, unit: str):
    """A pymeasure validator for a device limit: the error names the field and the range."""

    def validator(value, values):
        low, high = values
        if not low <= value <= high:
            raise LimitError(f"{field} = {value:g} {unit} is outside the allowed range "
                             f"[{low:g}, {high:g}] {unit} (safety limit)")
        return value

    return validator


def _guarded(adapter, guard: SourceGuard, kwargs: dict):
    """The adapter a source driver talks through, with ``guard`` under it from the first
    byte (pymeasure's own constructors write before they return)."""
    if isinstance(adapter, int | str):
        adapter = VISAAdapter(adapter, **kwargs)
        kwargs.clear()
    return guard.install(adapter)


# -- replies ---------------------------------------------------------------------------------
# What an instrument may answer, from its manual; anything else is a ReplyError naming the
# instrument, the command and the reply, and never becomes a value.
# A reading (Model 2000 User's Manual, section 5, :FORMat subsystem, Fig. 5-1 "ASCII data
# format", READing element only, as *RST leaves it): a signed mantissa and a two-digit
# exponent, +1.23456789E-03; an overflow reads +9.9E37, SCPI's "not a number" is +9.91E37.
_READING = re.compile(r"[+-]?\d+(?:\.\d*)?E[+-]\d{2}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d+)?", re.I)  # IEEE 488.2 NR1-3
_INTEGER = re.compile(r"[+-]?\d+")
_CHARACTERS = re.compile(r"[A-Z][A-Z0-9_]*", re.I)  # IEEE 488.2 8.7.1 character response
_STRING = re.compile(r'"[^"]*"')  # IEEE 488.2 8.7.8 string response
_CHANNELS = re.compile(r"\(@[0-9!,:]*\)")  # Model 7001 channel list, (@1!3)
_ERROR = re.compile(r'([+-]?\d+),"([^"]*)"')  # :SYSTem:ERRor? -> <code>,"<message>"
# *IDN? of a Keithley (IEEE 488.2 10.14: manufacturer, model, serial, firmware; no commas)
_IDENTITY = re.compile(r"KEITHLEY INSTRUMENTS INC\.,MODEL \d{4}[A-Z]?,\d+,[^,]+")
READ_POINT = 2  # a hardware-timed cycle's points: reset, write, then the read window
NO_READING = 9.9e37  # overflow (+9.9E37) and SCPI NaN (+9.91E37): no reading
# The replies every SCPI instrument here gives (IEEE 488.2 10.12 *IDN?, 10.10 *ESR?,
# 10.18 *OPC?; the manuals' OUTPut[:STATe]? and :SYSTem:ERRor?).
COMMON_REPLIES = (
    (re.compile(r"\*OPC\?$", re.I), "complete"),
    (re.compile(r"\*ESR\?$", re.I), "register"),
    (re.compile(r"\*IDN\?$", re.I), "identity"),
    (re.compile(r":?SYST(?:EM)?:ERR(?:OR)?(?::NEXT)?\?$", re.I), "error"),
    (re.compile(r":?OUTP(?:UT)?(?::STAT(?:E)?)?\?$", re.I), "flag"),
    # a source level read back (6221 and 2400 ramps start from it): NR3, as a reading
    (re.compile(r":?SOUR(?:CE)?:(?:CURR(?:ENT)?|VOLT(?:AGE)?)(?::LEV(?:EL)?)?"
                r"(?::IMM(?:EDIATE)?)?(?::AMPL(?:ITUDE)?)?\?$", re.I), "reading"),
)


def parse_reply(instrument: str, command: str, reply: str, form: str,
                count: int | None = None):
    """The one place a reply becomes a value, for every query the drivers make.

    ``form``: ``complete`` (*OPC?: 1), ``flag`` (0 or 1 -> bool), ``register`` (*ESR?:
    0-255), ``identity`` (*IDN? of a Keithley), ``error`` (SYST:ERR? -> code, message),
    ``function`` (2400 source function: CURR, VOLT or MEM), ``reading`` (one reading, or a
    level read back, in NR3) or ``readings`` (``count`` of them, if given)."""
    text = reply.strip()

    def refuse(why: str):
        raise ReplyError(instrument, command, reply, why)

    if form == "complete":
        return text == "1" or refuse("*OPC? answers 1")
    if form == "flag":
        if text not in ("0", "1"):
            refuse("expected 0 or 1")
        return text == "1"
    if form == "register":
        if not _INTEGER.fullmatch(text) or not 0 <= int(text) <= 255:
            refuse("expected an integer 0-255")
        return int(text)
    if form == "identity":
        if not _IDENTITY.fullmatch(text):
            refuse("expected KEITHLEY INSTRUMENTS INC.,MODEL <model>,<serial>,<firmware>")
        return text
    if form == "function":  # Model 2400 manual, SOURce subsystem: :SOURce:FUNCtion[:MODE]?
        if text not in ("CURR", "VOLT", "MEM"):
            refuse("expected CURR, VOLT or MEM")
        return text
    if form == "error":
        match = _ERROR.fullmatch(text)
        if match is None:
            refuse('expected <code>,"<message>"')
        return int(match.group(1)), match.group(2)
    if form in ("reading", "readings"):
        fields = text.split(",")
        expected = 1 if form == "reading" else count
        if expected is not None and len(fields) != expected:
            refuse(f"{len(fields)} values where {expected} expected")
        values = []
        for field in fields:
            if not _READING.fullmatch(field.strip()):
                refuse("not a reading (+1.23456789E-03, no units)")
            value = float(field)
            if abs(value) >= NO_READING:
                refuse("overflow or no reading (+9.9E37)")
            values.append(value)
        return values[0] if form == "reading" else values
    raise ValueError(f"reply form {form!r} unknown")


def parse_values(instrument: str, command: str, reply: str, fields: list[str], cast):
    """pymeasure's ``values`` made strict: each field a finite number of the asked type, or
    character data (LIN, CURR), a quoted string or a channel list; else a ReplyError."""
    results = []
    for field in (f.strip() for f in fields):
        if cast is str:
            results.append(field)
        elif _NUMBER.fullmatch(field):
            try:
                value = bool(float(field)) if cast is bool else cast(field)
            except (TypeError, ValueError):
                raise ReplyError(instrument, command, reply,
                                 f"{field!r} is not {getattr(cast, '__name__', cast)}") from None
            if isinstance(value, float) and not abs(value) < NO_READING:
                raise ReplyError(instrument, command, reply, "overflow or no value (+9.9E37)")
            results.append(value)
        elif (_CHARACTERS.fullmatch(field) or _STRING.fullmatch(field)
              or _CHANNELS.fullmatch(field)) and field.upper() not in ("NAN", "INF", "NINF"):
            results.append(field)
        else:
            raise ReplyError(instrument, command, reply, f"{field!r} is not a value")
    return results


# The 2000's binary readings (Model 2000 User's Manual, section 5, :FORMat subsystem,
# Fig. 5-2): every reading conversion is the 2-byte header "#0" and an IEEE-754 single
# (SREal); SWAPped byte order sends the least significant byte first (little-endian), the
# header unswapped. Single precision keeps 7 significant digits: the Hall readings' R_AHE
# levels (+-70 uV steps on a ~10 mV reading at 0.01 PLC, 4.5 digits per the data sheet)
# need 5, so DREal (10 bytes) would carry digits the 2000 never resolved.
BINARY_READINGS = ":FORM SRE;:FORM:BORD SWAP"
SREAL_RECORD = np.dtype([("header", "S2"), ("reading", "<f4")])
BLOCK_HEADER = b"#0"


def read_sreal_block(instrument: str, command: str, read_part) -> list[float]:
    """Readings from a reply of "#0"-headed SREal records ended by a line feed.

    ``read_part()`` returns the bytes up to the next line feed; a line feed inside a
    record is a data byte, so reading goes on until one ends a whole record. Any record
    not headed "#0", a reply cut inside a record (the VISA read times out), a value that
    is not finite or is the overflow number: a ReplyError naming instrument and command,
    never a reading."""
    size = SREAL_RECORD.itemsize
    raw = b""
    while True:
        try:
            raw += read_part()
        except VisaIOError as err:
            raise ReplyError(instrument, command, raw,
                             f"binary block cut short ({err.abbreviation})") from None
        end = _block_end(raw, size)
        if end is None:
            raise ReplyError(instrument, command, raw, 'not "#0"-headed SREal records')
        if end:
            break
    records = np.frombuffer(raw[:-1], dtype=SREAL_RECORD)
    values = records["reading"].astype(float)
    if not np.all(np.isfinite(values)) or np.any(np.abs(values) >= NO_READING):
        raise ReplyError(instrument, command, raw, "overflow or no reading (NaN, INF, 9.9E37)")
    return values.tolist()


def _block_end(raw: bytes, size: int) -> bool | None:
    """True if ``raw`` is whole records and the final line feed, False if its last line
    feed lies inside a record (more to read), None if a record is not headed "#0"."""
    for start in range(0, len(raw), size):
        if start == len(raw) - 1 and raw[start:] == b"\n":
            return True
        if raw[start:start + 2] != BLOCK_HEADER[: len(raw) - start]:
            return None
    return False


class SafeWriteMixin:
    """Reads every reply through ``read`` (text) and ``parse_reply`` / ``parse_values``
    (value), the error queue and the output state (the write guard is below, on the VISA
    resource: ``instruments.guard``)."""

    _limits: SafetyLimits
    _replies: tuple[tuple[re.Pattern[str], str], ...] = COMMON_REPLIES
    _query = "a read"  # the command the next reply answers

    @property
    def limits(self) -> SafetyLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: SafetyLimits) -> None:
        self._limits = limits
        self._device_limits()

    def _device_limits(self) -> None:
        """Copy the limits into the controls' dynamic ranges (none by default)."""

    # -- the query path: ask -> read -> parse -----------------------------------------
    def read(self, **kwargs) -> str:
        """A reply as text: printable ASCII and not empty (IEEE 488.2 8.7: response data is
        7-bit ASCII), else a ReplyError; binary bytes never reach a parser."""
        try:
            reply = super().read(**kwargs)
        except UnicodeDecodeError as err:
            raise ReplyError(self.name, self._query, err.object, "binary bytes") from None
        if not reply.strip():
            raise ReplyError(self.name, self._query, reply, "empty")
        if not all(" " <= ch <= "~" for ch in reply.strip()):
            raise ReplyError(self.name, self._query, reply, "binary bytes")
        return reply

    def ask(self, command: str, query_delay: float | None = None) -> str:
        """Write, read, and check the reply of a query whose form the manual fixes (*OPC?
        garbage, SYST:ERR? junk, a reading with units...) before anyone uses it."""
        self._query = command.strip()
        reply = super().ask(command, query_delay)
        form = self._reply_form(command)
        if form is not None:
            parse_reply(self.name, self._query, reply, form)
        return reply

    def _reply_form(self, command: str) -> str | None:
        header = command.strip().split(" ", 1)[0]
        for pattern, form in self._replies:
            if pattern.match(header):
                return form
        return None

    def query(self, command: str, form: str, count: int | None = None):
        """A query and its reply parsed as ``form`` (see ``parse_reply``)."""
        return parse_reply(self.name, command, self.ask(command), form, count)

    def values(self, command: str, separator: str = ",", cast=float, preprocess_reply=None,
               maxsplit: int = -1, **kwargs) -> list:
        """pymeasure's property getters read here: strict (see ``parse_values``)."""
        reply = self.ask(command, **kwargs)
        text = reply.strip()
        if callable(preprocess_reply):
            text = preprocess_reply(text)
        return parse_values(self.name, command, reply, text.split(separator, maxsplit), cast)

    def check_errors(self) -> list:
        """Read the whole error queue; raise InstrumentError if it held anything."""
        errors = []
        for _ in range(20):
            code, message = self.query("SYST:ERR?", "error")
            if code == 0:
                break
            errors.append(f'{code},"{message}"')
        if errors:
            raise InstrumentError(f"{self.name} reported: {'; '.join(errors)}")
        return errors

    def read_float(self, command: str) -> float:
        """A single reading, refused unless it is one finite reading."""
        return self.query(command, "reading")

    def complete(self) -> None:
        """*OPC?: wait until the instrument has done what it was told."""
        self.query("*OPC?", "complete")

    def output_enabled(self) -> bool:
        return self.query(":OUTP?", "flag")

    def confirm_output_off(self) -> None:
        """Read the output state back: 'off' is a fact only once the instrument says so."""
        if self.output_enabled():
            raise InstrumentError(f"{self.name}: output still on after switching it off "
                                  "(OUTP? -> 1)")

    def power_on_flag(self) -> bool:
        """True if the instrument reset itself since the last check (*ESR? bit 7, PON)."""
        return bool(self.query("*ESR?", "register") & 128)


class PulseSource(SafeWriteMixin, Keithley6221):
    """Keithley 6221: write/reset pulses, read current, sweep lists, trigger link."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        self.guard = Guard6221(lambda: self.limits)
        adapter = _guarded(adapter, self.guard, kwargs)
        super().__init__(adapter, **kwargs)
        self._device_limits()
        self._pulse_shape: tuple[int, float] | None = None

    def _device_limits(self) -> None:
        limits = self.limits
        self.source_current_values = [-limits.max_pulse_current, limits.max_pulse_current]
        self.source_compliance_values = [0.1, min(105.0, limits.compliance_voltage)]
        self.waveform_amplitude_values = [2e-12, limits.max_pulse_current]
        self.waveform_offset_values = [-limits.max_read_current, limits.max_read_current]

    source_current = Instrument.control(
        ":SOUR:CURR?", ":SOUR:CURR %g",
        """Control the DC source current (A), within the pulse-current limit; the guard
        allows no more than the read current with the output on.""",
        validator=_within("pulse current", "A"), values=[-0.105, 0.105], dynamic=True,
    )
    source_compliance = Instrument.control(
        ":SOUR:CURR:COMP?", ":SOUR:CURR:COMP %g",
        """Control the compliance voltage (V), 0.1 V up to the compliance limit.""",
        validator=_within("compliance voltage", "V"), values=[0.1, 105], dynamic=True,
    )
    waveform_amplitude = Instrument.control(
        ":SOUR:WAVE:AMPL?", ":SOUR:WAVE:AMPL %g",
        """Control the waveform's peak amplitude (A), up to the pulse-current limit.""",
        validator=_within("pulse current", "A"), values=[2e-12, 0.105], dynamic=True,
    )
    waveform_offset = Instrument.control(
        ":SOUR:WAVE:OFFS?", ":SOUR:WAVE:OFFS %g",
        """Control the waveform's offset (A), a DC level: within the read current.""",
        validator=_within("read current", "A"), values=[-0.105, 0.105], dynamic=True,
    )

    trigger_count = Instrument.control(
        ":TRIG:COUN?", ":TRIG:COUN %d",
        """Control the trigger count (the 6221 trigger model); config_buffer sets it.""",
        validator=strict_range, values=[1, 99999], cast=int,
    )
    trigger_delay = Instrument.control(
        ":TRIG:DEL?", ":TRIG:DEL %g", """Control the trigger delay in seconds.""",
        validator=truncated_range, values=[0, 999999.999],
    )
    sweep_spacing = Instrument.control(
        ":SOUR:SWE:SPAC?", ":SOUR:SWE:SPAC %s",
        """Control the sweep type: 'linear', 'log' or 'list'.""",
        validator=strict_discrete_set, values={"linear": "LIN", "log": "LOG", "list": "LIST"},
        map_values=True,
    )
    list_currents = Instrument.control(
        ":SOUR:LIST:CURR?", ":SOUR:LIST:CURR %s",
        """Control the custom sweep's currents (A), up to 100 points.""",
        set_process=_float_list, get_process=_parse_floats,
    )
    list_delays = Instrument.control(
        ":SOUR:LIST:DEL?", ":SOUR:LIST:DEL %s",
        """Control the custom sweep's per-point delays (s), 1 ms to 999999.999 s.""",
        set_process=_float_list, get_process=_parse_floats,
    )
    list_compliances = Instrument.control(
        ":SOUR:LIST:COMP?", ":SOUR:LIST:COMP %s",
        """Control the custom sweep's per-point compliances (V).""",
        set_process=_float_list, get_process=_parse_floats,
    )
    sweep_ranging = Instrument.control(
        ":SOUR:SWE:RANG?", ":SOUR:SWE:RANG %s", """Control sweep ranging: 'best' or 'fixed'.""",
        validator=strict_discrete_set, values={"best": "BEST", "fixed": "FIX"}, map_values=True,
    )

    def arm_sweep(self) -> None:
        self.write(":SOUR:SWE:ARM")

    def abort_sweep(self) -> None:
        self.write(":SOUR:SWE:ABOR")

    def load_list(self, currents, delays) -> None:
        """A custom sweep list; every current is checked against the limits first."""
        currents, delays = list(currents), list(delays)
        if not 1 <= len(currents) <= 100 or len(delays) not in (1, len(currents)):
            raise ValueError(f"list: {len(currents)} points (allowed 1-100, one delay each)")
        for value in currents:
            self.limits.pulse_current(value)
        for value in delays:
            strict_range(value, [1e-3, 999999.999])
        self.sweep_spacing = "list"
        self.list_currents = currents
        self.list_delays = delays

    def pulse(self, current: float, width: float) -> None:
        """One hardware-timed pulse (arbitrary waveform [sign, 0] played once), then wait for
        completion with *OPC?. The output returns to its DC state afterwards."""
        self.limits.pulse_current(current)
        self.limits.pulse_width(width)
        strict_range(width, [5e-6, 500.0])
        sign = 1 if current >= 0 else -1
        if self._pulse_shape != (sign, width) or self.guard.state.function != "ARB1":
            # (the guard saw every line: after a *RST the instrument plays a sine again)
            self.define_arbitary_waveform([sign, 0], location=1)  # also selects ARB1
            self.waveform_frequency = 1.0 / (2.0 * width)
            self.waveform_offset = 0.0
            self.waveform_duration_cycles = 1
            self._pulse_shape = (sign, width)
        self.waveform_amplitude = max(self.programmed(abs(current)), 2e-12)
        self.waveform_arm()
        self.waveform_start()
        self.wait_until_played(2 * width)

    trigger_line = 1  # the trigger-link output line wired to the 2000's EXT TRIG (lab file)
    OPC_MARGIN_S = 2.0  # bus and arming time on top of a waveform's own duration

    @staticmethod
    def programmed(current: float) -> float:
        """A level as the instrument is told it: pymeasure writes amplitudes with %g (six
        significant digits). A waveform's points are sent in full as programmed level /
        programmed amplitude, so a cycle inside a waveform gets the current a single pulse
        of the same level gets, within one floating-point rounding."""
        return float(f"{current:g}")

    def _cycle_amplitude(self, reset: float, writes: list[float], read: float,
                         width: float) -> float:
        """Check every level against the limits; the waveform's peak amplitude."""
        for value in (reset, *writes):
            self.limits.pulse_current(value)
        self.limits.read_current(read)
        self.limits.pulse_width(width)
        return self.programmed(max(abs(reset), abs(read), *(abs(w) for w in writes)))

    @staticmethod
    def cycle_points(reset: float, write: float, read: float, points: int,
                     read_points: int) -> list[float]:
        """One reset-write-read cycle of ``points`` points of one pulse width each: reset,
        write, ``read_points`` points of read current (the 2000 integrates there), zeros to
        the end of the cycle. No wait between the pulses: the Joule heat of a pulse leaves
        the bar in tens of nanoseconds (simulators/joule.py: 51 ns), so a whole pulse width
        of zero current would only lengthen the cycle."""
        if not 1 <= read_points <= points - READ_POINT:
            raise ValueError(f"read points = {read_points} outside [1, {points - READ_POINT}]")
        return [reset, write] + [read] * read_points + [0.0] * (
            points - READ_POINT - read_points)

    def _upload(self, levels: list[float], amplitude: float, location: int,
                read: float | None = None) -> None:
        """An arbitrary waveform of any length (2-65,536 points) into ``location``: the
        levels as fractions of the amplitude, 100 points a command (ARB:DATA, then
        ARB:APPend, Reference Manual section 11: ASCII <NRf> lists, the only form it
        documents), then ARB:COPY and FUNC ARBn. Pulse levels go in full precision; zeros
        and the ``read`` level (which switches nothing) in six digits; each in its
        shortest IEEE 488.2 decimal form (-1, .5: no trailing ".0", no leading zero), as
        few bytes as the bus must carry."""
        strict_range(len(levels), [2, 65536])

        def point(value: float) -> str:
            fraction = self.programmed(value) / amplitude
            text = f"{fraction:.6g}" if value == 0 or value == read else repr(fraction)
            return _shortest_decimal(text)

        scaled = [point(v) for v in levels]
        self.write(":SOUR:WAVE:ARB:DATA " + ",".join(scaled[:100]))
        for start in range(100, len(scaled), 100):
            self.write(":SOUR:WAVE:ARB:APP " + ",".join(scaled[start:start + 100]))
        self.write(f":SOUR:WAVE:ARB:COPY {location}")
        self.waveform_function = f"arbitrary{location}"
        self._pulse_shape = None  # another location is selected now: the next pulse redefines

    def _play(self, frequency: float, amplitude: float, cycles: int, marker_point: int,
              points: int) -> None:
        """Play the selected arbitrary waveform ``cycles`` times, the phase marker (on
        ``trigger_line``) at the start of point ``marker_point``, and wait until it has
        played: *OPC? under a timeout sized from the waveform's own duration."""
        phase = 360.0 * marker_point / points
        self.waveform_frequency = frequency
        self.waveform_offset = 0.0
        self.waveform_amplitude = amplitude
        self.waveform_duration_cycles = cycles
        self.waveform_phasemarker_phase = phase - 360.0 if phase > 180 else phase  # -180..180
        self.waveform_phasemarker_line = self.trigger_line
        self.waveform_use_phasemarker = True
        self.waveform_arm()
        self.waveform_start()
        self.wait_until_played(cycles / frequency)

    def wait_until_played(self, seconds: float) -> None:
        """*OPC? after an operation of ``seconds``: the VISA timeout grows to cover it (a
        timeout would make a retry pulse the whole batch again), then is restored."""
        connection = getattr(self.adapter, "connection", None)
        default = getattr(connection, "timeout", None)
        needed = (seconds + self.OPC_MARGIN_S) * 1000.0
        if not isinstance(default, int | float):  # an adapter without a VISA timeout
            self.complete()
            return
        self.last_opc_timeout_ms = max(default, needed)
        connection.timeout = self.last_opc_timeout_ms
        try:
            self.complete()
        finally:
            connection.timeout = default

    def mark_trigger_link(self) -> None:
        """One pulse on the trigger link and no current: a 2-point waveform of zeros (2 pA
        full scale) played once with its phase marker on. Proves the cable to the 2000
        without driving the device."""
        self.define_arbitary_waveform([0.0, 0.0], location=4)
        self._pulse_shape = None
        self._play(1e3, 2e-12, 1, 0, 2)

    def play_cycles(self, reset: float, write: float, read: float, width: float,
                    cycles: int, points: int, read_points: int) -> None:
        """``cycles`` reset-write-read cycles at one write current, timed by the
        instrument: one cycle of ``points`` points (each ``width`` long) as the arbitrary
        waveform, repeated; its phase marker at the start of the read window pulses the
        trigger link once per cycle, so a 2000 on EXTernal takes one reading per cycle."""
        amplitude = self._cycle_amplitude(reset, [write], read, width)
        strict_range(cycles, [1, 1024])
        self._upload(self.cycle_points(reset, write, read, points, read_points), amplitude,
                     location=2, read=read)
        self._play(1.0 / (points * width), amplitude, cycles, READ_POINT, points)

    def play_cycle_list(self, reset: float, writes, read: float, width: float, points: int,
                        read_points: int, lead_points: int) -> None:
        """Cycles with a write current each, as one waveform played once: ``lead_points``
        zeros, then every cycle's ``points`` points; the phase marker fires once,
        ``lead_points`` before the first read window (the 2000's trigger delay), and the
        2000 takes its burst of readings one cycle period apart."""
        writes = [float(w) for w in writes]
        amplitude = self._cycle_amplitude(reset, writes, read, width)
        lead = max(0, lead_points - READ_POINT)
        levels = [0.0] * lead
        for w in writes:
            levels += self.cycle_points(reset, w, read, points, read_points)
        self._upload(levels, amplitude, location=3, read=read)
        self._play(1.0 / (len(levels) * width), amplitude, 1, lead + READ_POINT - lead_points,
                   len(levels))

    def play_levels(self, levels, point: float, marker_point: int, read: float,
                    width: float | None = None) -> None:
        """Any waveform of current ``levels`` (A), one every ``point`` s, played once with
        its phase marker at point ``marker_point`` (the burst route's layouts,
        protocols/burst.py): every level other than 0 and ``read`` is a pulse, checked
        with ``width`` against the limits, and ``read`` against the read limit."""
        levels = [float(v) for v in levels]
        pulses = sorted({v for v in levels if v not in (0.0, read)})
        if pulses:
            amplitude = self._cycle_amplitude(pulses[0], pulses[1:], read, width)
        else:
            self.limits.read_current(read)
            amplitude = self.programmed(abs(read))
        self._upload(levels, amplitude, location=3, read=read)
        self._play(1.0 / (len(levels) * point), amplitude, 1, marker_point, len(levels))

    def set_read_current(self, current: float) -> None:
        self.limits.read_current(current)
        self.source_current = current

    def shutdown(self) -> None:
        """Waveform aborted, output off, confirmed by OUTP?; then pymeasure's shutdown."""
        try:
            self.write(":SOUR:WAVE:ABOR")
            self.write("OUTPUT OFF")
            self.confirm_output_off()
        finally:
            super().shutdown()


class HallVoltmeter(SafeWriteMixin, Keithley2000):
    """Keithley 2000 reading the anomalous-Hall voltage (paper 002 Methods 4.3)."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        with warnings.catch_warnings():  # pymeasure 0.16's SCPIUnknownMixin FutureWarning
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(adapter, **kwargs)

    voltage_nplc = Instrument.control(
        ":SENS:VOLT:NPLC?", ":SENS:VOLT:NPLC %g",
        """Control the DC-voltage integration time in power-line cycles, 0.01 to 10.""",
        validator=strict_range, values=[0.01, 10],
    )
    voltage_ac_range = Instrument.control(
        ":SENS:VOLT:AC:RANG?", ":SENS:VOLT:AC:RANG:AUTO 0;:SENS:VOLT:AC:RANG %g",
        """Control the AC voltage range in volts, 0 to 757.5 V (auto-range off).""",
        validator=truncated_range, values=[0, 757.5],
    )
    trigger_source = Instrument.control(
        ":TRIG:SOUR?", ":TRIG:SOUR %s",
        """Control the trigger model's control source (Model 2000 User's Manual Fig. 4-11):
        'immediate', 'external' (EXT TRIG of the trigger link, or *TRG), 'timer', 'manual'
        or 'bus'. The 2000 has no TLINk source and no arm layer.""",
        validator=strict_discrete_set,
        values={"immediate": "IMM", "external": "EXT", "timer": "TIM", "manual": "MAN",
                "bus": "BUS"}, map_values=True,
    )
    sample_count = Instrument.control(
        ":SAMP:COUN?", ":SAMP:COUN %d", """Control readings per trigger, 1 to 1024.""",
        validator=strict_range, values=[1, 1024], cast=int,
    )
    continuous_initiation = Instrument.control(
        ":INIT:CONT?", ":INIT:CONT %d", """Control continuous initiation (off for triggered
        acquisition).""", validator=strict_discrete_set, values={True: 1, False: 0},
        map_values=True,
    )
    autozero_enabled = Instrument.control(
        ":SYST:AZER:STAT?", ":SYST:AZER:STAT %d", """Control autozero (off halves the read
        time, at the cost of drift).""", validator=strict_discrete_set,
        values={True: 1, False: 0}, map_values=True,
    )
    display_enabled = Instrument.control(
        ":DISP:ENAB?", ":DISP:ENAB %d", """Control the front panel display (off is faster).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )

    def initiate(self) -> None:
        self.write(":INIT")

    _replies = (*COMMON_REPLIES, (re.compile(r":?(?:READ|FETC(?:H)?)\?$", re.I), "readings"))
    _samples = 1  # readings per trigger (:SAMP:COUN): what :FETC? answers with
    _buffered = 0  # readings the armed buffer can take at most

    def fetch(self, samples: int | None = None) -> list[float]:
        """The readings of the last trigger (:FETC?): ``samples`` of them (default: the
        sample count this driver armed), or a ReplyError."""
        return self.query(":FETC?", "readings", self._samples if samples is None else samples)

    def read_voltage(self) -> float:
        return self.read_float(":READ?")

    trigger_count = Instrument.control(
        ":TRIG:COUN?", ":TRIG:COUN %d", """Control how many times the trigger model passes
        its control source before returning to idle, 1 to 9999.""",
        validator=strict_range, values=[1, 9999], cast=int,
    )

    def line_frequency(self) -> float:
        """The power-line frequency the integration time counts in (Hz, :SYST:LFR?; the
        2000 answers 50 or 60)."""
        reply = self.ask(":SYST:LFR?")
        if reply.strip() not in ("50", "60"):
            raise ReplyError(self.name, ":SYST:LFR?", reply, "expected 50 or 60")
        return float(reply)

    trigger_delay = Instrument.control(
        ":TRIG:DEL?", ":TRIG:DEL %g", """Control the trigger delay in seconds (sending one
        turns the auto delay off).""", validator=strict_range, values=[0, 999999.999],
    )

    def arm_external_buffer(self, triggers: int, samples: int = 1, delay: float = 0.0) -> None:
        """Wait at the control source for ``triggers`` pulses on EXT TRIG, each followed by
        ``samples`` readings ``delay`` apart (trigger model, Fig. 4-11), every reading
        into the 1024-reading buffer (TRACe, feed control NEXT)."""
        strict_range(triggers * samples, [1, 1024])
        self._samples, self._buffered = samples, triggers * samples
        self.write(":ABOR")
        self.continuous_initiation = False
        self.trigger_source = "external"
        self.trigger_delay = delay
        self.sample_count = samples
        self.trigger_count = triggers
        self.write(f":TRAC:CLE;:TRAC:POIN {max(2, triggers * samples)};:TRAC:FEED SENS;"
                   f":TRAC:FEED:CONT NEXT;{BINARY_READINGS}")
        self.initiate()
        self.check_errors()  # a query: the 2000 has taken :INIT before the 6221 plays

    def buffer_readings(self) -> list[float]:
        """Every reading the buffer holds (:TRAC:DATA?, in SREal: 6 bytes a reading where
        ASCII takes 16); fewer than armed for means triggers were missed, more, or a
        malformed record, is a ReplyError."""
        command = ":TRAC:DATA?"
        self._query = command
        self.write(command)
        readings = read_sreal_block(self.name, command, self._read_block_part)
        if len(readings) > self._buffered:
            raise ReplyError(self.name, command, ",".join(map(str, readings)),
                             f"{len(readings)} readings where at most {self._buffered} armed")
        return readings

    def _read_block_part(self) -> bytes:
        """The bytes up to and including the next line feed (which, in a binary block,
        may be a data byte: ``read_sreal_block`` asks for more then)."""
        return self.read_bytes(-1, break_on_termchar=True)

    def immediate_triggering(self) -> None:
        """Back to one immediate reading per :READ? (and the buffer off)."""
        self.write(":ABOR;:TRAC:FEED:CONT NEV;:FORM ASC")
        self._samples, self._buffered = 1, 0
        self.trigger_source = "immediate"
        self.trigger_count = 1
        self.sample_count = 1
        self.trigger_delay = 0


class FieldSupply(SafeWriteMixin, Keithley2400):
    """Keithley 2400 as coil supply (field = coil_constant * I) or as bias-voltage source."""

    def __init__(self, adapter, limits: SafetyLimits | None = None,
                 coil_constant: float = 0.01, **kwargs) -> None:
        if coil_constant <= 0:
            raise ValueError(f"coil_constant = {coil_constant:g} T/A must be > 0")
        self._limits = limits or SafetyLimits()
        self._coil_constant = coil_constant
        self.guard = Guard2400(lambda: self.limits, lambda: self.coil_constant)
        adapter = _guarded(adapter, self.guard, kwargs)
        super().__init__(adapter, **kwargs)
        self._device_limits()

    @property
    def coil_constant(self) -> float:
        """Field per coil current (T/A); the coil-current limit is max_field / this."""
        return self._coil_constant

    @coil_constant.setter
    def coil_constant(self, tesla_per_ampere: float) -> None:
        if not tesla_per_ampere > 0:
            raise ValueError(f"coil_constant = {tesla_per_ampere:g} T/A must be > 0")
        self._coil_constant = tesla_per_ampere
        self._device_limits()

    def max_coil_current(self) -> float:
        return min(1.05, self.limits.max_field / self.coil_constant)

    def _device_limits(self) -> None:
        if not hasattr(self, "_coil_constant"):
            return
        current, voltage = self.max_coil_current(), self.limits.compliance_voltage
        self.source_current_values = [-current, current]
        self.compliance_current_values = [0.0, current]
        self.source_voltage_values = [-voltage, voltage]
        self.compliance_voltage_values = [0.0, voltage]

    source_current = Instrument.control(
        ":SOURCE:CURRENT?", ":SOURCE:CURRENT %g",
        """Control the coil current (A), within max_field / coil_constant.""",
        validator=_within("coil current", "A"), values=[-1.05, 1.05], dynamic=True,
    )
    compliance_current = Instrument.control(
        ":SENSE:CURRENT:PROTECTION?", ":SENSE:CURRENT:PROTECTION %g",
        """Control the current compliance (A) when sourcing voltage, within the coil limit.""",
        validator=_within("compliance current", "A"), values=[0, 1.05], dynamic=True,
    )
    source_voltage = Instrument.control(
        ":SOURCE:VOLTAGE?", ":SOURCE:VOLTAGE %g",
        """Control the source voltage (V), within the compliance-voltage limit.""",
        validator=_within("source voltage", "V"), values=[-210, 210], dynamic=True,
    )
    compliance_voltage = Instrument.control(
        ":SENSE:VOLTAGE:PROTECTION?", ":SENSE:VOLTAGE:PROTECTION %g",
        """Control the voltage compliance (V) when sourcing current, within the limit.""",
        validator=_within("compliance voltage", "V"), values=[0, 210], dynamic=True,
    )

    def set_field(self, field: float, compliance: float = 10.0) -> None:
        """Source the coil current for an in-plane field (T)."""
        self.limits.field(field)
        self.limits.compliance(compliance)
        self.source_mode = "current"
        self.compliance_voltage = compliance
        self.source_current_range_auto_enabled = True
        self.source_current = field / self.coil_constant
        self.enable_source()
        self.check_errors()  # also waits until the instrument has taken the settings

    _replies = (*COMMON_REPLIES,
                (re.compile(r":?SOUR(?:CE)?:FUNC(?:TION)?(?::MODE)?\?$", re.I), "function"))
    RAMP_STEPS, RAMP_PAUSE = 30, 20e-3  # pymeasure's ramp_to_current: 30 steps, 20 ms apart

    def shutdown(self) -> None:
        """An output that is on ramps to zero first (as pymeasure's shutdown does: a coil's
        current is not cut), from the level the instrument reports; then output off,
        confirmed by OUTP?, whatever the ramp met (an unreadable reply, or a level the
        safety limits refuse, cuts the ramp short)."""
        try:
            if self.output_enabled():
                self._ramp_to_zero()
        except (InstrumentError, ValueError):  # unreadable, or a step beyond a limit
            pass
        finally:
            self.write(":OUTP OFF")
        self.confirm_output_off()
        self.isShutdown = True

    def _ramp_to_zero(self) -> None:
        function = self.query(":SOUR:FUNC?", "function")
        if function == "MEM":
            return
        level = self.query(f":SOUR:{function}?", "reading")
        for value in [level * (1 - k / self.RAMP_STEPS) for k in range(1, self.RAMP_STEPS + 1)]:
            if function == "CURR":
                self.source_current = value
            else:
                self.source_voltage = value
            time.sleep(self.RAMP_PAUSE)

    def set_bias_voltage(self, voltage: float, compliance_current: float = 1e-4) -> None:
        self.limits.compliance(abs(voltage))
        self.source_mode = "voltage"
        self.compliance_current = compliance_current
        self.source_voltage_range_auto_enabled = True
        self.source_voltage = voltage
        self.enable_source()
        self.check_errors()


class SwitchCard(SafeWriteMixin, Instrument):
    """Keithley 7001-style switch card routing one device at a time (card 1)."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, channels: int = 40,
                 **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        self.channels = channels
        super().__init__(adapter, "Keithley 7001 switch", includeSCPI=False, **kwargs)

    closed_channels = Instrument.measurement(":ROUT:CLOS:STAT?", """Get the closed channel
        list (Model 7001 manual, ROUTe: CLOSe:STATe?; CLOSe? wants a channel list).""",
                                             get_process=lambda v: str(v))

    def select(self, device: int) -> None:
        """Route device ``device`` (0-based): open everything, then close its channel."""
        strict_range(device, [0, self.channels - 1])
        self.write(f":ROUT:OPEN ALL;:ROUT:CLOS (@1!{device + 1})")
        self.check_errors()

    def shutdown(self) -> None:
        self.write(":ROUT:OPEN ALL")
        super().shutdown()
