"""What the emulators share about parameters and errors: the instruments' error messages and
the parsers a command table uses, all on the one grammar (``instruments.scpi``, the leaf the
safety guard reads lines with too).

Errors go to the queue the way Keithley instruments report them: the number and the standard
SCPI message and nothing else (SCPI 1999 Vol. 2 21.8; Model 2400 User's Manual Appendix B,
Table B-1; Model 2000 User's Manual Appendix B; Model 6220/6221 Reference Manual Appendix B;
Model 7001 Instruction Manual, "Error messages"). The texts differ a little between the
manuals: an emulator's table overrides the standard's where its manual words one otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import instruments.scpi as scpi

ERRORS = {  # the SCPI standard's messages (SCPI 1999 Vol. 2, 21.8.9 and 21.8.10)
    -100: "Command error", -101: "Invalid character", -102: "Syntax error",
    -103: "Invalid separator", -104: "Data type error", -108: "Parameter not allowed",
    -109: "Missing parameter", -110: "Command header error", -111: "Header separator error",
    -113: "Undefined header", -114: "Header suffix out of range", -120: "Numeric data error",
    -121: "Invalid character in number", -123: "Exponent too large",
    -124: "Too many digits", -128: "Numeric data not allowed", -131: "Invalid suffix",
    -138: "Suffix not allowed", -141: "Invalid character data",
    -148: "Character data not allowed", -151: "Invalid string data",
    -158: "String data not allowed", -161: "Invalid block data",
    -168: "Block data not allowed", -178: "Expression data not allowed",
    -200: "Execution error", -213: "Init ignored", -220: "Parameter error",
    -221: "Settings conflict", -222: "Data out of range", -223: "Too much data",
    -224: "Illegal parameter value", -230: "Data corrupt or stale", -350: "Queue overflow",
    -410: "Query INTERRUPTED", -420: "Query UNTERMINATED",
}
ERRORS_2400 = {**ERRORS, -222: "Parameter data out of range",  # Model 2400 Table B-1
               +803: "Not permitted with OUTPUT off"}
QUEUE_SIZE = 10  # the error queue holds 10 messages (2400 Appendix B; 6221 Appendix B)


class Refused(Exception):
    """An instrument's answer to a bad program message unit: an error-queue entry."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{code}{'; ' + detail if detail else ''}")
        self.code = code


ScpiError = Refused  # the name the older emulators raise


def _datum(text: str) -> scpi.Data:
    try:
        return text if isinstance(text, scpi.Data) else scpi.datum(text)
    except scpi.ScpiSyntaxError as err:
        raise Refused(err.code) from None


def _plain_number(data: scpi.Data, keywords: dict[str, float]) -> float:
    """A number without a suffix (the Keithley sources and meters take no units: -138), or
    one of the command's keywords (another numeric keyword is -224, any other word -104)."""
    if data.kind == "char":
        if data.word not in scpi.NUMERIC_KEYWORDS:
            raise Refused(-104)  # a word where a number goes
        if scpi.NUMERIC_KEYWORDS[data.word] not in keywords:
            raise Refused(-224)  # a keyword this command does not take
        return keywords[scpi.NUMERIC_KEYWORDS[data.word]]
    if data.kind not in ("number", "nondecimal"):
        raise Refused(-104)
    if data.suffix:
        raise Refused(-138)
    return data.value


def _num(low: float, high: float, default: float | None = None,
         infinite: float | None = None) -> Callable[[str], float]:
    """<NRf> with MINimum, MAXimum, DEFault (the manual's default: ``default``) and
    INFinity where the manual allows it (``infinite``)."""

    keywords = {"MIN": low, "MAX": high}
    if default is not None:
        keywords["DEF"] = default
    if infinite is not None:
        keywords["INF"] = infinite

    def parse(text: str) -> float:
        value = _plain_number(_datum(text), keywords)
        if value == infinite:
            return value
        if not low <= value <= high:
            raise Refused(-222)
        return value

    return parse


def _bool(text: str) -> bool:
    try:
        return scpi.boolean(_datum(text))
    except scpi.ScpiSyntaxError as err:
        raise Refused(-224 if err.code == -141 else err.code) from None


def _choice(options: dict[str, str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        data = _datum(text)
        if data.kind == "string":
            raise Refused(-151)
        try:
            return scpi.character(data, options)
        except scpi.ScpiSyntaxError:
            raise Refused(-224) from None

    return parse


def _out(value) -> str:
    """Reply format (2400 section 18, FORMat ASCii): numbers +d.ddddddE+dd, booleans 1/0."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:+.6E}"
    return str(value)


# -- the parsers of the 6221 and 2000 tables (their manuals' error texts) ---------------------
def number(args: str, low: float, high: float, specials: dict[str, float] | None = None,
           default: float | None = None) -> float:
    """One <NRf> in [low, high]; MIN, MAX, DEF (``default``, the manual's default; a command
    without one refuses DEF) and the command's own keywords (``specials``: INF...)."""
    data = _one_datum(args)
    keywords = {"MIN": low, "MAX": high, **(specials or {})}
    if default is not None:
        keywords["DEF"] = default
    value = _plain_number(data, {scpi.NUMERIC_KEYWORDS.get(k, k): v
                                 for k, v in keywords.items()})
    if data.kind == "char" or (math.isinf(value) and value in keywords.values()):
        return value
    if not low <= value <= high:
        raise Refused(-222, f"{value:g} outside [{low:g}, {high:g}]")
    return value


def boolean(args: str) -> bool:
    """<b>: ON, OFF or a number rounded to an integer (non-zero is ON); a word that is
    neither is -104 (SCPI 1999 Vol. 1 7.3)."""
    data = _one_datum(args)
    try:
        return scpi.boolean(data)
    except scpi.ScpiSyntaxError as err:
        raise Refused(-104 if err.code == -141 else err.code) from None


def choice(args: str, options: dict[str, str]) -> str:
    """Character data by short or long form; a word not in the list is -141 "Invalid
    character data"; no argument is -109."""
    data = _one_datum(args)
    if data.kind == "string":
        data = _datum(data.word)  # '<name>' (a function name as a string, 2000 FUNC)
    try:
        return scpi.character(data, options)
    except scpi.ScpiSyntaxError as err:
        raise Refused(err.code if err.code != -104 else -141) from None


def numbers(args: str, low: float, high: float, max_points: int) -> list[float]:
    """A list of <NRf>, 1 to ``max_points`` of them, each in [low, high]."""
    try:
        items = scpi.data_list(args) if not isinstance(args, scpi.Data) else (args,)
    except scpi.ScpiSyntaxError as err:
        raise Refused(err.code) from None
    if not items:
        raise Refused(-109)
    values = [number(item, low, high) for item in items]
    if len(values) > max_points:
        raise Refused(-222, f"{len(values)} points, allowed 1-{max_points}")
    return values


def fmt(value: float) -> str:
    """A number as the Keithley instruments send it (ASCII, NR3 with six decimals)."""
    return f"{value:.6E}"


def _one_datum(args: str) -> scpi.Data:
    if isinstance(args, scpi.Data):
        return args
    try:
        items = scpi.data_list(args)
    except scpi.ScpiSyntaxError as err:
        raise Refused(err.code) from None
    if not items:
        raise Refused(-109)
    if len(items) > 1:
        raise Refused(-108)
    return items[0]
