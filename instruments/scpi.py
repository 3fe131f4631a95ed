"""SCPI program messages read the way an instrument reads them: the one grammar of the
project, for the safety guard under the drivers and for every emulator of the virtual lab.
It imports nothing from the project.

IEEE 488.2 section 7 ("Device listening formats"), as the Keithley manuals apply it (Model
6220/6221 Reference Manual section 10, "SCPI command syntax"; Model 2400 User's Manual
section 18, "Program messages"; Model 2000 User's Manual section 5):

- A program message ends at a line feed (7.5); its units are separated by ``;`` with optional
  white space around it (7.4.1). White space is any byte 0x00-0x09 or 0x0B-0x20 (7.4.1.2):
  spaces, tabs and carriage returns alike.
- A header (7.6) is ``*`` and a mnemonic (a common command), or mnemonics joined by ``:``,
  each a letter followed by letters, digits or ``_`` (7.6.1.2); a trailing ``?`` makes it a
  query. A unit whose header starts without ``:`` continues at the path of the unit before
  it minus that unit's last node (the path pointer only moves down, SCPI 1999 Vol. 1 6.2.4);
  ``:`` starts again at the root; common commands leave the path alone; the next message
  starts at the root.
- A header is separated from its data by white space (7.4.3); data elements by ``,`` with
  optional white space (7.4.2). Each element is one of (7.7): character data (a mnemonic:
  ``ON``, ``MAX``, ``LIN``), decimal numeric data (NR1, NR2, NR3: ``5``, ``.05``,
  ``+5.0E-2``, white space allowed around the ``E``), optionally followed by suffix data
  (``50mA``, ``2 ms``, 7.7.3), non-decimal numeric data (``#H1F``, ``#Q17``, ``#B1010``,
  7.7.4), string data (``'...'`` or ``"..."``, the quote doubled inside, 7.7.5: a ``;`` or a
  ``,`` inside is data), arbitrary block data (``#<n><length><bytes>``, 7.7.6) or expression
  data (``( ... )``, 7.7.7, channel lists such as ``(@1!3)``).
- Anything else is a command error with the standard's number (SCPI 1999 Vol. 2, 21.8.9):
  a stray ``(`` or ``)``, an unterminated string, a bad separator. An instrument executes the
  units before it and discards the rest of the message (IEEE 488.2 6.1.6); the guard refuses
  the whole line.

Suffix multipliers (7.7.3.3, Table 7-1): ``M`` is milli, ``MA`` mega, ``U`` micro, ``N``
nano... A suffix is read case-insensitively, so ``50MA`` after a current reads both as 50
mega (the multiplier) and as 50 milliampere (milli + the unit A): every reading is returned,
and the guard takes the worst.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

EXPONENTS = {"EX": 18, "PE": 15, "T": 12, "G": 9, "MA": 6, "K": 3, "": 0, "M": -3, "U": -6,
             "N": -9, "P": -12, "F": -15, "A": -18}  # IEEE 488.2 Table 7-1
MULTIPLIERS = {prefix: 10.0 ** exponent for prefix, exponent in EXPONENTS.items()}
SPECIAL_UNITS = {"MHZ": ("HZ", 6), "MOHM": ("OHM", 6)}  # IEEE 488.2 Table 7-1 note
NUMERIC_KEYWORDS = {"MIN": "MIN", "MINIMUM": "MIN", "MAX": "MAX", "MAXIMUM": "MAX",
                    "DEF": "DEF", "DEFAULT": "DEF", "UP": "UP", "DOWN": "DOWN",
                    "INF": "INF", "INFINITY": "INF", "NINF": "NINF", "NAN": "NAN"}
SCPI_INFINITY = 9.9e37  # SCPI 1999 Vol. 1, 7.2.1.5: INFinity, NINF and NAN as numbers
WHITE = "".join(chr(c) for c in range(0x21) if c != 0x0A)  # IEEE 488.2 7.4.1.2

_MNEMONIC = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NODE = re.compile(r"([A-Z][A-Z_]*?)(\d*)$")
_SPEC_NODE = re.compile(r"(\[?):?([A-Za-z]+)(\d*)(?:\[(\d+)\])?(\]?)")
_MANTISSA = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_EXPONENT = re.compile(r"[ \t\r\x00-\x08\x0b-\x1f]*[eE][ \t\r\x00-\x08\x0b-\x1f]*([+-]?\d+)")
_SUFFIX = re.compile(r"[ \t\r\x00-\x08\x0b-\x1f]*([A-Za-z]+(?:/[A-Za-z]+)?)")
_NONDECIMAL = {"H": (16, re.compile(r"[0-9A-Fa-f]+")), "Q": (8, re.compile(r"[0-7]+")),
               "B": (2, re.compile(r"[01]+"))}


class ScpiSyntaxError(ValueError):
    """Text an instrument's parser refuses; ``code`` is the SCPI error number (SCPI 1999
    Vol. 2, 21.8.9: -1xx command errors, -2xx execution errors)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Data(str):
    """One program data element: the text as sent (it is that string), its kind and what it
    holds.

    kind: ``char`` (a mnemonic, upper-cased in ``word``), ``number`` (``value`` the decimal
    number, ``suffix`` upper-cased, "" if none), ``nondecimal`` (``value``), ``string``
    (``word`` the text inside the quotes, doubled quotes undone), ``block`` (``word`` the
    bytes as text) or ``expression`` (``word`` the text inside the brackets)."""

    kind: str
    value: float
    suffix: str
    word: str

    def __new__(cls, kind: str, text: str, value: float = 0.0, suffix: str = "",
                word: str = "") -> Data:
        item = super().__new__(cls, text)
        item.kind, item.value, item.suffix, item.word = kind, value, suffix, word
        return item

    @property
    def text(self) -> str:
        """The element as sent, as a plain ``str`` (not this subclass)."""
        return str.__str__(self)


@dataclass(frozen=True)
class Unit:
    """One program message unit, its header resolved to the full path from the root."""

    nodes: tuple[str, ...]  # upper case as sent, suffixes kept: ("SOUR1", "CURR", "LEV")
    query: bool
    data: tuple[Data, ...]
    text: str  # the unit as sent
    relative: bool = False  # header continued the previous unit's path (no leading ":")
    header_text: str = ""  # the header as sent, without "?"

    @property
    def common(self) -> bool:
        """Whether the unit is a common command (``*RST``, ``*OPC?``: IEEE 488.2 section 7.6),
        which leaves the header path alone."""
        return bool(self.nodes) and self.nodes[0].startswith("*")

    @property
    def header(self) -> str:
        """The resolved header: a common command's mnemonic, else the full path from the root
        (``:SOUR1:CURR:LEV``), upper case as sent, without ``?``."""
        return self.nodes[0] if self.common else ":" + ":".join(self.nodes)

    @property
    def args(self) -> str:
        """The data as sent, elements joined by ","."""
        return ",".join(d.text for d in self.data)

    def params(self) -> list[Data]:
        """The data elements as a new list (an emulator's handler may consume it)."""
        return list(self.data)

    def from_root(self) -> Unit:
        """The same unit read from the root (as a parser without the path rule would)."""
        nodes = tuple(self.header_text.upper().lstrip(":").split(":"))
        return Unit(nodes, self.query, self.data, self.text, False, self.header_text)


class _Reader:
    """A cursor over one program message (no line feed inside)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def white(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in WHITE:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text, self.pos)
        if found is not None:
            self.pos = found.end()
        return found


def messages(text: str) -> list[str]:
    """The program messages of ``text``: each ends at a line feed (IEEE 488.2 7.5)."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def units(text: str) -> Iterator[Unit]:
    """Every program message unit of ``text`` (one or more messages), path rule applied.
    Units are yielded as they are read: an error raises where it is met, after the units
    before it (an instrument has executed those)."""
    for message in messages(text):
        yield from _message_units(message)


def _message_units(message: str) -> Iterator[Unit]:
    reader = _Reader(message)
    path: tuple[str, ...] = ()
    reader.white()
    if reader.at_end():
        return
    while True:
        start = reader.pos
        nodes, query, relative, header_text = _header(reader, path)
        data = _data_list(reader)
        unit = Unit(nodes, query, data, message[start:reader.pos].strip(WHITE), relative,
                    header_text)
        if not unit.common:
            path = nodes[:-1]
        yield unit
        reader.white()
        if reader.at_end():
            return
        if reader.peek() != ";":
            raise ScpiSyntaxError(-103, "Invalid separator")
        reader.pos += 1
        reader.white()
        if reader.at_end():  # a trailing ";" before the terminator (IEEE 488.2 7.3.3)
            return


def _header(reader: _Reader, path: tuple[str, ...]) -> tuple[tuple[str, ...], bool, bool, str]:
    start = reader.pos
    if reader.peek() == "*":
        reader.pos += 1
        if reader.match(_MNEMONIC) is None:
            raise ScpiSyntaxError(-110, "Command header error")
        nodes = (reader.text[start:reader.pos].upper(),)
        absolute = True
    else:
        absolute = reader.peek() == ":"
        if absolute:
            reader.pos += 1
        mnemonics = []
        while True:
            found = reader.match(_MNEMONIC)
            if found is None:
                raise ScpiSyntaxError(-110 if reader.pos > start else -102,
                                      "Command header error" if reader.pos > start
                                      else "Syntax error")
            mnemonics.append(found.group(0).upper())
            if reader.peek() != ":":
                break
            reader.pos += 1
        nodes = tuple(mnemonics) if absolute else path + tuple(mnemonics)
    header_text = reader.text[start:reader.pos]
    query = reader.peek() == "?"
    if query:
        reader.pos += 1
    following = reader.peek()
    if following and following not in WHITE and following != ";":
        raise ScpiSyntaxError(-111, "Header separator error")
    return nodes, query, bool(path) and not absolute and not nodes[0].startswith("*"), \
        header_text


def _data_list(reader: _Reader) -> tuple[Data, ...]:
    reader.white()
    if reader.at_end() or reader.peek() == ";":
        return ()
    data = [_datum(reader)]
    while True:
        reader.white()
        if reader.peek() != ",":
            return tuple(data)
        reader.pos += 1
        reader.white()
        if reader.at_end() or reader.peek() == ";":
            raise ScpiSyntaxError(-109, "Missing parameter")
        data.append(_datum(reader))


def _datum(reader: _Reader) -> Data:
    start, first = reader.pos, reader.peek()
    if first in "'\"":
        return _string(reader)
    if first == "#":
        return _hash(reader)
    if first == "(":
        return _expression(reader)
    if first.isdigit() or first in "+-.":
        return _decimal(reader)
    if reader.match(_MNEMONIC) is not None:
        text = reader.text[start:reader.pos]
        return Data("char", text, word=text.upper())
    raise ScpiSyntaxError(-101 if first in ")" or ord(first) > 126 else -102,
                          "Invalid character" if first in ")" or ord(first) > 126
                          else "Syntax error")


def _string(reader: _Reader) -> Data:
    start, quote = reader.pos, reader.peek()
    reader.pos += 1
    chars = []
    while True:
        if reader.at_end():
            raise ScpiSyntaxError(-151, "Invalid string data")
        ch = reader.text[reader.pos]
        reader.pos += 1
        if ch == quote:
            if reader.peek() == quote:  # a doubled quote is one quote of the string
                chars.append(quote)
                reader.pos += 1
                continue
            return Data("string", reader.text[start:reader.pos], word="".join(chars))
        chars.append(ch)


def _hash(reader: _Reader) -> Data:
    start = reader.pos
    kind = reader.text[reader.pos + 1:reader.pos + 2].upper()
    if kind in _NONDECIMAL:
        base, digits = _NONDECIMAL[kind]
        reader.pos += 2
        found = reader.match(digits)
        if found is None or (reader.peek() and reader.peek().isalnum()):
            raise ScpiSyntaxError(-121, "Invalid character in number")
        return Data("nondecimal", reader.text[start:reader.pos],
                    value=float(int(found.group(0), base)))
    if kind.isdigit():  # arbitrary block program data (IEEE 488.2 7.7.6)
        count = int(kind)
        if count == 0:  # indefinite length: the rest of the message
            reader.pos = len(reader.text)
            return Data("block", reader.text[start:], word=reader.text[start + 2:])
        length_text = reader.text[reader.pos + 2:reader.pos + 2 + count]
        if len(length_text) != count or not length_text.isdigit():
            raise ScpiSyntaxError(-161, "Invalid block data")
        body = reader.pos + 2 + count
        end = body + int(length_text)
        if end > len(reader.text):
            raise ScpiSyntaxError(-161, "Invalid block data")
        reader.pos = end
        return Data("block", reader.text[start:end], word=reader.text[body:end])
    raise ScpiSyntaxError(-102, "Syntax error")


def _expression(reader: _Reader) -> Data:
    """``( ... )``: balanced brackets, no ``;``, quote or line feed inside (7.7.7)."""
    start, depth = reader.pos, 0
    while not reader.at_end():
        ch = reader.text[reader.pos]
        if ch in ";'\"":
            break
        depth += (ch == "(") - (ch == ")")
        reader.pos += 1
        if depth == 0:
            return Data("expression", reader.text[start:reader.pos],
                        word=reader.text[start + 1:reader.pos - 1])
    raise ScpiSyntaxError(-102, "Syntax error")


def _decimal(reader: _Reader) -> Data:
    start = reader.pos
    found = reader.match(_MANTISSA)
    if found is None:
        raise ScpiSyntaxError(-120, "Numeric data error")
    mantissa = found.group(0)
    exponent = reader.match(_EXPONENT)
    try:
        value = float(mantissa + ("e" + exponent.group(1) if exponent else ""))
    except OverflowError:  # pragma: no cover - float() returns inf instead
        value = math.inf
    if not math.isfinite(value):
        raise ScpiSyntaxError(-123, "Exponent too large")
    suffix = ""
    before = reader.pos
    found_suffix = reader.match(_SUFFIX)
    if found_suffix is not None:
        suffix = found_suffix.group(1).upper()
    else:
        reader.pos = before
    following = reader.peek()
    if following and following not in WHITE and following not in ",;":
        raise ScpiSyntaxError(-121, "Invalid character in number")
    return Data("number", reader.text[start:reader.pos], value=value, suffix=suffix)


# -- headers: the manuals' form -------------------------------------------------------------
@dataclass(frozen=True)
class _SpecNode:
    short: str
    long: str
    optional: bool
    suffixes: frozenset[str]  # accepted digit strings after the mnemonic ("" = none)

    def matches(self, node: str) -> bool:
        found = _NODE.match(node)
        return bool(found) and found.group(1) in (self.short, self.long) and \
            found.group(2) in self.suffixes


@cache
def _spec(spec: str) -> tuple[_SpecNode, ...]:
    """``[:SOURce[1]]:CURRent[:LEVel]``: a node matches its short form (the capitals) or its
    long form, case-insensitively, nothing in between; ``[...]`` nodes may be left out; a
    printed ``[1]`` is an optional numeric suffix, digits printed in the mnemonic a required
    one (``CALCulate2``)."""
    nodes = []
    for opening, name, required, optional, closing in _SPEC_NODE.findall(spec):
        short = "".join(ch for ch in name if ch.isupper()) or name.upper()
        suffixes = {required} if required else ({"", optional} if optional else {""})
        nodes.append(_SpecNode(short, name.upper(), bool(opening and closing),
                               frozenset(suffixes)))
    return tuple(nodes)


def header_matches(spec: str, nodes: tuple[str, ...]) -> bool:
    """Does the resolved header ``nodes`` spell the manual's header ``spec``?"""
    if spec.startswith("*"):
        return nodes == (spec.upper(),)
    pattern = _spec(spec)

    def walk(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(nodes)
        node = pattern[i]
        if j < len(nodes) and node.matches(nodes[j]) and walk(i + 1, j + 1):
            return True
        return node.optional and walk(i + 1, j)

    return walk(0, 0)


def query_of(spec: str) -> str:
    """The shortest header that spells ``spec``, as a query (``:SOUR:CURR?``)."""
    parts = [n.short + (min(n.suffixes) if "" not in n.suffixes else "")
             for n in _spec(spec) if not n.optional]
    return ":" + ":".join(parts) + "?"


# -- data: what an element means to a command --------------------------------------------
@dataclass(frozen=True)
class Numeric:
    """A numeric parameter: every value the text can mean, or the keyword it names."""

    values: tuple[float, ...] = ()
    keyword: str | None = None


def numeric(data: str, unit: str = "") -> Numeric:
    """A <numeric_value> (IEEE 488.2 7.7.2-7.7.4; SCPI 1999 Vol. 1 7.2.1): decimal data with
    every reading of its suffix, non-decimal data, or a numeric keyword (MIN, MAX, DEF, UP,
    DOWN, INF, NINF, NAN). ``unit`` is the unit the command takes (``"A"``, ``"V"``, ``"S"``,
    ``"HZ"``); a suffix naming another unit is -131 "Invalid suffix"."""
    data = data if isinstance(data, Data) else datum(data)
    if data.kind == "char":
        if data.word in NUMERIC_KEYWORDS:
            return Numeric(keyword=NUMERIC_KEYWORDS[data.word])
        raise ScpiSyntaxError(-141, "Invalid character data")
    if data.kind == "nondecimal":
        return Numeric((data.value,))
    if data.kind != "number":
        raise ScpiSyntaxError(-104, "Data type error")
    if not data.suffix:
        return Numeric((data.value,))
    exponents = suffix_exponents(data.suffix, unit.upper())
    if not exponents:
        raise ScpiSyntaxError(-131, "Invalid suffix")
    return Numeric(tuple(sorted({float(Decimal(repr(data.value)).scaleb(e)) for e in exponents},
                                key=abs)))


def suffix_exponents(suffix: str, unit: str) -> set[int]:
    """Every power of ten a suffix can mean after a number in ``unit`` (Table 7-1: a
    multiplier alone, or a multiplier and the unit; ``MA`` is mega alone, milli + A as a
    unit), applied to the decimal digits (10uA is 1e-05, not 10 x 1e-06)."""
    if unit and suffix in SPECIAL_UNITS and SPECIAL_UNITS[suffix][0] == unit:
        return {SPECIAL_UNITS[suffix][1]}  # MHZ is megahertz, MOHM megohm, nothing else
    exponents = set()
    for prefix, exponent in EXPONENTS.items():
        if suffix == prefix and prefix:
            exponents.add(exponent)
        if unit and suffix == prefix + unit:
            exponents.add(exponent)
    return exponents


def suffix_reading(data: Data, unit: str) -> str:
    """Why a suffix means what it means, for an error message: ``50MA`` -> "50MA read as
    5e+07 (MA: mega, IEEE 488.2 Table 7-1) or 0.05 (milli + A)"."""
    if data.kind != "number" or not data.suffix:
        return ""
    readings = []
    for prefix, exponent in EXPONENTS.items():
        scale = 10.0 ** exponent
        if data.suffix == prefix and prefix:
            name = {"MA": "mega", "M": "milli", "U": "micro", "N": "nano", "K": "kilo",
                    "P": "pico", "F": "femto", "A": "atto", "G": "giga", "T": "tera",
                    "PE": "peta", "EX": "exa"}[prefix]
            readings.append(f"{data.value * scale:g} ({prefix}: {name})")
        if unit and data.suffix == prefix + unit.upper():
            readings.append(f"{data.value * scale:g} ({prefix or 'no multiplier'} + {unit})")
    if not readings:
        return ""
    return (f"{data.text!r} reads as " + " or ".join(readings)
            + " (IEEE 488.2 Table 7-1, case-insensitive: the worst reading counts)")


def boolean(data: str) -> bool:
    """<Boolean> (SCPI 1999 Vol. 1 7.3): ON, OFF or a number, rounded to an integer (IEEE
    488.2 7.7.2.4.1: halves away from zero), non-zero is ON."""
    data = data if isinstance(data, Data) else datum(data)
    if data.kind == "char":
        if data.word in ("ON", "OFF"):
            return data.word == "ON"
        raise ScpiSyntaxError(-141, "Invalid character data")
    if data.kind not in ("number", "nondecimal"):
        raise ScpiSyntaxError(-104, "Data type error")
    if data.suffix:
        raise ScpiSyntaxError(-138, "Suffix not allowed")
    return round_half_away(data.value) != 0


def round_half_away(value: float) -> int:
    """IEEE 488.2 7.7.2.4.1: a number is rounded to the nearest integer, halves away from
    zero (0.5 -> 1, -0.5 -> -1, 0.4 -> 0)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def character(data: str, options: dict[str, str]) -> str:
    """<CPD>: a mnemonic from ``options`` (manual spelling -> canonical), short or long."""
    data = data if isinstance(data, Data) else datum(data)
    if data.kind != "char":
        raise ScpiSyntaxError(-104, "Data type error")
    for spelled, canonical in options.items():
        if header_matches(spelled, (data.word,)):
            return canonical
    raise ScpiSyntaxError(-141, "Invalid character data")


def string(data: str) -> str:
    """<STRING PROGRAM DATA>: the text inside the quotes."""
    data = data if isinstance(data, Data) else datum(data)
    if data.kind != "string":
        raise ScpiSyntaxError(-104, "Data type error")
    return data.word


def data_list(text: str) -> tuple[Data, ...]:
    """The data elements of ``text`` (``"1, 0"`` -> two numbers)."""
    reader = _Reader(text)
    found = _data_list(reader)
    reader.white()
    if not reader.at_end():
        raise ScpiSyntaxError(-103, "Invalid separator")
    return found


def datum(text: str) -> Data:
    """One data element from its text (``"0.5"``, ``"MAX"``, ``"'VOLT'"``)."""
    reader = _Reader(text.strip(WHITE))
    if reader.at_end():
        raise ScpiSyntaxError(-109, "Missing parameter")
    found = _datum(reader)
    if not reader.at_end():
        raise ScpiSyntaxError(-102, "Syntax error")
    return found
