"""Emulator of a Keithley 7002 switch system with Model 7011 quad 1x10 multiplexer cards.

The 7002 is the 7001's ten-slot mainframe: the same SCPI (Model 7002 Instruction Manual,
section 4 "IEEE-488 reference", ROUTe subsystem, as the 7001's), channel lists of
``slot!channel`` for slots 1-10. A 7011 card is four independent 1x10 two-pole (HI, LO)
multiplexers, channels 1-10, 11-20, 21-30 and 31-40 (Model 7011 Instruction Manual, card
description), so one channel carries a pair of terminals: a four-terminal Hall bar takes two,
its current pair (I+, I-) on a bank wired to the 6221 and its voltage pair (V+, V-) on a bank
wired to the 2000. Ten cards hold 200 such devices; the virtual lab fits as many cards as its
chip needs (``pair_wiring``: device k of a card on channels k+1 and k+11, or k+11 and k+21
for the card's second ten).

Accepted (section 4, ROUTe subsystem): ``:ROUTe:CLOSe <list>``, ``:ROUTe:CLOSe? <list>``
(1/0 per channel), ``:ROUTe:CLOSe:STATe?`` (the closed channels as a list), ``:ROUTe:OPEN
<list>|ALL``, ``:ROUTe:OPEN? <list>``, ``:ROUTe:OPEN:ALL``, ``:ROUTe:CONFigure:BBMake``,
``:ROUTe:CONFigure:SLOT<n>:CTYPe`` (the installed card, ``C7011``, or ``NONE``) and
``:SLOT<n>:STIMe`` (a settling time per slot, 0-99999.999 s, added after its relays move);
SYSTem, STATus, DISPlay and the common commands; *RST and :SYSTem:PRESet open every
channel. A channel list is ``(@ 1!3, 1!5:1!7)``; a range stays in one slot. Anything else
queues the manual's SCPI error: -113 "Undefined header" (for a header the manual lists but
this emulator does not play, too: scanning, the trigger model, channel-pattern memory,
forbidden channels), -222 "Parameter data out of range" for a channel no card holds, -224
"Illegal parameter value" for a list that is not one. The 7002 keeps no relay-closure
count that the bus can read (the 2700/2750's ROUTe:CLOSe:COUNt? and the 707B's
channel.getcount() are other instruments'): ``closures``/``openings`` are the emulator's own
record, what a relay's contacts would have seen.

Timing on the virtual clock: the relays a command moves operate together; the command ends
when the slowest has settled, plus the slot's STIMe (7011 specifications: 3 ms relay
actuation, the figure each relay here stays under). Real relays differ: each relay of this
unit draws its operate and release times between 40 % and 100 % of that, from the unit's
serial number. A command's relays settle before the next command runs, so the driver's
``:ROUT:OPEN ...;:ROUT:CLOS ...`` breaks before it makes; ``events`` keeps the latest relay
movements (start, end) to prove it. A relay moved while the 6221 drives current is counted
in ``hot_switches`` (contacts switched hot wear, the manuals warn).

Sources: the 7002's and the 7011's own manuals were not at hand when this was written. The
command set is the 7001's (its Instruction Manual, section 4, which the 7001 emulator cites:
Keithley documents the 7002 as SCPI-compatible with it); the 7011's two-pole channels, its
four 1x10 banks, its 1 A switched rating and its 3 ms actuation are the card's published
specifications as recalled, not read from its manual here. Check them against the manuals
(or a rig: ``pytest --lab``) before trusting a timing figure from this emulator.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

import instruments.scpi as scpi
from simulators.lab.k7001 import Keithley7001Emulator
from simulators.lab.strict import Refused, _num

SLOTS = 10  # Model 7002: ten card slots
CARD_CHANNELS = 40  # Model 7011: four 1x10 banks
BANK = 10
ACTUATION = 3e-3  # s, Model 7011 specifications: relay actuation time (the most it takes)
SPREAD = (0.4, 1.0)  # this unit's relays: a fraction of ACTUATION each, drawn per relay
SETTLING_MAX = 99999.999  # s, :ROUTe:CONFigure:SLOT<n>:STIMe
EVENTS_KEPT = 10_000  # relay movements kept for inspection (a night's training makes millions)
Channel = tuple[int, int]  # (slot, channel)


def pair_wiring(n_devices: int) -> dict[int, tuple[Channel, Channel]]:
    """How the virtual bench wires ``n_devices`` four-terminal bars to 7011 cards: device ->
    (current channel, voltage channel); each card's banks 1 and 3 go to the 6221, 2 and 4
    to the 2000 (20 devices a card)."""
    wiring = {}
    for device in range(n_devices):
        slot, k = divmod(device, 2 * BANK)
        first = k + 1 if k < BANK else k + BANK + 1
        wiring[device] = ((slot + 1, first), (slot + 1, first + BANK))
    return wiring


class Keithley7002Emulator(Keithley7001Emulator):
    """A 7002 with 7011 cards, wired to the chip by ``wiring`` (device -> current channel,
    voltage channel): the 7001's commands over ten slots, and relays that take time."""

    def __init__(self, chip, clock, wiring: dict[int, tuple[Channel, Channel]],
                 cards: int | None = None, serial: int = 4210731) -> None:
        self.wiring = dict(wiring)
        needed = max((c[0] for pair in self.wiring.values() for c in pair), default=1)
        count = needed if cards is None else cards
        if not 1 <= count <= SLOTS or count < needed:
            raise ValueError(f"cards = {count} is outside the allowed range [{needed}, {SLOTS}]")
        self.installed = {slot: "C7011" for slot in range(1, count + 1)}
        self.idn = f"KEITHLEY INSTRUMENTS INC.,MODEL 7002,{serial},B03 /A02"
        rng = np.random.default_rng(serial)
        relays = [(s, c) for s in self.installed for c in range(1, CARD_CHANNELS + 1)]
        operate, release = (ACTUATION * rng.uniform(*SPREAD, (2, len(relays)))).tolist()
        self.operate = dict(zip(relays, operate, strict=True))
        self.release = dict(zip(relays, release, strict=True))
        self.closures = dict.fromkeys(relays, 0)  # open -> closed, per relay
        self.openings = dict.fromkeys(relays, 0)  # closed -> open
        # the latest relay movements, (start, end, relay, "close" | "open")
        self.events: deque[tuple[float, float, Channel, str]] = deque(maxlen=EVENTS_KEPT)
        self.hot_switches = 0
        self.source: Callable[[], float] | None = None  # the 6221's current now (the lab's)
        self._current_of = {pair[0]: d for d, pair in self.wiring.items()}
        self._voltage_of = {pair[1]: d for d, pair in self.wiring.items()}
        self.closed_set: set[Channel] = set()
        super().__init__(chip, clock)
        self._route()  # nothing is connected until a channel closes

    def holds(self, slot: int, channel: int) -> bool:
        return slot in self.installed and 1 <= channel <= CARD_CHANNELS

    def _apply(self) -> None:
        """The chip follows the relays as they settle (``_route``), not the message."""

    @property
    def operations(self) -> int:
        """Every relay movement so far, closures and openings."""
        return sum(self.closures.values()) + sum(self.openings.values())

    def reset(self) -> None:
        if getattr(self, "closed_set", None):
            self._switch(set(self.closed_set), "open")
        self.settings = {"bbmake": True, "beeper": True, "display": True,
                         **{f"stime{s}": 0.0 for s in range(1, SLOTS + 1)}}

    # -- the relays ----------------------------------------------------------------------
    def _switch(self, relays: set[Channel], move: str) -> None:
        """Operate ``relays`` together: the command waits for the slowest, then the slots'
        settling times; the chip sees the new routing once they have settled."""
        if not relays:
            return
        times = self.operate if move == "close" else self.release
        start = self.clock.seconds
        if self.source is not None and self.source() != 0.0:
            self.hot_switches += len(relays)
        for relay in relays:
            self.events.append((start, start + times[relay], relay, move))
            (self.closures if move == "close" else self.openings)[relay] += 1
        if move == "close":
            self.closed_set |= relays
        else:
            self.closed_set -= relays
        settle = max(self.settings[f"stime{s}"] for s, _ in relays)
        self.clock.advance(max(times[r] for r in relays) + settle)
        self._route()

    def _route(self) -> None:
        self.chip.route(frozenset(self._current_of[c] for c in self.closed_set
                                  if c in self._current_of),
                        frozenset(self._voltage_of[c] for c in self.closed_set
                                  if c in self._voltage_of))

    # -- handlers ------------------------------------------------------------------------
    def _card_type(self, slot: int):
        """``CTYPe <name>``: character data naming the card; only the one installed is
        accepted (the card in a slot is what it is: -221); ``CTYPe?`` names it."""

        def handler(unit: scpi.Unit) -> str | None:
            installed = self.installed.get(slot, "NONE")
            if unit.query:
                return self._query_only(lambda: installed)(unit)
            data = self._one(unit, lambda d: d)
            if data.kind != "char":
                raise Refused(-104)  # a number or a string where a card's name goes
            if data.word != installed:
                raise Refused(-221)
            return None

        return handler

    def _build_table(self):
        table = self._mainframe_table()
        for slot in range(1, SLOTS + 1):
            node = "SLOT[1]" if slot == 1 else f"SLOT{slot}"
            table += [(f":ROUTe:CONFigure:{node}:STIMe",
                       self._setting(f"stime{slot}", _num(0.0, SETTLING_MAX, 0.0))),
                      (f":ROUTe:CONFigure:{node}:CTYPe", self._card_type(slot))]
        return table
