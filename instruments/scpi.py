"""SCPI program messages in the form the Keithley manuals print them.

One grammar for whoever must read SCPI the way an instrument does: the safety guard under the
drivers, and the virtual lab's emulators. It imports nothing from the project.

Rules (IEEE 488.2 section 7; Model 2400 User's Manual section 18 "SCPI command reference",
"Program messages"; Model 6220/6221 Reference Manual section 14, "SCPI command syntax"):

- A header node matches its short form (the capitals of the printed mnemonic) or its long
  form, case-insensitively; nothing in between. ``[...]`` nodes are optional. A printed
  ``[1]`` after a mnemonic is an optional numeric suffix (``SOURce[1]``: SOUR or SOUR1); digits
  printed as part of the mnemonic are a required suffix (``CALCulate2``).
- ``;`` separates program message units; a unit whose header starts without ``:`` continues
  at the path of the unit before it minus that unit's last node (the path pointer only moves
  down); ``:`` starts again at the root. Common commands (``*RST``) leave the path alone.
  A line feed ends the program message: the next one starts at the root.
- ``;`` and ``,`` inside quoted strings are data.
- Numeric parameters: <NRf> (``5e-2``, ``.05``, ``+50E-3``), the keywords MINimum,
  MAXimum, DEFault, UP, DOWN, INFinity, NINF, NAN, and a suffix of multiplier and unit
  (``50mA``, ``2 ms``). ``MA`` is mega as a multiplier but milli + A as a unit: where a
  suffix can be read two ways, every reading is returned, so a careful caller takes the
  worst one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

MULTIPLIERS = {"EX": 1e18, "PE": 1e15, "T": 1e12, "G": 1e9, "MA": 1e6, "K": 1e3, "": 1.0,
               "M": 1e-3, "U": 1e-6, "N": 1e-9, "P": 1e-12, "F": 1e-15, "A": 1e-18}
SPECIAL_UNITS = {"MHZ": ("HZ", 1e6), "MOHM": ("OHM", 1e6)}  # IEEE 488.2 Table 7-1 note
NUMERIC_KEYWORDS = {"MIN": "MIN", "MINIMUM": "MIN", "MAX": "MAX", "MAXIMUM": "MAX",
                    "DEF": "DEF", "DEFAULT": "DEF", "UP": "UP", "DOWN": "DOWN",
                    "INF": "INF", "INFINITY": "INF", "NINF": "NINF", "NAN": "NAN"}
SCPI_INFINITY = 9.9e37  # SCPI 1999 Vol. 1, 7.2.1.5: INFinity, NINF and NAN as numbers

_NRF = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:\s*[eE]\s*[+-]?\d+)?)\s*([A-Za-z%]*)$")
_NODE = re.compile(r"([A-Z]+)(\d*)$")
_SPEC_NODE = re.compile(r"(\[?):?([A-Za-z]+)(\d*)(?:\[(\d+)\])?(\]?)")


class ScpiSyntaxError(ValueError):
    """Text an instrument's parser would refuse; ``code`` is the SCPI error number."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Unit:
    """One program message unit, its header resolved to the full path from the root."""

    nodes: tuple[str, ...]  # upper case as sent, suffixes kept: ("SOUR1", "CURR", "LEV")
    query: bool
    args: str
    text: str  # the unit as sent
    relative: bool = False  # header continued the previous unit's path (no leading ":")

    @property
    def common(self) -> bool:
        return bool(self.nodes) and self.nodes[0].startswith("*")

    @property
    def header(self) -> str:
        return self.nodes[0] if self.common else ":" + ":".join(self.nodes)

    def from_root(self) -> Unit:
        """The same unit read from the root (as a parser without the path rule would)."""
        return Unit(tuple(self.text.split(None, 1)[0].rstrip("?").upper().lstrip(":")
                          .split(":")), self.query, self.args, self.text)

    def params(self) -> list[str]:
        return split_outside_quotes(self.args, ",") if self.args.strip() else []


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` except inside '...' or "..." strings and (...) expressions
    such as channel lists (IEEE 488.2 7.7.7); parts stripped."""
    parts, current, quote, depth = [], [], "", 0
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == separator and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            depth += (ch == "(") - (ch == ")")
            current.append(ch)
    if quote:
        raise ScpiSyntaxError(-151, "Invalid string data")
    parts.append("".join(current).strip())
    return parts


def units(text: str) -> Iterator[Unit]:
    """Every program message unit of ``text`` (one or more messages), path rule applied."""
    for message in re.split(r"[\r\n]+", text):
        path: tuple[str, ...] = ()
        for raw in split_outside_quotes(message, ";"):
            if not raw:
                continue
            unit = _unit(raw, path)
            if not unit.common:
                path = unit.nodes[:-1]
            yield unit


def _unit(raw: str, path: tuple[str, ...]) -> Unit:
    match = re.match(r"(\S+)(?:\s+(.*))?$", raw, re.S)
    if match is None:
        raise ScpiSyntaxError(-102, "Syntax error")
    header, args = match.group(1), (match.group(2) or "").strip()
    query = header.endswith("?")
    header = header[:-1] if query else header
    upper = header.upper()
    if upper.startswith("*"):
        if not re.fullmatch(r"\*[A-Z]+", upper):
            raise ScpiSyntaxError(-113, "Undefined header")
        return Unit((upper,), query, args, raw)
    absolute = upper.startswith(":")
    nodes = tuple(upper.lstrip(":").split(":"))
    if not all(_NODE.match(n) for n in nodes):
        raise ScpiSyntaxError(-113, "Undefined header")
    return Unit(nodes if absolute else path + nodes, query, args, raw,
                relative=bool(path) and not absolute)


@dataclass(frozen=True)
class _SpecNode:
    short: str
    long: str
    optional: bool
    suffixes: frozenset[str]  # accepted digit strings after the mnemonic ("" = none)

    def matches(self, node: str) -> bool:
        match = _NODE.match(node)
        return bool(match) and match.group(1) in (self.short, self.long) and \
            match.group(2) in self.suffixes


@cache
def _spec(spec: str) -> tuple[_SpecNode, ...]:
    nodes = []
    for opening, name, required, optional, closing in _SPEC_NODE.findall(spec):
        short = "".join(ch for ch in name if ch.isupper()) or name.upper()
        suffixes = {required} if required else ({"", optional} if optional else {""})
        nodes.append(_SpecNode(short, name.upper(), bool(opening and closing),
                               frozenset(suffixes)))
    return tuple(nodes)


def header_matches(spec: str, nodes: tuple[str, ...]) -> bool:
    """Does the resolved header ``nodes`` spell the manual's header ``spec``?"""
    pattern = _spec(spec)

    def walk(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(nodes)
        node = pattern[i]
        if j < len(nodes) and node.matches(nodes[j]) and walk(i + 1, j + 1):
            return True
        return node.optional and walk(i + 1, j)

    return walk(0, 0)


@dataclass(frozen=True)
class Numeric:
    """A numeric parameter: every value the text can mean, or the keyword it names."""

    values: tuple[float, ...] = ()
    keyword: str | None = None


def numeric(text: str, unit: str = "") -> Numeric:
    """Read a <numeric_value> (IEEE 488.2 7.7.2-7.7.3); ``unit`` is the unit the command
    takes (``"A"``, ``"V"``, ``"S"``, ``"HZ"``), a suffix naming another unit is refused."""
    word = text.strip().upper()
    if word in NUMERIC_KEYWORDS:
        return Numeric(keyword=NUMERIC_KEYWORDS[word])
    if word.startswith("#"):
        return Numeric((float(_non_decimal(word)),))
    match = _NRF.match(word)
    if match is None:
        raise ScpiSyntaxError(-104, "Data type error")
    mantissa = float(match.group(1).replace(" ", ""))
    if not math.isfinite(mantissa):
        raise ScpiSyntaxError(-123, "Exponent too large")
    suffix = match.group(2)
    if not suffix:
        return Numeric((mantissa,))
    scales = _suffix_scales(suffix, unit.upper())
    if not scales:
        raise ScpiSyntaxError(-131, "Invalid suffix")
    return Numeric(tuple(sorted({mantissa * s for s in scales}, key=abs)))


def _suffix_scales(suffix: str, unit: str) -> set[float]:
    scales = set()
    if unit and suffix in SPECIAL_UNITS and SPECIAL_UNITS[suffix][0] == unit:
        scales.add(SPECIAL_UNITS[suffix][1])
    for prefix, scale in MULTIPLIERS.items():
        if suffix == prefix and prefix:
            scales.add(scale)  # a multiplier alone
        if unit and suffix == prefix + unit:
            scales.add(scale)
    return scales


def _non_decimal(word: str) -> int:
    bases = {"#H": 16, "#Q": 8, "#B": 2}
    try:
        return int(word[2:], bases[word[:2]])
    except (KeyError, ValueError):
        raise ScpiSyntaxError(-121, "Invalid character in number") from None


def boolean(text: str) -> bool:
    """<Boolean>: ON, OFF or a number (non-zero after rounding is ON, IEEE 488.2 7.7.2)."""
    word = text.strip().upper()
    if word in ("ON", "OFF"):
        return word == "ON"
    values = numeric(word).values
    if not values:
        raise ScpiSyntaxError(-104, "Data type error")
    return round(values[0]) != 0


def character(text: str, options: dict[str, str]) -> str:
    """<CPD>: a mnemonic from ``options`` (manual spelling -> canonical), short or long."""
    word = text.strip().strip("'\"").upper()
    for spelled, canonical in options.items():
        if header_matches(spelled, (word,)):
            return canonical
    raise ScpiSyntaxError(-224, "Illegal parameter value")
