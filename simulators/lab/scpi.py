"""A small SCPI engine for the virtual lab's instrument emulators.

Headers are declared the way instrument manuals print them, e.g.
``[:SOURce]:CURRent[:LEVel]:COMPliance``: each node matches its short form (the capitals) or
its long form, case-insensitively; bracketed nodes are optional. Messages may be chained with
``;`` (a chained header without a leading colon continues at the previous level, as
pymeasure's ``:ARM:SOUR BUS;:TRIG:SOUR BUS;`` does not need, but a user may send).
Errors go to the queue the way Keithley instruments report them: -113 undefined header,
-222 data out of range, -221 settings conflict, -102/-104 syntax and data type.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

ERRORS = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -113: "Undefined header",
    -221: "Settings conflict",
    -222: "Data out of range",
    -350: "Queue overflow",
}
QUEUE_SIZE = 10


class ScpiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{code}, {ERRORS.get(code, 'Error')}{'; ' + detail if detail else ''}")
        self.code = code


def _node_pattern(node: str) -> str:
    short = "".join(ch for ch in node if ch.isupper() or ch.isdigit() or ch in "*?")
    long = node.upper()
    forms = {re.escape(short), re.escape(long)}
    return "(?:" + "|".join(sorted(forms, key=len, reverse=True)) + r")(?:\d+)?"


def compile_header(spec: str) -> re.Pattern[str]:
    """``[:SOURce]:CURRent[:LEVel]`` -> a regex over the upper-cased header."""
    parts = re.findall(r"\[:?([^\]]+)\]|:?([^:\[\]]+)", spec)
    regex = ""
    for optional, required in parts:
        if required == "*":  # any further nodes (a catch-all for settings kept verbatim)
            regex += r"(?::?[A-Z][A-Z0-9]*)*"
        elif optional:
            regex += "(?::?" + _node_pattern(optional.lstrip(":")) + ")?"
        else:
            regex += ":?" + _node_pattern(required)
    return re.compile("^:?" + regex.lstrip(":?") + "$", re.IGNORECASE)


Handler = Callable[[str, bool], "str | None"]


@dataclass
class _Command:
    pattern: re.Pattern[str]
    handler: Handler
    spec: str


class ScpiInstrument:
    """Holds the command table, the error queue and the command log. Subclasses register
    commands in ``commands()`` and implement ``reset()``."""

    idn = "VIRTUAL,INSTRUMENT,0,0"

    def __init__(self) -> None:
        self.errors: deque[tuple[int, str]] = deque()
        self.log: list[str] = []
        self.esr = 0
        self._table: list[_Command] = []
        for spec, handler in self.commands().items():
            self._table.append(_Command(compile_header(spec), handler, spec))
        self.reset()

    # -- to override --------------------------------------------------------------
    def commands(self) -> dict[str, Handler]:
        return {}

    def reset(self) -> None:
        """*RST: the instrument's default settings."""

    # -- error queue ----------------------------------------------------------------
    def push_error(self, code: int, detail: str = "") -> None:
        if len(self.errors) >= QUEUE_SIZE:
            self.errors[-1] = (-350, ERRORS[-350])
            return
        message = ERRORS.get(code, "Error") + (f"; {detail}" if detail else "")
        self.errors.append((code, message))
        self.esr |= 32 if code <= -100 and code > -200 else 16  # CME or EXE

    def _system_error(self) -> str:
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{message}"'

    # -- execution ------------------------------------------------------------------
    def handle(self, line: str) -> str | None:
        """Execute one line; return the reply (queries joined by ';') or None."""
        self.log.append(line)
        replies = []
        for message in (m.strip() for m in line.split(";")):
            if not message:
                continue
            try:
                reply = self._execute(message)
            except ScpiError as err:
                self.push_error(err.code, str(err).split("; ", 1)[-1] if "; " in str(err)
                                else "")
                continue
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def _execute(self, message: str) -> str | None:
        header, _, args = message.partition(" ")
        args = args.strip()
        query = header.endswith("?")
        header = header.rstrip("?")
        common = self._common(header.upper(), query, args)
        if common is not False:
            return common
        for command in self._table:
            if command.pattern.match(header):
                return command.handler(args, query)
        raise ScpiError(-113, header)

    def _common(self, header: str, query: bool, args: str) -> str | None | bool:
        if header == "*IDN" and query:
            return self.idn
        if header == "*RST":
            self.reset()
            return None
        if header == "*CLS":
            self.errors.clear()
            self.esr = 0
            return None
        if header == "*OPC":
            return "1" if query else None
        if header == "*ESR" and query:
            value, self.esr = self.esr, 0
            return str(value)
        if header in ("*WAI", "*TRG", "*SRE", "*ESE"):
            return "0" if query else None
        if header in (":SYST:ERR", "SYST:ERR", ":SYSTEM:ERROR", "SYSTEM:ERROR",
                      ":SYST:ERR:NEXT", "SYST:ERR:NEXT") and query:
            return self._system_error()
        return False


# -- argument helpers ----------------------------------------------------------------------
def number(args: str, low: float, high: float, specials: dict[str, float] | None = None) -> float:
    text = args.strip().upper()
    specials = {"MIN": low, "MINIMUM": low, "MAX": high, "MAXIMUM": high, "DEF": low,
                **(specials or {})}
    if text in specials:
        return specials[text]
    try:
        value = float(text)
    except ValueError:
        raise ScpiError(-104, args) from None
    if not low <= value <= high:
        raise ScpiError(-222, f"{value:g} outside [{low:g}, {high:g}]")
    return value


def boolean(args: str) -> bool:
    text = args.strip().upper()
    if text in ("1", "ON"):
        return True
    if text in ("0", "OFF"):
        return False
    raise ScpiError(-104, args)


def choice(args: str, options: dict[str, str]) -> str:
    """Match a character argument by short or long form; returns the canonical name."""
    text = args.strip().strip("\"'").upper()
    for spec, canonical in options.items():
        if compile_header(spec).match(text):
            return canonical
    raise ScpiError(-222, args)


def numbers(args: str, low: float, high: float, max_points: int) -> list[float]:
    values = [number(v, low, high) for v in args.split(",") if v.strip()]
    if not 1 <= len(values) <= max_points:
        raise ScpiError(-222, f"{len(values)} points, allowed 1-{max_points}")
    return values


def fmt(value: float) -> str:
    return f"{value:.6E}"
