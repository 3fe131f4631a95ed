"""What the drivers share: the strict query path (``SafeWriteMixin``), a validator naming
the field and its range, and the guard put under a source driver's adapter."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable

from pymeasure.adapters import VISAAdapter

from instruments.errors import InstrumentError, ReplyError
from instruments.guard import SourceGuard, install
from instruments.keithley.replies import COMMON_REPLIES, parse_reply, parse_values
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
    try:
        return install(guard, adapter)
    except BaseException:  # held by another process: the connection is not kept
        with contextlib.suppress(Exception):
            adapter.close()
        raise



class SafeWriteMixin:
    """Reads every reply through ``read`` (text) and ``parse_reply`` / ``parse_values``
    (value), the error queue and the output state (the write guard is below, on the VISA
    resource: ``instruments.guard``)."""

    _limits: SafetyLimits
    _replies: tuple[tuple[re.Pattern[str], str], ...] = COMMON_REPLIES
    _query = "a read"  # the command the next reply answers
    # a deliberate pause between steps (a coil's ramp): slept on real hardware; the lab that
    # opens the driver hands it its own wait, so an emulated lab's clock counts it instead
    pause: Callable[[float], None] = staticmethod(time.sleep)

    @property
    def limits(self) -> SafetyLimits:
        """The safety limits this driver holds its settings to; setting them copies them
        into the controls' dynamic ranges (the guard under the adapter reads them too)."""
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
        """The source output as the instrument reports it (``:OUTP?``, strictly a 0 or
        1): an output is off only once this says so."""
        return self.query(":OUTP?", "flag")

    def confirm_output_off(self) -> None:
        """Read the output state back: 'off' is a fact only once the instrument says so."""
        if self.output_enabled():
            raise InstrumentError(f"{self.name}: output still on after switching it off "
                                  "(OUTP? -> 1)")

    def power_on_flag(self) -> bool:
        """True if the instrument reset itself since the last check (*ESR? bit 7, PON)."""
        return bool(self.query("*ESR?", "register") & 128)

