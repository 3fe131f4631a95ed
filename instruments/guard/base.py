"""The check under every source driver: parse, simulate on a copy of the picture, commit only
if the whole line passed; ask the instrument when a line depends on earlier ones."""

from __future__ import annotations

import contextlib
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from instruments import scpi
from instruments.errors import ReplyError
from instruments.guard.grammar import check_parameters, split_reply
from instruments.guard.picture import ERROR_BITS, POWER_ON, Order, Picture
from instruments.limits import LimitError, SafetyLimits

LimitsSource = Callable[[], SafetyLimits]
ESR_QUERY = "*ESR?"
# The STATus subsystem and SYSTem:ERRor, the same in the 6221's and the 2400's tables
# (Reference Manual section 14; User's Manual section 18): events, enables, the queue.
STATUS_TABLE = [
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
]
REL = 1e-12  # a waveform level is amplitude x point: one rounding of slack, no more


class UnknownCommandError(LimitError):
    """A command the guard does not understand for this source: refused, not guessed."""


class Unconfirmed(LimitError):
    """Refused on a value the source may still hold because a line sent before may have
    been refused by the instrument; asking the instrument may clear it."""


def bounded(model: str, name: str, value: float | None, high: float, unit: str,
             low: float | None = None, text: str = "", why: str = "") -> float:
    """``value`` if known and within [low, high], else refused naming the instrument, the
    setting, the limit and why; an unknown value is refused, never assumed safe."""
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


_ASSIGNING = threading.local()  # the fields handlers set, while a unit runs (per thread)


class _Assignments:
    """Collects the fields a handler sets (a setting sent twice is a setting)."""

    def __enter__(self) -> set[str]:
        stack = _ASSIGNING.__dict__.setdefault("stack", [])
        stack.append(set())
        return stack[-1]

    def __exit__(self, *exc) -> None:
        _ASSIGNING.stack.pop()


class Tracked:
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

    read_only: frozenset[str] = frozenset({"output"})  # believed only once read back

    def __init__(self, limits: LimitsSource) -> None:
        self.own_limits = limits
        self.picture = Picture(self.unknown_state(), self.read_only)
        self._replies: deque[tuple[list[tuple[int, str, object]], dict]] = deque()
        self.trusted = True  # False after a read failed: replies may be out of step
        self._ask: Callable[[str], str] | None = None  # the guard's own query, unguarded
        self._resolved: dict[tuple[str, ...], tuple[bool, str, str | None]] = {}
        self._specs: dict[tuple[str, ...], str | None] = {}
        self._pic: Picture | None = None  # the picture a check is simulating on
        self._derived: dict[str, frozenset[str]] = {}
        self.key: str | None = None  # the resource, when shared
        self.confirmations = 0  # exchanges the guard made itself (bench)
        self.name = self.model  # the driver's name for the instrument, in reply errors

    @property
    def state(self):
        """What the source holds if every line sent so far was accepted."""
        return self.picture.nominal

    def limits(self) -> SafetyLimits:
        """This connection's limits, lowered by what the instrument's picture imposes (the
        device a switch system routes to it: ``picture.ceiling``), so every connection to
        the instrument is held to the routed device's."""
        limits = self.own_limits()
        ceiling = self.picture.ceiling
        return limits if ceiling is None else ceiling(limits)

    # -- to override ----------------------------------------------------------------------
    def unknown_state(self):
        """The state the guard starts from before anything is sent or read back: every
        field unknown (None), which each check treats as the worst case."""
        raise NotImplementedError

    def reset_state(self):
        """The state ``*RST`` leaves, from the reset column of the instrument manual's
        command tables (each subclass cites its section)."""
        raise NotImplementedError

    def completed(self, state) -> None:
        """Operations started so far have finished (nothing by default)."""

    # -- the check -------------------------------------------------------------------------
    def check(self, text: str) -> None:
        """Refuse (LimitError) or accept ``text``, one or more program messages. Refused
        under limits a ceiling lowered (no device routed, or its route not yet read back):
        the ceiling's instrument is asked once, then the refusal says why."""
        with self.picture.lock:
            self.picture.writer = self
            ceiling = self.picture.ceiling
            try:
                plan = self._confirmed(text)
            except UnknownCommandError:
                raise
            except LimitError as err:
                if ceiling is None:
                    raise
                if not ceiling.confirm():
                    raise ceiling.explained(err) from None
                try:
                    plan = self._confirmed(text)
                except UnknownCommandError:
                    raise
                except LimitError as again:
                    raise ceiling.explained(again) from None
            self._commit(plan)

    def _confirmed(self, text: str) -> _Plan:
        """The line simulated; asking the instrument once if it passes only when the units
        sent before were accepted."""
        try:
            return self._simulate(text)
        except Unconfirmed as err:
            if not self.can_ask():
                raise LimitError(f"{err} (a unit sent before it may have been refused by the "
                                 "instrument, and the guard cannot ask it now: read the "
                                 "replies pending first)") from None
            self.confirm()
            return self._simulate(text)

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
        synced = dict(self.picture.synced)  # what a reply to these queries speaks for
        self._replies.extend((queries, synced) for queries in plan.queries)

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
        """The table's header a resolved header spells (None: not in the table); searched
        once per spelling (every query's kind asks it for each read-back header)."""
        if nodes not in self._specs:
            self._specs[nodes] = next((spec for spec, _, _ in self.table
                                       if scpi.header_matches(spec, nodes)), None)
        return self._specs[nodes]

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
        check_parameters(kind, unit)
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
        check_parameters(self.COMMON_ALLOWED[name], unit)
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

    # fields a unit may set to these values whatever the limits (``OUTP OFF``, an abort):
    # a unit that does nothing else only takes drive away, so no rule refuses it (limits
    # may have fallen since the source was set: another device routed, ``set_limits``)
    switches_off: dict[str, object] = {}

    def _check_invariants(self, picture: Picture, changed: set[str], derived: set[str],
                          text: str) -> None:
        if not changed or (not derived and all(
                field in self.switches_off and
                getattr(picture.nominal, field) == self.switches_off[field]
                for field in changed)):
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
            queries, synced = self._replies.popleft()
            if reply is None:
                self.trusted = False
                return reply
            if not self.trusted:
                return reply
            picture = self.picture
            picture.writer = self
            order = Order(self, synced)
            # the instrument has acted on this connection's units before the last query
            picture.synced[self] = max(picture.synced.get(self, 0), queries[-1][0] + 1)
            parts = split_reply(reply.strip())
            if len(parts) != len(queries):
                return reply
            for index, ((seq, kind, extra), part) in enumerate(zip(queries, parts,
                                                                   strict=True)):
                if kind == "esr" and part.isdigit():
                    value = int(part)
                    self.picture.register(seq, value, order)
                    if self.picture.held_bits:  # the bits the guard read for itself
                        parts[index] = str(value | self.picture.held_bits)
                        self.picture.held_bits = 0
                elif kind == "opc" and part == "1":
                    self._completed_at(seq)
                elif kind == "read":
                    field, parse = extra
                    with contextlib.suppress(ValueError, TypeError, IndexError):
                        self.picture.read(seq, field, parse(part), order)
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
        """Whether the guard may ask the instrument for itself now: it has a query of its
        own, no read has failed (replies in step) and no reply to a line sent is still pending (its
        own would be read in the wrong place)."""
        return self._ask is not None and self.trusted and not self._replies

    def confirm(self) -> None:
        """Ask the instrument what it accepted: first through every other connection that
        sent a unit not yet known acted on (a reply on this one cannot speak for those),
        then through this one."""
        picture = self.picture
        others = {e.writer for e in picture.entries if e.writer is not None
                  and e.writer is not self and e.seq >= picture.synced.get(e.writer, 0)}
        for other in others:
            if other.can_ask():
                other.confirm_own()
        self.confirm_own()

    def confirm_own(self) -> None:
        """Ask through this connection: *ESR? (the units since it was last read), every
        ``read_only`` field (OUTP?) and every setting the register can no longer vouch for,
        read back; one message, one reply. If the register holds an error, a second
        message reads back every setting still uncertain."""
        picture = self.picture
        fields = picture.unconfirmed_before(picture.seq)
        queries = [ESR_QUERY]
        kinds: list[tuple[str, object]] = [("esr", None)]
        for field, query, parse in self.readback:
            if field in self.read_only or field in fields:
                queries.append(query)
                kinds.append(("read", (field, parse)))
        if self._exchange(queries, kinds) & (ERROR_BITS | POWER_ON):
            uncertain = picture.uncertain()
            left = [(f, q, p) for f, q, p in self.readback if f in uncertain]
            if left:
                self._exchange([q for _, q, _ in left], [("read", (f, p)) for f, _, p in left])

    def read_back(self) -> None:
        """Read back every setting the guard polices that the instrument reports (at the
        first connection: what other software left)."""
        self._exchange([q for _, q, _ in self.readback],
                       [("read", (f, p)) for f, _, p in self.readback])

    def _exchange(self, queries: list[str], kinds: list[tuple[str, object]]) -> int:
        """The guard's own query, one message: its reply must be what the manual says each
        query answers (else a ReplyError naming the instrument, the query and the reply);
        it is then taken as any reply is. Returns the event register if it asked for it."""
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
        parts = split_reply(reply.strip())
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
        self._replies.appendleft((entry, dict(picture.synced)))
        held = picture.held_bits
        self.replied(reply)
        if kinds[0][0] == "esr":  # the guard's own read: the caller's bits are kept
            picture.held_bits = held | int(parts[0])
            return int(parts[0])
        return 0

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
        """Each number of a list parameter (``:LIST:CURR 1e-3,2e-3``) at its worst: a
        keyword (MIN, MAX, DEF...) counts as ``instrument_max``, a suffix read several ways as its
        largest reading."""
        out = []
        for data in unit.data:
            number = scpi.numeric(data, physical)
            out.append(instrument_max if number.keyword else max(number.values, key=abs))
        return out

    def reading(self, unit: scpi.Unit, physical: str) -> str:
        """Why the worst reading of a suffixed number is what it is, for an error."""
        why = scpi.suffix_reading(unit.data[0], physical) if unit.data else ""
        return f"; {why}" if why else ""
