"""What the strict emulators share: Keithley's SCPI parser behaviour and error queue.

A program message is read with the SCPI path rule by ``instruments.scpi`` (the leaf the
safety guard uses too); each unit is looked up in the instrument's own command table (no
catch-all); anything else queues the manual's error with the manual's text and nothing
added (Model 2400 User's Manual Appendix B, Table B-1; Model 7001 Instruction Manual,
Appendix "Error messages": the same SCPI messages). A command error (-100 to -199) ends the
program message, as IEEE 488.2 section 6.1.6 has the parser do; an execution error does not.
The IEEE-488.2 common commands are those of each manual's common-commands section.
"""

from __future__ import annotations

from collections.abc import Callable

import instruments.scpi as scpi
from simulators.lab.base import LabInstrument

ERRORS = {  # Model 2400 User's Manual, Table B-1
    -100: "Command error", -101: "Invalid character", -102: "Syntax error",
    -103: "Invalid separator", -104: "Data type error", -108: "Parameter not allowed",
    -109: "Missing parameter", -110: "Command header error", -113: "Undefined header",
    -114: "Header suffix out of range", -120: "Numeric data error",
    -121: "Invalid character in number", -123: "Exponent too large",
    -124: "Too many digits", -128: "Numeric data not allowed", -131: "Invalid suffix",
    -138: "Suffix not allowed", -141: "Invalid character data",
    -148: "Character data not allowed", -151: "Invalid string data",
    -158: "String data not allowed", -200: "Execution error", -220: "Parameter error",
    -221: "Settings conflict", -222: "Parameter data out of range", -223: "Too much data",
    -224: "Illegal parameter value", -230: "Data corrupt or stale", -350: "Queue overflow",
    -410: "Query INTERRUPTED", -420: "Query UNTERMINATED",
    +803: "Not permitted with OUTPUT off",
}
QUEUE_SIZE = 10  # Appendix B: the error queue holds 10 messages

class Refused(Exception):
    """The 2400's answer to a bad program message unit: an error-queue entry."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _num(low: float, high: float, default: float | None = None,
         infinite: float | None = None) -> Callable[[str], float]:
    """<NRf> with MINimum, MAXimum, DEFault (and INFinite where the manual allows it)."""

    def parse(text: str) -> float:
        try:
            number = scpi.numeric(text)
        except scpi.ScpiSyntaxError as err:
            raise Refused(err.code) from None
        if number.keyword in ("MIN", "MAX", "DEF"):
            return {"MIN": low, "MAX": high, "DEF": low if default is None else default}[
                number.keyword]
        if number.keyword == "INF" and infinite is not None:
            return infinite
        if number.keyword:
            raise Refused(-224)
        if len(number.values) != 1 or text.strip()[-1:].isalpha():
            raise Refused(-138)
        value = number.values[0]
        if not low <= value <= high:
            raise Refused(-222)
        return value

    return parse


def _bool(text: str) -> bool:
    try:
        return scpi.boolean(text)
    except scpi.ScpiSyntaxError:
        raise Refused(-224) from None


def _choice(options: dict[str, str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip()[:1] in "'\"":
            raise Refused(-151)
        try:
            return scpi.character(text, options)
        except scpi.ScpiSyntaxError:
            raise Refused(-224) from None

    return parse


def _out(value) -> str:
    """Reply format (section 18, FORMat ASCii): numbers +d.ddddddE+dd, booleans 1/0."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:+.6E}"
    return str(value)


Handler = Callable[[scpi.Unit], "str | None"]


class StrictInstrument(LabInstrument):
    """Subclasses give ``_build_table()`` (manual header -> handler), ``settings`` (what
    *SAV/*RCL keep) and ``reset()``."""

    settings: dict[str, object]

    def __init__(self, chip, clock) -> None:
        self.saved: dict[int, dict] = {}
        self.ese = self.sre = 0
        super().__init__(chip, clock)

    def _build_table(self) -> list[tuple[str, Handler]]:
        raise NotImplementedError

    def _apply(self) -> None:
        """Bring the physics in line with the settings after each program message."""

    def recalled(self) -> None:
        """After *RCL: what the instrument does besides restoring the settings."""

    # -- the error queue (Appendix B: the manual's messages, nothing added) --------------
    def push_error(self, code: int, detail: str = "") -> None:
        if len(self.errors) >= QUEUE_SIZE:
            self.errors[-1] = (-350, ERRORS[-350])
            return
        self.errors.append((code, ERRORS.get(code, "Execution error")))
        self.esr |= 32 if -200 < code <= -100 else 16 if code <= -200 or code > 0 else 0

    # -- execution -------------------------------------------------------------------------
    def handle(self, line: str) -> str | None:
        self.clock.advance(self.clock.bus_latency)
        self.log.append(line)
        replies = []
        try:
            for unit in scpi.units(line):
                try:
                    reply = self._execute(unit)
                except Refused as err:
                    self.push_error(err.code)
                    if err.code > -200 and err.code < -100:
                        break  # a command error ends the program message
                    continue
                if reply is not None:
                    replies.append(reply)
        except scpi.ScpiSyntaxError as err:
            self.push_error(err.code)
        self._apply()
        return ";".join(replies) if replies else None

    def _execute(self, unit: scpi.Unit) -> str | None:
        if unit.common:
            return self._common(unit)
        for spec, handler in self._commands:
            if scpi.header_matches(spec, unit.nodes):
                return handler(unit)
        raise Refused(-113)

    def _common(self, unit: scpi.Unit) -> str | None:
        """Section 17: the IEEE-488.2 common commands of the 2400."""
        name, query = unit.nodes[0], unit.query
        table: dict[tuple[str, bool], Callable[[], str | None]] = {
            ("*IDN", True): lambda: self.idn,
            ("*RST", False): self.reset,
            ("*CLS", False): self._clear_status,
            ("*OPC", True): lambda: "1",
            ("*OPC", False): self._opc,
            ("*ESR", True): self._read_esr,
            ("*ESE", True): lambda: str(self.ese),
            ("*ESE", False): lambda: self._store_register("ese", unit),
            ("*SRE", True): lambda: str(self.sre),
            ("*SRE", False): lambda: self._store_register("sre", unit),
            ("*STB", True): self._status_byte,
            ("*OPT", True): lambda: "0",
            ("*TST", True): lambda: "0",
            ("*TRG", False): lambda: None,
            ("*WAI", False): lambda: None,
            ("*SAV", False): lambda: self._save(unit),
            ("*RCL", False): lambda: self._recall(unit),
        }
        if (name, query) not in table:
            raise Refused(-113)
        if not query and name not in ("*ESE", "*SRE", "*SAV", "*RCL") and unit.args:
            raise Refused(-108)
        return table[(name, query)]()

    def _clear_status(self) -> None:
        self.errors.clear()
        self.esr = 0

    def _opc(self) -> None:
        self.esr |= 1

    def _read_esr(self) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    def _status_byte(self) -> str:
        eav = 4 if self.errors else 0
        esb = 32 if self.esr & self.ese else 0
        return str(eav | esb)

    def _store_register(self, name: str, unit: scpi.Unit) -> None:
        setattr(self, name, int(self._one(unit, _num(0, 255))))

    def _save(self, unit: scpi.Unit) -> None:
        self.saved[int(self._one(unit, _num(0, 4)))] = dict(self.settings)

    def _recall(self, unit: scpi.Unit) -> None:
        slot = int(self._one(unit, _num(0, 4)))
        if slot not in self.saved:
            raise Refused(-221)
        self.settings = dict(self.saved[slot])
        self.recalled()

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _one(unit: scpi.Unit, parse: Callable[[str], object]):
        params = unit.params()
        if not params:
            raise Refused(-109)
        if len(params) > 1:
            raise Refused(-108)
        return parse(params[0])

    def _setting(self, key: str, parse: Callable[[str], object],
                 after: Callable[[], None] | None = None):
        """A documented setting: set with one parameter, query (also with MIN|MAX|DEF)."""

        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                if not unit.args:
                    return _out(self.settings[key])
                value = self._one(unit, parse)  # "? MINimum|MAXimum|DEFault"
                if not isinstance(value, float):
                    raise Refused(-108)
                return _out(value)
            self.settings[key] = self._one(unit, parse)
            if after is not None:
                after()
            return None

        return handler

    def _action(self, action: Callable[[], str | None]):
        def handler(unit: scpi.Unit) -> str | None:
            if unit.args:
                raise Refused(-108)
            return action()

        return handler

    def _query_only(self, answer: Callable[[], str]):
        def handler(unit: scpi.Unit) -> str:
            if not unit.query:
                raise Refused(-113)
            return answer()

        return handler

    def _command_only(self, action: Callable[[scpi.Unit], None]):
        def handler(unit: scpi.Unit) -> None:
            if unit.query:
                raise Refused(-113)
            action(unit)

        return handler

    def _system_error(self, kind: str):
        def answer() -> str:
            if kind == "COUNT":
                return str(len(self.errors))
            if kind == "ALL":
                items = list(self.errors) or [(0, "No error")]
                self.errors.clear()
                return ",".join(f'{c},"{m}"' for c, m in items)
            code, message = self.errors.popleft() if self.errors else (0, "No error")
            return str(code) if kind == "CODE" else f'{code},"{message}"'

        return self._query_only(answer)

    def _status_register(self):
        registers: dict[str, int] = {}

        def handler(unit: scpi.Unit) -> str | None:
            key = ":".join(unit.nodes[:2])
            if unit.query:
                return str(registers.get(key, 0))
            registers[key] = int(self._one(unit, _num(0, 65535)))
            return None

        return handler

    # -- the command table -----------------------------------------------------------------
    @property
    def _commands(self):
        if not hasattr(self, "_table_strict"):
            self._table_strict = self._build_table()
        return self._table_strict

    def commands(self):
        return {}  # the shared regex table is not used: see _build_table

