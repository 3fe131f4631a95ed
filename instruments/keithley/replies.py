"""What an instrument may answer, from its manual: every reply the drivers read becomes a
value here or a ReplyError naming the instrument, the command and the reply."""

from __future__ import annotations

import re

import numpy as np
from pyvisa.errors import VisaIOError

from instruments.errors import ReplyError

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
    0-255), ``status`` (a 16-bit status register, STATus:MEASurement? and the like:
    0-65535, B0-B15 of the manuals' status structure), ``identity`` (*IDN? of a Keithley),
    ``error`` (SYST:ERR? -> code, message), ``function`` (2400 source function: CURR, VOLT
    or MEM), ``reading`` (one reading, or a level read back, in NR3) or ``readings``
    (``count`` of them, if given)."""
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
    if form == "status":
        if not _INTEGER.fullmatch(text) or not 0 <= int(text) <= 65535:
            refuse("expected an integer 0-65535")
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

