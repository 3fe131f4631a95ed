"""What a source may hold, as its safety guard knows it: believed from the instrument, not
from the lines sent to it.

A line sent to an instrument may be refused by it, whole or in part (a suffix it does not
take, a value outside a fixed range, a typo), and a refused unit changes nothing there
(IEEE 488.2 6.1.6: a command error discards the rest of the message, an execution error
that unit). So every setting has two sides here: ``nominal``, what the source holds if every
unit sent so far was accepted, and the other values it may still hold, one entry per unit
not yet known to have been accepted (the value before that unit). Every check is made
against all of them: the worse of the old and the new level, the output maybe on.

A unit is known to have been accepted (its entry goes) when the instrument says so:

- ``*ESR?`` answers with no error bit (CME 32, EXE 16, DDE 8: IEEE 488.2 11.5.1.1) for
  the units sent since the register was last read or cleared (``*CLS`` clears it, so the
  units before a ``*CLS`` are never confirmed this way, except a ``*RST`` in the same
  message before it: a refused ``*RST`` can only be one skipped after a command error, and
  that error would have skipped the ``*CLS`` too and be in the register);
- a setting read back (``:SOUR:CURR?``) is what the source holds at that point;
- an output counts as on until ``OUTP?`` says 0: an error-free register does not switch
  an output off in this picture, only the instrument's own answer does (so too a switch
  system's closed channels, until ``:ROUT:CLOS:STAT?`` names them: ``read_only``).

An error bit, or the power-on bit (PON 128), confirms nothing: the units before it stay
unconfirmed until their settings are read back.

Connections sharing a picture are ordered only where the instrument proves it: a reply on
one connection says the instrument has acted on that connection's earlier units, not on a
unit another connection wrote (its socket may be read later). So a reply confirms, or reads
a setting over, the units of its own connection and those of another connection before
the last reply that connection itself had read when the query was sent (``synced``); any
other unit stays one the instrument may still act on.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from typing import Any

ERROR_BITS = 32 | 16 | 8  # CME, EXE, DDE (IEEE 488.2 11.5.1.1); QYE (4) refuses nothing
POWER_ON = 128  # PON


ALTERNATIVES = 3  # values a field may hold besides its nominal one; older ones: unknown


@dataclasses.dataclass(eq=False)  # entries are told apart by identity
class Entry:
    """One setting a unit sent may have changed, with the value it had before: kept until the
    instrument confirms the unit, so every check also weighs the old value."""
    seq: int  # the unit that set the field
    field: str
    old: Any  # what the field may still hold if that unit was refused (None: unknown)
    derived: bool = False  # the new value was computed from fields that were uncertain
    sources: frozenset[str] = frozenset()  # those fields
    writer: Any = None  # the connection that sent the unit (None: ordered with every one)


@dataclasses.dataclass(frozen=True)
class Order:
    """Which units a reply read on ``reader`` speaks for: its own, and another connection's
    before that connection's last reply read when the query was sent (``synced``)."""
    reader: Any = None
    synced: dict = dataclasses.field(default_factory=dict)

    def covers(self, entry: Entry) -> bool:
        """Whether a reply read under this order speaks for ``entry``'s unit: the reader's
        own, one ordered with every connection, or another's sent before its last reply read."""
        writer = entry.writer
        return writer is None or writer is self.reader or \
            entry.seq < self.synced.get(writer, 0)


EVERY = Order()  # a reply that speaks for every unit (one connection, or a simulation)


class Picture:
    """One instrument's state as every connection of this process to it sees it."""

    def __init__(self, state, read_only: frozenset[str] = frozenset({"output"})) -> None:
        self.nominal = state
        self.read_only = read_only  # fields only a read-back confirms, never *ESR?
        self.entries: list[Entry] = []
        self.seq = 0  # the next unit's number
        self.windows: list[int] = [0]  # where each *ESR? read or *CLS left the register
        self.lock = threading.RLock()
        self.users = 0  # connections sharing this picture
        self.lock_file = None  # the lock on the resource held across processes
        # event-register bits the guard read for itself: given to the next *ESR? a caller
        # reads, so reading the register for the guard takes nothing from anyone
        self.held_bits = 0
        # what another instrument imposes (``instruments.guard.k7002``): ``ceiling`` lowers
        # this source's limits to the device a switch system routes; ``interlock`` says why
        # this instrument may not act now (a relay while a source may drive current)
        self.ceiling = None
        self.interlock = None
        self.writer = None  # the connection whose units are being recorded
        self.synced: dict = {}  # connection -> the seq before which it is known acted on

    # -- what a field may hold -------------------------------------------------------------
    def possible(self, field: str) -> list:
        """Every value ``field`` may hold now: the nominal one first, then each older one
        a unit not yet confirmed may have left it at (None: unknown). Checks weigh them all."""
        values = [getattr(self.nominal, field)]
        for entry in self.entries:
            if entry.field == field and not any(v is entry.old for v in values) and \
                    entry.old not in values:
                values.append(entry.old)
        return values

    def uncertain(self) -> set[str]:
        """The fields some unconfirmed unit may have changed: what a read-back must settle."""
        return {entry.field for entry in self.entries}

    def copy(self) -> Picture:
        """A twin to simulate a line on: its own nominal state, entries and windows, the
        rest (lock, ceiling, interlock) shared; :meth:`adopt` takes it back if the line passes."""
        twin = Picture.__new__(Picture)
        twin.__dict__.update(self.__dict__)
        twin.nominal = copy.copy(self.nominal)
        twin.entries = list(self.entries)
        twin.windows = list(self.windows)
        return twin

    def adopt(self, other: Picture) -> None:
        """Take a simulated picture's state (a line that passed)."""
        self.nominal, self.entries = other.nominal, other.entries
        self.seq, self.windows = other.seq, other.windows

    # -- what a unit did ---------------------------------------------------------------------
    def record(self, seq: int, before: dict, assigned: set[str] | None = None,
               derived: dict[str, frozenset[str]] | None = None) -> set[str]:
        """The fields unit ``seq`` set (``assigned``; those whose value changed if None;
        ``before``: the nominal fields before it); ``derived``: fields it computed from
        uncertain ones (field -> those). A field set to the value it already had counts: if
        the unit was accepted, the field holds that value whatever it held before."""
        derived = {k: v for k, v in (derived or {}).items() if k in before}
        changed = {name for name, value in before.items() if (
            now := getattr(self.nominal, name)) is not value and now != value} | set(
            derived) | (
            set(assigned or ()) & set(before))
        for name in sorted(changed):
            old = before[name]
            if not isinstance(old, tuple):  # the same value a field may hold, once: the
                self.entries = [e for e in self.entries  # latest unit that set it counts
                                if e.derived or e.field != name or e.old != old]
            self.entries.append(Entry(seq, name, old, writer=self.writer))
            if name in derived:
                self.entries.append(Entry(seq, name, None, True, derived[name], self.writer))
            self._bound(name)
        return changed

    def _bound(self, field: str) -> None:
        """At most ``ALTERNATIVES`` known values besides the nominal one (a waveform upload
        of many lines would keep every partial list): the oldest become unknown."""
        known = [e for e in self.entries if e.field == field and not e.derived
                 and e.old is not None]
        if len(known) <= ALTERNATIVES:
            return
        distinct: list = []
        for entry in reversed(known):
            if not any(entry.old is v or entry.old == v for v in distinct):
                distinct.append(entry.old)
        if len(distinct) <= ALTERNATIVES:
            return
        forgotten = {id(e) for e in known[:-ALTERNATIVES]}  # (new entries: a simulated
        self.entries = [Entry(e.seq, e.field, None, writer=e.writer)  # copy
                        if id(e) in forgotten else e
                        for e in self.entries]  # (shares the old ones with the picture)

    def cleared(self, seq: int) -> None:
        """A ``*CLS`` (unit ``seq``): the event register says nothing of earlier units."""
        self.windows.append(seq)

    # -- what the instrument said ------------------------------------------------------------
    def register(self, seq: int, value: int, order: Order = EVERY) -> None:
        """The standard event status register read at unit ``seq`` (its bits since the last
        read or clear), on a connection ordered as ``order`` says."""
        start = max((w for w in self.windows if w < seq), default=0)
        self.windows.append(seq)
        if value & POWER_ON:  # the instrument reset itself: nothing it held is known
            for name in (f.name for f in dataclasses.fields(self.nominal)):
                self.entries.append(Entry(seq, name, None))
            return
        if value & ERROR_BITS:
            return  # a unit was refused: which one, only reading back can tell
        self._confirm(start, seq, order)

    def _confirm(self, start: int, seq: int, order: Order) -> None:
        """Units ``start`` <= n < ``seq`` that ``order`` covers were accepted."""
        done = {id(e) for e in self.entries if start <= e.seq < seq and not e.derived
                and e.field not in self.read_only and order.covers(e)}
        fields = {e.field for e in self.entries if id(e) in done}
        keep = [e for e in self.entries if id(e) not in done
                and not (e.field in fields and e.seq < start and not e.derived
                         and order.covers(e))]
        self.entries = [e for e in keep if not (
            e.derived and start <= e.seq < seq and order.covers(e) and not any(
                o.field in e.sources and o.seq < e.seq for o in keep if not o.derived))]

    def read(self, seq: int, field: str, value, order: Order = EVERY) -> None:
        """The instrument answered that ``field`` held ``value`` at unit ``seq`` (on a
        connection ordered as ``order`` says: a unit it does not cover may come after)."""
        def after(e: Entry) -> bool:
            return e.seq > seq or not order.covers(e)

        later = sorted((e for e in self.entries if e.field == field and after(e)),
                       key=lambda e: e.seq)
        self.entries = [e for e in self.entries if not (e.field == field and not after(e)
                                                        and e.seq < seq)]
        if later and not later[0].derived:
            first = later[0]
            self.entries = [Entry(e.seq, e.field, value, writer=e.writer) if e is first else e
                            for e in self.entries]
        elif not later:
            setattr(self.nominal, field, value)

    def unconfirmed_before(self, seq: int) -> set[str]:
        """Fields with units before ``seq`` that the event register can no longer confirm
        (before the start of the register's present window): only reading back can."""
        start = max((w for w in self.windows if w < seq), default=0)
        stuck = {e.field for e in self.entries if e.seq < start and not e.derived}
        return stuck | {e.field for e in self.entries if e.derived and e.sources & stuck}
