"""The one engine of the virtual lab's emulators: a line read with the one grammar
(``instruments.scpi``), each unit looked up in the instrument's own command table, the
IEEE-488.2 common commands, the error queue, the bus cost, the chip and the clock.

Adding a command is one table entry: ``(manual header, handler)``; ``_setting(name, parse)``
makes the handler of a documented setting (set with one parameter, query with none or with
MINimum|MAXimum|DEFault), ``_action``, ``_event``, ``_query_only`` and ``_command_only``
the others. A
handler takes the ``scpi.Unit`` (an older one the unit's data text and the query flag).

Parser behaviour (IEEE 488.2 section 6.1.6 and 7; SCPI 1999 Vol. 2 21.8): units execute as
they are read; a command error (-100 to -199: syntax, header, data type, suffix) queues its
error and discards the rest of the program message; an execution error (-200 to -299, and
the instruments' positive codes) queues its error and the next unit runs. Every error sets
its bit in the standard event status register (CME 32, EXE 16, DDE 8, QYE 4: IEEE 488.2
11.5.1), read and cleared by *ESR?; *CLS empties the queue and clears the register.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable

import instruments.scpi as scpi
from simulators.lab.chip import Chip
from simulators.lab.clock import LabClock
from simulators.lab.strict import ERRORS, QUEUE_SIZE, Refused, _num, _out

Handler = Callable[[scpi.Unit], "str | bytes | None"]


class LabInstrument:
    """Subclasses give ``_build_table()`` (manual header -> handler) or ``commands()`` (a
    dict of the same), ``reset()``, and, to keep settings through *SAV/*RCL, ``settings``."""

    idn = "VIRTUAL,INSTRUMENT,0,0"
    errors_text = ERRORS  # the manual's error messages

    def __init__(self, chip: Chip, clock: LabClock) -> None:
        self.chip = chip
        self.clock = clock
        self.errors: deque[tuple[int, str]] = deque()
        self.log: list[str] = []
        self.esr = self.ese = self.sre = 0
        self.saved: dict[int, dict] = {}
        self.reset()
        self._table = self._full_table()
        self._resolved: dict[tuple[str, ...], Handler | None] = {}

    # -- to override ----------------------------------------------------------------------
    def _build_table(self) -> list[tuple[str, Handler]]:
        return list(self.commands().items())

    def commands(self) -> dict[str, Callable]:
        """The emulator's command table: each header as its manual prints it
        (``[:SOURce[1]]:CURRent[:LEVel]``, optional nodes in brackets) -> its handler. Subclasses
        override this or ``_build_table``; the IEEE 488.2 common commands are added to it, so the
        base's is empty."""
        return {}

    def reset(self) -> None:
        """*RST: the instrument's default settings."""

    def _apply(self) -> None:
        """Bring the physics in line with the settings after each program message."""

    def operation_complete(self) -> None:
        """*OPC, *OPC? and *WAI: wait until pending operations have ended."""

    def bus_trigger(self) -> None:
        """*TRG (and GET): a bus trigger."""

    def recalled(self) -> None:
        """After *RCL: what the instrument does besides restoring the settings."""

    # -- the error queue and the status byte ----------------------------------------------
    def push_error(self, code: int, detail: str = "") -> None:
        """Queue an error with the manual's message only (``detail`` goes to the log)."""
        if detail:
            self.log.append(f"! {code} {detail}")
        self.esr |= 32 if -200 < code <= -100 else 4 if -500 < code <= -400 else \
            16 if -300 < code <= -200 else 8
        if len(self.errors) >= QUEUE_SIZE:
            self.errors[-1] = (-350, self.errors_text[-350])
            return
        self.errors.append((code, self.errors_text.get(code, "Execution error")))

    # -- execution ------------------------------------------------------------------------
    def handle(self, line: str) -> str | bytes | None:
        """One line over the bus: the transaction's latency and the bytes both ways (a
        binary reply costs its bytes, header included); the reply to its queries joined by
        ";" (bytes when a reply is binary), or None."""
        self.clock.advance(self.clock.bus_latency + self.clock.transfer(len(line) + 1))
        self.log.append(line)
        replies: list[str | bytes] = []
        for message in scpi.messages(line) or [""]:
            self._message(message, replies)
            self._apply()
        if not replies:
            return None
        if any(isinstance(r, bytes) for r in replies):  # binary readings (FORMat SREal)
            reply = b";".join(r if isinstance(r, bytes) else r.encode("ascii")
                              for r in replies)
        else:
            reply = ";".join(replies)
        self.clock.advance(self.clock.transfer(len(reply) + 1))
        return reply

    def _message(self, message: str, replies: list) -> None:
        try:
            for unit in scpi.units(message + "\n"):
                try:
                    reply = self._execute(unit)
                except Refused as err:
                    self.push_error(err.code, str(err))
                    if -200 < err.code <= -100:
                        return  # a command error ends the program message
                    continue
                if reply is not None:
                    replies.append(reply)
        except scpi.ScpiSyntaxError as err:
            self.push_error(err.code, str(err))

    def _execute(self, unit: scpi.Unit) -> str | bytes | None:
        if unit.common:
            return self._common(unit)
        if unit.nodes not in self._resolved:  # the table is searched once per spelling
            self._resolved[unit.nodes] = next((handler for spec, handler in self._commands
                                               if scpi.header_matches(spec, unit.nodes)), None)
        handler = self._resolved[unit.nodes]
        if handler is None:
            raise Refused(-113)
        reply = handler(unit)
        return reply if unit.query else None  # only a query is answered

    @property
    def _commands(self) -> list[tuple[str, Handler]]:
        return self._table

    def _full_table(self) -> list[tuple[str, Handler]]:
        table = [(spec, _as_unit_handler(handler)) for spec, handler in self._build_table()]
        if ":SYSTem:ERRor[:NEXT]" not in {spec for spec, _ in table}:  # every manual's
            table.append((":SYSTem:ERRor[:NEXT]", self._system_error("NEXT")))  # SYST:ERR?
        return table

    def _common(self, unit: scpi.Unit) -> str | None:
        """The IEEE-488.2 common commands of the three manuals' common-commands sections
        (2400 section 17; 2000 section 5; 6221 section 14)."""
        name, query = unit.nodes[0], unit.query
        table: dict[tuple[str, bool], Callable[[], str | None]] = {
            ("*IDN", True): lambda: self.idn,
            ("*RST", False): self._reset,
            ("*CLS", False): self._clear_status,
            ("*OPC", True): self._opc_query,
            ("*OPC", False): self._opc,
            ("*ESR", True): self._read_esr,
            ("*ESE", True): lambda: str(self.ese),
            ("*ESE", False): lambda: self._store_register("ese", unit),
            ("*SRE", True): lambda: str(self.sre),
            ("*SRE", False): lambda: self._store_register("sre", unit),
            ("*STB", True): self._status_byte,
            ("*OPT", True): lambda: "0",
            ("*TST", True): lambda: "0",
            ("*TRG", False): self.bus_trigger,
            ("*WAI", False): self.operation_complete,
            ("*SAV", False): lambda: self._save(unit),
            ("*RCL", False): lambda: self._recall(unit),
        }
        if (name, query) not in table:
            raise Refused(-113)
        if name not in ("*ESE", "*SRE", "*SAV", "*RCL") and unit.data:
            raise Refused(-108)
        if query and unit.data:
            raise Refused(-108)
        return table[(name, query)]()

    def _reset(self) -> None:
        self.reset()

    def _clear_status(self) -> None:
        self.errors.clear()
        self.esr = 0

    def _opc(self) -> None:
        self.operation_complete()
        self.esr |= 1

    def _opc_query(self) -> str:
        self.operation_complete()
        return "1"

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
        slot = int(self._one(unit, _num(0, 4)))
        if isinstance(getattr(self, "settings", None), dict):
            self.saved[slot] = dict(self.settings)

    def _recall(self, unit: scpi.Unit) -> None:
        slot = int(self._one(unit, _num(0, 4)))
        if not isinstance(getattr(self, "settings", None), dict):
            return
        if slot not in self.saved:
            raise Refused(-221)
        self.settings = dict(self.saved[slot])
        self.recalled()

    def power_on_reset(self) -> None:
        """Fault injection: the instrument reset itself (power glitch): defaults, PON set."""
        self.reset()
        self.errors.clear()
        self.esr = 128

    # -- helpers for command tables ----------------------------------------------------------
    @staticmethod
    def _one(unit: scpi.Unit, parse: Callable[[str], object]):
        """The one parameter of ``unit`` through ``parse`` (-109 none; more: the first one's
        error if it has one, else -108, as a parser reading left to right finds them)."""
        if not unit.data:
            raise Refused(-109)
        value = parse(unit.data[0])
        if len(unit.data) > 1:
            raise Refused(-108)
        return value

    def _setting(self, key: str, parse: Callable[[str], object],
                 fmt_out: Callable[[object], str] | None = None,
                 after: Callable[[], None] | None = None) -> Handler:
        """A documented setting: set with one parameter, query (also with MIN|MAX|DEF).
        Kept in ``self.settings[key]`` if the instrument keeps a settings dict with that
        key, else as the attribute ``key`` (set through ``_set``)."""
        in_dict = isinstance(getattr(self, "settings", None), dict) and key in self.settings
        show = fmt_out or (_out if in_dict else str)

        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                if not unit.data:
                    return show(self.settings[key] if in_dict else getattr(self, key))
                value = self._one(unit, parse)  # "? MINimum|MAXimum|DEFault"
                if not isinstance(value, float) or unit.data[0].kind != "char":
                    raise Refused(-108)
                return show(value)
            value = self._one(unit, parse)
            if in_dict:
                self.settings[key] = value
            else:
                self._set(key, value)
            if after is not None:
                after()
            return None

        return handler

    def _set(self, name: str, value) -> None:
        setattr(self, name, value)

    def _generic(self, key: str) -> Handler:
        """A setting kept verbatim (accepted, echoed back, no effect on the physics)."""

        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                return self.generic.get(key, "0")
            self.generic[key] = unit.args
            return None

        return handler

    def _action(self, action: Callable[[], str | None]) -> Handler:
        def handler(unit: scpi.Unit) -> str | None:
            if unit.data:
                raise Refused(-108)
            return action()

        return handler

    def _query_only(self, answer: Callable[[], str]) -> Handler:
        def handler(unit: scpi.Unit) -> str:
            if not unit.query:
                raise Refused(-113)
            if unit.data:
                raise Refused(-108)
            return answer()

        return handler

    def _event(self, action: Callable[[], None]) -> Handler:
        """A command that takes nothing (``:SYSTem:PRESet``): a query of it is -113, a
        parameter -108."""

        def handler(unit: scpi.Unit) -> None:
            if unit.query:
                raise Refused(-113)
            if unit.data:
                raise Refused(-108)
            action()

        return handler

    def _command_only(self, action: Callable[[scpi.Unit], None]) -> Handler:
        def handler(unit: scpi.Unit) -> None:
            if unit.query:
                raise Refused(-113)
            action(unit)

        return handler

    def _system_error(self, kind: str) -> Handler:
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

    def _status_register(self) -> Handler:
        registers: dict[str, int] = {}

        def handler(unit: scpi.Unit) -> str | None:
            key = ":".join(unit.nodes[:2])
            if unit.query:
                return str(registers.get(key, 0))
            registers[key] = int(self._one(unit, _num(0, 65535)))
            return None

        return handler


def _as_unit_handler(handler: Callable) -> Handler:
    """An older handler ``(args, query)`` -> one that takes the unit."""
    try:
        parameters = inspect.signature(handler).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return handler
    if len(parameters) == 2:
        return lambda unit: handler(unit.args, unit.query)
    return handler


StrictInstrument = LabInstrument  # the name the strict emulators were written against
