"""A small SCPI engine for the virtual lab's instrument emulators.

Headers are declared the way instrument manuals print them, e.g.
``[:SOURce]:CURRent[:LEVel]:COMPliance``: each node matches its short form (the capitals) or
its long form, case-insensitively; bracketed nodes are optional. Messages may be chained with
``;`` (a chained header without a leading colon continues at the previous level, as
pymeasure's ``:ARM:SOUR BUS;:TRIG:SOUR BUS;`` does not need, but a user may send).
Errors go to the queue the way Keithley instruments report them, number and the standard
SCPI message and nothing else (IEEE 488.2 / SCPI error list, e.g. Model 2000 User's Manual
Appendix B, Model 6220/6221 Reference Manual Appendix B): -113 undefined header, -222 data out
of range, -221 settings conflict, -141 invalid character data, -102/-104 syntax and data type.
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
    -109: "Missing parameter",
    -113: "Undefined header",
    -141: "Invalid character data",
    -213: "Init ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
}
COMMON = ("*IDN", "*RST", "*CLS", "*OPC", "*ESR", "*ESE", "*SRE", "*STB", "*TRG", "*TST",
          "*WAI", "*OPT", "*SAV", "*RCL")  # IEEE-488.2 common commands of all three manuals
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

    def operation_complete(self) -> None:
        """*OPC, *OPC? and *WAI: wait until pending operations have ended."""

    def bus_trigger(self) -> None:
        """*TRG (and GET): a bus trigger."""

    # -- error queue ----------------------------------------------------------------
    def push_error(self, code: int, detail: str = "") -> None:
        """Queue an error; the instrument reports the standard message only (``detail``
        is for the emulator's log, as a real box adds nothing to the text)."""
        if len(self.errors) >= QUEUE_SIZE:
            self.errors[-1] = (-350, ERRORS[-350])
            return
        self.errors.append((code, ERRORS.get(code, "Error")))
        if detail:
            self.log.append(f"! {code} {detail}")
        self.esr |= 32 if code <= -100 and code > -200 else 16  # CME or EXE

    def _system_error(self) -> str:
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{message}"'

    # -- execution ------------------------------------------------------------------
    def handle(self, line: str) -> str | bytes | None:
        """Execute one line; return the reply (queries joined by ';') or None; bytes when a
        reply is binary."""
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
        if any(isinstance(r, bytes) for r in replies):  # binary readings (FORMat SREal)
            return b";".join(r if isinstance(r, bytes) else r.encode("ascii") for r in replies)
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
                reply = command.handler(args, query)
                return reply if query else None  # only a query is answered
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
            self.operation_complete()
            return "1" if query else None
        if header == "*WAI" and not query:
            self.operation_complete()
            return None
        if header == "*TRG" and not query:
            self.bus_trigger()
            return None
        if header == "*ESR" and query:
            value, self.esr = self.esr, 0
            return str(value)
        if header in ("*SRE", "*ESE"):
            return "0" if query else None
        if header == "*STB" and query:
            return str((4 if self.errors else 0) | (32 if self.esr else 0))
        if header == "*TST" and query:
            return "0"
        if header == "*OPT" and query:
            return "0"
        if header in ("*SAV", "*RCL") and not query:
            return None
        if header.startswith("*"):
            raise ScpiError(-113, header)
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
    """Match a character argument by short or long form; returns the canonical name. A word
    not in the list is -141 "Invalid character data" (SCPI); no argument is -109."""
    text = args.strip().strip("\"'").upper()
    if not text:
        raise ScpiError(-109, "no parameter")
    for spec, canonical in options.items():
        if compile_header(spec).match(text):
            return canonical
    raise ScpiError(-141, args)


def numbers(args: str, low: float, high: float, max_points: int) -> list[float]:
    values = [number(v, low, high) for v in args.split(",") if v.strip()]
    if not 1 <= len(values) <= max_points:
        raise ScpiError(-222, f"{len(values)} points, allowed 1-{max_points}")
    return values


def fmt(value: float) -> str:
    return f"{value:.6E}"
