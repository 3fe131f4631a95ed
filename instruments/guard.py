"""The one safety guard, under every driver: each outgoing line is read as SCPI with the one
grammar (``instruments.scpi``), the states the source may be in afterwards are worked out,
and the line is refused before a byte is sent if any of them would put the source beyond a
limit.

It sits on the pyvisa resource itself (``write_raw``, which ``adapter.write``,
``adapter.write_bytes``, ``instrument.write`` and ``resource.write``/``query`` all end in, and
the reads, whose replies it needs), or, for adapters without one (pymeasure's
``ProtocolAdapter`` in tests), on the adapter's ``_write``/``_write_bytes``/``_read``. The
drivers' validators are the first line; this is the floor. Below it is only pyvisa's
``visalib`` (``resource.visalib.write(session, ...)``), which nothing in this project calls.

What it allows is a table, per source model, of the headers in the instrument's own SCPI
tables, each with the parameters it takes (Model 6220/6221 Reference Manual section 14,
"SCPI tables"; Model 2400 User's Manual section 18, "SCPI command reference"). A header it
does not know, a command given parameters it does not take, a line that does not parse
(a stray bracket, an unterminated string), a write without its line feed: refused, whole.
An allow-list, not a list of dangers. ``*RCL`` and source memory (2400 ``SOUR:FUNC MEM``) are
refused: they restore settings the guard cannot see.

The state is the instrument's (``instruments.picture``): a unit changes the guard's picture
only once the instrument has accepted it; until then the check takes the worse of the old and
the new value, and an output counts as on until ``OUTP?`` says 0. When a line would pass only
if the earlier lines were accepted, the guard asks the instrument first: one ``*ESR?`` (and
``:OUTP?``, and the settings an error left unknown read back) in one message, then checks the
line again. So a line costs nothing on the bus while the worse case passes; a waveform armed
after an upload costs one extra exchange (about 1 ms and 20 bytes on GPIB).

One picture per instrument: every connection of this process to a resource shares it, and at
the first connection the guard reads back every setting it polices that the instrument can
report, so what other software left is known before the first line; a second process on the
same resource is refused, naming the process that holds it (``instruments.claim``).

Rules (SafetyLimits, SI), checked on every state the source may be in:
- 6221 DC level: |I| <= max_pulse_current; with the output maybe on, |I| <= max_read_current.
  A DC level above the read limit is never switched on: software cannot bound how long it
  stays on (bus, operating system), so pulses above the read limit are hardware-timed
  waveforms whose length the guard can compute. Compliance <= compliance_voltage, known while
  the output or a waveform may be on.
- 6221 waveform: |offset| <= max_read_current; |offset| + amplitude * max|shape| <=
  max_pulse_current; while it may be armed or playing, every stretch above the read limit
  (cyclic, capped by the duration) <= max_pulse_width, the duration taken as the longer of
  its two readings (the seconds given, or the cycles at the frequency it was given at). An
  ARB location not defined on this instrument since it was known counts as full scale. A
  finite waveform counts as done once the instrument has said so (``*WAI`` sent after it, or
  the reply to an ``*OPC?`` read), an endless one until ``WAVE:ABORt``.
- 6221 sweeps: every point <= max_pulse_current; while a sweep may be armed, a point above
  the read limit is held no longer than max_pulse_width (checked again when a delay or a point
  changes after ``SWE:ARM``). Delta: high and low <= the read limit. Pulse delta: high <=
  max_pulse_current, low <= the read limit, width <= max_pulse_width. Differential
  conductance: every level it steps through, max(|start|, |stop|) + step + delta (User's
  Manual Fig. 5-10: the staircase runs from start - step to stop + step, delta added),
  <= the read limit. Each mode's settings must be known when it is armed.
- 2400: every current the instrument may hold (level, triggered level, sweep start/stop,
  list, current compliance) within max_field / coil_constant; every voltage within
  compliance_voltage; while the output may be on, the active function's level known.
- MAX and UP/DOWN count as the instrument's own maximum, DEF as the manual's default; a
  suffix read two ways (``50MA``: 50 mA or 50 MA) counts as the larger.
A refused line changes nothing and sends nothing.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from instruments import scpi
from instruments.errors import ReplyError
from instruments.limits import LimitError, SafetyLimits
from instruments.picture import Picture

LimitsSource = Callable[[], SafetyLimits]
REL = 1e-12  # a waveform level is amplitude x point: one rounding of slack, no more
ESR_QUERY = "*ESR?"


class UnknownCommandError(LimitError):
    """A command the guard does not understand for this source: refused, not guessed."""


class Unconfirmed(LimitError):
    """Refused on a value the source may still hold because a line sent before may have
    been refused by the instrument; asking the instrument may clear it."""


def _bounded(model: str, name: str, value: float | None, high: float, unit: str,
             low: float | None = None, text: str = "", why: str = "") -> float:
    low = -high if low is None else low
    if value is None:
        raise LimitError(f"{model}: {name} unknown (in {text!r}): send *RST or set it first")
    if not (math.isfinite(value) and low - abs(low) * REL <= value <= high + abs(high) * REL):
        where = f" (in {text!r})" if text else ""
        raise LimitError(f"{model}: {name} = {value:g} {unit}{where} is outside the allowed "
                         f"range [{low:g}, {high:g}] {unit} (safety limit){why}")
    return value


# -- parameters: what each command takes ------------------------------------------------------
# "" nothing (an event); "n" one number (or MIN, MAX, DEF...); "b" one boolean; "c" one word;
# "s" one string; "n+" one or more numbers; "c+" one or more words or strings; "*" anything;
# "q" a query only. A query takes nothing, or (for "n") one of MIN, MAX, DEF.
def _params_ok(kind: str, unit: scpi.Unit) -> None:
    data = unit.data
    if unit.query:
        if not data:
            return
        if kind in ("n", "n+") and len(data) == 1 and data[0].kind == "char" and \
                data[0].word in scpi.NUMERIC_KEYWORDS:
            return
        if kind == "*" or (kind == "qs" and len(data) == 1 and data[0].kind == "string"):
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
              "c": ("char",), "s": ("string",), "qs": ("string",)}
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


def _split_reply(text: str) -> list[str]:
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


def _text(message: bytes) -> str:
    """A write's bytes as a line the guard can check: ASCII (IEEE 488.2 7.4: 7-bit), no
    control characters but tab and carriage return, and ended by its line feed (without it
    the instrument would join the line to the next write, which the guard cannot check)."""
    try:
        text = bytes(message).decode("ascii")
    except UnicodeDecodeError:
        raise UnknownCommandError("bytes that are not ASCII SCPI are refused") from None
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in text):
        raise UnknownCommandError(f"control characters refused in {text!r}")
    if text and not text.endswith("\n"):
        raise UnknownCommandError(
            f"{text!r} refused: a write must end with its line feed (the instrument would "
            "join an unterminated line to the next write)")
    return text


_ASSIGNING = threading.local()  # the fields handlers set, while a unit runs (per thread)


class _Assignments:
    """Collects the fields a handler sets (a setting sent twice is a setting)."""

    def __enter__(self) -> set[str]:
        stack = _ASSIGNING.__dict__.setdefault("stack", [])
        stack.append(set())
        return stack[-1]

    def __exit__(self, *exc) -> None:
        _ASSIGNING.stack.pop()


class _Tracked:
    """A state whose fields report being set (to ``_Assignments``)."""

    def __setattr__(self, name: str, value) -> None:
        stack = getattr(_ASSIGNING, "stack", None)
        if stack:
            stack[-1].add(name)
        object.__setattr__(self, name, value)


@dataclass
class _Plan:
    """A line simulated on a copy of the picture: what to commit if it passes."""

    picture: Picture
    queries: list[list[tuple[int, str, object]]]  # per message with queries
    clears: bool = False  # a *CLS: the held event bits go with the instrument's


class SourceGuard:
    """Base: parse, simulate on a copy of the picture, commit only if the whole line passed.

    A subclass gives ``model``, ``table`` ((manual header, parameters, handler name or None)),
    ``readback`` ((field, query, parse): the settings the instrument reports),
    ``invariants`` ((fields, method): the rules, checked whenever one of their fields may
    have changed), ``unknown_state()`` and ``reset_state()``."""

    model = "source"
    table: list[tuple[str, str, str | None]] = []
    readback: list[tuple[str, str, Callable[[str], object]]] = []
    invariants: list[tuple[frozenset[str], str]] = []
    output_query = ":OUTP?"

    def __init__(self, limits: LimitsSource) -> None:
        self.limits = limits
        self.picture = Picture(self.unknown_state())
        self._replies: deque[list[tuple[int, str, object]]] = deque()
        self.trusted = True  # False after a read failed: replies may be out of step
        self._ask: Callable[[str], str] | None = None  # the guard's own query, unguarded
        self._resolved: dict[tuple[str, ...], tuple[bool, str, str | None]] = {}
        self._pic: Picture | None = None  # the picture a check is simulating on
        self._derived: dict[str, frozenset[str]] = {}
        self.key: str | None = None  # the resource, when shared
        self.confirmations = 0  # exchanges the guard made itself (bench)
        self.name = self.model  # the driver's name for the instrument, in reply errors

    @property
    def state(self):
        """What the source holds if every line sent so far was accepted."""
        return self.picture.nominal

    # -- to override ----------------------------------------------------------------------
    def unknown_state(self):
        raise NotImplementedError

    def reset_state(self):
        raise NotImplementedError

    def completed(self, state) -> None:
        """Operations started so far have finished (nothing by default)."""

    # -- the check -------------------------------------------------------------------------
    def check(self, text: str) -> None:
        """Refuse (LimitError) or accept ``text``, one or more program messages."""
        with self.picture.lock:
            try:
                plan = self._simulate(text)
            except Unconfirmed as err:
                if not self.can_ask():
                    raise LimitError(f"{err} (a unit sent before it may have been refused by the "
                                     "instrument, and the guard cannot ask it now: read the "
                                     "replies pending first)") from None
                self.confirm()
                plan = self._simulate(text)
            self._commit(plan)

    def _simulate(self, text: str) -> _Plan:
        picture = self.picture.copy()
        self._pic = picture
        plan = _Plan(picture, [])
        try:
            for message in scpi.messages(text):
                queries: list[tuple[int, str, object]] = []
                reset_at: int | None = None  # a *RST with nothing policed after it yet
                for unit in scpi.units(message + "\n"):
                    seq = picture.seq
                    picture.seq += 1
                    changed = self._apply(picture, unit, seq)
                    if unit.relative:  # a parser without the path rule must not get past
                        self._apply(picture.copy(), unit.from_root(), seq, quiet=True)
                    if unit.common and unit.nodes[0] == "*RST" and not unit.query:
                        reset_at = seq
                    elif changed:
                        reset_at = None
                    if unit.common and unit.nodes[0] == "*CLS":
                        picture.cleared(reset_at if reset_at is not None else seq)
                        plan.clears = True
                    if unit.query:
                        queries.append(self._query_kind(unit, seq))
                if queries:
                    plan.queries.append(queries)
        except scpi.ScpiSyntaxError as err:
            raise UnknownCommandError(f"{self.model}: {text.strip()!r} refused: {err} "
                                      f"(SCPI error {err.code})") from None
        finally:
            self._pic = None
        return plan

    def _commit(self, plan: _Plan) -> None:
        self.picture.adopt(plan.picture)
        if plan.clears:
            self.picture.held_bits = 0
        self._replies.extend(plan.queries)

    def _query_kind(self, unit: scpi.Unit, seq: int) -> tuple[int, str, object]:
        """What a query's reply will say: the event register, operations complete, or a
        policed setting read back (any spelling of a read-back query's header)."""
        if unit.common:
            return seq, {"*ESR": "esr", "*OPC": "opc"}.get(unit.nodes[0], "other"), None
        if not unit.data:
            spec = self._spec_of(unit.nodes)
            for field, query, parse in self.readback:
                if spec is not None and spec == self._spec_of(
                        tuple(query.strip(":?").split(":"))):
                    return seq, "read", (field, parse)
        return seq, "other", None

    def _spec_of(self, nodes: tuple[str, ...]) -> str | None:
        return next((spec for spec, _, _ in self.table if scpi.header_matches(spec, nodes)),
                    None)

    def _handler(self, nodes: tuple[str, ...]) -> tuple[bool, str, str | None]:
        """(known, parameters, handler name) for a resolved header; searched once."""
        if nodes not in self._resolved:
            self._resolved[nodes] = next(((True, kind, handler) for spec, kind, handler
                                          in self.table if scpi.header_matches(spec, nodes)),
                                         (False, "", None))
        return self._resolved[nodes]

    def _apply(self, picture: Picture, unit: scpi.Unit, seq: int,
               quiet: bool = False) -> set[str]:
        """Apply one unit to ``picture``; the fields it may have changed."""
        if unit.common:
            return self._common(picture, unit, seq)
        known, kind, handler = self._handler(unit.nodes)
        if not known:
            if quiet:
                return set()
            raise UnknownCommandError(
                f"{self.model}: {unit.text!r} is not a command the safety guard knows for "
                "this source (refused; allowed: the manual's commands it can check)")
        _params_ok(kind, unit)
        if handler is None or (unit.query and not (kind == "q" and handler in
                                                   self.query_handlers)):
            return set()
        return self._run(picture, seq, unit, lambda state: getattr(self, handler)(state, unit))

    query_handlers: frozenset[str] = frozenset()  # handlers of queries that act (READ?)

    def _run(self, picture: Picture, seq: int, unit: scpi.Unit, change) -> set[str]:
        before = dict(vars(picture.nominal))
        self._derived = {}
        previous, self._pic = self._pic, picture
        try:
            with _Assignments() as assigned:
                change(picture.nominal)
            changed = picture.record(seq, before, assigned, self._derived)
            self._check_invariants(picture, changed, set(self._derived), unit.text)
        finally:
            self._pic = previous
        return changed

    def _reset(self, state) -> None:
        """*RST (SYSTem:PRESet): every field to its reset value."""
        for name, value in vars(self.reset_state()).items():
            setattr(state, name, value)

    COMMON_ALLOWED = {"*CLS": "", "*ESE": "n", "*ESR": "q", "*IDN": "q", "*OPC": "",
                      "*OPT": "q", "*SAV": "n", "*SRE": "n", "*STB": "q", "*TRG": "",
                      "*TST": "q", "*WAI": "", "*RST": ""}

    def _common(self, picture: Picture, unit: scpi.Unit, seq: int) -> set[str]:
        name = unit.nodes[0]
        if name not in self.COMMON_ALLOWED:
            raise UnknownCommandError(
                f"{self.model}: {unit.text!r} refused: the guard cannot see the settings "
                "it would restore" if name == "*RCL" else
                f"{self.model}: {unit.text!r} is not a command the safety guard knows")
        _params_ok(self.COMMON_ALLOWED[name], unit)
        if unit.query:
            return set()
        if name == "*RST":
            return self._run(picture, seq, unit, self._reset)
        if name == "*WAI":  # the instrument executes nothing more until all is done
            return self._run(picture, seq, unit, self.completed)
        return set()

    # -- the rules, on every state the source may hold --------------------------------------
    def possible(self, field: str) -> list:
        """Inside a check: every value ``field`` may hold."""
        return (self._pic or self.picture).possible(field)

    def derived(self, field: str, *sources: str) -> None:
        """A handler computed ``field`` from ``sources``: if any of them is uncertain, so
        is the result (it may be built on a value the instrument does not hold)."""
        picture = self._pic or self.picture
        uncertain = frozenset(s for s in sources if len(picture.possible(s)) > 1)
        if uncertain:
            self._derived[field] = self._derived.get(field, frozenset()) | uncertain

    def _check_invariants(self, picture: Picture, changed: set[str], derived: set[str],
                          text: str) -> None:
        if not changed:
            return

        def worst(field: str) -> list:  # the unit's own fields as it leaves them
            if field in changed:
                value = getattr(picture.nominal, field)
                return [value, None] if field in derived else [value]
            return picture.possible(field)

        def nominal(field: str) -> list:
            return [getattr(picture.nominal, field)]

        for fields, rule in self.invariants:
            if not fields & changed:
                continue
            try:
                getattr(self, rule)(worst, text)
            except LimitError as err:
                getattr(self, rule)(nominal, text)  # fails on what was sent: final
                raise Unconfirmed(str(err)) from None

    # -- replies: what the instrument said -------------------------------------------------
    def replied(self, reply: str | None = "") -> str | None:
        """A reply was read on this connection (None: the read failed, so later replies may
        be out of step and are not believed). Returns the reply as the caller gets it."""
        with self.picture.lock:
            if not self._replies:
                return reply
            queries = self._replies.popleft()
            if reply is None:
                self.trusted = False
                return reply
            if not self.trusted:
                return reply
            parts = _split_reply(reply.strip())
            if len(parts) != len(queries):
                return reply
            for index, ((seq, kind, extra), part) in enumerate(zip(queries, parts,
                                                                   strict=True)):
                if kind == "esr" and part.isdigit():
                    value = int(part)
                    self.picture.register(seq, value)
                    if self.picture.held_bits:  # the bits the guard read for itself
                        parts[index] = str(value | self.picture.held_bits)
                        self.picture.held_bits = 0
                elif kind == "opc" and part == "1":
                    self._completed_at(seq)
                elif kind == "read":
                    field, parse = extra
                    with contextlib.suppress(ValueError, TypeError, IndexError):
                        self.picture.read(seq, field, parse(part))
            self._after_readback()
            shown = ";".join(parts)
            return reply if shown == reply.strip() else shown + reply[len(reply.rstrip()):]

    def _after_readback(self) -> None:
        """Fields read back that belong together (nothing by default)."""

    def _completed_at(self, seq: int) -> None:
        """The reply to an *OPC? (unit ``seq``): what ran before it has finished, unless
        something was started after it."""
        picture = self.picture
        if any(e.seq > seq and e.field in self.completion_fields for e in picture.entries):
            return
        seq_now, picture.seq = picture.seq, seq
        try:
            before = dict(vars(picture.nominal))
            self.completed(picture.nominal)
            picture.record(seq, before)
        finally:
            picture.seq = seq_now

    completion_fields: frozenset[str] = frozenset()

    # -- asking the instrument ---------------------------------------------------------------
    def can_ask(self) -> bool:
        return self._ask is not None and self.trusted and not self._replies

    def confirm(self) -> None:
        """Ask the instrument what it accepted: *ESR? (the units since it was last read),
        OUTP?, and every setting the register can no longer vouch for, read back; one
        message, one reply."""
        picture = self.picture
        fields = picture.unconfirmed_before(picture.seq)
        queries = [ESR_QUERY]
        kinds: list[tuple[str, object]] = [("esr", None)]
        for field, query, parse in self.readback:
            if field == "output" or field in fields:
                queries.append(query)
                kinds.append(("read", (field, parse)))
        self._exchange(queries, kinds)

    def read_back(self) -> None:
        """Read back every setting the guard polices that the instrument reports (at the
        first connection: what other software left)."""
        self._exchange([q for _, q, _ in self.readback],
                       [("read", (f, p)) for f, _, p in self.readback])

    def _exchange(self, queries: list[str], kinds: list[tuple[str, object]]) -> None:
        """The guard's own query, one message: its reply must be what the manual says each
        query answers (else a ReplyError naming the instrument, the query and the reply);
        it is then taken as any reply is."""
        picture = self.picture
        entry = []
        for kind, extra in kinds:
            entry.append((picture.seq, kind, extra))
            picture.seq += 1
        message = ";".join(queries)
        self.confirmations += 1
        try:
            reply = self._ask(message)
        except Exception:
            self.trusted = False
            raise
        parts = _split_reply(reply.strip())
        why = "" if len(parts) == len(queries) else \
            f"{len(parts)} answers where {len(queries)} expected"
        for (kind, extra), part in zip(kinds, parts, strict=False):
            try:
                if kind == "esr" and not (part.isdigit() and int(part) <= 255):
                    raise ValueError("expected an integer 0-255")
                if kind == "read":
                    extra[1](part)
            except (ValueError, TypeError, IndexError) as err:
                why = why or f"{part!r}: {err}"
        if why:
            raise ReplyError(self.name, message, reply, why)
        self._replies.appendleft(entry)
        held = picture.held_bits
        self.replied(reply)
        if kinds[0][0] == "esr":  # the guard's own read: the caller's bits are kept
            picture.held_bits = held | int(parts[0])

    # -- helpers ---------------------------------------------------------------------------
    def value(self, unit: scpi.Unit, physical: str, instrument_max: float,
              instrument_min: float | None = None, default: float = 0.0) -> float:
        """The worst value a numeric parameter can mean (MIN, MAX at the instrument's own
        bounds, DEF the manual's default, UP/DOWN its maximum; several readings of a
        suffix: the largest)."""
        number = scpi.numeric(unit.data[0], physical)
        low = -instrument_max if instrument_min is None else instrument_min
        if number.keyword is not None:
            return {"MIN": low, "DEF": default, "NAN": math.nan,
                    "NINF": -scpi.SCPI_INFINITY, "INF": scpi.SCPI_INFINITY}.get(
                number.keyword, instrument_max)
        return max(number.values, key=abs)

    def values(self, unit: scpi.Unit, physical: str, instrument_max: float) -> list[float]:
        out = []
        for data in unit.data:
            number = scpi.numeric(data, physical)
            out.append(instrument_max if number.keyword else max(number.values, key=abs))
        return out

    def reading(self, unit: scpi.Unit, physical: str) -> str:
        """Why the worst reading of a suffixed number is what it is, for an error."""
        why = scpi.suffix_reading(unit.data[0], physical) if unit.data else ""
        return f"; {why}" if why else ""


# ---------------------------------------------------------------------------------------
# Keithley 6221
# ---------------------------------------------------------------------------------------
I_6221 = 0.105  # A, Model 6220/6221 Reference Manual, specifications: +-105 mA
SHAPE_SAMPLES = 3600
DELAY_MAX = 999999.999


@dataclass
class State6221(_Tracked):
    level: float | None = None
    output: bool | None = None
    compliance: float | None = None
    function: str | None = None
    frequency: float | None = None
    amplitude: float | None = None
    offset: float | None = None
    duty: float | None = None
    duration: tuple | None = None  # ("CYCL", n, frequency then) or ("TIME", s, frequency)
    arb0: tuple | None = None
    arb1: tuple | None = None
    arb2: tuple | None = None
    arb3: tuple | None = None
    arb4: tuple | None = None
    wave_armed: bool | None = None  # armed or playing (None: unknown, maybe)
    wave_started: bool | None = None  # INITiated: done once the instrument says so
    spacing: str | None = None
    sweep_start: float | None = None
    sweep_stop: float | None = None
    sweep_center: float | None = None
    sweep_span: float | None = None
    delay: float | None = None
    list_currents: tuple | None = None
    list_delays: tuple | None = None
    sweep_armed: bool | None = None
    delta_high: float | None = None
    delta_low: float | None = None
    pdel_high: float | None = None
    pdel_low: float | None = None
    pdel_width: float | None = None
    dcon_start: float | None = None
    dcon_step: float | None = None
    dcon_stop: float | None = None
    dcon_delta: float | None = None
    armed_mode: str | None = None  # "DELT", "PDEL", "DCON", "" (none) or None (unknown)


_NR = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _number_reply(text: str) -> float:
    """NR1-NR3 (IEEE 488.2 8.7.2-8.7.4); 9.9E37 is SCPI's infinity; nothing else."""
    if not _NR.fullmatch(text.strip()):
        raise ValueError("not a number (NR1, NR2 or NR3)")
    value = float(text)
    return math.inf if abs(value) >= scpi.SCPI_INFINITY else value


def _flag_reply(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError(text)
    return text == "1"


def _list_reply(text: str) -> tuple:
    return tuple(_number_reply(v) for v in text.split(","))


def _word_reply(text: str) -> str:
    word = text.strip().strip('"').upper()
    if not word.isalnum():
        raise ValueError("not a word")
    return word


ARB_FIELDS = tuple(f"arb{k}" for k in range(5))
WAVE_FIELDS = frozenset({"wave_armed", "function", "frequency", "amplitude", "offset",
                         "duty", "duration", *ARB_FIELDS})
SWEEP_FIELDS = frozenset({"sweep_armed", "spacing", "sweep_start", "sweep_stop",
                          "sweep_center", "sweep_span", "delay", "list_currents",
                          "list_delays"})
DELTA_FIELDS = frozenset({"armed_mode", "delta_high", "delta_low", "pdel_high", "pdel_low",
                          "pdel_width", "dcon_start", "dcon_step", "dcon_stop", "dcon_delta"})


class Guard6221(SourceGuard):
    """Keithley 6221 (Model 6220/6221 Reference Manual, section 14 "SCPI tables": the
    SOURce subsystem with its sweep, list, delta, pulse-delta, differential-conductance and
    waveform/ARB commands, OUTPut, TRIGger/ARM with the trigger link, SENSe and CALCulate for
    the 2182A, TRACe, DISPlay, FORMat, STATus, SYSTem, UNIT)."""

    model = "Keithley 6221"
    _S = "[:SOURce[1]]"
    table = [
        # SOURce: DC level, range, compliance, sweeps, lists (section 14, SOURce subsystem)
        (_S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", "n", "_level"),
        (_S + ":CURRent:RANGe", "n", None), (_S + ":CURRent:RANGe:AUTO", "b", None),
        (_S + ":CURRent:COMPliance", "n", "_compliance"),
        (_S + ":CURRent:FILTer[:STATe]", "b", None),
        (_S + ":CURRent:STARt", "n", "_sweep_point"), (_S + ":CURRent:STOP", "n", "_sweep_point"),
        (_S + ":CURRent:CENTer", "n", "_sweep_point"), (_S + ":CURRent:SPAN", "n", "_sweep_span"),
        (_S + ":CURRent:STEP", "n", "_sweep_step"),
        (_S + ":CLEar[:IMMediate]", "", "_output_off"),
        (_S + ":DELay", "n", "_delay"),
        (_S + ":SWEep:SPACing", "c", "_spacing"), (_S + ":SWEep:POINts", "n", None),
        (_S + ":SWEep:RANGing", "c", None), (_S + ":SWEep:COUNt", "n", None),
        (_S + ":SWEep:CABort", "c", None), (_S + ":SWEep:ARM", "", "_sweep_arm"),
        (_S + ":SWEep:ABORt", "", "_sweep_abort"),
        (_S + ":LIST:CURRent", "n+", "_list_currents"),
        (_S + ":LIST:CURRent:APPend", "n+", "_list_append"),
        (_S + ":LIST:CURRent:POINts", "q", None),
        (_S + ":LIST:DELay", "n+", "_list_delays"),
        (_S + ":LIST:DELay:APPend", "n+", "_list_delays_append"),
        (_S + ":LIST:DELay:POINts", "q", None),
        (_S + ":LIST:COMPliance", "n+", "_list_compliances"),
        (_S + ":LIST:COMPliance:APPend", "n+", "_list_compliances"),
        (_S + ":LIST:COMPliance:POINts", "q", None),
        # delta, pulse delta, differential conductance (with a 2182A)
        (_S + ":DELTa:HIGH", "n", "_delta_level"), (_S + ":DELTa:LOW", "n", "_delta_level"),
        (_S + ":DELTa:DELay", "n", None), (_S + ":DELTa:COUNt", "n", None),
        (_S + ":DELTa:CABort", "b", None), (_S + ":DELTa:ARM", "", "_delta_arm"),
        (_S + ":DELTa:NVPResent", "q", None),
        (_S + ":PDELta:HIGH", "n", "_pdel_high"), (_S + ":PDELta:LOW", "n", "_pdel_low"),
        (_S + ":PDELta:WIDTh", "n", "_pdel_width"), (_S + ":PDELta:SDELay", "n", None),
        (_S + ":PDELta:COUNt", "n", None), (_S + ":PDELta:RANGe", "c", None),
        (_S + ":PDELta:INTerval", "n", None), (_S + ":PDELta:SWEep", "b", None),
        (_S + ":PDELta:LMEasure", "n", None), (_S + ":PDELta:ARM", "", "_pdel_arm"),
        (_S + ":PDELta:NVPResent", "q", None),
        (_S + ":DCONductance:STARt", "n", "_dcon_level"),
        (_S + ":DCONductance:STEP", "n", "_dcon_level"),
        (_S + ":DCONductance:STOP", "n", "_dcon_level"),
        (_S + ":DCONductance:DELTa", "n", "_dcon_level"),
        (_S + ":DCONductance:DELay", "n", None), (_S + ":DCONductance:CABort", "b", None),
        (_S + ":DCONductance:ARM", "", "_dcon_arm"), (_S + ":DCONductance:NVPResent", "q", None),
        # waveform function generator (6221 only)
        (_S + ":WAVE:FUNCtion", "c", "_wave_function"),
        (_S + ":WAVE:FREQuency", "n", "_wave_frequency"),
        (_S + ":WAVE:AMPLitude", "n", "_wave_amplitude"),
        (_S + ":WAVE:OFFSet", "n", "_wave_offset"), (_S + ":WAVE:DCYCle", "n", "_wave_duty"),
        (_S + ":WAVE:DURation:TIME", "n", "_wave_time"),
        (_S + ":WAVE:DURation:CYCLes", "n", "_wave_cycles"),
        (_S + ":WAVE:RANGing", "c", None),
        (_S + ":WAVE:PMARker[:LEVel]", "n", None), (_S + ":WAVE:PMARker:STATe", "b", None),
        (_S + ":WAVE:PMARker:OLINe", "n", None),
        (_S + ":WAVE:ARBitrary:DATA", "n+", "_arb_data"),
        (_S + ":WAVE:ARBitrary:APPend", "n+", "_arb_append"),
        (_S + ":WAVE:ARBitrary:COPY", "n", "_arb_copy"), (_S + ":WAVE:ARBitrary:NAME", "*", None),
        (_S + ":WAVE:ARM", "", "_wave_arm"), (_S + ":WAVE:INITiate", "", "_wave_start"),
        (_S + ":WAVE:ABORt", "", "_wave_abort"),
        # OUTPut
        (":OUTPut[:STATe]", "b", "_output"), (":OUTPut:LTEarth", "b", None),
        (":OUTPut:ISHield", "c", None), (":OUTPut:RESPonse", "c", None),
        (":OUTPut:INTerlock:TRIPped", "q", None),
        # trigger model, trigger link (section 14 TRIGger subsystem; section 9 triggering)
        (":INITiate[:IMMediate]", "", None), (":ABORt", "", None),
        (":ARM:SOURce", "c", None), (":ARM:TIMer", "n", None), (":ARM:DIRection", "c", None),
        (":ARM:ILINe", "n", None), (":ARM:OLINe", "n", None), (":ARM:OUTPut", "c", None),
        (":ARM:COUNt", "n", None),
        (":TRIGger:SOURce", "c", None), (":TRIGger:DIRection", "c", None),
        (":TRIGger:ILINe", "n", None), (":TRIGger:OLINe", "n", None),
        (":TRIGger:OUTPut", "c", None), (":TRIGger:COUNt", "n", None),
        (":TRIGger:DELay", "n", None), (":TRIGger:TIMer", "n", None),
        # measurement side (2182A through the 6221), buffer, display, format, status, system
        (":SENSe[1]:DATA[:LATest]", "q", None), (":SENSe[1]:DATA:FRESh", "q", None),
        (":SENSe[1]:AVERage[:STATe]", "b", None), (":SENSe[1]:AVERage:TCONtrol", "c", None),
        (":SENSe[1]:AVERage:WINDow", "n", None), (":SENSe[1]:AVERage:COUNt", "n", None),
        (":CALCulate[1]:FORMat", "c", None), (":CALCulate[1]:KMATh:MMFactor", "n", None),
        (":CALCulate[1]:KMATh:MBFactor", "n", None), (":CALCulate[1]:KMATh:MUNits", "s", None),
        (":CALCulate[1]:STATe", "b", None), (":CALCulate[1]:DATA", "q", None),
        (":CALCulate[1]:DATA:LATest", "q", None),
        (":CALCulate2:FORMat", "c", None), (":CALCulate2:LIMit[1]:UPPer[:DATA]", "n", None),
        (":CALCulate2:LIMit[1]:LOWer[:DATA]", "n", None),
        (":CALCulate2:LIMit[1]:STATe", "b", None), (":CALCulate2:LIMit[1]:FAIL", "q", None),
        (":CALCulate3:FORMat", "c", None), (":CALCulate3:DATA", "q", None),
        (":TRACe:CLEar", "", None), (":TRACe:FREE", "q", None), (":TRACe:POINts", "n", None),
        (":TRACe:POINts:ACTual", "q", None), (":TRACe:NOTify", "n", None),
        (":TRACe:DATA", "q", None), (":TRACe:DATA:TYPE", "q", None),
        (":DISPlay:ENABle", "b", None), (":DISPlay[:WINDow[1]]:TEXT[:DATA]", "s", None),
        (":DISPlay[:WINDow[1]]:TEXT:STATe", "b", None),
        (":DISPlay:WINDow2:TEXT[:DATA]", "s", None), (":DISPlay:WINDow2:TEXT:STATe", "b", None),
        (":DISPlay[:WINDow[1]]:DATA", "q", None), (":DISPlay:WINDow2:DATA", "q", None),
        (":DISPlay:CNDisplay", "", None),
        (":FORMat[:DATA]", "c+", None), (":FORMat:ELEMents", "c+", None),
        (":FORMat:BORDer", "c", None), (":FORMat:SREGister", "c", None),
        (":STATus:MEASurement[:EVENt]", "q", None), (":STATus:MEASurement:ENABle", "n", None),
        (":STATus:MEASurement:CONDition", "q", None), (":STATus:OPERation[:EVENt]", "q", None),
        (":STATus:OPERation:ENABle", "n", None), (":STATus:OPERation:CONDition", "q", None),
        (":STATus:QUEStionable[:EVENt]", "q", None), (":STATus:QUEStionable:ENABle", "n", None),
        (":STATus:QUEStionable:CONDition", "q", None), (":STATus:PRESet", "", None),
        (":STATus:QUEue[:NEXT]", "q", None), (":STATus:QUEue:ENABle", "*", None),
        (":STATus:QUEue:DISable", "*", None), (":STATus:QUEue:CLEar", "", None),
        (":SYSTem:ERRor[:NEXT]", "q", None), (":SYSTem:ERRor:ALL", "q", None),
        (":SYSTem:ERRor:COUNt", "q", None), (":SYSTem:ERRor:CODE[:NEXT]", "q", None),
        (":SYSTem:ERRor:CODE:ALL", "q", None), (":SYSTem:VERSion", "q", None),
        (":SYSTem:KEY", "n", None), (":SYSTem:BEEPer[:STATe]", "b", None),
        (":SYSTem:CLEar", "", None), (":SYSTem:LOCal", "", None), (":SYSTem:REMote", "", None),
        (":SYSTem:RWLock", "", None), (":SYSTem:PRESet", "", "_preset"),
        # the RS-232 link to a 2182A nanovoltmeter (delta modes): text for the voltmeter
        (":SYSTem:COMMunicate:SERial:SEND", "s", None),
        (":SYSTem:COMMunicate:SERial:ENTer", "q", None),
        (":SYSTem:COMMunicate:SERial:BAUD", "n", None),
        (":UNIT[:VOLTage][:DC]", "c", None),
    ]
    readback = [
        ("output", ":OUTP?", _flag_reply), ("level", ":SOUR:CURR?", _number_reply),
        ("compliance", ":SOUR:CURR:COMP?", _number_reply),
        ("function", ":SOUR:WAVE:FUNC?", _word_reply),
        ("frequency", ":SOUR:WAVE:FREQ?", _number_reply),
        ("amplitude", ":SOUR:WAVE:AMPL?", _number_reply),
        ("offset", ":SOUR:WAVE:OFFS?", _number_reply),
        ("duty", ":SOUR:WAVE:DCYC?", _number_reply),
        ("duration", ":SOUR:WAVE:DUR:TIME?", lambda t: ("TIME", _number_reply(t), None)),
        ("spacing", ":SOUR:SWE:SPAC?", _word_reply),
        ("sweep_start", ":SOUR:CURR:STAR?", _number_reply),
        ("sweep_stop", ":SOUR:CURR:STOP?", _number_reply),
        ("sweep_center", ":SOUR:CURR:CENT?", _number_reply),
        ("sweep_span", ":SOUR:CURR:SPAN?", _number_reply),
        ("delay", ":SOUR:DEL?", _number_reply),
        ("list_currents", ":SOUR:LIST:CURR?", _list_reply),
        ("list_delays", ":SOUR:LIST:DEL?", _list_reply),
        ("sweep_armed", ":SOUR:SWE:ARM?", _flag_reply),
    ]
    invariants = [
        (frozenset({"level", "output"}), "_rule_dc"),
        (frozenset({"compliance", "output", "wave_armed"}), "_rule_compliance"),
        (frozenset({"amplitude", "offset", "function", *ARB_FIELDS}), "_rule_peak"),
        (WAVE_FIELDS, "_rule_waveform"),
        (SWEEP_FIELDS, "_rule_sweep"),
        (DELTA_FIELDS, "_rule_delta"),
    ]
    completion_fields = frozenset({"wave_armed", "wave_started"})

    def unknown_state(self) -> State6221:
        return State6221()

    def reset_state(self) -> State6221:
        """*RST defaults (Reference Manual, section 14 tables, default column); ARB
        locations 1-4 live in non-volatile memory and stay as they were; the delta modes'
        levels are taken as unknown until set (they are checked when armed)."""
        state = self.picture.nominal if self._pic is None else self._pic.nominal
        return State6221(level=0.0, output=False, compliance=10.0, function="SIN",
                         frequency=1e3, amplitude=2e-12, offset=0.0, duty=50.0,
                         duration=("CYCL", math.inf, 1e3), arb0=(0.0, 0.0), arb1=state.arb1,
                         arb2=state.arb2, arb3=state.arb3, arb4=state.arb4,
                         wave_armed=False, wave_started=False, spacing="LIN",
                         sweep_start=0.0, sweep_stop=0.0, sweep_center=0.0, sweep_span=0.0,
                         delay=1e-3, list_currents=(0.0,), list_delays=(1e-3,),
                         sweep_armed=False, armed_mode="")

    def _after_readback(self) -> None:
        """A duration read back in seconds is tied to the frequency read with it."""
        state = self.picture.nominal
        if state.duration is not None and state.duration[2] is None and \
                "frequency" not in self.picture.uncertain():
            state.duration = (*state.duration[:2], state.frequency)

    # -- DC ------------------------------------------------------------------------------
    def _level(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "DC current", value, self.limits().max_pulse_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        state.level = value

    def _output(self, state: State6221, unit: scpi.Unit) -> None:
        state.output = scpi.boolean(unit.data[0])

    def _output_off(self, state: State6221, unit: scpi.Unit) -> None:
        state.output = False

    def _preset(self, state: State6221, unit: scpi.Unit) -> None:
        self._reset(state)

    def _compliance(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "V", 105.0, 0.1, default=10.0)
        _bounded(self.model, "compliance voltage", value, self.limits().compliance_voltage,
                 "V", 0.0, unit.text)
        state.compliance = value

    def _list_compliances(self, state: State6221, unit: scpi.Unit) -> None:
        for value in self.values(unit, "V", 105.0):
            _bounded(self.model, "compliance voltage", value,
                     self.limits().compliance_voltage, "V", 0.0, unit.text[:80])

    def _rule_dc(self, possible, text: str) -> None:
        limits = self.limits()
        levels = possible("level")
        for level in levels:
            if level is not None:
                _bounded(self.model, "DC current", level, limits.max_pulse_current, "A",
                         text=text)
        if any(on is not False for on in possible("output")):
            for level in levels:
                if level is None:
                    raise LimitError(f"{self.model}: {text!r} refused: the DC level is "
                                     "unknown with the output maybe on (send *RST or set "
                                     "SOUR:CURR first)")
                if abs(level) > limits.max_read_current * (1 + REL):
                    raise LimitError(
                        f"{self.model}: DC current = {level:g} A with the output maybe on "
                        f"(in {text!r}) is outside the allowed range "
                        f"[{-limits.max_read_current:g}, {limits.max_read_current:g}] A "
                        "(safety limit: above the read current only hardware-timed pulses "
                        f"up to {limits.max_pulse_width:g} s)")

    def _rule_compliance(self, possible, text: str) -> None:
        limits = self.limits()
        live = any(v is not False for v in possible("output")) or \
            any(v is not False for v in possible("wave_armed"))
        if not live:
            return
        for value in possible("compliance"):
            _bounded(self.model, "compliance voltage", value, limits.compliance_voltage,
                     "V", 0.0, text)

    # -- delta, pulse delta, differential conductance ---------------------------------------
    def _delta_level(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "delta current", value, self.limits().max_read_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        setattr(state, "delta_" + ("high" if unit.nodes[-1].startswith("HIGH") else "low"),
                value)

    def _pdel_high(self, state: State6221, unit: scpi.Unit) -> None:
        state.pdel_high = _bounded(self.model, "pulse-delta high", self.value(unit, "A", I_6221),
                                   self.limits().max_pulse_current, "A", text=unit.text,
                                   why=self.reading(unit, "A"))

    def _pdel_low(self, state: State6221, unit: scpi.Unit) -> None:
        state.pdel_low = _bounded(self.model, "pulse-delta low", self.value(unit, "A", I_6221),
                                  self.limits().max_read_current, "A", text=unit.text,
                                  why=self.reading(unit, "A"))

    def _pdel_width(self, state: State6221, unit: scpi.Unit) -> None:
        state.pdel_width = _bounded(self.model, "pulse width", self.value(unit, "S", 12e-3,
                                                                          50e-6, 110e-6),
                                    self.limits().max_pulse_width, "s", 0.0, unit.text)

    def _dcon_level(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "differential-conductance current", value,
                 self.limits().max_read_current, "A", text=unit.text,
                 why=self.reading(unit, "A"))
        name = {"STAR": "start", "STEP": "step", "STOP": "stop", "DELT": "delta"}[
            unit.nodes[-1][:4]]
        setattr(state, "dcon_" + name, value)

    def _delta_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.armed_mode = "DELT"

    def _pdel_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.armed_mode = "PDEL"

    def _dcon_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.armed_mode = "DCON"

    def _rule_delta(self, possible, text: str) -> None:
        """An armed delta mode (Reference Manual section 5; one at a time: arming one
        un-arms the others) with every level it drives within its limit."""
        limits = self.limits()
        modes = possible("armed_mode")
        maybe = {m for m in modes if m} | ({"DELT", "PDEL", "DCON"} if None in modes else set())

        def known(name: str) -> list[float]:
            values = possible(name)
            if None in values:
                raise LimitError(f"{self.model}: {text!r} refused: {name.replace('_', ' ')} "
                                 "unknown while its mode may be armed (set it first)")
            return values

        if "DELT" in maybe:
            for name in ("delta_high", "delta_low"):
                for value in known(name):
                    _bounded(self.model, name.replace("_", " "), value,
                             limits.max_read_current, "A", text=text)
        if "PDEL" in maybe:
            for value in known("pdel_high"):
                _bounded(self.model, "pulse-delta high", value, limits.max_pulse_current, "A",
                         text=text)
            for value in known("pdel_low"):
                _bounded(self.model, "pulse-delta low", value, limits.max_read_current, "A",
                         text=text)
            for value in known("pdel_width"):
                _bounded(self.model, "pulse width", value, limits.max_pulse_width, "s", 0.0,
                         text)
        if "DCON" in maybe:
            peak = max(abs(a) for a in known("dcon_start") + known("dcon_stop")) + \
                max(abs(s) for s in known("dcon_step")) + max(abs(d) for d in known("dcon_delta"))
            _bounded(self.model, "differential-conductance peak (max(|start|, |stop|) + step"
                     " + delta)", peak, limits.max_read_current, "A", text=text)

    # -- sweeps --------------------------------------------------------------------------
    def _sweep_point(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "sweep current", value, self.limits().max_pulse_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        setattr(state, {"STAR": "sweep_start", "STOP": "sweep_stop", "CENT": "sweep_center"}[
            unit.nodes[-1][:4]], value)

    def _sweep_span(self, state: State6221, unit: scpi.Unit) -> None:
        state.sweep_span = abs(self.value(unit, "A", 2 * I_6221))

    def _sweep_step(self, state: State6221, unit: scpi.Unit) -> None:
        self.value(unit, "A", I_6221)  # the points stay between STARt and STOP

    def _delay(self, state: State6221, unit: scpi.Unit) -> None:
        state.delay = self.value(unit, "S", DELAY_MAX, 1e-3, 1e-3)

    def _spacing(self, state: State6221, unit: scpi.Unit) -> None:
        state.spacing = scpi.character(unit.data[0], {"LINear": "LIN", "LOGarithmic": "LOG",
                                                      "LIST": "LIST"})

    def _list_currents(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_currents = tuple(self._checked_list(unit))

    def _list_append(self, state: State6221, unit: scpi.Unit) -> None:
        self.derived("list_currents", "list_currents")
        state.list_currents = (*(state.list_currents or (I_6221,)), *self._checked_list(unit))

    def _checked_list(self, unit: scpi.Unit) -> list[float]:
        values = self.values(unit, "A", I_6221)
        for value in values:
            _bounded(self.model, "sweep current", value, self.limits().max_pulse_current,
                     "A", text=unit.text[:80])
        return values

    def _list_delays(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_delays = tuple(self.values(unit, "S", DELAY_MAX))

    def _list_delays_append(self, state: State6221, unit: scpi.Unit) -> None:
        self.derived("list_delays", "list_delays")
        state.list_delays = (*(state.list_delays or (math.inf,)),
                             *self.values(unit, "S", DELAY_MAX))

    def _sweep_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.sweep_armed = True
        state.armed_mode = ""  # arming a sweep un-arms a delta mode

    def _sweep_abort(self, state: State6221, unit: scpi.Unit) -> None:
        """SOURce:SWEep:ABORt: stops a sweep, and un-arms delta, pulse delta and
        differential conductance (Reference Manual section 5)."""
        state.sweep_armed = False
        state.armed_mode = ""

    def _rule_sweep(self, possible, text: str) -> None:
        """A sweep point above the read limit is DC for its delay: no longer than the
        pulse-width limit (Reference Manual, sweeps: each point lasts its source delay),
        checked while a sweep may be armed."""
        if all(armed is False for armed in possible("sweep_armed")):
            return
        limits = self.limits()
        holds: list[tuple[float, float]] = []
        for spacing in possible("spacing"):
            if spacing in ("LIST", None):
                for currents in possible("list_currents"):
                    for delays in possible("list_delays"):
                        currents_ = currents or (I_6221,)
                        delays_ = delays or (math.inf,)
                        if len(delays_) == 1:
                            delays_ = delays_ * len(currents_)
                        holds += list(zip(currents_, tuple(delays_) + (math.inf,) * len(
                            currents_), strict=False))
            if spacing != "LIST":
                points = possible("sweep_start") + possible("sweep_stop")
                for centre in possible("sweep_center"):
                    for span in possible("sweep_span"):
                        if centre is None or span is None:
                            points.append(None)
                        else:
                            points += [centre - span / 2, centre + span / 2]
                peak = max((abs(p) if p is not None else I_6221) for p in points)
                holds += [(peak, d if d is not None else math.inf) for d in possible("delay")]
        for current, hold in holds:
            if abs(current) > limits.max_read_current * (1 + REL) and \
                    hold > limits.max_pulse_width:
                raise LimitError(
                    f"{self.model}: sweep point {current:g} A held {hold:g} s (in "
                    f"{text!r}) is above the read current for longer than the allowed "
                    f"pulse width [0, {limits.max_pulse_width:g}] s (safety limit)")

    # -- waveforms -----------------------------------------------------------------------
    def _wave_function(self, state: State6221, unit: scpi.Unit) -> None:
        state.function = scpi.character(unit.data[0], {
            "SINe": "SIN", "SQUare": "SQU", "RAMP": "RAMP", "ARBitrary0": "ARB0",
            "ARBitrary1": "ARB1", "ARBitrary2": "ARB2", "ARBitrary3": "ARB3",
            "ARBitrary4": "ARB4"})

    def _wave_frequency(self, state: State6221, unit: scpi.Unit) -> None:
        state.frequency = self.value(unit, "HZ", 1e5, 1e-3, 1e3)

    def _wave_amplitude(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221, 2e-12, 2e-12)
        _bounded(self.model, "waveform amplitude", value, self.limits().max_pulse_current,
                 "A", 0.0, unit.text, why=self.reading(unit, "A"))
        state.amplitude = value

    def _wave_offset(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        _bounded(self.model, "waveform offset", value, self.limits().max_read_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        state.offset = value

    def _wave_duty(self, state: State6221, unit: scpi.Unit) -> None:
        state.duty = self.value(unit, "PCT", 100.0, 0.0, 50.0)

    def _wave_time(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "S", 999999.999, 100e-9, math.inf)
        self.derived("duration", "frequency")
        state.duration = ("TIME", math.inf if value >= scpi.SCPI_INFINITY else value,
                          state.frequency)

    def _wave_cycles(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "", 99999999999.0, 1e-3, math.inf)
        self.derived("duration", "frequency")
        state.duration = ("CYCL", math.inf if value >= scpi.SCPI_INFINITY else value,
                          state.frequency)

    def _arb_points(self, unit: scpi.Unit) -> tuple[float, ...]:
        points = []
        for data in unit.data:
            number = scpi.numeric(data)
            points.append(1.0 if number.keyword else max(number.values, key=abs))
        return tuple(points)

    def _arb_data(self, state: State6221, unit: scpi.Unit) -> None:
        state.arb0 = self._arb_points(unit)

    def _arb_append(self, state: State6221, unit: scpi.Unit) -> None:
        self.derived("arb0", "arb0")
        state.arb0 = (*(state.arb0 or (1.0,)), *self._arb_points(unit))

    def _arb_copy(self, state: State6221, unit: scpi.Unit) -> None:
        location = self.value(unit, "", 4, 1)
        if location not in (1, 2, 3, 4):
            raise scpi.ScpiSyntaxError(-222, "ARB location must be 1-4")
        name = f"arb{int(location)}"
        self.derived(name, "arb0")
        setattr(state, name, state.arb0)

    def _wave_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.wave_armed, state.wave_started = True, False

    def _wave_start(self, state: State6221, unit: scpi.Unit) -> None:
        state.wave_armed = state.wave_started = True

    def _wave_abort(self, state: State6221, unit: scpi.Unit) -> None:
        state.wave_armed = state.wave_started = False

    def completed(self, state: State6221) -> None:
        """A waveform of finite duration has played out and disarmed itself; one of
        infinite duration plays until ABORt."""
        if state.wave_started and state.duration is not None and \
                math.isfinite(state.duration[1]):
            state.wave_armed = state.wave_started = False

    def _shapes(self, possible, function: str | None) -> list[np.ndarray]:
        """One period of each shape ``function`` may have, normalised to the amplitude;
        unknown counts as full scale."""
        if function is None:
            return [np.ones(1)]
        if function.startswith("ARB"):
            return [np.ones(1) if not points else np.asarray(points, dtype=float)
                    for points in possible(f"arb{function[3]}")]
        phase = (np.arange(SHAPE_SAMPLES) + 0.5) / SHAPE_SAMPLES
        shapes = []
        for duty in possible("duty"):
            duty = 50.0 if duty is None else duty
            if function == "SQU":
                shapes.append(np.where(phase < duty / 100.0, 1.0, -1.0))
            elif function == "RAMP":
                rise = max(duty / 100.0, 1e-9)
                shapes.append(np.where(phase < rise, -1 + 2 * phase / rise,
                                       1 - 2 * (phase - rise) / max(1 - rise, 1e-9)))
            else:
                shapes.append(np.sin(2 * np.pi * phase))
        return shapes

    def _rule_peak(self, possible, text: str) -> None:
        limits = self.limits()
        amplitude = max((a for a in possible("amplitude") if a is not None), default=0.0)
        offsets = [o for o in possible("offset") if o is not None] or [0.0]
        for offset in offsets:
            _bounded(self.model, "waveform offset", offset, limits.max_read_current, "A",
                     text=text)
        for function in possible("function"):
            peak = 1.0 if function is not None and not function.startswith("ARB") else max(
                float(np.max(np.abs(shape))) for shape in self._shapes(possible, function))
            _bounded(self.model, "waveform peak (offset + amplitude x shape)",
                     max(abs(o) for o in offsets) + amplitude * peak,
                     limits.max_pulse_current, "A", text=text)

    def _rule_waveform(self, possible, text: str) -> None:
        """While a waveform may be armed or playing: known amplitude and offset, the peak,
        and the longest stretch above the read current (cyclic, capped by the duration; a
        sampled shape gets two samples of margin)."""
        if all(armed is False for armed in possible("wave_armed")):
            return
        limits = self.limits()
        amplitudes, offsets = possible("amplitude"), possible("offset")
        if None in amplitudes or None in offsets:
            raise LimitError(f"{self.model}: {text!r} refused: waveform amplitude or offset "
                             "unknown with a waveform maybe armed (send *RST or set "
                             "SOUR:WAVE:AMPL and :OFFS first)")
        self._rule_peak(possible, text)
        amplitude = max(amplitudes)
        frequencies = possible("frequency")
        frequency = None if None in frequencies else min(frequencies)
        period = 1.0 / frequency if frequency else math.inf
        total = max(self._seconds(d, frequency) for d in possible("duration"))
        for function in possible("function"):
            for shape in self._shapes(possible, function):
                for offset in offsets:
                    above = np.abs(offset + amplitude * shape) > \
                        limits.max_read_current * (1 + REL)
                    if not above.any():
                        continue
                    run = _longest_cyclic_run(above)
                    if run >= len(shape):
                        stretch = total
                    else:
                        margin = 0 if function and function.startswith("ARB") else 2
                        stretch = min(total, (run + margin) * period / len(shape))
                    if stretch > limits.max_pulse_width:
                        raise LimitError(
                            f"{self.model}: waveform above the read current for {stretch:g} s"
                            f" (in {text!r}) is outside the allowed pulse width "
                            f"[0, {limits.max_pulse_width:g}] s (safety limit)")

    @staticmethod
    def _seconds(duration: tuple | None, frequency: float | None) -> float:
        """The longest a duration can last: as given (seconds, or cycles at the present
        frequency) or in the other unit at the frequency it was given at (the instrument
        may keep either when the frequency changes)."""
        if duration is None or frequency is None:
            return math.inf
        kind, amount, given_at = duration
        if not math.isfinite(amount):
            return math.inf
        if kind == "CYCL":
            other = amount / given_at if given_at else math.inf
            return max(amount / frequency, other)
        other = amount * given_at / frequency if given_at else math.inf
        return max(amount, other)


def _longest_cyclic_run(mask: np.ndarray) -> int:
    if mask.all():
        return len(mask)
    doubled = np.concatenate([mask, mask]).astype(np.int8)
    edges = np.diff(np.concatenate([[0], doubled, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int(min(np.max(ends - starts), len(mask)))


# ---------------------------------------------------------------------------------------
# Keithley 2400
# ---------------------------------------------------------------------------------------
I_2400, V_2400 = 1.05, 210.0  # Model 2400 User's Manual, specifications: +-1.05 A, +-210 V


@dataclass
class State2400(_Tracked):
    function: str | None = None
    current: float | None = None
    voltage: float | None = None
    current_triggered: float | None = None
    voltage_triggered: float | None = None
    current_start: float | None = None
    current_stop: float | None = None
    voltage_start: float | None = None
    voltage_stop: float | None = None
    current_list: tuple | None = None
    voltage_list: tuple | None = None
    current_mode: str | None = None
    voltage_mode: str | None = None
    compliance_current: float | None = None
    compliance_voltage: float | None = None
    output: bool | None = None


CURRENT_FIELDS = ("current", "current_triggered", "current_start", "current_stop")
VOLTAGE_FIELDS = ("voltage", "voltage_triggered", "voltage_start", "voltage_stop")


class Guard2400(SourceGuard):
    """Keithley 2400 as coil supply or bias source (Model 2400 User's Manual, section 18
    SCPI command reference: SOURce, SENSe, OUTPut, TRACe, TRIGger/ARM, FORMat, SYSTem...)."""

    model = "Keithley 2400"
    _S = "[:SOURce[1]]"

    def __init__(self, limits: LimitsSource, coil_constant: Callable[[], float]) -> None:
        self.coil_constant = coil_constant
        super().__init__(limits)

    table = [
        (_S + ":FUNCtion[:MODE]", "c", "_function"), (_S + ":FUNCtion:SHAPe", "c", None),
        (_S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", "n", "_level"),
        (_S + ":CURRent[:LEVel]:TRIGgered[:AMPLitude]", "n", "_level"),
        (_S + ":CURRent:STARt", "n", "_level"), (_S + ":CURRent:STOP", "n", "_level"),
        (_S + ":CURRent:CENTer", "n", "_centre"), (_S + ":CURRent:SPAN", "n", "_span"),
        (_S + ":CURRent:STEP", "n", "_step"), (_S + ":CURRent:MODE", "c", "_mode"),
        (_S + ":CURRent:RANGe", "n", None), (_S + ":CURRent:RANGe:AUTO", "b", None),
        (_S + ":VOLTage[:LEVel][:IMMediate][:AMPLitude]", "n", "_level"),
        (_S + ":VOLTage[:LEVel]:TRIGgered[:AMPLitude]", "n", "_level"),
        (_S + ":VOLTage:STARt", "n", "_level"), (_S + ":VOLTage:STOP", "n", "_level"),
        (_S + ":VOLTage:CENTer", "n", "_centre"), (_S + ":VOLTage:SPAN", "n", "_span"),
        (_S + ":VOLTage:STEP", "n", "_step"), (_S + ":VOLTage:MODE", "c", "_mode"),
        (_S + ":VOLTage:RANGe", "n", None), (_S + ":VOLTage:RANGe:AUTO", "b", None),
        (_S + ":VOLTage:PROTection[:LEVel]", "n", None),
        (_S + ":LIST:CURRent", "n+", "_list"), (_S + ":LIST:CURRent:APPend", "n+", "_list"),
        (_S + ":LIST:CURRent:POINts", "q", None),
        (_S + ":LIST:VOLTage", "n+", "_list"), (_S + ":LIST:VOLTage:APPend", "n+", "_list"),
        (_S + ":LIST:VOLTage:POINts", "q", None),
        (_S + ":SWEep:RANGing", "c", None), (_S + ":SWEep:SPACing", "c", None),
        (_S + ":SWEep:POINts", "n", None), (_S + ":SWEep:DIRection", "c", None),
        (_S + ":SWEep:CABort", "c", None),
        (_S + ":DELay", "n", None), (_S + ":DELay:AUTO", "b", None),
        (_S + ":CLEar[:IMMediate]", "", "_output_off"), (_S + ":CLEar:AUTO", "b", None),
        (_S + ":CLEar:AUTO:MODE", "c", None),
        (":SOURce2:TTL[:LEVel][:DEFault]", "n", None), (":SOURce2:TTL[:LEVel]:ACTual", "q", None),
        (":SOURce2:BSIZe", "n", None), (":SOURce2:TTL4:MODE", "c", None),
        (":SOURce2:TTL4:BSTate", "b", None),
        (":SOURce2:CLEar[:IMMediate]", "", None), (":SOURce2:CLEar:AUTO", "b", None),
        (":SOURce2:CLEar:AUTO:DELay", "n", None),
        (":OUTPut[1][:STATe]", "b", "_output"), (":OUTPut[1]:SMODe", "c", None),
        (":OUTPut[1]:ENABle[:STATe]", "b", None), (":OUTPut[1]:ENABle:TRIPped", "q", None),
        (":OUTPut[1]:INTerlock:STATe", "b", None), (":OUTPut[1]:INTerlock:TRIPped", "q", None),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection[:LEVel]", "n", "_compliance_current"),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection:TRIPped", "q", None),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection:RSYNchronize", "b", None),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection[:LEVel]", "n", "_compliance_voltage"),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection:TRIPped", "q", None),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection:RSYNchronize", "b", None),
        ("[:SENSe[1]]:FUNCtion[:ON]", "c+", None), ("[:SENSe[1]]:FUNCtion:OFF", "c+", None),
        ("[:SENSe[1]]:FUNCtion[:ON]:ALL", "", None), ("[:SENSe[1]]:FUNCtion:OFF:ALL", "", None),
        ("[:SENSe[1]]:FUNCtion[:ON]:COUNt", "q", None),
        ("[:SENSe[1]]:FUNCtion:OFF:COUNt", "q", None),
        ("[:SENSe[1]]:FUNCtion:CONCurrent", "b", None),
        ("[:SENSe[1]]:FUNCtion:STATe", "qs", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe[:UPPer]", "n", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO", "b", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO:ULIMit", "n", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO:LLIMit", "n", None),
        ("[:SENSe[1]]:CURRent[:DC]:NPLCycles", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe[:UPPer]", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO", "b", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO:ULIMit", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO:LLIMit", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:NPLCycles", "n", None),
        ("[:SENSe[1]]:RESistance:MODE", "c", None), ("[:SENSe[1]]:RESistance:OCOMpensated", "b",
                                                     None),
        ("[:SENSe[1]]:RESistance:RANGe[:UPPer]", "n", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO", "b", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO:ULIMit", "n", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO:LLIMit", "n", None),
        ("[:SENSe[1]]:RESistance:NPLCycles", "n", None),
        ("[:SENSe[1]]:AVERage[:STATe]", "b", None), ("[:SENSe[1]]:AVERage:TCONtrol", "c", None),
        ("[:SENSe[1]]:AVERage:COUNt", "n", None), ("[:SENSe[1]]:DATA[:LATest]", "q", None),
        (":ROUTe:TERMinals", "c", None),
        (":INITiate[:IMMediate]", "", "_start"), (":ABORt", "", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:COUNt", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:SOURce", "c", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:TIMer", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:DIRection", "c", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:ILINe", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OLINe", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OUTPut", "c", None),
        (":TRIGger:CLEar", "", None),
        (":TRIGger[:SEQuence[1]]:COUNt", "n", None), (":TRIGger[:SEQuence[1]]:DELay", "n", None),
        (":TRIGger[:SEQuence[1]]:SOURce", "c", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:DIRection", "c", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:ILINe", "n", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:OLINe", "n", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:INPut", "c", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:OUTPut", "c", None),
        (":FETCh", "q", None), (":READ", "q", "_start"),
        (":MEASure:CURRent[:DC]", "q", "_start"), (":MEASure:VOLTage[:DC]", "q", "_start"),
        (":MEASure:RESistance", "q", "_start"), (":MEASure", "q", "_start"),
        (":CALCulate3:FORMat", "c", None), (":CALCulate3:DATA", "q", None),
        (":CALCulate2:FEED", "c", None), (":CALCulate2:DATA", "q", None),
        (":CALCulate2:NULL:OFFSet", "n", None), (":CALCulate2:NULL:STATe", "b", None),
        (":TRACe:DATA", "q", None), (":TRACe:CLEar", "", None), (":TRACe:FREE", "q", None),
        (":TRACe:POINts", "n", None), (":TRACe:POINts:ACTual", "q", None),
        (":TRACe:FEED", "c", None), (":TRACe:FEED:CONTrol", "c", None),
        (":TRACe:TSTamp:FORMat", "c", None),
        (":FORMat[:DATA]", "c+", None), (":FORMat:ELEMents[:SENSe[1]]", "c+", None),
        (":FORMat:ELEMents:CALCulate", "c+", None), (":FORMat:BORDer", "c", None),
        (":FORMat:SREGister", "c", None), (":FORMat:SOURce2", "c", None),
        (":DISPlay:ENABle", "b", None), (":DISPlay:CNDisplay", "", None),
        (":DISPlay[:WINDow[1]]:TEXT[:DATA]", "s", None),
        (":DISPlay[:WINDow[1]]:TEXT:STATe", "b", None),
        (":DISPlay:WINDow2:TEXT[:DATA]", "s", None), (":DISPlay:WINDow2:TEXT:STATe", "b", None),
        (":DISPlay:DIGits", "n", None),
        (":STATus:MEASurement[:EVENt]", "q", None), (":STATus:MEASurement:ENABle", "n", None),
        (":STATus:MEASurement:CONDition", "q", None), (":STATus:OPERation[:EVENt]", "q", None),
        (":STATus:OPERation:ENABle", "n", None), (":STATus:OPERation:CONDition", "q", None),
        (":STATus:QUEStionable[:EVENt]", "q", None), (":STATus:QUEStionable:ENABle", "n", None),
        (":STATus:QUEStionable:CONDition", "q", None), (":STATus:PRESet", "", None),
        (":STATus:QUEue[:NEXT]", "q", None), (":STATus:QUEue:ENABle", "*", None),
        (":STATus:QUEue:DISable", "*", None), (":STATus:QUEue:CLEar", "", None),
        (":SYSTem:ERRor[:NEXT]", "q", None), (":SYSTem:ERRor:ALL", "q", None),
        (":SYSTem:ERRor:COUNt", "q", None), (":SYSTem:ERRor:CODE[:NEXT]", "q", None),
        (":SYSTem:ERRor:CODE:ALL", "q", None), (":SYSTem:VERSion", "q", None),
        (":SYSTem:AZERo[:STATe]", "c", None), (":SYSTem:BEEPer[:STATe]", "b", None),
        (":SYSTem:CLEar", "", None), (":SYSTem:KEY", "n", None), (":SYSTem:LFRequency", "n", None),
        (":SYSTem:LFRequency:AUTO", "b", None), (":SYSTem:TIME", "q", None),
        (":SYSTem:TIME:RESet", "", None), (":SYSTem:LOCal", "", None),
        (":SYSTem:REMote", "", None), (":SYSTem:RWLock", "", None), (":SYSTem:RSENse", "b", None),
        (":SYSTem:GUARd", "c", None), (":SYSTem:PRESet", "", "_preset"),
    ]
    readback = [
        ("output", ":OUTP?", _flag_reply), ("function", ":SOUR:FUNC?", _word_reply),
        ("current", ":SOUR:CURR?", _number_reply), ("voltage", ":SOUR:VOLT?", _number_reply),
        ("current_triggered", ":SOUR:CURR:TRIG?", _number_reply),
        ("voltage_triggered", ":SOUR:VOLT:TRIG?", _number_reply),
        ("current_start", ":SOUR:CURR:STAR?", _number_reply),
        ("current_stop", ":SOUR:CURR:STOP?", _number_reply),
        ("voltage_start", ":SOUR:VOLT:STAR?", _number_reply),
        ("voltage_stop", ":SOUR:VOLT:STOP?", _number_reply),
        ("current_list", ":SOUR:LIST:CURR?", _list_reply),
        ("voltage_list", ":SOUR:LIST:VOLT?", _list_reply),
        ("current_mode", ":SOUR:CURR:MODE?", _word_reply),
        ("voltage_mode", ":SOUR:VOLT:MODE?", _word_reply),
        ("compliance_current", ":SENS:CURR:PROT?", _number_reply),
        ("compliance_voltage", ":SENS:VOLT:PROT?", _number_reply),
    ]
    invariants = [
        (frozenset({"output", "function", "current", "voltage", "current_mode",
                    "voltage_mode", "current_start", "current_stop", "voltage_start",
                    "voltage_stop", "current_list", "voltage_list", "compliance_current",
                    "compliance_voltage"}), "_rule_output"),
    ]

    def unknown_state(self) -> State2400:
        return State2400()

    def reset_state(self) -> State2400:
        """*RST (2400 User's Manual, section 18 tables, *RST column): source V at 0,
        21 V / 105 uA compliance, fixed mode, lists of one 0, output off."""
        return State2400("VOLT", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, (0.0,), (0.0,),
                         "FIX", "FIX", 105e-6, 21.0, False)

    def _max_current(self) -> float:
        return min(I_2400, self.limits().max_field / self.coil_constant())

    def _level(self, state: State2400, unit: scpi.Unit) -> None:
        node = next(n for n in unit.nodes if n.startswith(("CURR", "VOLT")))
        current = node.startswith("CURR")
        kind = "current" if current else "voltage"
        value = self.value(unit, "A" if current else "V", I_2400 if current else V_2400)
        last = unit.nodes[-1]
        if last.startswith("STAR"):
            name = f"{kind}_start"
        elif last.startswith("STOP"):
            name = f"{kind}_stop"
        elif any(n.startswith("TRIG") for n in unit.nodes):
            name = f"{kind}_triggered"
        else:
            name = kind
        self._check(name, value, unit)
        setattr(state, name, value)

    def _centre(self, state: State2400, unit: scpi.Unit) -> None:
        """CENTer and SPAN set STARt and STOP (section 10, sweep)."""
        kind = "current" if any(n.startswith("CURR") for n in unit.nodes) else "voltage"
        value = self.value(unit, "A" if kind == "current" else "V",
                           I_2400 if kind == "current" else V_2400)
        start, stop = getattr(state, f"{kind}_start"), getattr(state, f"{kind}_stop")
        self.derived(f"{kind}_start", f"{kind}_start", f"{kind}_stop")
        self.derived(f"{kind}_stop", f"{kind}_start", f"{kind}_stop")
        half = None if start is None or stop is None else abs(stop - start) / 2
        self._set_sweep(state, kind, None if half is None else (value - half, value + half),
                        unit)

    def _span(self, state: State2400, unit: scpi.Unit) -> None:
        kind = "current" if any(n.startswith("CURR") for n in unit.nodes) else "voltage"
        span = abs(self.value(unit, "A" if kind == "current" else "V",
                              2 * I_2400 if kind == "current" else 2 * V_2400))
        start, stop = getattr(state, f"{kind}_start"), getattr(state, f"{kind}_stop")
        self.derived(f"{kind}_start", f"{kind}_start", f"{kind}_stop")
        self.derived(f"{kind}_stop", f"{kind}_start", f"{kind}_stop")
        centre = None if start is None or stop is None else (start + stop) / 2
        self._set_sweep(state, kind, None if centre is None else (centre - span / 2,
                                                                  centre + span / 2), unit)

    def _set_sweep(self, state: State2400, kind: str, ends: tuple[float, float] | None,
                   unit: scpi.Unit) -> None:
        for name, value in zip((f"{kind}_start", f"{kind}_stop"), ends or (None, None),
                               strict=True):
            if value is not None:
                self._check(name, value, unit)
            setattr(state, name, value)

    def _step(self, state: State2400, unit: scpi.Unit) -> None:
        self.value(unit, "A" if any(n.startswith("CURR") for n in unit.nodes) else "V",
                   2 * V_2400)  # the points stay between STARt and STOP

    def _list(self, state: State2400, unit: scpi.Unit) -> None:
        current = unit.nodes[-1 if not unit.nodes[-1].startswith("APP") else -2].startswith(
            "CURR")
        name = "current_list" if current else "voltage_list"
        values = tuple(self.values(unit, "A" if current else "V", I_2400 if current
                                   else V_2400))
        if unit.nodes[-1].startswith("APP"):
            self.derived(name, name)
            values = (*(getattr(state, name) or (I_2400 if current else V_2400,)), *values)
        for value in values:
            self._check(name, value, unit)
        setattr(state, name, values)

    def _compliance_current(self, state: State2400, unit: scpi.Unit) -> None:
        state.compliance_current = self._check(
            "compliance_current", self.value(unit, "A", I_2400, default=105e-6), unit)

    def _compliance_voltage(self, state: State2400, unit: scpi.Unit) -> None:
        state.compliance_voltage = self._check(
            "compliance_voltage", self.value(unit, "V", V_2400, default=21.0), unit)

    def _check(self, name: str, value: float | None, unit: scpi.Unit | str) -> float:
        """A current within the coil's limit (max_field / coil_constant), a voltage within
        the compliance-voltage limit; compliances from 0."""
        text = unit if isinstance(unit, str) else unit.text
        why = "" if isinstance(unit, str) else self.reading(
            unit, "A" if name.startswith(("current", "compliance_current")) else "V")
        if name.startswith("current") or name == "compliance_current":
            label = {"current": "coil current", "compliance_current": "compliance current"}.get(
                name, f"coil current ({name.replace('_', ' ')})")
            return _bounded(self.model, label, value, self._max_current(), "A",
                            0.0 if name.startswith("compliance") else None, text[:80], why)
        label = {"voltage": "source voltage", "compliance_voltage": "compliance voltage"}.get(
            name, f"source voltage ({name.replace('_', ' ')})")
        return _bounded(self.model, label, value, self.limits().compliance_voltage, "V",
                        0.0 if name.startswith("compliance") else None, text[:80], why)

    def _function(self, state: State2400, unit: scpi.Unit) -> None:
        state.function = scpi.character(unit.data[0], {"CURRent": "CURR", "VOLTage": "VOLT"})

    def _mode(self, state: State2400, unit: scpi.Unit) -> None:
        mode = scpi.character(unit.data[0], {"FIXed": "FIX", "SWEep": "SWE", "LIST": "LIST"})
        setattr(state, "current_mode" if any(n.startswith("CURR") for n in unit.nodes)
                else "voltage_mode", mode)

    def _output(self, state: State2400, unit: scpi.Unit) -> None:
        state.output = scpi.boolean(unit.data[0])

    def _output_off(self, state: State2400, unit: scpi.Unit) -> None:
        state.output = False

    query_handlers = frozenset({"_start"})  # READ? and MEASure? are queries that start

    def _start(self, state: State2400, unit: scpi.Unit) -> None:
        """INIT, READ? and MEASure? start the source (with auto output-off, section 10, the
        output goes on for the sweep): checked as if the output were on."""
        picture = self._pic

        def worst(field: str) -> list:
            return [True] if field == "output" else picture.possible(field)

        def nominal(field: str) -> list:
            return [True] if field == "output" else [getattr(picture.nominal, field)]

        try:
            self._rule_output(worst, unit.text)
        except LimitError as err:
            self._rule_output(nominal, unit.text)
            raise Unconfirmed(str(err)) from None

    def _preset(self, state: State2400, unit: scpi.Unit) -> None:
        self._reset(state)

    def _rule_output(self, possible, text: str) -> None:
        """With the output maybe on (or starting), what the active function sources must be
        known: the level of its mode and the other side's compliance."""
        if all(v is False for v in possible("output")):
            return
        for function in possible("function"):
            if function not in ("CURR", "VOLT"):
                raise LimitError(f"{self.model}: {text!r} refused: the source function is "
                                 "unknown with the output maybe on (send *RST or "
                                 ":SOUR:FUNC first)")
            kind = "current" if function == "CURR" else "voltage"
            needed = {"compliance_voltage" if kind == "current" else "compliance_current"}
            for mode in possible(f"{kind}_mode"):
                needed |= {"FIX": {kind}, "SWE": {f"{kind}_start", f"{kind}_stop"},
                           "LIST": {f"{kind}_list"}}.get(mode, {kind, f"{kind}_start",
                                                                f"{kind}_stop", f"{kind}_list"})
            for name in sorted(needed):
                for value in possible(name):
                    if value is None:
                        raise LimitError(
                            f"{self.model}: {text!r} refused: {name.replace('_', ' ')} "
                            "unknown with the output maybe on (set it first)")
                    for item in value if isinstance(value, tuple) else (value,):
                        self._check(name, item, text)

