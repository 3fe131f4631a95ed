"""The guard's use of the one grammar (``instruments.scpi``): what parameters each command
of a table takes, a write's bytes as a line, and the replies it reads (IEEE 488.2 section 8:
NR1-NR3 numbers, character data, 0/1 flags)."""

from __future__ import annotations

import math
import re

from instruments import scpi


# -- parameters: what each command takes ------------------------------------------------------
# "" nothing (an event); "n" one number (or MIN, MAX, DEF...); "b" one boolean; "c" one word;
# "s" one string; "n+" one or more numbers; "c+" one or more words or strings; "*" anything;
# "l" one channel list ``(@ ...)`` (expression data, IEEE 488.2 7.7.7) or a word (ALL), a
# query with a list too; "q" a query only. A query takes nothing, or (for "n") one of MIN,
# MAX, DEF.
def check_parameters(kind: str, unit: scpi.Unit) -> None:
    """Refuse a unit whose parameters do not fit its header's kind (a query taking none or
    MIN/MAX/DEF; a setting its one value or list), as the instrument would."""
    data = unit.data
    if unit.query:
        if not data:
            return
        if kind in ("n", "n+") and len(data) == 1 and data[0].kind == "char" and \
                data[0].word in scpi.NUMERIC_KEYWORDS:
            return
        if kind == "*" or (kind == "qs" and len(data) == 1 and data[0].kind == "string") or \
                (kind == "l" and len(data) == 1 and data[0].kind == "expression"):
            return
        raise scpi.ScpiSyntaxError(-108, "Parameter not allowed")
    if kind == "q":
        raise scpi.ScpiSyntaxError(-113, "Undefined header (a query only)")
    if kind == "":
        if data:
            raise scpi.ScpiSyntaxError(-108, "Parameter not allowed")
        return
    if not data:
        raise scpi.ScpiSyntaxError(-109, "Missing parameter")
    single = {"n": ("number", "nondecimal", "char"), "b": ("number", "nondecimal", "char"),
              "c": ("char",), "s": ("string",), "qs": ("string",),
              "l": ("expression", "char")}
    many = {"n+": ("number", "nondecimal", "char"), "c+": ("char", "string")}
    if kind in single:
        if len(data) != 1:
            raise scpi.ScpiSyntaxError(-108, "Parameter not allowed")
        allowed = single[kind]
    elif kind in many:
        allowed = many[kind]
    else:  # "*"
        return
    if any(d.kind not in allowed for d in data):
        raise scpi.ScpiSyntaxError(-104, "Data type error")




def split_reply(text: str) -> list[str]:
    """A reply's parts, one per query of its message (";" outside a quoted string)."""
    parts, current, quote = [], [], False
    for ch in text:
        if ch == '"':
            quote = not quote
        if ch == ";" and not quote:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]






_NR = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def number_reply(text: str) -> float:
    """NR1-NR3 (IEEE 488.2 8.7.2-8.7.4); 9.9E37 is SCPI's infinity; nothing else."""
    if not _NR.fullmatch(text.strip()):
        raise ValueError("not a number (NR1, NR2 or NR3)")
    value = float(text)
    return math.inf if abs(value) >= scpi.SCPI_INFINITY else value


def flag_reply(text: str) -> bool:
    """A ``0``/``1`` reply as a bool; anything else is not what the manual says the instrument
    sends, and raises."""
    if text not in ("0", "1"):
        raise ValueError(text)
    return text == "1"


def list_reply(text: str) -> tuple:
    """A comma-separated numeric reply as a tuple of numbers."""
    return tuple(number_reply(v) for v in text.split(","))


def word_reply(text: str) -> str:
    """A character-data reply (quoted or not) as one upper-case word; anything else raises."""
    word = text.strip().strip('"').upper()
    if not word.isalnum():
        raise ValueError("not a word")
    return word


